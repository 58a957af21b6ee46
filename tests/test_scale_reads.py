"""Hotspots, hot words, top categories and the 月度通报 counted in DuckDB (issue #16) give exactly what the
polars computations over the fetched orders give, on a demo and for windows that cut months in two."""
from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import hotspots as hs
from analytics import overview, report
from analytics.db import data_extent, monthly_orders, orders, pending_months, pending_tokens
from analytics.filters import Filters, Scope
from analytics.settings import load_settings
from etl.demo import build_demo
from core import summary
from etl.store import connect_read, writing

WINDOWS = [
    Filters(date(2026, 10, 1), date(2026, 10, 31)),
    Filters(date(2026, 9, 10), date(2026, 10, 20)),                     # two partial months
    Filters(date(2026, 10, 5), date(2026, 10, 20), categories=("住房",)),  # within one month
    Filters(date(2026, 3, 1), date(2026, 5, 31), districts=("朝阳区",)),
    Filters(None, date(2025, 6, 15)),
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scale_reads") / "hotline.duckdb"
    build_demo(path, orders=20_000, seed=11)
    return path


@pytest.fixture
def con(demo_db):
    c = connect_read(demo_db)
    yield c
    c.close()


def _sorted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort([k for k in keys if k in frame.columns])


@pytest.mark.parametrize("f", WINDOWS, ids=lambda f: f"{f.date_from}-{f.date_to}")
def test_monthly_orders_equal_counting_the_orders(con, f):
    got = monthly_orders(con, f, ["district", "category_l1"]).group_by("district", "category_l1").agg(pl.col("orders").sum())
    fetched = orders(con, f, ["district", "category_l1"])
    raw = fetched.group_by("district", "category_l1").agg(pl.len().alias("orders"))
    assert got["orders"].sum() == fetched.height > 0
    assert_frame_equal(_sorted(got, ["district", "category_l1"]), _sorted(raw, ["district", "category_l1"]),
                       check_dtypes=False)


@pytest.mark.parametrize("f", WINDOWS, ids=lambda f: f"{f.date_from}-{f.date_to}")
@pytest.mark.parametrize("by", ["district", "street"])
def test_hotspots_from_the_summary_equal_hotspots_of_the_orders(con, f, by):
    settings = load_settings()
    new = hs.read_hotspots(con, f, by, settings)
    history = orders(con, f.reaching_back(max(12, settings.hotspots.trailing_months)), hs.HOTSPOT_COLUMNS)
    old = hs.hotspots(history, by, settings, start=f.date_from, end=f.date_to)
    keys = ["month", "area", "district", "category"]
    assert new.height == old.height > 0
    assert_frame_equal(_sorted(new, keys), _sorted(old, keys), check_dtypes=False)


def test_the_demo_surge_month_is_found_from_the_summary(con):
    """The demo plants the 天通苑北一区停水 burst in October 2026: its street's 公共服务 cell surges."""
    hot = hs.read_hotspots(con, WINDOWS[0], "street", load_settings())
    top = hs.surges(hot).row(0, named=True)
    assert (top["area"], top["district"], top["category"]) == ("天通苑北街道", "昌平区", "公共服务")
    assert top["basis"] == "去年同月" and top["lift"] >= 10


def _words_by_polars(con, f: Filters, settings) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    h = settings.hotspots
    frame = orders(con, f.reaching_back(12), hs.WORD_COLUMNS)
    if not f.date_from:
        return hs.top_words(frame, 30), pl.DataFrame(), ""
    now = frame.filter(pl.col("received_at").dt.date() >= f.date_from)
    words = hs.hot_words(frame, None, None, start=f.date_from, min_count=h.word_min_count, min_baseline=h.word_min_baseline)
    return hs.top_words(now, 30), hs.emerging(words, 30, h.word_min_lift), hs.baseline_note(words, h.word_min_baseline)


@pytest.mark.parametrize("f", WINDOWS, ids=lambda f: f"{f.date_from}-{f.date_to}")
def test_words_counted_in_duckdb_equal_the_polars_words(con, f):
    settings = load_settings()
    h = settings.hotspots
    top, rising, note = hs.read_words(con, f, h.word_min_count, h.word_min_lift, h.word_min_baseline)
    old_top, old_rising, old_note = _words_by_polars(con, f, settings)
    assert top.height == 30
    assert_frame_equal(top, old_top, check_dtypes=False)
    assert note == old_note
    if f.date_from:
        assert rising.height > 0
        assert_frame_equal(_sorted(rising, ["word"]), _sorted(old_rising, ["word"]), check_dtypes=False)


def test_words_of_orders_the_token_index_does_not_cover_yet(demo_db, tmp_path):
    """Orders whose tokens are missing (an index still being built) are segmented and counted too."""
    db = tmp_path / "pending.duckdb"
    shutil.copy(demo_db, db)
    with writing(db) as c:
        c.execute("DELETE FROM order_tokens WHERE order_id IN (SELECT order_id FROM work_orders "
                  "WHERE received_at >= DATE '2026-10-01' ORDER BY order_id LIMIT 200)")
    settings, f = load_settings(), WINDOWS[0]
    h = settings.hotspots
    con = connect_read(db)
    try:
        assert con.execute("SELECT count(*) FROM work_orders LEFT JOIN order_tokens USING (order_id) "
                           "WHERE tokens IS NULL").fetchall()[0][0] == 200
        top, rising, _ = hs.read_words(con, f, h.word_min_count, h.word_min_lift, h.word_min_baseline)
        old_top, old_rising, _ = _words_by_polars(con, f, settings)
    finally:
        con.close()
    assert_frame_equal(top, old_top, check_dtypes=False)
    assert_frame_equal(_sorted(rising, ["word"]), _sorted(old_rising, ["word"]), check_dtypes=False)


@pytest.mark.parametrize("by", [None, "district"])
def test_cli_words_per_month_equal_the_polars_words(con, by):
    f = Filters(date(2026, 8, 1), date(2026, 10, 31))
    h = load_settings().hotspots
    docs, counts = hs.read_word_counts(con, f.reaching_back(12), by, period="1mo")
    new = hs.word_stats(docs, counts, "1mo", f.date_from, min_count=h.word_min_count, min_baseline=h.word_min_baseline)
    old = hs.hot_words(orders(con, f.reaching_back(12), hs.WORD_COLUMNS), by, "1mo", start=f.date_from,
                       min_count=h.word_min_count, min_baseline=h.word_min_baseline)
    assert new["period"].unique().sort().to_list() == [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)]
    assert_frame_equal(_sorted(new, ["area", "period", "word"]), _sorted(old, ["area", "period", "word"]),
                       check_dtypes=False)


