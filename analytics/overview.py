"""总览: volume, the 三率 and on-time rate against the previous period, trend, categories, districts."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl

from analytics.db import monthly_orders
from analytics.filters import Filters, from_args
from analytics.ranking import score_range, tied_rank
from analytics.rates import LABELS, read_rate_table
from analytics.settings import Settings, load_settings

KPI_METRICS = ("orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "composite")


def kpi_rows(now: dict[str, Any], before: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline metric from two one-row rate tables (as dicts; `before` empty when there is no
    previous period): value now, value before, and the change."""
    rows = []
    for metric in KPI_METRICS:
        value, prior = now.get(metric), before.get(metric)
        change = None if value is None or prior is None else value - prior
        if metric == "orders" and prior:
            change = value / prior - 1
        rows.append({"metric": metric, "label": LABELS[metric], "value": value, "previous": prior, "change": change})
    return rows


def read_kpis(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings,
              previous: Filters | None = None) -> list[dict[str, Any]]:
    """The headline metrics of the filtered period against `previous` (default: the period of equal
    length just before)."""
    now = read_rate_table(con, filters, [], settings).to_dicts()[0]
    previous = previous or filters.previous()
    before = read_rate_table(con, previous, [], settings).to_dicts()[0] if previous else {}
    return kpi_rows(now, before if before.get("orders") else {})


def format_kpi(metric: str, value: float | None, change: bool = False) -> str:
    """A headline number for the screen or paper: orders as a count (change in %), the composite in points,
    rates in % (change in percentage points); "—" when there is no data."""
    if value is None:
        return "—"
    if change:   # rounded first (+ 0.0 turns -0.0 into 0.0): a change too small to show reads +0.0, not -0.0
        shown = round(value * 100 if metric != "composite" else value, 1) + 0.0
        return {"orders": f"{shown:+.1f}%", "composite": f"{shown:+.1f}"}.get(metric, f"{shown:+.1f} 个百分点")
    if metric == "orders":
        return f"{value:,.0f}"
    if metric == "composite":
        return f"{value:.1f}"
    return f"{value:.1%}"


def read_trend(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, months: int = 13) -> pl.DataFrame:
    """Per month (`month`) of the last `months` months with orders up to the end of the period: orders and
    every rate."""
    return read_rate_table(con, replace(filters, date_from=None), ["month"], settings).tail(months)


def read_top_categories(con: duckdb.DuckDBPyConnection, filters: Filters, n: int = 10) -> pl.DataFrame:
    """The n largest 一级分类 with their share of all filtered orders."""
    counts = monthly_orders(con, filters, ["category_l1"]).group_by("category_l1").agg(pl.col("orders").sum())
    total = max(int(counts["orders"].sum() or 0), 1)
    return (
        counts.drop_nulls("category_l1")
        .sort(["orders", "category_l1"], descending=[True, False]).head(n)
        .with_columns(share=pl.col("orders") / total)
    )


def read_ranking(con: duckdb.DuckDBPyConnection, filters: Filters, unit: str, settings: Settings) -> pl.DataFrame:
    """Units (a column such as district or street) by composite score, with rank: equal scores (to the 0.1
    shown) share a rank and are listed with higher volume first, then by name."""
    table = read_rate_table(con, filters, [unit], settings).drop_nulls(unit)
    return table.sort(["composite", "orders", unit], descending=[True, True, False], nulls_last=True).select(
        tied_rank("composite").alias("rank"), pl.all()
    )


RATES3 = ("response_rate", "resolution_rate", "satisfaction_rate")


def leader_unit(filters: Filters) -> str:
    """The units a leader compares: streets within one district (or the chosen streets), else districts."""
    return "street" if filters.streets or len(filters.districts) == 1 else "district"


def read_changes(con: duckdb.DuckDBPyConnection, filters: Filters, unit: str, settings: Settings) -> pl.DataFrame:
    """Each unit as `read_ranking` lists it, with the previous period of equal length beside it (`*_before`) and
    the changes (`*_change` = now − before; `rank_change` > 0 = moved up). Before-columns are empty for a unit
    (or a period) without orders before."""
    now = read_ranking(con, filters, unit, settings)
    previous = filters.previous()
    before = read_ranking(con, previous, unit, settings) if previous else now.clear()
    cols = ("rank", "orders", "composite", *RATES3)
    joined = now.join(before.select(unit, *[pl.col(c).alias(f"{c}_before") for c in cols]), on=unit, how="left",
                      maintain_order="left")
    return joined.with_columns(
        *[(pl.col(c) - pl.col(f"{c}_before")).alias(f"{c}_change") for c in ("orders", "composite", *RATES3)],
        rank_change=pl.col("rank_before") - pl.col("rank"),
    )


def weakest_rate(row: dict[str, Any]) -> str:
    """The lowest of a unit's 三率, as "满意率 82.1%" ("—" when none is known)."""
    known = [(row[m], m) for m in RATES3 if row.get(m) is not None]
    if not known:
        return "—"
    value, metric = min(known)
    return f"{LABELS[metric]} {value:.1%}"


def largest_moves(changes: pl.DataFrame, n: int) -> pl.DataFrame:
    """The n units whose composite moved most against the previous period (either way, falls first on equal
    size); units without a previous value are left out."""
    moved = changes.drop_nulls("composite_change").filter(pl.col("composite_change").round(1) != 0)
    return moved.sort([pl.col("composite_change").round(1).abs(), "composite_change"], descending=[True, False]).head(n)


