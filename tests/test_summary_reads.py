"""Pages read counts where the data is (issue #16): each read from the monthly summaries, the token index's
months or DuckDB aggregates gives exactly what the order-level polars computation gives, on a demo and on a
synthetic city whose places and texts are not the demo's, for whole months, months cut in two and orders the
token index does not cover yet."""
from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import community as cm
from analytics.db import orders
from analytics.filters import Filters
from analytics.settings import load_settings
from etl.demo import build_demo
from etl.load import load_file
from etl.store import connect_read, writing
from etl.tokens import fill
from conftest import older_copy


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("summary_reads") / "demo.duckdb"
    build_demo(path, orders=8_000, seed=5)
    return path


@pytest.fixture(scope="module")
def city_db(tmp_path_factory) -> Path:
    from bench.synthcity import generate

    tmp = tmp_path_factory.mktemp("summary_city")
    city = generate(seed=13, orders=6_000, start=date(2025, 1, 1), months=12)
    path = tmp / "city.duckdb"
    load_file(city.write_csv(tmp / "城市导出.csv"), path)
    fill(path)
    return path


@pytest.fixture(params=["demo", "city"])
def db(request, demo_db, city_db) -> Path:
    return demo_db if request.param == "demo" else city_db


def _windows(con) -> list[Filters]:
    """The last whole month, the last three months, and a window cutting two months in two."""
    last = con.execute("SELECT max(received_at)::DATE FROM work_orders").fetchall()[0][0].replace(day=1)
    end = date(last.year + last.month // 12, last.month % 12 + 1, 1)
    from datetime import timedelta
    three = date(last.year, last.month, 1)
    for _ in range(2):
        three = (three - timedelta(days=1)).replace(day=1)
    return [Filters(last, end - timedelta(days=1)), Filters(three, end - timedelta(days=1)),
            Filters(three.replace(day=10), last.replace(day=20))]


def _profile_by_polars(con, f: Filters, community: str | None, settings) -> dict:
    street = orders(con, f, cm.PROFILE_COLUMNS)
    local = street.filter(pl.col("community") == community) if community else street
    reference = street if community else orders(con, replace(f, streets=()), cm.PROFILE_COLUMNS)
    return {"rates": cm.rates_vs(local, reference, settings, "本地", "参照"), "words": cm.distinctive_words(local, reference),
            "orders": local.height}


def _busiest(con, f: Filters) -> tuple[str, str, str]:
    where, params = f.where()
    return con.execute(f"SELECT district, street, any_value(community) FROM work_orders WHERE {where} AND street IS NOT NULL "
                       "AND community IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, street LIMIT 1", params).fetchall()[0]


def _assert_profile(con, f: Filters, settings) -> None:
    district, street, community = _busiest(con, f)
    scope = replace(f, districts=(district,), streets=(street,))
    for place in (None, community):
        got = cm.read_profile(con, scope, place, settings, "本地", "参照")
        want = _profile_by_polars(con, scope, place, settings)
        assert got["orders"] == want["orders"] > 0
        assert_frame_equal(got["rates"], want["rates"])
        assert got["words"].height > 0
        assert_frame_equal(got["words"], want["words"], check_dtypes=False)


def test_community_profile_against_its_district_equals_the_order_level_profile(db):
    settings = load_settings()
    con = connect_read(db)
    try:
        for f in _windows(con):
            _assert_profile(con, f, settings)
    finally:
        con.close()


def test_community_profile_with_orders_the_token_index_does_not_cover_yet(demo_db, tmp_path):
    path = tmp_path / "pending.duckdb"
    shutil.copy(demo_db, path)
    with writing(path) as c:
        c.execute("DELETE FROM order_tokens WHERE order_id IN (SELECT order_id FROM work_orders ORDER BY order_id LIMIT 700)")
    con = connect_read(path)
    try:
        assert con.execute("SELECT count(*) FROM work_orders WHERE order_id NOT IN (SELECT order_id FROM order_tokens)"
                           ).fetchall()[0][0] == 700
        for f in _windows(con)[:2]:
            _assert_profile(con, f, load_settings())
    finally:
        con.close()


def _all_windows(con) -> list[Filters]:
    return [Filters(), *_windows(con), replace(_windows(con)[1], districts=(_busiest(con, Filters())[0],))]


def test_quality_checks_from_the_summary_equal_counting_the_orders(db):
    from analytics import quality

    con = connect_read(db)
    try:
        for f in _all_windows(con):
            got = quality.coverage(con, f)
            where, params = f.where()
            raw = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE district IS NULL), count(*) FILTER (WHERE category_l1 IS NULL), "
                "count(*) FILTER (WHERE content IS NULL OR trim(content) = ''), count(*) FILTER (WHERE dispatched_at IS NULL), "
                "count(*) FILTER (WHERE status = '已办结' AND closed_at IS NULL), count(*) FILTER (WHERE satisfaction IS NULL), "
                "count(*) FILTER (WHERE street IS NOT NULL AND street NOT IN (SELECT street FROM areas WHERE street IS NOT NULL)) "
                f"FROM work_orders WHERE {where}", params).fetchall()[0]
            counts = dict(zip(got["check"], got["orders"]))
            assert raw[0] > 0
            assert [counts[k] for k in ("district_missing", "category_missing", "content_missing", "dispatched_missing",
                                        "closed_missing", "satisfaction_missing")] == list(raw[1:7])
            assert counts["street_unknown"] <= raw[7]
            assert got["share"][0] == pytest.approx(counts["district_missing"] / raw[0])
            unknown = quality.unknown_streets(con, f)
            assert int(unknown["orders"].sum()) == counts["street_unknown"] or unknown.height == 50
    finally:
        con.close()


