"""Monthly summaries kept by every write of the database. monthly_counts: per month × district × street × dept × category_l1 ×
is_invalid, the counts behind every rate (core.counts) and the latest receipt, so that rates and rankings
over any window read thousands of rows instead of millions of orders (analytics.rates.read_rate_table).

etl.store.writing refreshes it before publishing, recomputing only the months whose orders changed (their
number, or the loads that last wrote them). The two counts that depend on rate settings (responded in time,
closed on time) use settings.toml as it was then, recorded per month; a read under other settings counts
from the orders instead. monthly_detail: per month × district × street × dept × category_l1–l3 × load, the
orders, their latest receipt and the 数据质量 counts (forecasts over the whole history, pickers, quality checks).
monthly_words: per month × district × word, the orders whose tokens hold it (hot words over a year read these
instead of every order's tokens), redone for the months whose token index changed. daily_counts: per day ×
district × street × dept × category_l1–l2, the orders (预警与预测's recent weeks).
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import duckdb

from core.counts import COUNT_COLUMNS, aggregates
from core.settings import Rates

TABLE = "monthly_counts"
STATE = "monthly_counts_state"
KEYS = ("district", "street", "dept", "category_l1", "is_invalid")
_MONTH = "date_trunc('month', received_at)::DATE"
# What a month's orders are, for telling a changed month: how many, and which loads last wrote them.
_FINGERPRINT = "count(*) AS orders, sum(hash(coalesce(load_id, ''))) AS fingerprint"


def settings_key(rates: Rates) -> str:
    """The rate settings the stored counts depend on, as text."""
    fields = ("response_window_hours", "response_window_hours_by_category", "default_deadline_days",
              "deadline_days_by_category")
    values = dataclasses.asdict(rates)

    def number(v: Any) -> Any:   # 24 from the file and 24.0 from the UI are the same setting
        return {k: float(x) for k, x in v.items()} if isinstance(v, dict) else float(v)
    return json.dumps({f: number(values[f]) for f in fields}, sort_keys=True, ensure_ascii=False)


def create(con: duckdb.DuckDBPyConnection) -> None:
    counts = ", ".join(f"{c} BIGINT NOT NULL" for c in COUNT_COLUMNS)
    con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (month DATE NOT NULL, district VARCHAR, street VARCHAR, "
                f"dept VARCHAR, category_l1 VARCHAR, is_invalid BOOLEAN, {counts}, last_at TIMESTAMP)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {STATE} (month DATE NOT NULL, orders BIGINT, fingerprint HUGEINT, "
                "settings_key VARCHAR)")


def missing(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    """True for a database written before the summaries (or their columns of today) existed."""
    tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE list_contains(?, table_name) "
                         "AND database_name = coalesce(?, current_database())",
                         [[STATE, DETAIL_STATE, DAILY_STATE], database]).fetchall()[0][0]
    return tables < 3 or not _detail_current(con, database)


def refresh(con: duckdb.DuckDBPyConnection, rates: Rates) -> list[date]:
    """Bring the summary in line with work_orders (inside the writer's transaction); the months redone."""
    create(con)
    key = settings_key(rates)
    stale = [r[0] for r in con.execute(
        f"WITH now AS (SELECT {_MONTH} AS month, {_FINGERPRINT} FROM work_orders GROUP BY 1) "
        f"SELECT month FROM now FULL JOIN {STATE} s USING (month) WHERE now.orders IS NULL OR s.orders IS NULL "
        "OR now.orders <> s.orders OR now.fingerprint <> s.fingerprint OR s.settings_key IS DISTINCT FROM ? ORDER BY 1",
        [key]).fetchall()]
    if not stale:
        return []
    con.execute(f"DELETE FROM {TABLE} WHERE list_contains(?, month)", [stale])
    con.execute(f"DELETE FROM {STATE} WHERE list_contains(?, month)", [stale])
    select, params = aggregates(rates)
    # The range lets DuckDB skip row groups of other months; the list keeps only the stale ones.
    where = f"received_at >= ? AND received_at < ? AND list_contains(?, {_MONTH})"
    bounds: list[Any] = [stale[0], _next_month(stale[-1]), stale]
    con.execute(f"INSERT INTO {TABLE} SELECT {_MONTH} AS month, {', '.join(KEYS)}, {select}, max(received_at) "
                f"FROM work_orders WHERE {where} GROUP BY ALL", [*params, *bounds])
    con.execute(f"INSERT INTO {STATE} SELECT {_MONTH} AS month, {_FINGERPRINT}, ? FROM work_orders WHERE {where} "
                "GROUP BY 1", [key, *bounds])
    return stale


def forget(con: duckdb.DuckDBPyConnection, months: list[date]) -> None:
    """Have the write's refresh redo `months` in every summary keyed by area, unit or category: for a write that
    edits orders in place (filling their blank 分类 / 承办部门), which neither their number nor their loads tell."""
    for state in (STATE, DETAIL_STATE, DAILY_STATE):
        con.execute(f"DELETE FROM {state} WHERE list_contains(?, month)", [months])


DETAIL = "monthly_detail"
DETAIL_STATE = "monthly_detail_state"
DETAIL_KEYS = ("district", "street", "dept", "category_l1", "category_l2", "category_l3", "load_id")
# What the 数据质量 page counts per order (analytics.quality), over work_orders' own columns; the checks on
# district, street and category are read from the keys.
QUALITY_FLAGS = {
    "content_missing": "content IS NULL OR trim(content) = ''",
    "dispatched_missing": "dispatched_at IS NULL",
    "responded_missing": "responded_at IS NULL",
    "closed_missing": "status = '已办结' AND closed_at IS NULL",
    "resolution_missing": "resolution IS NULL",
    "satisfaction_missing": "satisfaction IS NULL",
}


# Counted beside the quality checks: re-dispatched or returned orders (部门考评's 退单/改派, as analytics.scores).
DETAIL_FLAGS = {**QUALITY_FLAGS,
                "redispatched": "coalesce(redispatch_count, 0) > 0 OR coalesce(status = '退单', false)"}


def detail_counts() -> str:
    """The select list of monthly_detail's counts over work_orders (orders, latest receipt, DETAIL_FLAGS)."""
    return ", ".join(["count(*) AS orders", "max(received_at) AS last_at",
                      *(f"count(*) FILTER (WHERE {cond}) AS {key}" for key, cond in DETAIL_FLAGS.items())])


def _detail_current(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    """Whether monthly_detail (where it exists) has every count of today's layout."""
    have = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name = coalesce(?, current_database())",
        [DETAIL, database]).fetchall()}
    return not have or set(DETAIL_FLAGS) <= have