def _category_counts(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    counts = monthly_orders(con, filters, ["category_l1"]).group_by("category_l1").agg(pl.col("orders").sum())
    return counts.drop_nulls("category_l1")


def read_category_changes(con: duckdb.DuckDBPyConnection, filters: Filters, n: int = 3) -> pl.DataFrame:
    """The n 一级分类 whose order count rose most against the previous period of equal length (`previous`,
    `change`, `growth` as a fraction; growth empty for a category new this period). Empty without a previous
    period."""
    previous = filters.previous()
    if previous is None:
        return pl.DataFrame(schema={"category_l1": pl.String, "orders": pl.Int64, "previous": pl.Int64,
                                    "change": pl.Int64, "growth": pl.Float64})
    now, before = _category_counts(con, filters), _category_counts(con, previous)
    both = now.join(before.rename({"orders": "previous"}), on="category_l1", how="full", coalesce=True).with_columns(
        pl.col("orders").fill_null(0).cast(pl.Int64), pl.col("previous").fill_null(0).cast(pl.Int64))
    return (both.with_columns(change=pl.col("orders") - pl.col("previous"),
                              growth=pl.when(pl.col("previous") > 0).then(pl.col("orders") / pl.col("previous") - 1))
            .filter(pl.col("change") > 0).sort(["change", "category_l1"], descending=[True, False]).head(n))


def month_labels(months: list) -> list[str]:
    """Month axis labels, one per month: 2026年1月 (the first and each January) then 2月, 3月, …"""
    return [f"{m.year}年{m.month}月" if i == 0 or m.month == 1 else f"{m.month}月" for i, m in enumerate(months)]


def trend_figure(trend: pl.DataFrame) -> go.Figure:
    """Monthly volume (bars) and the rates (lines), one labelled tick per month."""
    months = trend["month"].to_list()
    x = month_labels(months)
    fig = go.Figure()
    fig.add_bar(x=x, y=trend["orders"], name="工单量", marker_color="#9db4d3", yaxis="y2", opacity=0.6,
                hovertemplate="%{y:,} 件<extra>工单量</extra>")
    for metric, color in (("response_rate", "#1f77b4"), ("resolution_rate", "#2ca02c"), ("satisfaction_rate", "#d62728"),
                          ("on_time_rate", "#9467bd")):
        fig.add_scatter(x=x, y=trend[metric], name=LABELS[metric], mode="lines+markers", line_color=color,
                        hovertemplate="%{y:.1%}<extra>" + LABELS[metric] + "</extra>")
    # Rates live near the top of the scale; a floor a little under the lowest keeps month-to-month moves visible.
    lows = [v for m in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate") for v in trend[m] if v is not None]
    floor = max(0.0, math.floor((min(lows, default=0.0) - 0.02) * 20) / 20)
    fig.update_layout(
        yaxis=dict(title="比率", tickformat=".0%", range=[floor, 1.005]),
        yaxis2=dict(title="工单量", overlaying="y", side="right", showgrid=False, tickformat=",d", rangemode="tozero"),
        legend=dict(orientation="h", y=-0.2), margin=dict(t=10, b=10, l=10, r=10), height=360,
        xaxis=dict(type="category"), hovermode="x unified",
    )
    return fig


def categories_figure(top: pl.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=top["orders"], y=top["category_l1"], orientation="h", marker_color="#4c78a8",
        text=[f"{s:.1%}" for s in top["share"]], textposition="auto",
        hovertemplate="%{y}：%{x} 件<extra></extra>",
    ))
    fig.update_layout(yaxis=dict(autorange="reversed"), margin=dict(t=10, b=10, l=10, r=10), height=360, xaxis_title="工单量")
    return fig


def ranking_figure(ranking: pl.DataFrame) -> go.Figure:
    """Districts by composite, best at the top, as dots on an axis around the scores (equal ranks show as such)."""
    names = [f"{r}. {d}" if r is not None else f"—. {d}" for r, d in zip(ranking["rank"], ranking["district"])]
    fig = go.Figure(go.Scatter(
        x=ranking["composite"], y=names, mode="markers+text", marker=dict(color="#f58518", size=12),
        text=[f"{v:.1f}" if v is not None else "—" for v in ranking["composite"]], textposition="middle right",
        customdata=ranking["orders"], hovertemplate="%{y}：综合得分 %{x:.1f}（%{customdata:,} 件）<extra></extra>",
    ))
    fig.update_layout(yaxis=dict(autorange="reversed", type="category"), margin=dict(t=10, b=10, l=10, r=30),
                      height=max(260, 26 * ranking.height + 60),
                      xaxis=dict(title="综合得分", range=score_range(ranking["composite"].to_list()), tickformat=".1f"))
    return fig


def run(con, args) -> pl.DataFrame:
    """CLI: one row per month with orders and the rates (fractions 0–1)."""
    filters: Filters = from_args(args)
    trend = read_rate_table(con, filters, ["month"], load_settings())
    return trend.select(
        pl.col("month").dt.strftime("%Y-%m").alias("period"), "orders", "response_rate", "resolution_rate",
        "satisfaction_rate", "on_time_rate", "composite",
    )