def test_summary_reads_equal_the_same_reads_of_a_database_without_summaries(db, tmp_path):
    """The order-level path (a database written before the summaries, read as it is) gives the same pages."""
    from analytics import forecast as F
    from analytics import quality

    bare = older_copy(db, tmp_path / "bare.duckdb", "DROP TABLE monthly_detail")
    settings = load_settings()
    new, old = connect_read(db), connect_read(bare)
    try:
        for f in _all_windows(new):
            assert_frame_equal(quality.coverage(new, f), quality.coverage(old, f))
            assert_frame_equal(quality.unknown_streets(new, f), quality.unknown_streets(old, f))
        for f in _all_windows(new)[:3]:
            for level in ("street", "district"):
                a, b = F.read_outlook(new, f, settings, level), F.read_outlook(old, f, settings, level)
                assert a.warnings.height > 0 or f.date_to
                assert_frame_equal(a.warnings, b.warnings)
                assert_frame_equal(a.forecasts.table, b.forecasts.table)
            for x, y in zip(F.read_series(new, f, settings)[:2], F.read_series(old, f, settings)[:2]):
                assert_frame_equal(x, y)
    finally:
        new.close()
        old.close()


def test_forecast_counts_from_the_summary_equal_counting_the_orders(db):
    from analytics import forecast as F
    from analytics.db import detail_sql, query

    con = connect_read(db)
    try:
        for f in _all_windows(con):
            for level, category in (("street", None), ("district", None), ("dept", None), ("city", "category_l2"),
                                    ("city", "category_l3")):
                got = query(con, *F.monthly_sql(level, f, category, source=lambda g: detail_sql(con, g)))
                want = query(con, *F.monthly_sql(level, f, category))
                assert got.height == want.height > 0
                keys = ["month", "unit", "category"]
                assert_frame_equal(got.sort(keys), want.sort(keys))
            assert_frame_equal(query(con, *F.coverage_sql(f, lambda g: detail_sql(con, g))), query(con, *F.coverage_sql(f)))
    finally:
        con.close()


def test_an_old_database_upgrades_itself_with_token_months_and_the_detail_summary(demo_db, tmp_path):
    from analytics import hotspots as hs
    from analytics import quality
    from core.schema import needs_upgrade

    old = older_copy(demo_db, tmp_path / "old.duckdb", "DROP TABLE monthly_detail", "DROP TABLE monthly_detail_state",
                     "ALTER TABLE order_tokens DROP COLUMN month")
    con = connect_read(old)
    try:
        assert needs_upgrade(con, "hotline")
        f = _windows(con)[0]
        before = (hs.read_word_orders(con, f, "物业"), quality.coverage(con, f))
    finally:
        con.close()
    with writing(old):
        pass
    con = connect_read(old)
    try:
        assert not needs_upgrade(con, "hotline")
        assert con.execute("SELECT count(*) FROM order_tokens t JOIN work_orders w USING (order_id) "
                           "WHERE t.month IS DISTINCT FROM date_trunc('month', w.received_at)::DATE").fetchall() == [(0,)]
        assert con.execute("SELECT sum(orders) FROM monthly_detail").fetchall() == con.execute(
            "SELECT count(*) FROM work_orders").fetchall()
        assert_frame_equal(hs.read_word_orders(con, f, "物业"), before[0])
        assert_frame_equal(quality.coverage(con, f), before[1])
    finally:
        con.close()


