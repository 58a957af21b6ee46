"""Where the hot issues of big months are stored (computed by analytics.hot_months, published by etl.hot),
and whether a month's stored result is current: computed under today's hot-issue and repeat settings (a
hash), from the month's orders as they are now (core.summary's count and load fingerprint), with the token
index complete."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date

import duckdb
import polars as pl

from core import summary
from core.settings import HotIssues, Repeats

STATE = "hot_months"
MEMBERS = "hot_members"
GROUPS = "hot_groups"
RUNS = "hot_runs"
RUN_LABELS = "hot_run_labels"
TABLES = (MEMBERS, GROUPS, RUNS, RUN_LABELS)
VERSION = 2   # raise when the clustering code changes what it finds: stored months are then recomputed


def settings_key(hot: HotIssues, repeats: Repeats) -> str:
    """What stored months depend on: the hot-issue and repeat settings (not the threshold and ceilings of
    what is read, which change no month's result) and VERSION."""
    h = dataclasses.asdict(hot)
    for name in ("precompute_orders", "max_request_orders", "max_stored_rows"):
        h.pop(name)
    text = json.dumps({"version": VERSION, "hot_issues": h, "repeats": dataclasses.asdict(repeats)},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def month_states(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per month with orders: orders and their fingerprint (the loads that last wrote them: a reload that
    changes an order changes it), the orders the token index covers (core.summary), and the stored result's
    settings_key, fingerprint and orders (NULL when none); empty without the summaries."""
    stored = (f"LEFT JOIN {STATE} h USING (month)", "h.settings_key, h.fingerprint AS stored, h.orders AS stored_orders")
    none = ("", "NULL::VARCHAR AS settings_key, NULL::HUGEINT AS stored, NULL::BIGINT AS stored_orders")
    cur = con.cursor()   # its own cursor: pages share one connection across threads
    try:
        for join, columns in (stored, none):
            try:
                return cur.sql(f"SELECT c.month, c.orders, w.orders AS indexed, c.fingerprint, {columns} "
                               f"FROM {summary.STATE} c LEFT JOIN {summary.WORDS_STATE} w USING (month) {join} "
                               "ORDER BY 1").pl()
            except duckdb.CatalogException:   # nothing stored yet (then: no summaries either)
                continue
        return pl.DataFrame()
    finally:
        cur.close()


def current(key: str) -> pl.Expr:
    """Over month_states: the stored result is the month as it is now, under the settings of `key`."""
    return ((pl.col("settings_key") == key) & (pl.col("stored") == pl.col("fingerprint"))
            & (pl.col("stored_orders") == pl.col("orders")) & (pl.col("indexed") == pl.col("orders"))).fill_null(False)


def pending(con: duckdb.DuckDBPyConnection, hot: HotIssues, repeats: Repeats) -> list[date]:
    """Months big enough to be stored whose token index is complete and whose stored result is missing or
    stale (other orders, other settings)."""
    states = month_states(con)
    if states.is_empty():
        return []
    return states.filter((pl.col("orders") >= hot.precompute_orders) & (pl.col("indexed") == pl.col("orders"))
                         & ~current(settings_key(hot, repeats)))["month"].to_list()
