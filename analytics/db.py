"""Reading the canonical tables into polars, always with bound parameters."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import polars as pl


def query(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
    """Run one statement on its own cursor (connections are not thread-safe) and fetch it as polars."""
    cur = con.cursor()
    try:
        return cur.sql(sql, params=list(params or [])).pl()
    finally:
        cur.close()
