"""Area scope enforced on the connection itself: a scoped reader's tables are views holding only its
area's rows, so every query run on it (pages, drill-downs, exports, commands, code written later) sees
nothing else, and rankings are computed within the scope.

`etl.store.connect_read` exposes each table as a view in the in-memory catalog; `restrict` replaces those
views. The scope's values sit in a one-row table (bound parameters, never spliced into SQL).
"""
from __future__ import annotations

import duckdb

from analytics.filters import Scope

# How each table is narrowed for a district or street scope.
BY_ORDER = {"order_tokens": "order_id IN (SELECT order_id FROM work_orders)",
            "order_suggestions": "order_id IN (SELECT order_id FROM work_orders)"}
BY_CASE = {"case_events": "case_id IN (SELECT case_id FROM cases)"}
SHARED = ("dept_duties", "loads", "monthly_counts_state")  # reference lists, load and month counts: no resident's data
_AREA = ("district = (SELECT district FROM _scope) AND "
         "((SELECT street FROM _scope) IS NULL OR street = (SELECT street FROM _scope))")


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The attached database's tables and their columns."""
    rows = con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                       "WHERE database_name = 'hotline' AND schema_name = 'main'").fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def rule(table: str, columns: set[str], scope: Scope) -> str:
    """The WHERE clause a scoped reader sees `table` through. Tables with district and street are narrowed to
    the area; their dependants follow them; district-level tables are visible to a district scope only; any
    other table (quarantine: raw rows of any area; audit) is empty for a scoped reader."""
    if table in SHARED:
        return "TRUE"
    if table in BY_ORDER:
        return BY_ORDER[table]
    if table in BY_CASE:
        return BY_CASE[table]
    if {"district", "street"} <= columns:
        return _AREA
    if "district" in columns and not scope.street:
        return "district = (SELECT district FROM _scope)"
    return "FALSE"


def restrict(con: duckdb.DuckDBPyConnection, scope: Scope) -> duckdb.DuckDBPyConnection:
    """`con` (from etl.store.connect_read) narrowed to `scope`; the whole city leaves it as it is."""
    if scope.is_city:
        return con
    con.execute("CREATE OR REPLACE TABLE memory.main._scope AS SELECT ?::VARCHAR AS district, ?::VARCHAR AS street",
                [scope.district, scope.street or None])
    found = tables(con)
    # Tables first, then those defined through them (order_tokens reads the narrowed work_orders).
    for table in sorted(found, key=lambda t: t in BY_ORDER or t in BY_CASE):
        con.execute(f'CREATE OR REPLACE VIEW memory.main."{table}" AS '
                    f'SELECT * FROM hotline.main."{table}" WHERE {rule(table, found[table], scope)}')
    return con
