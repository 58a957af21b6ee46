"""The one door to the data for pages: every read is a named analytics function `fn(con, filters, *args)`,
run here on the one read-only connection (per published version) and cached under the one key
(database, version, function, filters, arguments). Every read passes `scoped()` with its Filters."""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import streamlit as st

from access.scope import restrict
from analytics.db import orders_sql, query, with_tokens
from analytics.filters import Filters, Scope
from analytics.settings import Settings, load_settings
from core.store import connect_read, db_path, db_version
from ui import auth

T = TypeVar("T")
# After a publish the previous version's connections stay open (a read begun on it finishes); older ones are
# closed, else a running dashboard keeps every replaced file open (gigabytes each, deleted but not freed) and its
# DuckDB buffers in memory.
KEEP_VERSIONS = 2
_versions: dict[str, dict[tuple[int, int], set[Scope]]] = {}   # per file: the versions connected to, oldest first
_versions_lock = threading.Lock()


def current_path() -> Path:
    return db_path()


def version() -> tuple[int, int] | None:
    return db_version(current_path())


@st.cache_resource(max_entries=8, show_spinner=False, on_release=lambda con: con.close())
def _connection(path: str, ver: tuple[int, int], area: Scope = Scope()) -> duckdb.DuckDBPyConnection:
    # Keyed by version: a load publishes a new file, and the next rerun opens it. A scoped user's connection
    # holds only that area's rows (access.scope), whatever a read asks for.
    return restrict(connect_read(path), area)


def forget_connections() -> None:
    """Close every cached connection (after an upgrade replaced the file they read)."""
    with _versions_lock:
        _versions.clear()
    _connection.clear()


def _retire_old_versions(path: str, ver: tuple[int, int], area: Scope) -> None:
    """Note that `ver` of `path` is read (by `area`) and close the connections of versions older than the
    KEEP_VERSIONS last ones, whatever their scope."""
    with _versions_lock:
        seen = _versions.setdefault(path, {})
        seen.setdefault(ver, set()).add(area)
        retired = [(old, seen.pop(old)) for old in list(seen)[:-KEEP_VERSIONS]]
    for old, areas in retired:
        for scope in areas:
            _connection.clear(path, old, scope)


def connection() -> duckdb.DuckDBPyConnection:
    """A read-only connection to the database as last published (call `.cursor()` per use)."""
    ver = version()
    if ver is None:
        st.error(f"找不到数据库 {current_path()}。请返回首页等待演示数据生成，或用 `python -m etl load` 导入数据。")
        st.stop()
    path, area = str(current_path()), auth.scope()
    _retire_old_versions(path, ver, area)
    return _connection(path, ver, area)


def scoped(filters: Filters) -> Filters:
    """The filters a read actually runs with: the single place where a user's area scope applies (the
    connection it runs on is narrowed to the same area)."""
    return replace(filters, scope=auth.scope())


def _name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


@st.cache_data(max_entries=512, show_spinner=False)
def _read(path: str, ver: tuple[int, int], name: str, filters: Filters, args: tuple, _fn: Callable) -> Any:
    return _fn(_connection(path, ver, filters.scope), filters, *args)


def read(fn: Callable[..., T], filters: Filters, *args: Any) -> T:
    """`fn(con, filters, *args)` (an analytics function), cached until a load replaces the database.
    Arguments must be hashable by Streamlit (dataclasses such as Settings are)."""
    connection()
    return _read(str(current_path()), version(), _name(fn), scoped(filters), args, _fn=fn)


def fetcher(fn: Callable[..., T], filters: Filters, *args: Any) -> Callable[[], T]:
    """The same read, uncached and deferred: for downloads built when clicked (e.g. every filtered order).
    The returned callable does not touch Streamlit."""
    con, flt, path, area = connection(), scoped(filters), str(current_path()), auth.scope()

    def fetch() -> T:
        try:
            return fn(con, flt, *args)
        except duckdb.ConnectionException:   # its version was retired (two publishes since the page was drawn)
            fresh = restrict(connect_read(path), area)   # the file as published now
            try:
                return fn(fresh, flt, *args)
            finally:
                fresh.close()
    return fetch


def settings() -> Settings:
    """Settings in force for this session: settings.toml plus what the user changed in the UI."""
    if "settings" not in st.session_state:
        st.session_state["settings"] = load_settings()
    return st.session_state["settings"]


# Older entry points, kept while pages in flight move to `read`.
@st.cache_data(max_entries=512, show_spinner=False)
def _cached(path: str, ver: tuple[int, int], area: Scope, sql_text: str, params: tuple[Any, ...]) -> pl.DataFrame:
    return query(_connection(path, ver, area), sql_text, [list(p) if isinstance(p, tuple) else p for p in params])


def _cache_key(sql_text: str, params: Sequence[Any]) -> tuple[str, tuple[int, int], Scope, str, tuple[Any, ...]]:
    connection()
    return (str(current_path()), version(), auth.scope(), sql_text,
            tuple(tuple(p) if isinstance(p, list) else p for p in params))


def sql(sql_text: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    return _cached(*_cache_key(sql_text, params))


@st.cache_data(max_entries=64, show_spinner=False)
def _cached_orders(path: str, ver: tuple[int, int], area: Scope, sql_text: str, params: tuple[Any, ...]) -> pl.DataFrame:
    return with_tokens(_cached(path, ver, area, sql_text, params))


def orders(filters: Filters, columns: Sequence[str]) -> pl.DataFrame:
    sql_text, params = orders_sql(scoped(filters), columns)
    if "tokens" not in columns:
        return sql(sql_text, params)
    return _cached_orders(*_cache_key(sql_text, params))
