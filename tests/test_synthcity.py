"""The synthetic city (bench/synthcity.py): deterministic, unlike the demo, truths that hold in its rows."""
from collections import defaultdict
from datetime import datetime, timedelta

import duckdb
import pytest

from bench.synthcity import generate
from etl import demo_lexicon
from etl.load import load_file


@pytest.fixture(scope="module")
def city():
    return generate(seed=11, orders=6000)


def _rows(city):
    return [dict(zip(city.headers, r)) for r in city.rows]


def test_same_seed_same_city_other_seed_other_city():
    a, b, c = generate(seed=5, orders=1500), generate(seed=5, orders=1500), generate(seed=6, orders=1500)
    assert a.rows == b.rows and a.truth.burst.order_ids == b.truth.burst.order_ids
    assert a.rows != c.rows


def test_places_and_texts_are_not_the_demo_lexicon(city):
    frame = city.frame()
    demo_shops = set(demo_lexicon.SHOP_BRANDS)
    texts = frame["反映内容"].to_list()
    assert not any(brand in t for t in texts for brand in demo_shops if len(brand) > 1)
    demo_bodies = {b.split("{")[0] for c in demo_lexicon.CATEGORIES for b in c[10] if len(b.split("{")[0]) > 4}
    assert not any(t.startswith(opener) for t in texts for opener in demo_lexicon.OPENERS_PHONE + demo_lexicon.OPENERS_WEB)
    assert not any(b in t for t in texts[:500] for b in demo_bodies)
    demo_l1 = {c[0] for c in demo_lexicon.CATEGORIES}
    assert not {p.split("/")[0] for p in frame["诉求分类"].unique()} & demo_l1


def test_burst_truth(city):
    b, rows = city.truth.burst, {r["受理编号"]: r for r in _rows(city)}
    burst = [rows[i] for i in b.order_ids]
    assert len({r["联系电话"] for r in burst}) == b.callers >= 50
    days = [datetime.strptime(r["登记时间"], "%Y/%m/%d %H:%M:%S").date() for r in burst]
    assert (max(days) - min(days)).days <= 21 and len({(d.year, d.month) for d in days}) == 1
    assert all(b.place in r["反映内容"] and r["所属街道"] == b.street for r in burst)
    # Nowhere else in the city is this estate's lift complained about by so many.
    others = [r for i, r in rows.items() if i not in set(b.order_ids) and b.place in r["反映内容"] and "电梯" in r["反映内容"]]
    assert len(others) < 10


def test_repeats_and_decoys_truth(city):
    rows = {r["受理编号"]: r for r in _rows(city)}
    by_phone = defaultdict(list)
    for r in rows.values():
        by_phone[r["联系电话"]].append(r)
    for rep in city.truth.repeats:
        got = by_phone[rep.phone]
        assert sorted(r["受理编号"] for r in got) == sorted(rep.order_ids) and len(got) >= 3
        days = sorted(datetime.strptime(r["登记时间"], "%Y/%m/%d %H:%M:%S") for r in got)
        assert days[-1] - days[0] <= timedelta(days=30)
        assert len({r["诉求分类"] for r in got}) == 1
    kinds = defaultdict(int)
    for d in city.truth.decoys:
        got = by_phone[d.phone]
        kinds[d.reason] += 1
        days = sorted(datetime.strptime(r["登记时间"], "%Y/%m/%d %H:%M:%S") for r in got)
        same = len({r["诉求分类"] for r in got}) == 1
        three_in_30 = any(days[i + 2] - days[i] <= timedelta(days=30) for i in range(len(days) - 2))
        assert not (same and three_in_30)
    assert len(kinds) == 3
    # Every other caller calls once (or twice within the burst), so the planted repeats are all there is.
    planted = {r.phone for r in city.truth.repeats + city.truth.decoys}
    assert max(len(v) for p, v in by_phone.items() if p not in planted) <= 2


def test_policy_truth_names_no_place(city):
    p, rows = city.truth.policy, {r["受理编号"]: r for r in _rows(city)}
    got = [rows[i] for i in p.order_ids]
    assert len({r["联系电话"] for r in got}) == p.callers >= 30
    assert (p.last - p.first).days <= 28
    assert all(r["事发地址"] == "" and r["社区"] == "" for r in got)
    assert all("补贴" in r["反映内容"] for r in got)


def test_non_dispatched_have_no_dispatch(city):
    rows = {r["受理编号"]: r for r in _rows(city)}
    nd = set(city.truth.non_dispatched)
    assert 0.05 < len(nd) / len(rows) < 0.25
    assert all(rows[i]["派单时间"] == "" and rows[i]["处理部门"] == "" for i in nd)
    assert all(r["派单时间"] != "" for i, r in rows.items() if i not in nd)


def test_seasonal_and_area_options():
    c = generate(seed=2, orders=6000, months=36, area_columns=False)
    assert c.truth.seasonal is not None and c.truth.seasonal.years == 3
    assert "所属街道" not in c.headers
    counts = defaultdict(int)
    for r in _rows(c):
        if r["诉求分类"].split("/")[1] == c.truth.seasonal.category_l2:
            counts[int(r["登记时间"][5:7])] += 1
    peak = sum(counts[m] for m in c.truth.seasonal.peak_months) / len(c.truth.seasonal.peak_months)
    assert peak > 10 * max([counts[m] for m in range(1, 13) if m not in c.truth.seasonal.peak_months] + [1])
    named = c.truth.area_named
    rows = {r["受理编号"]: r for r in _rows(c)}
    assert 0.5 < len(named) / len(rows) < 0.95
    for oid in list(named)[:200]:
        d, s = c.truth.areas[oid]
        assert d in rows[oid]["事发地址"] + rows[oid]["反映内容"]


def test_gbk_export_loads(tmp_path):
    c = generate(seed=3, orders=1200)
    path = c.write_csv(tmp_path / "city.csv", encoding="gbk")
    r = load_file(path, tmp_path / "city.duckdb")
    assert r.rows_read == len(c.rows) and r.rows_quarantined == 0
    con = duckdb.connect(str(tmp_path / "city.duckdb"), read_only=True)
    try:
        n_dispatched = con.sql("SELECT count(*) FROM work_orders WHERE dispatched_at IS NOT NULL").fetchall()[0][0]
        burst_callers = con.sql(
            "SELECT count(DISTINCT caller_key) FROM work_orders WHERE list_contains(?, order_id)",
            params=[c.truth.burst.order_ids]).fetchall()[0][0]
    finally:
        con.close()
    assert n_dispatched == len(c.rows) - len(c.truth.non_dispatched)
    assert burst_callers == c.truth.burst.callers
