"""The 三率 counted in DuckDB (read_rate_table) equal rate_table over the same orders in polars, under the
default settings and under per-category windows, fractional hours and invalid orders left out."""
from __future__ import annotations

import polars as pl
import pytest

from analytics.db import orders
from analytics.filters import Filters, add_months
from analytics.rates import COUNT_COLUMNS, RATE_COLUMNS, RATE_INPUT_COLUMNS, rate_table, read_rate_table
from analytics.settings import load_settings
from etl.demo import build_demo
from etl.store import connect_read


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("rates_sql") / "hotline.duckdb"
    build_demo(path, orders=6_000, seed=5)
    c = connect_read(path)
    yield c
    c.close()


def variants():
    s = load_settings()
    yield s
    yield s.with_overrides("rates", response_window_hours=2.5, default_deadline_days=3.25,
                           response_window_hours_by_category={"住房": 0.75, "城乡建设": 48},
                           deadline_days_by_category={"交通管理": 1.5})
    yield s.with_overrides("rates", exclude_invalid=True, partial_credit=0.2, basic_credit=0.8)


@pytest.mark.parametrize("by", [[], ["district"], ["district", "street", "month"], ["dept", "category_l1"]])
@pytest.mark.parametrize("which", range(3))
def test_sql_counts_equal_polars(con, by, which):
    settings = list(variants())[which]
    last = con.sql("SELECT max(received_at)::DATE FROM work_orders").fetchall()[0][0]
    f = Filters(date_from=add_months(last.replace(day=1), -5), date_to=last)
    cols = tuple(dict.fromkeys((*RATE_INPUT_COLUMNS, *(c for c in by if c != "month"))))
    frame = orders(con, f, cols).with_columns(month=pl.col("received_at").dt.truncate("1mo").dt.date())
    want = rate_table(frame, by, settings)
    got = read_rate_table(con, f, by, settings)
    assert got["orders"].sum() > 1000
    if by:
        want, got = want.sort(by, nulls_last=True), got.sort(by, nulls_last=True)
    for c in (*by, *COUNT_COLUMNS):
        assert got[c].cast(pl.Int64).to_list() == want[c].cast(pl.Int64).to_list() if c in COUNT_COLUMNS else \
            got[c].to_list() == want[c].to_list(), c
    for c in RATE_COLUMNS:
        assert got[c].to_list() == pytest.approx(want[c].to_list(), abs=1e-12, nan_ok=True), c


@pytest.mark.parametrize("by,functional_only", [("district", False), ("street", False), ("dept", False), ("dept", True)])
def test_score_table_in_sql_equals_polars(con, by, functional_only):
    from analytics import scores
    from analytics.db import query

    settings = load_settings()
    last = con.sql("SELECT max(received_at)::DATE FROM work_orders").fetchall()[0][0]
    f = Filters(date_from=add_months(last.replace(day=1), -2), date_to=last, districts=("朝阳区",))
    scope = scores.with_history(scores.ranking_filters(f, by), settings)
    want = scores.score_table(
        query(con, *scores.orders_query(scope)), by, settings, areas=query(con, scores.AREAS_SQL),
        ratings=query(con, *scores.ratings_query(scope)), duties=query(con, scores.DUTIES_SQL),
        functional_only=functional_only)
    got = scores.read_score_table(con, f, by, settings, functional_only)
    keys = ["period", *scores.UNIT_KEYS[by]]
    want, got = want.sort(keys), got.sort(keys)
    assert got.height == want.height > 20
    assert got.columns == want.columns or set(got.columns) == set(want.columns)
    for c in want.columns:
        a, b = got[c].to_list(), want[c].to_list()
        if want[c].dtype.is_float():
            assert a == pytest.approx(b, abs=1e-9, nan_ok=True), c
        else:
            assert a == b, c


def test_summary_answers_whole_months_and_follows_every_write(tmp_path):
    from dataclasses import replace
    from datetime import date

    from analytics import rates
    from etl.store import writing
    from tests.dbfactory import sample_orders, write_orders

    path = write_orders(tmp_path / "hotline.duckdb", sample_orders())
    s = load_settings()
    october = Filters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    september = Filters(date_from=date(2026, 9, 1), date_to=date(2026, 9, 30))
    con = connect_read(path)
    try:
        assert rates._summary_covers(con, october, ["district", "month"], s)
        assert rates._summary_covers(con, october, [], s.with_overrides("rates", exclude_invalid=True, response_window_hours=24.0))
        assert not rates._summary_covers(con, replace(october, date_to=date(2026, 10, 15)), ["district"], s)
        assert not rates._summary_covers(con, october, ["channel"], s)
        assert not rates._summary_covers(con, october, ["district"], s.with_overrides("rates", response_window_hours=2))
        before = read_rate_table(con, october, [], s)["orders"][0]
    finally:
        con.close()
    with writing(path) as w:   # a re-load changes one October order and moves another to September
        w.execute("UPDATE work_orders SET satisfaction = '不满意', responded_at = NULL, load_id = 'L2' "
                  "WHERE order_id = (SELECT min(order_id) FROM work_orders WHERE received_at >= DATE '2026-10-01')")
        w.execute("UPDATE work_orders SET received_at = TIMESTAMP '2026-09-15 10:00', load_id = 'L2' "
                  "WHERE order_id = (SELECT max(order_id) FROM work_orders WHERE received_at >= DATE '2026-10-01')")
    con = connect_read(path)
    try:
        assert rates._summary_covers(con, october, ["district"], s)
        assert read_rate_table(con, october, [], s)["orders"][0] == before - 1
        for f in (october, september, Filters()):
            got = read_rate_table(con, f, ["district", "street"], s)
            want = rate_table(orders(con, f, (*RATE_INPUT_COLUMNS, "district", "street")), ["district", "street"], s)
            want = want.sort(["district", "street"])
            for c in (*COUNT_COLUMNS, *RATE_COLUMNS):
                assert got[c].to_list() == pytest.approx(want[c].to_list(), nan_ok=True), c
    finally:
        con.close()