def test_word_orders_match_tokens_and_the_text_of_orders_without_tokens(demo_db, tmp_path):
    from analytics import hotspots as hs

    path = tmp_path / "pending.duckdb"
    shutil.copy(demo_db, path)
    with writing(path) as c:
        c.execute("DELETE FROM order_tokens WHERE order_id IN (SELECT order_id FROM work_orders ORDER BY received_at DESC LIMIT 300)")
    con = connect_read(path)
    try:
        for f in _windows(con):
            # 5: found in the period's last days (the search widens only when it must); 40 and 400: wider.
            for word, limit in (("物业", 5), ("物业", 40), ("停水", 40), ("物业", 400)):
                got = hs.read_word_orders(con, f, word, limit=limit)
                where, params = f.where(prefix="w.")
                want = con.execute(
                    "SELECT w.order_id FROM work_orders w LEFT JOIN order_tokens t USING (order_id) "
                    f"WHERE {where} AND CASE WHEN t.tokens IS NULL THEN contains(lower(w.content), ?) "
                    "ELSE list_contains(t.tokens, ?) END ORDER BY w.received_at DESC, w.order_id DESC LIMIT ?",
                    [*params, word, word, limit]).fetchall()
                assert got["order_id"].to_list() == [r[0] for r in want]
                assert got.height > 0
    finally:
        con.close()


def test_sidebar_months_and_pickers_from_the_summary_equal_counting_the_orders(db):
    from analytics.db import loaded_months, options

    con = connect_read(db)
    try:
        assert loaded_months(con, Filters()) == [r[0] for r in con.execute(
            "SELECT DISTINCT date_trunc('month', received_at)::DATE AS m FROM work_orders ORDER BY m").fetchall()]
        for f in _all_windows(con):
            for column in ("district", "street", "category_l1", "community"):
                where, params = f.where()
                want = [r[0] for r in con.execute(
                    f"SELECT {column}, count(*) AS n FROM work_orders WHERE {column} IS NOT NULL AND {where} "
                    f"GROUP BY 1 ORDER BY n DESC, {column}", params).fetchall()]
                assert options(con, f, column) == want and want
    finally:
        con.close()


def test_a_rewritten_order_changes_its_months_word_fingerprint_and_counts(demo_db, tmp_path):
    """As a load rewrites an order (new content, new load, its tokens deleted, rebuilt by the next publish):
    the month's token fingerprint (what core.hotstore compares stored hot issues with) changes, and the
    monthly word counts equal counting the tokens again."""
    path = tmp_path / "rewrite.duckdb"
    shutil.copy(demo_db, path)
    con = connect_read(path)
    order, month = con.execute("SELECT order_id, date_trunc('month', received_at)::DATE FROM work_orders "
                               "ORDER BY received_at DESC, order_id LIMIT 1").fetchall()[0]
    before = con.execute("SELECT fingerprint FROM monthly_words_state WHERE month = ?", [month]).fetchall()
    con.close()
    with writing(path) as c:
        c.execute("UPDATE work_orders SET content = '小区电梯困人无人处理', load_id = 'rewrite' WHERE order_id = ?", [order])
        c.execute("DELETE FROM order_tokens WHERE order_id = ?", [order])
    fill(path)
    con = connect_read(path)
    try:
        after = con.execute("SELECT fingerprint FROM monthly_words_state WHERE month = ?", [month]).fetchall()
        assert before and after and before != after
        recount = con.execute(
            "SELECT w.district, lower(x) AS word, count(DISTINCT w.order_id) FROM work_orders w JOIN order_tokens t "
            "USING (order_id), unnest(t.tokens) AS u(x) WHERE date_trunc('month', w.received_at) = ? GROUP BY ALL "
            "ORDER BY ALL", [month]).fetchall()
        stored = con.execute("SELECT district, word, orders FROM monthly_words WHERE month = ? ORDER BY ALL", [month]).fetchall()
        assert stored == recount and ("电梯" in {w for _, w, _ in stored})
    finally:
        con.close()


