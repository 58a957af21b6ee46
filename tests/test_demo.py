"""The demo (three years): deterministic per seed, shaped like Beijing's published figures, with the planted
phenomena, loaded through the loader like any export."""
from __future__ import annotations

import re
from datetime import date

import duckdb
import polars as pl
import pytest

from etl import demo, reference
from core.schema import CASE_EVENTS, CHANNELS, REQUEST_TYPES, RESOLUTIONS, SATISFACTIONS, STATUSES

N = 20_000


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo.build_demo(path, orders=N, seed=7)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def q(con, sql, params=None) -> pl.DataFrame:
    return con.sql(sql, params=params).pl()


def one(con, sql, params=None):
    return con.sql(sql, params=params).fetchall()[0][0]


FINGERPRINT = """
SELECT md5(string_agg(concat_ws('|', order_id, received_at, content, street, community, address, caller_key, dept,
       responded_at, closed_at, status, resolution, satisfaction, redispatch_count, lon, lat), ',' ORDER BY order_id))
FROM work_orders
"""


def fingerprint(path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return (
            one(con, FINGERPRINT),
            one(con, "SELECT md5(string_agg(concat_ws('|', case_id, dept, event, occurred_at), ',' ORDER BY ALL)) FROM case_events"),
            one(con, "SELECT md5(string_agg(concat_ws('|', period, street, dept, score), ',' ORDER BY ALL)) FROM dept_ratings"),
        )


def test_same_seed_same_data_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "c.duckdb"
    demo.build_demo(a, orders=5_000, seed=3)
    demo.build_demo(b, orders=5_000, seed=3)
    demo.build_demo(c, orders=5_000, seed=4)
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a)[0] != fingerprint(c)[0]


def test_rebuild_replaces_existing_rows(tmp_path):
    path = tmp_path / "x.duckdb"
    demo.build_demo(path, orders=5_000, seed=1)
    stages = []
    demo.build_demo(path, orders=6_000, seed=2, progress=lambda s, f: stages.append((s, f)))
    with duckdb.connect(str(path), read_only=True) as con:
        assert one(con, "SELECT count(*) FROM work_orders") == 6_000
        assert one(con, "SELECT count(*) FROM loads WHERE kind = 'work_orders'") == 1
        assert one(con, "SELECT count(DISTINCT source_file) FROM loads") == 1
        assert one(con, "SELECT count(*) FROM areas WHERE street IS NULL") == 16
    assert stages[-1] == ("done", 1.0)
    assert [f for _, f in stages] == sorted(f for _, f in stages)


def test_main_cli(tmp_path, capsys):
    assert demo.main(["--db", str(tmp_path / "cli.duckdb"), "--orders", "3000", "--seed", "5"]) == 0
    assert "工单 3000 条" in capsys.readouterr().out


def test_volume_and_districts(db):
    assert one(db, "SELECT count(*) FROM work_orders") == N
    by = q(db, "SELECT district, count(*) n FROM work_orders GROUP BY 1 ORDER BY n DESC")
    assert by.height == 16
    assert by["district"][0] == "朝阳区" and by["district"][1] == "海淀区"
    assert by["district"][-1] == "延庆区"
    assert one(db, "SELECT min(received_at)::DATE FROM work_orders") == date(2023, 11, 1)
    assert one(db, "SELECT max(received_at)::DATE FROM work_orders") == date(2026, 10, 31)


def test_streets_are_official(db):
    official = set(reference.streets().select("district", "street").iter_rows())
    used = set(q(db, "SELECT DISTINCT district, street FROM work_orders").iter_rows())
    assert used <= official
    assert len(used) > 300


