"""The 三率, on-time rate and composite score of METRICS.md, per any grouping of work orders."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import MISSING, fields
from datetime import timedelta

import duckdb
import polars as pl

from analytics.db import query
from analytics.filters import Filters
from analytics.settings import Settings
from core import summary
from core.counts import COUNT_COLUMNS, aggregates, valid_only
from core.schema import WORK_ORDER_COLUMNS

# Columns rate_table needs from work_orders.
RATE_INPUT_COLUMNS = (
    "received_at", "dispatched_at", "responded_at", "due_at", "closed_at", "dept",
    "category_l1", "resolution", "satisfaction", "is_invalid",
)

RATE_COLUMNS = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "composite")

LABELS = {
    "orders": "工单量",
    "response_rate": "响应率",
    "resolution_rate": "解决率",
    "satisfaction_rate": "满意率",
    "on_time_rate": "按时办结率",
    "composite": "综合得分",
}


def _per_category(settings_map: dict[str, float], default: float) -> pl.Expr:
    expr = pl.lit(float(default))
    for category, value in settings_map.items():
        expr = pl.when(pl.col("category_l1") == category).then(pl.lit(float(value))).otherwise(expr)
    return expr


def order_flags(orders: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Per-order 0/1 flags the rates are sums of; invalid orders dropped when the setting says so."""
    r = settings.rates
    if r.exclude_invalid and "is_invalid" in orders.columns:
        orders = orders.filter(~pl.col("is_invalid").fill_null(False))
    window_h = _per_category(r.response_window_hours_by_category, r.response_window_hours)
    deadline_d = _per_category(r.deadline_days_by_category, r.default_deadline_days)
    start = pl.coalesce("dispatched_at", "received_at")
    due = pl.coalesce(pl.col("due_at"), pl.col("received_at") + pl.duration(hours=deadline_d * 24))
    dept = pl.col("dept").is_not_null() if "dept" in orders.columns else pl.lit(False)
    marked = pl.col("dispatched_at").is_not_null() | dept
    return orders.with_columns(
        dispatched=marked | pl.col("responded_at").is_not_null(),
        dispatch_marked=marked,
        response_known=pl.col("responded_at").is_not_null(),
        responded_in_time=(pl.col("responded_at") - start <= pl.duration(hours=window_h)).fill_null(False),
        resolution_rated=pl.col("resolution").is_not_null(),
        resolved=pl.col("resolution") == "解决",
        partially_resolved=pl.col("resolution") == "部分解决",
        satisfaction_rated=pl.col("satisfaction").is_not_null(),
        satisfied=pl.col("satisfaction") == "满意",
        basically_satisfied=pl.col("satisfaction") == "基本满意",
        closed=pl.col("closed_at").is_not_null(),
        closed_on_time=(pl.col("closed_at") <= due).fill_null(False),
    )


def rate_table(orders: pl.DataFrame, by: Sequence[str], settings: Settings) -> pl.DataFrame:
    """One row per group with the counts behind every rate, the rates (0–1) and the composite (0–100).

    A rate is null when its denominator is empty (no dispatched order carries a response time, nothing
    rated, nothing closed); the composite then re-weights the rates that exist, and says so via
    `composite_parts` (how many of the three rates it was computed from).
    """
    flags = order_flags(orders, settings)
    agg = [pl.len().alias("orders"), *(pl.col(c).sum().alias(c) for c in COUNT_COLUMNS[1:])]
    grouped = flags.group_by(list(by), maintain_order=True).agg(agg) if by else flags.select(agg)
    return with_rates(grouped, settings)


# Groupings beyond plain columns: the month an order belongs to (METRICS.md: by received_at).
DERIVED_KEYS = {"month": "date_trunc('month', received_at)::DATE"}


def read_rate_table(con: duckdb.DuckDBPyConnection, filters: Filters, by: Sequence[str], settings: Settings) -> pl.DataFrame:
    """rate_table of the filtered orders, counted in DuckDB: only one row per group leaves the database.
    `by`: work_orders columns and/or "month"; rows ordered by the keys. Whole months grouped by unit, category
    and month come from the monthly summary (core.summary) when its counts were made under these settings."""
    unknown = [k for k in by if k not in WORK_ORDER_COLUMNS and k not in DERIVED_KEYS]
    if unknown:
        raise ValueError(f"unknown grouping columns: {unknown}")
    valid = valid_only(settings.rates)
    if _summary_covers(con, filters, by, settings):
        sums = ", ".join(f"coalesce(sum({c}), 0)::BIGINT AS {c}" for c in COUNT_COLUMNS)
        where, params = filters.where(time_column="month")
        sql = f"SELECT {', '.join([*by, sums])} FROM {summary.TABLE} WHERE {where} AND {valid}"
    else:
        keys = [f"{DERIVED_KEYS.get(k, k)} AS {k}" for k in by]
        select, params = aggregates(settings.rates)
        where, where_params = filters.where()
        params = [*params, *where_params]
        sql = f"SELECT {', '.join([*keys, select])} FROM work_orders WHERE {where} AND {valid}"
    if by:
        sql += f" GROUP BY ALL ORDER BY {', '.join(f'{k} NULLS LAST' for k in by)}"
    return with_rates(query(con, sql, params), settings)