def create_detail(con: duckdb.DuckDBPyConnection) -> None:
    if not _detail_current(con):   # counts added since it was written: every month is counted again
        con.execute(f"DROP TABLE {DETAIL}")
        con.execute(f"DROP TABLE IF EXISTS {DETAIL_STATE}")
    flags = ", ".join(f"{k} BIGINT NOT NULL" for k in DETAIL_FLAGS)
    con.execute(f"CREATE TABLE IF NOT EXISTS {DETAIL} (month DATE NOT NULL, "
                f"{', '.join(f'{k} VARCHAR' for k in DETAIL_KEYS)}, orders BIGINT NOT NULL, last_at TIMESTAMP, {flags})")
    con.execute(f"CREATE TABLE IF NOT EXISTS {DETAIL_STATE} (month DATE NOT NULL, orders BIGINT, fingerprint HUGEINT)")


def refresh_detail(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Bring monthly_detail in line with work_orders (inside the writer's transaction): per month × unit ×
    category (all three levels) × load, the orders, their latest receipt and the 数据质量 and 退单/改派 counts,
    so that forecasts over the whole history, department scores and the quality checks of any window read
    these instead of the orders. Only months whose orders changed are redone; the months redone."""
    create_detail(con)
    return _refresh_months(con, DETAIL, DETAIL_STATE, f"{_MONTH} AS month, {', '.join(DETAIL_KEYS)}, {detail_counts()}")


def _refresh_months(con: duckdb.DuckDBPyConnection, table: str, state: str, select: str,
                    month_of: str = "month") -> list[date]:
    """Redo `table` (rows `select`ed from work_orders, grouped by all their keys; `month_of` gives a row's
    month) for the months whose orders changed since `state` recorded them (their number, or the loads that
    last wrote them); the months redone."""
    stale = [r[0] for r in con.execute(
        f"WITH now AS (SELECT {_MONTH} AS month, {_FINGERPRINT} FROM work_orders GROUP BY 1) "
        f"SELECT month FROM now FULL JOIN {state} s USING (month) WHERE now.orders IS NULL OR s.orders IS NULL "
        "OR now.orders <> s.orders OR now.fingerprint <> s.fingerprint ORDER BY 1").fetchall()]
    if not stale:
        return []
    con.execute(f"DELETE FROM {table} WHERE list_contains(?, {month_of})", [stale])
    con.execute(f"DELETE FROM {state} WHERE list_contains(?, month)", [stale])
    where = f"received_at >= ? AND received_at < ? AND list_contains(?, {_MONTH})"
    bounds: list[Any] = [stale[0], _next_month(stale[-1]), stale]
    # In month (day) order: a read of some months then skips the other months' row groups, however many months
    # one write redoes (an upgrade redoes them all).
    con.execute(f"INSERT INTO {table} SELECT {select} FROM work_orders WHERE {where} GROUP BY ALL ORDER BY 1", bounds)
    con.execute(f"INSERT INTO {state} SELECT {_MONTH} AS month, {_FINGERPRINT} FROM work_orders WHERE {where} "
                "GROUP BY 1", bounds)
    return stale


DAILY = "daily_counts"
DAILY_STATE = "daily_counts_state"
DAILY_KEYS = ("district", "street", "dept", "category_l1", "category_l2")


def create_daily(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {DAILY} (day DATE NOT NULL, {', '.join(f'{k} VARCHAR' for k in DAILY_KEYS)}, "
                "orders BIGINT NOT NULL)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {DAILY_STATE} (month DATE NOT NULL, orders BIGINT, fingerprint HUGEINT)")


def refresh_daily(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Bring daily_counts in line with work_orders (inside the writer's transaction): orders per day × unit ×
    一级/二级分类, for 预警与预测's recent windows (the last weeks and the same weeks a year before), which would
    otherwise read every order of those months. Only months whose orders changed are redone; the months redone."""
    create_daily(con)
    return _refresh_months(con, DAILY, DAILY_STATE, f"received_at::DATE AS day, {', '.join(DAILY_KEYS)}, count(*) AS orders",
                           "date_trunc('month', day)::DATE")


WORDS = "monthly_words"
WORDS_STATE = "monthly_words_state"
# What a month's token index is, for telling a changed month: its orders with tokens, their districts and the
# loads that wrote them (an order's tokens never change: a load that rewrites the order deletes them, and
# they are rebuilt in the next publish). core.hotstore compares stored hot issues against it.
_WORDS_FINGERPRINT = ("count(*) AS orders, sum(hash(t.order_id, w.district, coalesce(w.load_id, ''))::HUGEINT) "
                      "AS fingerprint")
_WORDS_MONTH = "date_trunc('month', w.received_at)::DATE"
# Cheap signs that it may have changed, kept beside it: the index's own count and ids per month (its month
# column) and the loads that last wrote the month's orders (monthly_counts_state). Only months whose signs
# moved have the fingerprint recounted, which joins their tokens with their orders (every month's cost
# seconds per write).
_SIGNS = (f"SELECT t.month, count(*) AS orders, sum(hash(t.order_id))::HUGEINT AS tokens_hash, "
          f"any_value(c.fingerprint) AS orders_fingerprint FROM order_tokens t LEFT JOIN {STATE} c USING (month) "
          "WHERE t.month IS NOT NULL GROUP BY 1")


def create_words(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE TABLE IF NOT EXISTS {WORDS} (month DATE NOT NULL, district VARCHAR, word VARCHAR NOT NULL, "
                "orders BIGINT NOT NULL)")
    con.execute(f"CREATE TABLE IF NOT EXISTS {WORDS_STATE} (month DATE NOT NULL, orders BIGINT, fingerprint HUGEINT)")
    for column in ("tokens_hash", "orders_fingerprint"):   # older files lack the signs: their months are checked once
        con.execute(f"ALTER TABLE {WORDS_STATE} ADD COLUMN IF NOT EXISTS {column} HUGEINT")


def refresh_words(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Bring the monthly word counts in line with the token index (inside the writer's transaction, after
    `refresh`): per month × district × word (case-folded, every token: the keyword rules apply when reading),
    the orders whose tokens hold it. analytics.hotspots reads hot words of whole months from here; the months
    redone."""
    create_words(con)
    moved = [r[0] for r in con.execute(
        f"WITH now AS ({_SIGNS}) SELECT month FROM now FULL JOIN {WORDS_STATE} s USING (month) "
        "WHERE now.orders IS NULL OR s.orders IS NULL OR now.orders <> s.orders OR s.tokens_hash IS DISTINCT FROM "
        "now.tokens_hash OR s.orders_fingerprint IS DISTINCT FROM now.orders_fingerprint ORDER BY 1").fetchall()]
    if not moved:
        return []
    source = ("FROM work_orders w JOIN order_tokens t USING (order_id) WHERE t.month >= ? AND t.month <= ? "
              f"AND list_contains(?, t.month) AND w.received_at >= ? AND w.received_at < ? AND list_contains(?, {_WORDS_MONTH})")
    bounds: list[Any] = [moved[0], moved[-1], moved, moved[0], _next_month(moved[-1]), moved]
    stale = [r[0] for r in con.execute(
        f"WITH now AS (SELECT {_WORDS_MONTH} AS month, {_WORDS_FINGERPRINT} {source} GROUP BY 1) "
        f"SELECT month FROM (SELECT unnest(?::DATE[]) AS month) m LEFT JOIN now USING (month) "
        f"LEFT JOIN {WORDS_STATE} s USING (month) WHERE now.orders IS NULL OR s.orders IS NULL OR now.orders <> s.orders "
        "OR now.fingerprint <> s.fingerprint ORDER BY 1", [*bounds, moved]).fetchall()]
    if stale:
        con.execute(f"DELETE FROM {WORDS} WHERE list_contains(?, month)", [stale])
        at: list[Any] = [stale[0], stale[-1], stale, stale[0], _next_month(stale[-1]), stale]
        con.execute(f"INSERT INTO {WORDS} SELECT month, district, word, count(*) FROM (SELECT {_WORDS_MONTH} AS month, "
                    f"w.district, unnest(list_distinct(list_transform(t.tokens, lambda x: lower(x)))) AS word {source}) "
                    "WHERE word IS NOT NULL GROUP BY ALL", at)
    con.execute(f"DELETE FROM {WORDS_STATE} WHERE list_contains(?, month)", [moved])
    con.execute(f"INSERT INTO {WORDS_STATE} (month, orders, fingerprint, tokens_hash, orders_fingerprint) "
                f"SELECT f.month, f.orders, f.fingerprint, g.tokens_hash, g.orders_fingerprint FROM "
                f"(SELECT {_WORDS_MONTH} AS month, {_WORDS_FINGERPRINT} {source} GROUP BY 1) f "
                f"JOIN ({_SIGNS}) g USING (month)", bounds)
    return stale


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)
