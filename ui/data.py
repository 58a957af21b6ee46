"""Cached access to the database for the pages: one read-only connection per published version."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from analytics.db import orders_sql, query, with_tokens
from analytics.filters import Filters
from analytics.settings import Settings, load_settings
from etl.store import connect_read, db_path, db_version


def current_path() -> Path:
    return db_path()


def version() -> tuple[int, int] | None:
    return db_version(current_path())


@st.cache_resource(max_entries=2, show_spinner=False, on_release=lambda con: con.close())
def _connection(path: str, ver: tuple[int, int]) -> duckdb.DuckDBPyConnection:
    # Keyed by version: a load publishes a new file, and the next rerun opens it.
    return connect_read(path)


def connection() -> duckdb.DuckDBPyConnection:
    """A read-only connection to the database as last published (call `.cursor()` per use)."""
    ver = version()
    if ver is None:
        st.error(f"找不到数据库 {current_path()}。请返回首页等待演示数据生成，或用 python -m etl load 导入数据。")
        st.stop()
    return _connection(str(current_path()), ver)


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(path: str, ver: tuple[int, int], sql_text: str, params: tuple[Any, ...]) -> pl.DataFrame:
    return query(_connection(path, ver), sql_text, [list(p) if isinstance(p, tuple) else p for p in params])


def _cache_key(sql_text: str, params: Sequence[Any]) -> tuple[str, tuple[int, int], str, tuple[Any, ...]]:
    """(database, version, statement, hashable parameters) for the cached readers below."""
    connection()
    return str(current_path()), version(), sql_text, tuple(tuple(p) if isinstance(p, list) else p for p in params)


def sql(sql_text: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    """A query result, cached until the database is replaced by a load."""
    return _cached(*_cache_key(sql_text, params))


def settings() -> Settings:
    """Settings in force for this session: settings.toml plus what the user changed in the UI."""
    if "settings" not in st.session_state:
        st.session_state["settings"] = load_settings()
    return st.session_state["settings"]


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_orders(path: str, ver: tuple[int, int], sql_text: str, params: tuple[Any, ...]) -> pl.DataFrame:
    return with_tokens(_cached(path, ver, sql_text, params))


def orders(filters: Filters, columns: Sequence[str]) -> pl.DataFrame:
    """The filtered work orders with the given columns (and `tokens`), cached per database version."""
    sql_text, params = orders_sql(filters, columns)
    if "tokens" not in columns:
        return sql(sql_text, params)
    return _cached_orders(*_cache_key(sql_text, params))
