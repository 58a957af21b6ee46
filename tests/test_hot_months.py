"""Hot issues and repeats of big months, clustered after the load (etl.hot) and read back: the same answer as
computing on request, filters re-judge the month's groups, stale or other settings fall back."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics import hot_issues as hi
from analytics import hot_months
from analytics import recurring as rc
from analytics.db import orders as fetch_orders
from analytics.filters import Filters, Scope, month_bounds
from analytics.settings import load_settings
from core.store import connect_read
from etl import hot
from etl.__main__ import main as etl_main
from etl.load import load_file
from etl.tokens import fill as fill_tokens


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Three months of a city the project has never seen (bench/synthcity.py), loaded, indexed and clustered
    with a threshold its months reach (a settings file of its own: etl.hot reads the one in force)."""
    from bench.synthcity import generate

    made = generate(seed=11, orders=12_000, months=3)
    tmp = tmp_path_factory.mktemp("hot_months")
    db = tmp / "x.duckdb"
    load_file(made.write_csv(tmp / "导出.csv"), db)
    fill_tokens(db)
    settings_file = tmp / "settings.toml"
    settings_file.write_text("[hot_issues]\nprecompute_orders = 1000\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WHISTLE_SETTINGS", str(settings_file))
        settings = load_settings()
        assert hot.pending(db) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
        done = hot.fill(db)
        assert done.months == ["2025-01", "2025-02", "2025-03"] and hot.pending(db) == []
        yield db, made.truth, settings


def _month(truth) -> Filters:
    return Filters(*month_bounds(truth.burst.first))


def _on_request(con, filters, settings, repeats=False):
    start, end = hi.period(filters)
    orders = fetch_orders(con, filters, hot_months.INPUT_COLUMNS)
    return rc.repeats(orders, settings, start, end) if repeats else hi.hot_issues(orders, settings, end, start)


def _same(a: pl.DataFrame, b: pl.DataFrame, columns: list[str]) -> None:
    assert a.height == b.height
    key = lambda t: t.select(*columns, ids=pl.col("order_ids").list.sort()).to_dicts()  # noqa: E731
    assert key(a) == key(b)


def test_a_stored_month_reads_as_computing_it_on_request(city):
    db, truth, settings = city
    f = _month(truth)
    con = connect_read(db)
    try:
        assert hot_months.stored_months(con, f, settings) == [f.date_from]
        stored, direct = hi.read_hot_issues(con, f, settings), _on_request(con, f, settings)
        assert direct.height >= 3
        _same(stored, direct, ["label", "place", "problem", "size", "callers", "channels", "burst", "first_at", "last_at"])
        assert stored["heat"].round(9).to_list() == direct["heat"].round(9).to_list()
        burst = set(truth.burst.order_ids)
        assert len(burst & set(stored["order_ids"][0])) >= 0.9 * len(burst)   # the planted burst first, as on request
        reps, direct_reps = rc.read_repeats(con, f, settings), _on_request(con, f, settings, repeats=True)
        assert reps.filter(pl.col("kind") == "同一来电人").height >= 2
        _same(reps, direct_reps, ["kind", "caller_key", "place", "matter", "count", "callers", "first_at", "hot_issue"])
    finally:
        con.close()


def test_a_district_re_judges_the_months_groups_inside_it(city):
    db, truth, settings = city
    con = connect_read(db)
    try:
        district = con.sql("SELECT district FROM work_orders WHERE order_id = ?", params=[truth.burst.order_ids[0]]).fetchall()[0][0]
        f = replace(_month(truth), districts=(district,))
        stored, direct = hi.read_hot_issues(con, f, settings), _on_request(con, f, settings)
        # The district's view stored with the month is what judging the members inside it gives now.
        twice = replace(f, districts=(district, district))   # not the stored view: judged on reading
        _same(stored, hi.read_hot_issues(con, twice, settings), ["label", "size", "callers", "burst", "first_at", "heat"])
        _same(rc.read_repeats(con, f, settings), rc.read_repeats(con, twice, settings),
              ["kind", "caller_key", "place", "matter", "count", "callers", "hot_issue"])
        whole = hi.read_hot_issues(con, replace(f, districts=()), settings)
        inside = set(con.sql("SELECT order_id FROM work_orders WHERE district = ?", params=[district]).pl()["order_id"])
        callers = dict(con.sql("SELECT order_id, coalesce(caller_key, order_id) FROM work_orders").fetchall())
    finally:
        con.close()
    # Each row is a whole-month group's members inside the district, with its name, counted again.
    names = dict(zip(whole["label"], whole["order_ids"]))
    for row in stored.iter_rows(named=True):
        assert set(row["order_ids"]) <= inside and row["size"] == len(row["order_ids"])
        assert row["callers"] == len({callers[o] for o in row["order_ids"]})
        if row["label"] in names:
            assert set(row["order_ids"]) == set(names[row["label"]]) & inside
    # The documented difference only: the burst leads both, under the same name and with the same orders.
    assert stored["label"][0] == direct["label"][0]
    assert set(stored["order_ids"][0]) == set(direct["order_ids"][0])