# What the monthly summary can answer: its keys, and filters on its columns over whole months.
_SUMMARY_KEYS = frozenset({*summary.KEYS, "month"}) - {"is_invalid"}
_SUMMARY_FILTERS = frozenset({"date_from", "date_to", "districts", "streets", "categories", "depts", "scope"})


def _summary_covers(con: duckdb.DuckDBPyConnection, filters: Filters, by: Sequence[str], settings: Settings) -> bool:
    if not set(by) <= _SUMMARY_KEYS:
        return False
    if filters.date_from and filters.date_from.day != 1 or filters.date_to and (filters.date_to + timedelta(days=1)).day != 1:
        return False
    if any(getattr(filters, f.name) != f.default and f.default is not MISSING or
           f.default is MISSING and getattr(filters, f.name) != f.default_factory()
           for f in fields(Filters) if f.name not in _SUMMARY_FILTERS):
        return False
    try:
        built = query(con, f"SELECT DISTINCT settings_key FROM {summary.STATE}")["settings_key"].to_list()
    except duckdb.CatalogException:   # a database written before the summary existed
        return False
    return built == [summary.settings_key(settings.rates)]


def with_rates(grouped: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The rates (0–1) and the composite (0–100) from the counts of COUNT_COLUMNS, per row."""
    s, w = settings.rates, settings.composite

    def ratio(num: pl.Expr, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(num / pl.col(den)).otherwise(None)

    out = grouped.with_columns(
        # Orders without any response time in the whole group mean the export has no such field. The
        # denominator is the dispatched orders (orders answered on the spot are not); a group where no
        # order records a dispatch time or a unit cannot tell them apart and counts every order.
        response_rate=pl.when(pl.col("response_known") > 0).then(pl.col("responded_in_time") / pl.when(
            pl.col("dispatch_marked") > 0).then(pl.col("dispatched")).otherwise(pl.col("orders"))),
        resolution_rate=ratio(pl.col("resolved") + s.partial_credit * pl.col("partially_resolved"), "resolution_rated"),
        satisfaction_rate=ratio(pl.col("satisfied") + s.basic_credit * pl.col("basically_satisfied"), "satisfaction_rated"),
        on_time_rate=ratio(pl.col("closed_on_time"), "closed"),
    )
    parts = [("response_rate", w.w_response), ("resolution_rate", w.w_resolution), ("satisfaction_rate", w.w_satisfaction)]
    weighted = pl.sum_horizontal([pl.col(c).fill_null(0) * wt for c, wt in parts])
    weight_present = pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Float64) * wt for c, wt in parts])
    return out.with_columns(
        composite=pl.when(weight_present > 0).then(100 * weighted / weight_present),
        composite_parts=pl.sum_horizontal([pl.col(c).is_not_null().cast(pl.Int8) for c, _ in parts]),
    )


def explain(metric: str, settings: Settings) -> str:
    """The definition (口径) of a metric in Chinese, with the settings in force."""
    r, w = settings.rates, settings.composite
    windows = "；".join(f"{k} {v} 小时" for k, v in r.response_window_hours_by_category.items())
    deadlines = "；".join(f"{k} {v} 天" for k, v in r.deadline_days_by_category.items())
    invalid = "已排除标记为无效的工单。" if r.exclude_invalid else "包含标记为无效的工单（可在设置中排除）。"
    texts = {
        "orders": "**工单量**：受理时间落在所选时间段内的工单数（按受理时间归属月份）。" + invalid,
        "response_rate": (
            "**响应率** = 按时响应的工单 ÷ 派发的工单。派发的工单：有派单时间、承办单位或响应时间的工单（当场解答、"
            "未派发的不计入；所统计的工单既无派单时间也无承办单位时，全部计入）。"
            f"按时响应：响应时间 − 派单时间（无派单时间时用受理时间）"
            f"≤ {r.response_window_hours:g} 小时" + (f"（分类特例：{windows}）" if windows else "") +
            "。数据中完全没有响应时间的单位显示为“—”。" + invalid
        ),
        "resolution_rate": (
            f"**解决率** = (解决 + {r.partial_credit:g} × 部分解决) ÷ 有解决情况评价的工单。未评价的工单不计入分母。"
        ),
        "satisfaction_rate": (
            f"**满意率** = (满意 + {r.basic_credit:g} × 基本满意) ÷ 有满意度评价的工单（“未评价”不计入）。"
        ),
        "on_time_rate": (
            f"**按时办结率** = 办结时间 ≤ 办理时限的已办结工单 ÷ 已办结工单。无办理时限时按受理后 "
            f"{r.default_deadline_days:g} 天计" + (f"（分类特例：{deadlines}）" if deadlines else "") + "。"
        ),
        "composite": (
            f"**综合得分** = 100 × ({w.w_response:g} × 响应率 + {w.w_resolution:g} × 解决率 + "
            f"{w.w_satisfaction:g} × 满意率)。某项率无数据时，按其余各项的权重重新归一。"
            "权重为占位默认值（北京官方权重未公开），可在设置中修改。"
        ),
    }
    return texts[metric]