def test_top_categories_and_report_changes_equal_counting_the_orders(con):
    f = Filters(date(2026, 10, 1), date(2026, 10, 31), districts=("朝阳区",))
    before = replace(f, date_from=date(2026, 9, 1), date_to=date(2026, 9, 30))
    raw = orders(con, f, ["category_l1"])
    counts = raw.group_by("category_l1").len("orders").drop_nulls().sort(["orders", "category_l1"], descending=[True, False])
    top = overview.read_top_categories(con, f, 5)
    assert top["category_l1"].to_list() == counts["category_l1"].head(5).to_list()
    assert top["orders"].to_list() == counts["orders"].head(5).to_list()
    assert top["share"][0] == pytest.approx(counts["orders"][0] / raw.height)
    changes = report.read_category_changes(con, f, before, 5)
    prev = orders(con, before, ["category_l1"]).group_by("category_l1").len("previous")
    expect = dict(prev.iter_rows())
    assert changes["previous"].to_list() == [expect.get(c, 0) for c in changes["category_l1"]]
    assert (changes["change"] == changes["orders"] - changes["previous"]).all()


def test_district_map_takes_a_top_value_that_rounds_above_one():
    """0.1 + 0.9 × (5018 − 232) / (5018 − 232) is 1.0000000000000002 in floating point (a real 20,000-order
    month); plotly's colour scale then failed and took 热点分布 down with it."""
    values = pl.DataFrame({"district": ["东城区", "石景山区", "朝阳区"], "orders": [5018, 232, 1374]})
    fig = hs.district_map(values)
    fills = {t.name: t.fillcolor for t in fig.data if t.fillcolor}
    assert fills["东城区"] == "rgb(127, 0, 0)"   # the darkest end of the scale