def test_months_together_join_one_issue_across_their_boundary(city):
    db, truth, settings = city
    con = connect_read(db)
    try:
        f = Filters(date(2025, 1, 1), date(2025, 3, 31))
        assert hot_months.stored_months(con, f, settings) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
        quarter = hi.read_hot_issues(con, f, settings)
        reps = rc.read_repeats(con, f, settings)
        month_of = dict(con.sql("SELECT order_id, month(received_at) FROM work_orders").fetchall())
    finally:
        con.close()
    assert quarter["label"].is_unique().all()
    burst = set(truth.burst.order_ids)
    assert len(burst & set(quarter["order_ids"][0])) >= 0.9 * len(burst)
    # A caller's runs are found again over the months' orders with a caller, across a month's end too.
    alerts = [set(o) for o in reps.filter(pl.col("kind") == "同一来电人")["order_ids"]]
    found = sum(any(len(a & set(p.order_ids)) >= 0.8 * len(p.order_ids) for a in alerts) for p in truth.repeats)
    months = [len({month_of[o] for o in p.order_ids}) for p in truth.repeats]
    assert max(months) >= 2 and found >= 0.9 * len(truth.repeats), (found, len(truth.repeats))


def test_other_settings_a_part_month_or_a_scoped_reader_compute_on_request(city):
    db, truth, settings = city
    f = _month(truth)
    con = connect_read(db)
    try:
        assert hot_months.stored_months(con, f, settings.with_overrides("hot_issues", min_lift=2.5)) is None
        assert hot_months.stored_months(con, f, settings.with_overrides("hot_issues", precompute_orders=10**6)) is None
        assert hot_months.stored_months(con, replace(f, date_to=date.fromordinal(f.date_to.toordinal() - 1)), settings) is None
        assert hot_months.stored_months(con, f, settings.with_overrides("hot_issues", precompute_orders=20_000)) is None
        assert hot_months.stored_months(con, replace(f, scope=Scope(truth.burst.district)), settings) is None
    finally:
        con.close()


