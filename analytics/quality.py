"""数据质量: what was loaded when, what was rejected and why, what the loaded orders lack, how fresh it is."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb
import polars as pl

from analytics.db import LOADED, detail_sql, query
from analytics.filters import Filters
from core.schema import WORK_ORDER_COLUMNS

# A street is official when the reference list has it (in the order's district, when the order names one).
_NOT_OFFICIAL = ("NOT EXISTS (SELECT 1 FROM areas a WHERE a.street = w.street "
                 "AND (w.district IS NULL OR a.district = w.district))")


def _inferred(column: str) -> str:
    """The order's load mapped no header to `column`, so a value there was found in its address or text
    (etl.transform fills it from the official divisions)."""
    return f"l.mapping IS NOT NULL AND NOT regexp_matches(l.mapping, '\":\\s*\"{column}\"')"


def load_history(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> pl.DataFrame:
    """Every load, newest first."""
    return query(
        con,
        "SELECT load_id, source_file, kind, encoding, rows_read, rows_inserted, rows_updated, rows_unchanged, "
        "rows_quarantined, started_at, finished_at, status, message FROM loads ORDER BY started_at DESC, load_id",
    )


def quarantine_reasons(con: duckdb.DuckDBPyConnection, filters: Filters | None = None, load_id: str | None = None) -> pl.DataFrame:
    """Quarantined rows per reason (within one load when given), largest first; the row number a reason
    starts with ("第 4 行…") is dropped so that rows with the same problem count together."""
    return query(
        con,
        "SELECT regexp_replace(reason, '^第\\s*\\d+\\s*行\\s*', '') AS reason, count(*) AS rows FROM quarantine "
        "WHERE (? IS NULL OR load_id = ?) GROUP BY 1 ORDER BY rows DESC, reason",
        [load_id, load_id],
    )


def quarantine_rows(con: duckdb.DuckDBPyConnection, filters: Filters | None = None, load_id: str | None = None,
                    search: str | None = None, limit: int | None = 1000) -> pl.DataFrame:
    """Quarantined rows, optionally of one load and whose reason or raw row contains `search`."""
    term = search.strip() if search and search.strip() else None
    return query(
        con,
        "SELECT load_id, source_file, line_no, reason, raw FROM quarantine "
        "WHERE (? IS NULL OR load_id = ?) AND (? IS NULL OR contains(reason, ?) OR contains(raw, ?)) "
        "ORDER BY load_id DESC, line_no LIMIT ?",
        [load_id, load_id, term, term, term, limit if limit is not None else 2**62],
    )


def coverage(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> pl.DataFrame:
    """How many of the (filtered) orders lack what the analytics need: one row per check with count and share.
    Counted from the monthly detail summary (core.summary, kept by every load) for whole months.

    An unknown street is a non-empty street that is not in the official list (areas), so it cannot be
    ranked or matched to population; an unmapped category is an order with no 一级分类.
    """
    source, params = detail_sql(con, filters or Filters())
    checks = [
        ("district_missing", "缺少区", "w.district IS NULL"),
        ("street_missing", "缺少街道/乡镇", "w.street IS NULL"),
        ("street_unknown", "街道/乡镇不在官方名录", f"w.street IS NOT NULL AND {_NOT_OFFICIAL}"),
        ("district_from_text", "区取自地址或诉求内容（导出无区列）", f"w.district IS NOT NULL AND {_inferred('district')}"),
        ("street_from_text", "街道/乡镇取自地址或诉求内容（导出无街乡列）", f"w.street IS NOT NULL AND {_inferred('street')}"),
        ("category_missing", "缺少问题分类（未映射到一级分类）", "w.category_l1 IS NULL"),
    ]
    flagged = [("content_missing", "缺少诉求内容"), ("dispatched_missing", "缺少派单时间"),
               ("responded_missing", "缺少响应时间（不计入响应率）"), ("closed_missing", "已办结但缺少办结时间"),
               ("resolution_missing", "未评价是否解决"), ("satisfaction_missing", "未评价满意度")]
    counts = ", ".join([*(f"coalesce(sum(w.orders) FILTER (WHERE {cond}), 0)::BIGINT AS {key}" for key, _, cond in checks),
                        *(f"coalesce(sum(w.{key}), 0)::BIGINT AS {key}" for key, _ in flagged)])
    row = query(
        con,
        f"SELECT coalesce(sum(w.orders), 0)::BIGINT AS total, {counts} FROM {source} w LEFT JOIN loads l ON l.load_id = w.load_id",
        params,
    ).to_dicts()[0]
    total = row["total"]
    keys = [*((k, lab) for k, lab, _ in checks), *flagged]
    return pl.DataFrame(
        {
            "check": [k for k, _ in keys],
            "label": [lab for _, lab in keys],
            "orders": [row[k] for k, _ in keys],
            "share": [row[k] / total if total else None for k, _ in keys],
        },
        schema={"check": pl.String, "label": pl.String, "orders": pl.Int64, "share": pl.Float64},
    )


def unknown_streets(con: duckdb.DuckDBPyConnection, filters: Filters | None = None, limit: int = 50) -> pl.DataFrame:
    """The street names not in the official list, most frequent first (what to add to a mapping or fix)."""
    source, params = detail_sql(con, filters or Filters())
    return query(
        con,
        f"SELECT w.district, w.street, sum(w.orders)::BIGINT AS orders FROM {source} w "
        f"WHERE w.street IS NOT NULL AND {_NOT_OFFICIAL} "
        "GROUP BY ALL ORDER BY orders DESC, w.district, w.street LIMIT ?",
        [*params, limit],
    )


def freshness(con: duckdb.DuckDBPyConnection, filters: Filters, today: date) -> dict[str, Any]:
    """Latest received_at and last successful load, and how many days each lies behind `today`."""
    where, params = filters.where()
    row = query(
        con,
        f"SELECT (SELECT max(received_at) FROM work_orders WHERE {where}) AS latest_received, "
        "(SELECT max(finished_at) FROM loads WHERE list_contains(?, status)) AS last_load",
        [*params, list(LOADED)],
    ).to_dicts()[0]

    def behind(moment: datetime | None) -> int | None:
        return None if moment is None else (today - moment.date()).days

    return {**row, "received_days_behind": behind(row["latest_received"]),
            "load_days_behind": behind(row["last_load"])}


def audit_log(con: duckdb.DuckDBPyConnection, filters: Filters | None = None, limit: int = 500) -> pl.DataFrame:
    """Who uploaded what, newest first (a database from before the log has an empty one)."""
    if not query(con, "SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'audit_log'")["n"][0]:
        return pl.DataFrame(schema={"logged_at": pl.Datetime("us"), "actor": pl.String, "action": pl.String,
                                    "detail": pl.String, "load_id": pl.String})
    return query(con, "SELECT logged_at, actor, action, detail, load_id FROM audit_log ORDER BY logged_at DESC LIMIT ?", [limit])


# What the loader notes in `implausible` (etl.transform._plausible), by check.
PLAUSIBILITY_CHECKS = (
    ("before_start", "办结/派单/响应早于受理（或案件办结早于发起）", "早于受理时间|早于发起时间"),
    ("future", "未来的日期", "是未来的时间"),
    ("too_early", "早于最早可信日期", "，不可信"),
    ("negative", "次数或数量为负数", "为负数"),
    ("region", "经纬度超出区域", "超出区域"),
)


def plausibility(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> pl.DataFrame:
    """Loaded records with values the loader found implausible (left empty, not used by any rate), per
    table and check; and case events whose case was never loaded. One row per (table, check) with a count."""
    parts, params = [], []
    for table, label in (("work_orders", "工单"), ("cases", "吹哨案件")):
        for key, text, pattern in PLAUSIBILITY_CHECKS:
            parts.append(f"SELECT ? AS what, ? AS check_key, ? AS label, count(*) AS rows FROM {table} "
                         "WHERE regexp_matches(implausible, ?)")
            params += [label, key, text, pattern]
    parts.append("SELECT '吹哨事件' AS what, 'unknown_case' AS check_key, '对应的案件未导入' AS label, count(*) AS rows "
                 "FROM case_events e WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = e.case_id)")
    return query(con, " UNION ALL ".join(parts), params)


def read_load_months(con: duckdb.DuckDBPyConnection, filters: Filters, load_id: str) -> tuple[date | None, date | None]:
    """The first and last month (first days) of the orders a load wrote or updated; (None, None) for none."""
    row = query(con, "SELECT min(received_at)::DATE AS a, max(received_at)::DATE AS b FROM work_orders WHERE load_id = ?",
                [load_id]).row(0)
    return (row[0].replace(day=1) if row[0] else None, row[1].replace(day=1) if row[1] else None)


def filled_columns(con: duckdb.DuckDBPyConnection, filters: Filters, columns: tuple[str, ...]) -> dict[str, int]:
    """How many of the filtered orders have a value in each of `columns` (work_orders columns): 0 means the
    exports lack that column (or left it empty), which is why a chart or table built on it is empty."""
    unknown = [c for c in columns if c not in WORK_ORDER_COLUMNS]
    if unknown:
        raise ValueError(f"not work_orders columns: {unknown}")
    if not columns:
        return {}
    where, params = filters.where()
    row = query(con, f"SELECT {', '.join(f'count({c}) AS {c}' for c in columns)} FROM work_orders WHERE {where}", params)
    return {c: int(row[c][0] or 0) for c in columns}
