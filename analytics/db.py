"""Reading the canonical tables into polars, always with bound parameters."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl

from analytics.filters import Filters
from etl.schema import WORK_ORDER_COLUMNS

LOADED = ("ok", "partial")   # load statuses that wrote data (partial: some rows quarantined)


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run one statement on its own cursor (connections are not thread-safe) and fetch it as polars."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=list(params or [])).pl()
    finally:
        cur.close()


def orders_sql(filters: Filters, columns: Sequence[str]) -> tuple[str, list[Any]]:
    """SELECT of the filtered work orders with the given canonical columns (names are checked, never user
    input) and its parameters."""
    unknown = [c for c in columns if c not in WORK_ORDER_COLUMNS]
    if unknown:
        raise ValueError(f"unknown work_orders columns: {unknown}")
    where, params = filters.where()
    return f"SELECT {', '.join(columns)} FROM work_orders WHERE {where}", params


def orders(con: duckdb.DuckDBPyConnection, filters: Filters, columns: Sequence[str]) -> pl.DataFrame:
    """The filtered work orders with the given canonical columns."""
    return query(con, *orders_sql(filters, columns))


def data_extent(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """How much is loaded and up to when: orders, first and last received_at, last load time."""
    row = query(
        con,
        "SELECT count(*) AS orders, min(received_at) AS first_at, max(received_at) AS last_at, "
        "(SELECT max(finished_at) FROM loads WHERE list_contains($1, status)) AS loaded_at, "
        "(SELECT count(*) FROM loads WHERE list_contains($1, status)) AS loads FROM work_orders",
        [list(LOADED)],
    )
    return row.to_dicts()[0]