def test_monthly_words_count_each_orders_words_once_and_follow_the_token_index(demo_db, tmp_path):
    db = tmp_path / "words.duckdb"
    shutil.copy(demo_db, db)
    october = date(2026, 10, 1)

    def october_words(c) -> pl.DataFrame:
        got = c.sql("SELECT district, word, orders FROM monthly_words WHERE month = ?", params=[october]).pl()
        raw = c.sql("SELECT w.district, t.tokens FROM work_orders w JOIN order_tokens t USING (order_id) "
                    "WHERE w.received_at >= ? AND w.received_at < DATE '2026-11-01'", params=[october]).pl()
        expect = (raw.select("district", word=pl.col("tokens").list.eval(pl.element().str.to_lowercase()).list.unique())
                  .explode("word").drop_nulls("word").group_by("district", "word").len("orders"))
        assert got.height == expect.height > 1000
        assert_frame_equal(_sorted(got, ["district", "word"]), _sorted(expect, ["district", "word"]), check_dtypes=False)
        return got

    con = connect_read(db)
    before = october_words(con)
    con.close()
    with writing(db) as c:
        c.execute("DELETE FROM order_tokens WHERE order_id IN (SELECT order_id FROM work_orders "
                  "WHERE received_at >= ? ORDER BY order_id LIMIT 300)", [october])
        assert summary.refresh_words(c) == [october]     # only the month whose index changed is redone
    con = connect_read(db)
    after = october_words(con)
    con.close()
    assert after["orders"].sum() < before["orders"].sum()


@pytest.mark.parametrize("word", ["物业", "天通苑北一区", "app"])
def test_word_orders_are_the_latest_orders_holding_the_word(con, word):
    f = WINDOWS[0]
    got = hs.read_word_orders(con, f, word)
    frame = orders(con, f, ["order_id", "received_at", "district", "street", "category_l1", "content", "tokens"])
    expect = (frame.filter(pl.col("tokens").list.eval(pl.element().str.to_lowercase()).list.contains(word))
              .sort(["received_at", "order_id"], descending=True).head(50).drop("tokens"))
    assert got.height == expect.height
    assert_frame_equal(got, expect, check_dtypes=False)


@pytest.mark.parametrize("f", [Filters(), *WINDOWS], ids=lambda f: f"{f.date_from}-{f.date_to}")
def test_data_extent_from_the_summary_equals_counting_the_orders(con, f):
    got = data_extent(con, f)
    where, params = f.where()
    orders_, first, last = con.sql(f"SELECT count(*), min(received_at), max(received_at) FROM work_orders WHERE {where}",
                                   params=params).fetchall()[0]
    assert (got["orders"], got["first_at"], got["last_at"]) == (orders_, first, last)
    assert got["orders"] > 0 and got["loads"] >= 1


def test_pending_tokens_from_the_summaries(demo_db, tmp_path):
    db = tmp_path / "pending.duckdb"
    shutil.copy(demo_db, db)
    with writing(db) as c:
        c.execute("DELETE FROM order_tokens WHERE order_id IN (SELECT order_id FROM work_orders ORDER BY order_id LIMIT 123)")
    con = connect_read(db)
    try:
        assert pending_tokens(con, Filters()) == 123      # from the summaries
        district = con.sql("SELECT district FROM work_orders WHERE order_id = (SELECT min(order_id) FROM work_orders)").fetchall()[0][0]
        expect = con.sql("SELECT count(*) FROM (SELECT order_id FROM work_orders ORDER BY order_id LIMIT 123) "
                         "JOIN work_orders USING (order_id) WHERE district = ?", params=[district]).fetchall()[0][0]
        assert pending_tokens(con, Filters(districts=(district,))) == expect > 0   # from the orders
        months = con.sql("SELECT DISTINCT date_trunc('month', received_at)::DATE FROM (SELECT received_at FROM "
                         "work_orders ORDER BY order_id LIMIT 123) ORDER BY 1").fetchall()
        assert pending_months(con, Filters()) == [m for (m,) in months]
        assert pending_months(con, Filters(date(2026, 10, 1), date(2026, 10, 31))) == [
            m for (m,) in months if m == date(2026, 10, 1)]
        assert pending_months(con, replace(Filters(), scope=Scope("朝阳区"))) is None   # cannot tell: counted from the orders
    finally:
        con.close()
