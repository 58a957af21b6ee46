"""工单明细: the orders behind any number (filtered, searched, sorted, paged), with their text."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl

from analytics.db import query
from analytics.filters import Filters
from core.schema import WORK_ORDER_COLUMNS

# Page-local conditions another page may link with (column = value).
EXTRA_COLUMNS = ("dept", "status", "community", "street", "district", "category_l1", "category_l2", "category_l3")


def _where(filters: Filters, extra: Sequence[tuple[str, str]], search: str, ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    where, params = filters.where()
    for column, value in extra:
        if column not in EXTRA_COLUMNS:
            raise ValueError(f"not a detail condition: {column}")
        where += f" AND {column} = ?"
        params.append(value)
    for term in search.split():
        where += " AND contains(lower(concat_ws(' ', order_id, content, address)), lower(?))"
        params.append(term)
    if ids is not None:
        where += " AND list_contains(?, order_id)"
        params.append(list(ids))
    return where, params


def count(con: duckdb.DuckDBPyConnection, filters: Filters, extra: Sequence[tuple[str, str]] = (), search: str = "",
          ids: Sequence[str] | None = None) -> int:
    """How many orders match the filters, the extra conditions (column, value), every search term and `ids`."""
    where, params = _where(filters, extra, search, ids)
    return query(con, f"SELECT count(*) AS n FROM work_orders WHERE {where}", params)["n"][0]


def listing(con: duckdb.DuckDBPyConnection, filters: Filters, columns: Sequence[str], extra: Sequence[tuple[str, str]] = (),
            search: str = "", ids: Sequence[str] | None = None, sort: str = "received_at", descending: bool = True,
            limit: int | None = None, offset: int = 0) -> pl.DataFrame:
    """The matching orders with `columns`, sorted by `sort` (then order_id), `limit` rows from `offset`."""
    unknown = [c for c in (*columns, sort) if c not in WORK_ORDER_COLUMNS]
    if unknown:
        raise ValueError(f"unknown work_orders columns: {unknown}")
    where, params = _where(filters, extra, search, ids)
    sql = (f"SELECT {', '.join(columns)} FROM work_orders WHERE {where} "
           f"ORDER BY {sort} {'DESC' if descending else 'ASC'} NULLS LAST, order_id")
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return query(con, sql, params)