def test_seasonality_and_cycles(db):
    heat = dict(q(db, "SELECT month(received_at) m, count(*) n FROM work_orders WHERE category_l2 = '供暖' GROUP BY 1").iter_rows())
    assert heat[12] > 10 * (heat.get(7, 0) + 1)
    noise = dict(q(db, "SELECT month(received_at) m, count(*) n FROM work_orders WHERE category_l2 = '噪音扰民' GROUP BY 1").iter_rows())
    assert noise[7] > 1.8 * noise[1]
    daily = q(db, "SELECT received_at::DATE d, isodow(received_at) dow, count(*) n FROM work_orders GROUP BY 1, 2")
    assert daily.filter(pl.col("dow") <= 5)["n"].mean() > 1.2 * daily.filter(pl.col("dow") >= 6)["n"].mean()
    peak = one(db, "SELECT hour(received_at) FROM work_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    assert peak in (9, 10, 14, 15)


def test_accepted_values_and_shares(db):
    for col, allowed in (("channel", CHANNELS), ("request_type", REQUEST_TYPES), ("status", STATUSES),
                         ("resolution", RESOLUTIONS), ("satisfaction", SATISFACTIONS)):
        values = set(q(db, f"SELECT DISTINCT {col} v FROM work_orders WHERE {col} IS NOT NULL")["v"])
        assert values <= set(allowed), col
    assert set(q(db, "SELECT DISTINCT event FROM case_events")["event"]) <= set(CASE_EVENTS)
    phone = one(db, "SELECT avg((channel = '电话')::INT) FROM work_orders")
    assert 0.85 < phone < 0.95
    solved = one(db, "SELECT avg((resolution = '解决')::INT) FROM work_orders WHERE resolution IS NOT NULL")
    satisfied = one(db, "SELECT avg((satisfaction <> '不满意')::INT) FROM work_orders WHERE satisfaction IS NOT NULL")
    assert 0.90 < solved < 0.97 and 0.90 < satisfied < 0.97
    assert one(db, "SELECT count(*) FROM work_orders WHERE satisfaction IS NULL") > 0.05 * N
    assert 0 < one(db, "SELECT count(*) FROM work_orders WHERE is_invalid") < 0.02 * N
    assert one(db, "SELECT count(*) FROM work_orders LEFT JOIN order_tokens USING (order_id) "
                   "WHERE tokens IS NULL OR len(tokens) = 0") == 0
    assert one(db, "SELECT count(*) - count(DISTINCT order_id) FROM order_tokens") == 0


def test_no_phone_numbers(db):
    # The export carries 来电号码; the loader keeps only its keyed hash, spelled in letters: no column holds
    # anything a scan for phone numbers would find.
    for column in ("content", "address", "caller_key"):
        assert one(db, f"SELECT count(*) FROM work_orders WHERE regexp_matches({column}, ?)", [r"1\d{10}"]) == 0
    keys = q(db, "SELECT caller_key FROM work_orders")["caller_key"]
    assert all(re.fullmatch(r"[a-p]{16}", k) for k in keys)
    assert keys.n_unique() < 0.9 * N   # callers call more than once


def test_planted_hot_issues(db):
    for h in demo.PLANTED["hot_issues"]:
        callers = one(db, """SELECT count(DISTINCT caller_key) FROM work_orders
            WHERE district = ? AND street = ? AND community = ? AND category_l3 = ?
              AND received_at::DATE BETWEEN ?::DATE AND ?::DATE""",
                      [h["district"], h["street"], h["community"], h["category"][2], h["first_day"], h["last_day"]])
        assert callers >= h["callers"], h["name"]
    wangjing = one(db, "SELECT count(*) FROM work_orders WHERE content LIKE '%望京西园三区%暖气%' AND month(received_at) = 11")
    assert wangjing >= 60


def test_planted_repeat_callers(db):
    rep = demo.PLANTED["repeat_callers"]
    groups = q(db, """SELECT caller_key, category_l3, address, count(*) n,
            date_diff('second', min(received_at), max(received_at)) / 86400 span_days
        FROM work_orders GROUP BY ALL HAVING count(*) >= 3""")
    within = groups.filter(pl.col("span_days") <= rep["window_days"])
    assert within.height >= max(rep["min_groups"], round(N / 200_000 * rep["groups_per_200k"]))
    assert within["n"].max() <= rep["max_orders"]


def test_planted_surge_rising_and_weak_units(db):
    sg = demo.PLANTED["surge"]
    monthly = q(db, "SELECT strftime(received_at, '%Y-%m') m, count(*) n FROM work_orders WHERE district = ? AND category_l2 = ? GROUP BY 1",
                [sg["district"], sg["category_l2"]])
    surge = monthly.filter(pl.col("m") == sg["month"])["n"][0]
    assert surge > 3 * monthly.filter(pl.col("m") != sg["month"])["n"].mean()

    rising = q(db, "SELECT strftime(received_at, '%Y-%m') m, count(*) n FROM work_orders WHERE category_l3 = '预付卡退费' GROUP BY 1 ORDER BY 1")
    assert rising["n"][-1] > 3 * rising["n"][0]

    streets = q(db, """SELECT street, avg((resolution = '解决')::INT) r FROM work_orders WHERE resolution IS NOT NULL
        GROUP BY 1 HAVING count(*) >= 50 ORDER BY r""")
    assert streets["street"][0] == demo.PLANTED["weak_street"]["street"]
    weak = demo.PLANTED["weak_departments"]["names"]
    scores = q(db, "SELECT dept, avg(score) s FROM dept_ratings GROUP BY 1 ORDER BY s")
    assert set(scores["dept"][:2]) == set(weak)
    assert scores.filter(pl.col("dept").is_in(weak).not_())["s"].mean() > 85


def test_dispatch_against_duties(db):
    unmatched = one(db, "SELECT count(*) FROM work_orders w ANTI JOIN dept_duties d USING (category_l1, category_l2, dept)")
    assert 0.01 * N < unmatched < 0.06 * N
    assert 0.02 * N < one(db, "SELECT count(*) FROM work_orders WHERE redispatch_count > 0") < 0.15 * N


def test_who_handles_a_matter_is_a_property_of_the_place(db):
    # 暖气不热 goes to the heating group or, for a community on its own boiler, to the street office: in a
    # community one of the two handles all its heating orders (bar the deliberate misdispatches), while a
    # street mixes both, and the city has both kinds of community.
    per = q(db, """SELECT district, street, community, dept, count(*) n FROM work_orders
        WHERE category_l2 = '供暖' AND street <> '望京街道' GROUP BY ALL""")
    heat = per.with_columns(unit=pl.when(pl.col("dept") == "北京市热力集团").then(pl.lit("heat"))
                            .when(pl.col("dept").str.contains("(办事处|人民政府|管委会)$")).then(pl.lit("street")))
    units = heat.filter(pl.col("unit").is_not_null())
    top = units.group_by("district", "street", "community").agg(pl.col("n").max().alias("top"), pl.col("n").sum().alias("all"))
    assert top["top"].sum() / top["all"].sum() > 0.98
    assert set(units["unit"]) == {"heat", "street"}
    by_street = units.group_by("district", "street").agg(pl.col("unit").n_unique().alias("k"))
    assert by_street.filter(pl.col("k") == 2).height > 10


def test_cases_and_events(db):
    n = one(db, "SELECT count(*) FROM cases")
    assert n == round(N * demo.PLANTED["cases"]["per_order"])
    assert one(db, "SELECT count(*) FROM cases c ANTI JOIN work_orders w ON c.related_order_id = w.order_id WHERE related_order_id IS NOT NULL") == 0
    assert one(db, "SELECT count(*) FROM cases WHERE related_order_id IS NOT NULL") > 0.3 * n
    no_show = q(db, "SELECT dept, count(*) n FROM case_events WHERE event = '未到' GROUP BY 1")
    assert no_show.height >= 3
    arrive = q(db, """SELECT a.dept, median(date_diff('minute', c.occurred_at, a.occurred_at)) m
        FROM case_events a JOIN case_events c ON a.case_id = c.case_id AND a.dept = c.dept AND c.event = '呼叫'
        WHERE a.event = '到场' GROUP BY 1 HAVING count(*) >= 5""")
    assert arrive["m"].median() <= 30
    assert arrive["m"].max() > 30
    assert one(db, "SELECT count(*) FROM cases WHERE whistled_by ~ '.*(科|队|办公室|党委|支部|中心)$'") == n


def test_areas_and_loads(db):
    pop = q(db, """SELECT a.district, d.population dp, sum(a.population) sp FROM areas a JOIN areas d
        ON d.district = a.district AND d.street IS NULL
        WHERE a.street IS NOT NULL AND a.community IS NULL GROUP BY ALL""")
    assert pop.height == 16 and (pop["dp"] == pop["sp"]).all()
    assert one(db, "SELECT count(*) FROM areas WHERE community IS NOT NULL AND population_source = '演示数据（合成）'") > 1000
    assert one(db, "SELECT count(*) FROM areas WHERE community = '望京西园社区' AND street = '望京街道'") == 1
    load = q(db, "SELECT * FROM loads WHERE kind = 'work_orders'")
    assert load.height == 1 and load["rows_read"][0] == load["rows_inserted"][0] == N
    assert load["status"][0] == "ok" and load["source_file"][0] == "demo:seed=7"
    kinds = q(db, "SELECT kind, rows_read, rows_quarantined, status FROM loads ORDER BY kind")
    assert kinds["kind"].to_list() == ["case_events", "cases", "duties", "ratings", "work_orders"]
    assert kinds["rows_quarantined"].sum() == 0 and set(kinds["status"]) == {"ok"}