def test_the_cli_backfills_months_and_says_so(city, tmp_path, capsys, monkeypatch):
    db, truth, settings = city
    other = tmp_path / "settings.toml"
    other.write_text("[hot_issues]\nprecompute_orders = 1000\nmin_lift = 2.5\n", encoding="utf-8")
    before = hot.pending(db)
    monkeypatch.setenv("WHISTLE_SETTINGS", str(other))
    assert before == [] and hot.pending(db) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    assert etl_main(["hot-issues", "--db", str(db), "--month", "2025-02", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["step"] == "hot-issues" and line["months"] == ["2025-02"]
    assert hot.pending(db) == [date(2025, 1, 1), date(2025, 3, 1)]
    con = connect_read(db)
    try:
        assert hot_months.stored_months(con, _month(truth), load_settings()) in (None, [date(2025, 2, 1)])
        assert hot_months.stored_months(con, Filters(date(2025, 2, 1), date(2025, 2, 28)), load_settings()) == [date(2025, 2, 1)]
        assert hot_months.stored_months(con, Filters(date(2025, 2, 1), date(2025, 2, 28)), settings) is None
    finally:
        con.close()
    monkeypatch.undo()
    assert hot.fill(db).months == ["2025-02"]   # back to the fixture's settings for the other tests


def test_recurring_types_and_topics_counted_in_duckdb_equal_counting_the_orders(tmp_path):
    from etl.demo import build_demo

    db = tmp_path / "demo.duckdb"
    build_demo(db, orders=20_000, seed=3)
    settings = load_settings()
    con = connect_read(db)
    try:
        district = con.sql("SELECT district FROM work_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchall()[0][0]
        found = 0
        for f in (Filters(), Filters(date(2026, 1, 1), date(2026, 6, 30)), Filters(districts=(district,))):
            orders = fetch_orders(con, f, rc.TYPE_COLUMNS)
            for area in ("street", "district"):
                types, topics, level, note = rc.read_types(con, f, settings, area)
                assert (level, note) == rc.topic_level(orders, settings.topics.level)
                expected = rc.recurring_types(orders, settings, area)
                assert types.height == expected.height
                found += types.height
                key = ["area", "issue_type"]
                assert types.sort(key).drop("run_lift").equals(expected.sort(key).drop("run_lift"))
                assert types.sort(key)["run_lift"].round(9).equals(expected.sort(key)["run_lift"].round(9))
                want = rc.topic_candidates(orders, settings)
                assert topics.drop("score").equals(want.drop("score")) and topics["score"].round(9).equals(want["score"].round(9))
                chosen = topics["issue_type"][0]
                months = rc.read_type_months(con, replace(f, date_from=None, date_to=None), level, chosen)
                where, params = replace(f, date_from=None, date_to=None).where()
                assert months.rows() == con.sql(
                    f"SELECT date_trunc('month', received_at)::DATE, count(*) FILTER (WHERE {level} = ?) FROM work_orders "
                    f"WHERE {where} GROUP BY 1 ORDER BY 1", params=[chosen, *params]).fetchall()
    finally:
        con.close()
    assert found > 0


def test_a_reload_that_changes_an_order_makes_its_month_stale(city, tmp_path):
    db, truth, settings = city
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    export = pl.read_csv(db.parent / "导出.csv", infer_schema=False)
    text = next(c for c in export.columns if export[c].str.contains(truth.burst.place, literal=True).any())
    changed = export.filter(pl.col(text).str.contains(truth.burst.place, literal=True)).head(1).with_columns(
        pl.col(text) + "（补充：已多次反映）")
    changed.write_csv(tmp_path / "更正.csv")
    load_file(tmp_path / "更正.csv", copy)
    fill_tokens(copy)
    (month,) = hot.pending(copy)   # the month of the changed order only
    con = connect_read(copy)
    try:
        assert hot_months.stored_months(con, Filters(*month_bounds(month)), settings) is None   # on request until redone
    finally:
        con.close()
    assert hot.fill(copy).months == [f"{month:%Y-%m}"] and hot.pending(copy) == []


def test_a_load_can_leave_the_clustering_for_later(city, tmp_path, capsys):
    db, truth, settings = city
    fresh = tmp_path / "fresh.duckdb"
    assert etl_main(["load", str(db.parent / "导出.csv"), "--db", str(fresh), "--json", "--no-hot-issues"]) == 0
    steps = [json.loads(line).get("step") for line in capsys.readouterr().out.strip().splitlines()]
    assert "tokens" in steps and "hot-issues" not in steps
    assert hot.pending(fresh) == [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]   # python -m etl hot-issues does them


def test_a_load_clusters_only_the_months_it_made_pending(city, tmp_path, capsys):
    db, truth, settings = city
    export = pl.read_csv(db.parent / "导出.csv", infer_schema=False)
    text = next(c for c in export.columns if export[c].str.contains(truth.burst.place, literal=True).any())
    export.filter(pl.col(text).str.contains(truth.burst.place, literal=True)).head(1).with_columns(
        pl.col(text) + "（补充：已多次反映）").write_csv(tmp_path / "更正.csv")
    stored, unstored = tmp_path / "stored.duckdb", tmp_path / "unstored.duckdb"
    stored.write_bytes(db.read_bytes())
    assert etl_main(["load", str(db.parent / "导出.csv"), "--db", str(unstored), "--json", "--no-hot-issues"]) == 0
    capsys.readouterr()

    assert etl_main(["load", str(tmp_path / "更正.csv"), "--db", str(stored), "--json"]) == 0
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"hot-issues"' in x]
    assert len(line["months"]) == 1 and hot.pending(stored) == []   # the changed order's month only

    assert etl_main(["load", str(tmp_path / "更正.csv"), "--db", str(unstored), "--json"]) == 0
    said = capsys.readouterr()
    (line,) = [json.loads(x) for x in said.out.splitlines() if '"hot-issues"' in x]
    assert line["months"] == [] and "另有 3 个月（2025-01 起）" in said.err
    assert len(hot.pending(unstored)) == 3


def _months(con) -> dict[date, int]:
    return dict(con.sql("SELECT date_trunc('month', received_at)::DATE, count(*) FROM work_orders GROUP BY 1").fetchall())


def test_a_window_beyond_the_ceiling_clusters_its_latest_months_that_fit_and_says_which_are_left_out(city):
    db, truth, settings = city
    con = connect_read(db)
    try:
        n = _months(con)
        jan, feb, mar = sorted(n)
        # Other settings: nothing stored for them, so the window is clustered on request, within the ceiling.
        s = settings.with_overrides("hot_issues", min_lift=2.5, max_request_orders=n[feb] + n[mar])
        p = hot_months.plan(con, Filters(), s)
        assert p.filters == Filters(feb, date(2025, 3, 31)) and p.stored == [] and p.left_out == [jan]
        orders = fetch_orders(con, p.filters, hot_months.INPUT_COLUMNS)
        assert orders.height == n[feb] + n[mar] <= s.hot_issues.max_request_orders
        start, end = hi.period(p.filters)
        want = hi.hot_issues(orders, s, end, start)
        assert want.height >= 2
        _same(hi.read_hot_issues(con, Filters(), s), want, ["label", "size", "callers", "burst", "first_at", "heat"])
        _same(rc.read_repeats(con, Filters(), s), rc.repeats(orders, s, start, end),
              ["kind", "caller_key", "place", "matter", "count", "callers", "hot_issue"])
        note = hot_months.plan(con, Filters(), s).note
        assert f"{sum(n.values()):,} 件" in note and "max_request_orders" in note and "2025-01（1 个月）未计入" in note
        assert "2025-02 至 2025-03" in note and "python -m etl hot-issues" in note
        # Within the ceiling nothing changes and nothing is said.
        assert hot_months.plan(con, Filters(feb, date(2025, 3, 31)), s).note == ""
        # A district-scoped reader never reads stored months: narrowing is the advice, not the batch step.
        scoped = replace(Filters(), scope=Scope(truth.burst.district))
        assert "python -m etl hot-issues" not in hot_months.plan(con, scoped, s.with_overrides("hot_issues", max_request_orders=10)).note
    finally:
        con.close()


def test_merging_stored_months_is_bounded_too(city):
    db, truth, settings = city
    con = connect_read(db)
    try:
        jan, feb, mar = sorted(_months(con))
        rows = dict(con.sql("SELECT month, sum(n) FROM (SELECT month, count(*) AS n FROM hot_members GROUP BY 1 "
                            "UNION ALL SELECT month, count(*) FROM hot_runs GROUP BY 1) GROUP BY 1").fetchall())
        s = settings.with_overrides("hot_issues", max_stored_rows=rows[feb] + rows[mar], max_request_orders=100)
        quarter = Filters(jan, date(2025, 3, 31))
        p = hot_months.plan(con, quarter, s)
        assert p.stored == [feb, mar] and p.left_out == [jan]
        # The same table as asking for February and March, which fit.
        two = Filters(feb, date(2025, 3, 31))
        assert hot_months.plan(con, two, s) == hot_months.Plan(two, [feb, mar], [])
        _same(hi.read_hot_issues(con, quarter, s), hi.read_hot_issues(con, two, s), ["label", "size", "callers", "heat"])
        _same(rc.read_repeats(con, quarter, s), rc.read_repeats(con, two, s), ["kind", "caller_key", "matter", "count"])
        # A page plans once and hands the plan to both reads: the same tables.
        _same(hi.read_hot_issues(con, quarter, s, p), hi.read_hot_issues(con, two, s), ["label", "size", "callers", "heat"])
        _same(rc.read_repeats(con, quarter, s, p), rc.read_repeats(con, two, s), ["kind", "caller_key", "matter", "count"])
        note = hot_months.plan(con, quarter, s).note
        assert "max_stored_rows" in note and f"{sum(rows.values()):,} 行" in note and "2025-01（1 个月）未计入" in note
        assert "python -m etl hot-issues" not in note   # they are stored: only a shorter window helps
    finally:
        con.close()


def test_a_window_with_some_months_stored_shows_them_and_the_cli_says_what_is_left_out(city, tmp_path, monkeypatch, capsys):
    from analytics.__main__ import main as analytics_main

    db, truth, settings = city
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(db.read_bytes())
    other = tmp_path / "settings.toml"
    other.write_text("[hot_issues]\nprecompute_orders = 1000\nmin_lift = 2.5\nmax_request_orders = 100\n", encoding="utf-8")
    monkeypatch.setenv("WHISTLE_SETTINGS", str(other))
    assert hot.fill(copy, months=[date(2025, 3, 1)]).months == ["2025-03"]   # March only, under these settings
    s = load_settings()
    march = Filters(date(2025, 3, 1), date(2025, 3, 31))
    con = connect_read(copy)
    try:
        p = hot_months.plan(con, Filters(), s)
        assert (p.filters, p.stored, p.left_out) == (march, [date(2025, 3, 1)], [date(2025, 1, 1), date(2025, 2, 1)])
        want = hi.read_hot_issues(con, march, s)
        assert want.height >= 1
        _same(hi.read_hot_issues(con, Filters(), s), want, ["label", "size", "callers", "heat"])
    finally:
        con.close()
    assert analytics_main(["hot-issues", "--db", str(copy), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert [r["label"] for r in json.loads(out.out)] == want["label"].to_list()
    assert "2025-01 至 2025-02（2 个月）未计入" in out.err and "python -m etl hot-issues" in out.err
    # Nothing fits (February: beyond the ceiling and not stored): exit 1 with the reason, no traceback.
    assert analytics_main(["repeats", "--db", str(copy), "--from", "2025-02-01", "--to", "2025-02-28"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("无法完成：") and "无法给出热点问题与重复诉求" in err and "Traceback" not in err


def test_topics_over_any_window_are_counted_in_duckdb_and_equal_counting_the_orders(city, capsys):
    from analytics.__main__ import main as analytics_main

    db, truth, settings = city
    con = connect_read(db)
    try:
        want = rc.topic_candidates(fetch_orders(con, Filters(), rc.TYPE_COLUMNS), load_settings())
    finally:
        con.close()
    assert analytics_main(["topics", "--db", str(db), "--format", "json"]) == 0
    got = pl.DataFrame(json.loads(capsys.readouterr().out))
    assert want.height >= 5 and got["issue_type"].to_list() == want["issue_type"].to_list()
    assert got["orders"].to_list() == want["orders"].to_list()
    assert got["score"].round(9).to_list() == want["score"].round(9).to_list()


def test_the_pages_say_which_months_the_hot_issues_leave_out(city, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db, truth, settings = city
    con = connect_read(db)
    try:
        n = _months(con)
    finally:
        con.close()
    other = tmp_path / "settings.toml"
    monkeypatch.setenv("WHISTLE_SETTINGS", str(other))
    monkeypatch.setenv("HOTLINE_DB", str(db))
    dashboard = str(Path(__file__).resolve().parents[1] / "dashboard.py")
    # Other settings (nothing stored for them) and room for March only.
    other.write_text(f"[hot_issues]\nprecompute_orders = 1000\nmin_lift = 2.5\nmax_request_orders = {n[date(2025, 3, 1)]}\n",
                     encoding="utf-8")
    at = AppTest.from_file(dashboard, default_timeout=180)
    at.query_params["from"], at.query_params["to"] = "2025-01", "2025-03"
    at.run()
    at.switch_page("pages/recurring.py").run()
    assert not at.exception
    said = [w.value for w in at.warning]
    assert len([w for w in said if "2025-01 至 2025-02（2 个月）未计入" in w and "2025-03（" in w]) == 2   # hot issues, repeats
    # 月度通报 of a month beyond the ceiling: the hot-issue section says why it is empty and what to do.
    other.write_text("[hot_issues]\nprecompute_orders = 1000\nmin_lift = 2.5\nmax_request_orders = 100\n", encoding="utf-8")
    at = AppTest.from_file(dashboard, default_timeout=180)
    at.query_params["month"] = "2025-02"
    at.run()
    at.switch_page("pages/report.py").run()
    assert not at.exception
    assert any("无法给出热点问题" in c.value and "python -m etl hot-issues" in c.value for c in at.caption)
