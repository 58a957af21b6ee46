"""派单质量 reads only its window's suggestions (order_suggestions.month), in one pass over the flagged orders:
the same figures as counting each tally on its own, and as an older file without the month column."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import suggestions
from analytics import dispatch
from analytics.filters import Filters
from analytics.settings import load_settings
from core.schema import needs_upgrade
from core.store import connect_read
from etl.store import writing
from tests.dbfactory import write_orders
from tests.test_classify import history
from conftest import older_copy

SETTINGS = load_settings().with_overrides("classify", confident=0.5)
WINDOWS = [Filters(), Filters(date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)),
           Filters(date_from=date(2026, 2, 1), date_to=date(2026, 3, 31), districts=("朝阳区",))]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    frame = history()
    # Spread over three months, with some leak orders misdispatched.
    frame = frame.with_columns(received_at=pl.Series([datetime(2026, 1, 1, 9) + timedelta(hours=5 * i)
                                                      for i in range(frame.height)]))
    leaks = frame.filter(pl.col("category_l3") == "漏水")
    bad = leaks.gather_every(7).with_columns(dept=pl.lit("朝阳区教委"), redispatch_count=pl.lit(1, pl.Int32))
    frame = pl.concat([frame.filter(~pl.col("order_id").is_in(bad["order_id"].implode())), bad])
    path = write_orders(tmp_path_factory.mktemp("dispatch_months") / "hotline.duckdb", frame)
    with writing(path) as con:
        con.execute("INSERT INTO dept_duties (category_l1, category_l2, dept) VALUES ('住房', '物业', '朝阳区房管局')")
    suggestions.retrain(path)
    return path


def _separately(con, f):
    """Each tally counted on its own over the flagged orders."""
    sql, params = dispatch._flagged(con, f, SETTINGS)
    total = dispatch._shares(con.sql(f"SELECT {dispatch._COUNTS} FROM ({sql})", params=params).pl()).to_dicts()[0]
    months = con.sql(f"SELECT dept, date_trunc('month', received_at)::DATE AS month, {dispatch._COUNTS} FROM ({sql}) "
                     "GROUP BY ALL", params=params).pl()
    months = dispatch._shares(months.sort(pl.col("suspect").sum().over("dept"), "dept", "month",
                                          descending=[True, False, False]))
    cats = con.sql(f"SELECT category_l1, category_l2, {dispatch._COUNTS} FROM ({sql}) GROUP BY ALL "
                   "HAVING count(*) FILTER (WHERE suspect) > 0 ORDER BY suspect DESC, category_l1, category_l2 LIMIT 20",
                   params=params).pl()
    # The most frequent suggestion among each type's suspects, ties to the first name.
    top = (con.sql(f"SELECT category_l1, category_l2, suggested_dept FROM ({sql}) WHERE suspect", params=params).pl()
           .group_by("category_l1", "category_l2", "suggested_dept").len()
           .sort(["len", "suggested_dept"], descending=[True, False])
           .group_by("category_l1", "category_l2", maintain_order=True).first())
    cats = cats.join(top.select("category_l1", "category_l2", top_suggested="suggested_dept"),
                     on=["category_l1", "category_l2"], how="left", maintain_order="left", nulls_equal=True)
    return total, months, dispatch._shares(cats)


def _suggested(con, f) -> tuple[int, int]:
    """Orders of the window (with a department) and how many of them have a history suggestion, in polars."""
    orders = con.sql("SELECT order_id, received_at, district, dept FROM work_orders").pl()
    sugg = con.sql("SELECT order_id FROM order_suggestions WHERE source = 'history'").pl()
    keep = pl.col("dept").is_not_null()
    if f.date_from:
        keep &= pl.col("received_at") >= datetime.combine(f.date_from, datetime.min.time())
    if f.date_to:
        keep &= pl.col("received_at") < datetime.combine(f.date_to + timedelta(days=1), datetime.min.time())
    if f.districts:
        keep &= pl.col("district").is_in(list(f.districts))
    window = orders.filter(keep)
    return window.height, window.join(sugg, on="order_id").height


def test_suggestions_carry_their_orders_month(db):
    con = connect_read(db)
    try:
        rows = con.execute("SELECT count(*), count(*) FILTER (WHERE s.month IS DISTINCT FROM "
                           "date_trunc('month', w.received_at)::DATE), count(DISTINCT s.month) FROM order_suggestions s "
                           "JOIN work_orders w USING (order_id)").fetchone()
    finally:
        con.close()
    assert rows[0] > 0 and rows[1] == 0 and rows[2] == 3


@pytest.mark.parametrize("f", WINDOWS, ids=["all", "february", "chaoyang-feb-mar"])
def test_one_pass_equals_each_tally_and_the_window_suggestions(db, f):
    con = connect_read(db)
    try:
        got = dispatch.counts(con, f, SETTINGS)
        total, months, cats = _separately(con, f)
        orders, suggested = _suggested(con, f)
        cover = dispatch.coverage(con, f)
    finally:
        con.close()
    assert got.summary == total
    assert (got.summary["orders"], got.summary["suggested"]) == (orders, suggested) and suggested > 0
    assert got.summary["suspect"] > 0 or f != Filters()   # the planted leaks lie in one month
    assert_frame_equal(got.by_dept_month, months)
    assert_frame_equal(got.by_category, cats)
    assert cover["suggested"] == suggested


def test_a_file_without_suggestion_months_reads_the_same_and_upgrades(db, tmp_path):
    old = older_copy(db, tmp_path / "old.duckdb", "ALTER TABLE order_suggestions DROP COLUMN month")
    new_con, old_con = connect_read(db), connect_read(old)
    try:
        assert needs_upgrade(old_con, "hotline") and not needs_upgrade(new_con, "hotline")
        for f in WINDOWS:
            was, now = dispatch.counts(old_con, f, SETTINGS), dispatch.counts(new_con, f, SETTINGS)
            assert was.summary == now.summary
            assert_frame_equal(was.by_dept_month, now.by_dept_month)
            assert_frame_equal(was.by_category, now.by_category)
    finally:
        new_con.close()
        old_con.close()
    with writing(old):
        pass
    con = connect_read(old)
    try:
        assert not needs_upgrade(con, "hotline")
        assert con.execute("SELECT count(*) FROM order_suggestions WHERE month IS NULL").fetchone()[0] == 0
        assert dispatch.counts(con, WINDOWS[1], SETTINGS).summary["suggested"] > 0
    finally:
        con.close()