def test_a_streets_months_from_the_summary_equal_counting_its_orders(db):
    con = connect_read(db)
    try:
        for f in _windows(con):
            district, street, _ = _busiest(con, f)
            scope = replace(f, districts=(district,), streets=(street,))
            got = cm.read_monthly(con, scope, None)
            where, params = replace(scope, date_from=None).where()
            want = con.sql("SELECT date_trunc('month', received_at)::DATE AS month, count(*) AS orders FROM work_orders "
                           f"WHERE {where} GROUP BY 1 ORDER BY 1", params=params).pl().tail(13)
            assert got.height > 0
            assert_frame_equal(got, want, check_dtypes=False)
    finally:
        con.close()


def test_recent_windows_from_the_daily_summary_equal_counting_the_orders(db):
    """预警与预测's recent and last-year windows counted per day from daily_counts, against the orders."""
    from datetime import timedelta

    from analytics import forecast as F
    from analytics.db import daily_source, query

    con = connect_read(db)
    try:
        assert daily_source(con)[0] == "daily_counts"
        last = con.execute("SELECT max(received_at)::DATE FROM work_orders").fetchall()[0][0]
        for f in _all_windows(con):
            f = F.scope(f)
            for end in (last + timedelta(days=1), last - timedelta(days=40)):
                for level in ("street", "district", "dept"):
                    got = query(con, *F.recent_sql(level, end, 28, 84, f, daily_source(con)))
                    want = query(con, *F.recent_sql(level, end, 28, 84, f))
                    assert got.height == want.height > 0
                    assert want["recent"].sum() > 0
                    assert_frame_equal(got.sort("unit", "category"), want.sort("unit", "category"))
    finally:
        con.close()


def test_department_dispatch_quality_from_the_summary_equals_counting_the_orders(db):
    """部门考评's 退单/改派 and 派单不符 per department and month, from monthly_detail, against the orders."""
    from analytics import scores

    con = connect_read(db)
    try:
        for f in _all_windows(con):
            got = scores.read_dispatch_quality(con, f).sort("dept", "period")
            where, params = f.where()
            want = pl.DataFrame(con.execute(
                f"SELECT dept, date_trunc('month', received_at)::DATE AS period, count(*) AS n, count(*) FILTER "
                "(WHERE coalesce(redispatch_count, 0) > 0 OR coalesce(status = '退单', false)) AS r FROM work_orders "
                f"WHERE {where} AND dept IS NOT NULL GROUP BY ALL ORDER BY 1, 2", params).fetchall(),
                schema=["dept", "period", "n", "r"], orient="row")
            assert got.height == want.height > 0
            assert got["dept"].to_list() == want["dept"].to_list() and got["period"].to_list() == want["period"].to_list()
            assert got["redispatched"].to_list() == want["r"].to_list()
            assert got["redispatch_share"].to_list() == (want["r"] / want["n"]).to_list()
    finally:
        con.close()


def test_a_database_before_the_daily_counts_reads_the_same_and_upgrades(demo_db, tmp_path):
    """A file whose monthly_detail lacks the 退单/改派 count and that has no daily_counts reads its orders
    instead, and its next write adds both (every month counted again)."""
    from analytics import forecast as F
    from analytics import scores
    from core.schema import needs_upgrade

    old = older_copy(demo_db, tmp_path / "old.duckdb", "ALTER TABLE monthly_detail DROP COLUMN redispatched",
                     "DROP TABLE daily_counts", "DROP TABLE daily_counts_state")
    settings = load_settings()
    new, con = connect_read(demo_db), connect_read(old)
    try:
        assert needs_upgrade(con, "hotline") and not needs_upgrade(new, "hotline")
        for f in _all_windows(new)[:3]:
            assert_frame_equal(scores.read_dispatch_quality(con, f).sort("dept", "period"),
                               scores.read_dispatch_quality(new, f).sort("dept", "period"))
            assert_frame_equal(F.read_outlook(con, f, settings).warnings, F.read_outlook(new, f, settings).warnings)
    finally:
        new.close()
        con.close()
    with writing(old):
        pass
    con = connect_read(old)
    try:
        assert not needs_upgrade(con, "hotline")
        totals = con.execute("SELECT (SELECT sum(orders) FROM daily_counts), (SELECT sum(redispatched) FROM monthly_detail), "
                             "(SELECT count(*) FROM work_orders), (SELECT count(*) FILTER (WHERE coalesce(redispatch_count, 0) > 0 "
                             "OR coalesce(status = '退单', false)) FROM work_orders)").fetchone()
        assert totals[0] == totals[2] and totals[1] == totals[3] > 0
    finally:
        con.close()
