"""Reading the canonical tables into polars, always with bound parameters."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from analytics.filters import Filters, add_months
from core import summary
from core.segment import segment
from core.schema import WORK_ORDER_COLUMNS

LOADED = ("ok", "partial")   # load statuses that wrote data (partial: some rows quarantined)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run one statement on its own cursor (connections are not thread-safe) and fetch it as polars."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=list(params or [])).pl()
    finally:
        cur.close()


PENDING = "_untokenized"   # content of orders the token index does not cover yet


def orders_sql(filters: Filters, columns: Sequence[str]) -> tuple[str, list[Any]]:
    """SELECT of the filtered work orders with the given canonical columns (names are checked, never user
    input) and its parameters. `tokens` comes from the token index (order_tokens); orders it does not
    cover yet also carry their content in PENDING, for `with_tokens`."""
    unknown = [c for c in columns if c not in WORK_ORDER_COLUMNS and c != "tokens"]
    if unknown:
        raise ValueError(f"unknown work_orders columns: {unknown}")
    if "tokens" not in columns:
        where, params = filters.where()
        return f"SELECT {', '.join(columns)} FROM work_orders WHERE {where}", params
    where, params = filters.where(prefix="w.")
    months, month_params = token_months(filters)
    cols = ", ".join("t.tokens" if c == "tokens" else f"w.{c}" for c in columns)
    return (f"SELECT {cols}, CASE WHEN t.tokens IS NULL THEN coalesce(w.content, '') END AS {PENDING} "
            f"FROM work_orders w LEFT JOIN order_tokens t ON t.order_id = w.order_id AND {months} WHERE {where}",
            [*month_params, *params])


def token_months(filters: Filters, alias: str = "t") -> tuple[str, list[Any]]:
    """The predicate bounding a table carrying each order's month (`alias`: the token index, the suggestions)
    to the months of the filters' period, and its parameters: a join with it reads only those months' row
    groups (core.schema MONTHLY_BY_ORDER)."""
    clauses, params = ["TRUE"], []
    if filters.date_from:
        clauses.append(f"{alias}.month >= ?")
        params.append(filters.date_from.replace(day=1))
    if filters.date_to:
        clauses.append(f"{alias}.month <= ?")
        params.append(filters.date_to)
    return " AND ".join(clauses), params


def with_tokens(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill in the tokens of orders the index does not cover yet (a load's index still being built, or an
    interrupted one), segmenting them here exactly as etl.tokens would without the estate dictionary."""
    if PENDING not in frame.columns:
        return frame
    if frame[PENDING].null_count() == frame.height:
        return frame.drop(PENDING)
    frame = frame.with_row_index("_row")
    waiting = frame.filter(pl.col(PENDING).is_not_null())
    done = waiting.select("_row", pl.Series("_tokens", segment(waiting[PENDING].to_list()), pl.List(pl.String)))
    return (frame.join(done, on="_row", how="left", maintain_order="left")
            .with_columns(tokens=pl.coalesce("tokens", "_tokens")).drop("_row", "_tokens", PENDING))


CHUNK_ROWS = 200_000


def orders(con: duckdb.DuckDBPyConnection, filters: Filters, columns: Sequence[str]) -> pl.DataFrame:
    """The filtered work orders with the given canonical columns (and `tokens`), streamed from DuckDB in
    chunks of CHUNK_ROWS (a window's texts and tokens are never held twice, once by DuckDB and once here)."""
    sql, params = orders_sql(filters, columns)
    cur = con.cursor()
    try:
        reader = cur.sql(sql, params=list(params)).to_arrow_reader(CHUNK_ROWS)
        chunks = [with_tokens(pl.from_arrow(batch)) for batch in reader]
        if not chunks:
            return with_tokens(pl.from_arrow(reader.schema.empty_table()))
    finally:
        cur.close()
    return pl.concat(chunks, how="vertical_relaxed", rechunk=True)


def data_extent(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """How much is loaded and up to when: orders, first and last received_at, last load time and count.
    Orders and the last receipt come from the monthly summary (monthly_orders); the first receipt is looked
    for in the first month only."""
    months = monthly_orders(con, filters, [])
    where, params = filters.where()
    first = months["month"].min() if months.height else None
    row = query(
        con,
        "SELECT (SELECT min(received_at) FROM work_orders WHERE received_at < ? AND " + where + ") AS first_at, "
        "(SELECT max(finished_at) FROM loads WHERE list_contains(?, status)) AS loaded_at, "
        "(SELECT count(*) FROM loads WHERE list_contains(?, status)) AS loads",
        [add_months(first, 1) if first else None, *params, list(LOADED), list(LOADED)],
    ).to_dicts()[0]
    return {"orders": int(months["orders"].sum()), "first_at": row["first_at"],
            "last_at": months["last_at"].max() if months.height else None,
            "loaded_at": row["loaded_at"], "loads": row["loads"]}


def pending_months(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[date] | None:
    """The months of the filters' period holding orders the token index does not cover yet, from the two
    monthly summaries (orders against orders with tokens, city-wide); None when they cannot tell (a
    database without them, or a scoped reader, who sees city-wide counts of orders but not of tokens)."""
    if not filters.scope.is_city or not _has_summary(con):
        return None
    start, stop = filters.date_from, filters.date_to
    try:
        return query(con, f"SELECT month FROM {summary.STATE} c LEFT JOIN {summary.WORDS_STATE} w USING (month) "
                          "WHERE c.orders > coalesce(w.orders, 0) AND (?::DATE IS NULL OR month >= date_trunc('month', ?::DATE)) "
                          "AND (?::DATE IS NULL OR month <= ?::DATE) ORDER BY month",
                     [start, start, stop, stop])["month"].to_list()
    except duckdb.CatalogException:   # written before the word counts existed
        return None


def pending_tokens(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    """Orders the token index does not cover yet (being built, or an interrupted build). For the whole city
    without filters, the monthly summaries' orders minus their orders with tokens."""
    if filters == Filters() and _has_summary(con):
        try:
            return query(con, f"SELECT (SELECT coalesce(sum(orders), 0) FROM {summary.STATE}) - "
                              f"(SELECT coalesce(sum(orders), 0) FROM {summary.WORDS_STATE}) AS n")["n"][0]
        except duckdb.CatalogException:   # written before the word counts existed
            pass
    where, params = filters.where()
    return query(con, f"SELECT count(*) AS n FROM work_orders WHERE {where} "
                      "AND order_id NOT IN (SELECT order_id FROM order_tokens)", params)["n"][0]


def loaded_months(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[date]:
    """The months (first days) that have orders, oldest first (from the monthly summary)."""
    return monthly_orders(con, filters, [])["month"].to_list()


OPTION_COLUMNS = ("district", "street", "category_l1", "community")


def options(con: duckdb.DuckDBPyConnection, filters: Filters, column: str) -> list[str]:
    """The values of `column` among the filtered orders, most frequent first (for pickers)."""
    if column not in OPTION_COLUMNS:
        raise ValueError(f"not a picker column: {column}")
    if column in SUMMARY_KEYS:
        counts = monthly_orders(con, filters, [column]).drop_nulls(column).group_by(column).agg(pl.col("orders").sum())
        return counts.sort(["orders", column], descending=[True, False])[column].to_list()
    where, params = filters.where()
    return query(con, f"SELECT {column} AS v, count(*) AS n FROM work_orders WHERE {column} IS NOT NULL AND {where} "
                      "GROUP BY 1 ORDER BY n DESC, v", params)["v"].to_list()


def areas(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """The reference divisions with population (districts: street NULL); rankings are city-wide, so the
    filters do not narrow them."""
    return query(con, "SELECT district, street, community, population FROM areas")


def last_load(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """When the last load that wrote data finished (`at`) and how many such loads there were (`loads`)."""
    return query(con, "SELECT max(finished_at) AS at, count(*) AS loads FROM loads WHERE list_contains(?, status)",
                 [list(LOADED)]).to_dicts()[0]


SUMMARY_KEYS = ("district", "street", "dept", "category_l1")
_MONTH = "date_trunc('month', received_at)::DATE"


def monthly_orders(con: duckdb.DuckDBPyConnection, filters: Filters, keys: Sequence[str]) -> pl.DataFrame:
    """Orders per month and `keys` (columns of the monthly summary) under the filters, with the latest
    receipt (last_at): whole months from the monthly summary (core.summary), the days of a month the period
    only partly covers from work_orders, so the answer equals counting the orders."""
    unknown = [k for k in keys if k not in SUMMARY_KEYS]
    if unknown:
        raise ValueError(f"not a monthly summary key: {unknown}")
    cols = ", ".join(["month", *keys])
    source, params = _months_source(
        con, filters, summary.TABLE, _has_summary(con), f"{cols}, orders, last_at",
        f"{_MONTH} AS month, {', '.join(keys) + ', ' if keys else ''}1 AS orders, received_at AS last_at")
    return query(con, f"SELECT {cols}, sum(orders)::BIGINT AS orders, max(last_at) AS last_at FROM {source} "
                      f"GROUP BY ALL ORDER BY {', '.join(f'{c} NULLS LAST' for c in ['month', *keys])}", params)


def detail_sql(con: duckdb.DuckDBPyConnection, filters: Filters) -> tuple[str, list[Any]]:
    """A FROM source `(...)` holding the filtered orders as rows of monthly_detail (core.summary: month, its
    keys, orders, last_at and the quality counts), and its parameters: whole months from the summary, the days
    of months the period only partly covers (everything, for a database without it) from work_orders, one
    row per order. Sum `orders` (and the counts) over it to count the orders."""
    cols = ["month", *summary.DETAIL_KEYS, "orders", "last_at", *summary.DETAIL_FLAGS]
    flags = ", ".join(f"coalesce({cond}, false)::BIGINT AS {key}" for key, cond in summary.DETAIL_FLAGS.items())
    try:   # a file written before the summary or its counts of today is read from the orders
        query(con, f"SELECT {', '.join(summary.DETAIL_FLAGS)} FROM {summary.DETAIL} LIMIT 0")
        ready = True
    except (duckdb.CatalogException, duckdb.BinderException):
        ready = False
    return _months_source(con, filters, summary.DETAIL, ready, ", ".join(cols),
                          f"{_MONTH} AS month, {', '.join(summary.DETAIL_KEYS)}, 1::BIGINT AS orders, "
                          f"received_at AS last_at, {flags}")


def _months_source(con: duckdb.DuckDBPyConnection, filters: Filters, table: str, ready: bool, from_summary: str,
                   from_orders: str) -> tuple[str, list[Any]]:
    """One UNION ALL source `(...)` and its parameters: `from_summary` over the whole months the filters cover,
    read from the summary `table`, and `from_orders` (one row per order) over the days of months they only
    partly cover from work_orders — everything from work_orders when the summary is not `ready` (the file
    was written before it)."""
    whole, parts = whole_months(filters)
    if whole is not None and not ready:
        whole, parts = None, [filters]
    pieces = []
    if whole is not None:
        where, params = whole.where(time_column="month")
        pieces.append((f"SELECT {from_summary} FROM {table} WHERE {where}", params))
    for part in parts:
        where, params = part.where()
        pieces.append((f"SELECT {from_orders} FROM work_orders WHERE {where}", params))
    return "(" + " UNION ALL ".join(p for p, _ in pieces) + ")", [x for _, p in pieces for x in p]


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the database has `table` (summaries are missing from files written before them)."""
    try:
        query(con, f"SELECT 1 FROM {table} LIMIT 1")
    except duckdb.CatalogException:   # a database written before the table existed
        return False
    return True


def _has_summary(con: duckdb.DuckDBPyConnection) -> bool:
    return has_table(con, summary.STATE)


def daily_source(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str] | None:
    """The daily summary (core.summary daily_counts) as a source of orders per day (table, day column, orders
    per row) when the file keeps it; None: count the orders themselves."""
    return (summary.DAILY, "day", "orders") if has_table(con, summary.DAILY_STATE) else None


def whole_months(filters: Filters) -> tuple[Filters | None, list[Filters]]:
    """The filters' period split into its whole months (None when it has none) and the partly covered
    months' days (at most two ranges)."""
    start, stop = filters.date_from, filters.date_to and filters.date_to + timedelta(days=1)   # [start, stop)
    first = start if start is None or start.day == 1 else add_months(start, 1)
    end = stop if stop is None or stop.day == 1 else stop.replace(day=1)
    if first is not None and end is not None and first >= end:
        return None, [filters]
    whole = replace(filters, date_from=first, date_to=end and end - timedelta(days=1))
    parts = []
    if start is not None and first != start:
        parts.append(replace(filters, date_to=first - timedelta(days=1)))
    if stop is not None and end != stop:
        parts.append(replace(filters, date_from=end))
    return whole, parts
