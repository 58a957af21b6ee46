"""月度通报: one month of one district (or the city) — key numbers, rankings, hot issues, what to act on."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from analytics import hot_issues, hot_months, hotspots, overview
from analytics.db import monthly_orders
from analytics.filters import Filters, add_months, month_bounds
from analytics.rates import LABELS
from analytics.settings import Settings

CITY = "全市"
DROP_ALERT = 0.01        # a rate falling by at least one percentage point is worth a line
WORST_UNITS = 3


@dataclass
class MonthReport:
    month: date
    scope: str                      # 全市 or a district
    unit: str                       # the units ranked: district (city) or street (district)
    kpis: list[dict[str, Any]]
    ranking: pl.DataFrame           # rank, unit, orders, rates, composite
    categories: pl.DataFrame        # category_l1, orders, previous, change, share
    surges: pl.DataFrame            # area, category, count, expected, lift, z
    issues: pl.DataFrame            # hot issues: label, size, callers, first_at, last_at, heat
    actions: list[str]
    issues_note: str = ""           # months the hot issues leave out (a month beyond the ceiling), and what to do


def read_category_changes(con: duckdb.DuckDBPyConnection, filters: Filters, previous: Filters, n: int = 10) -> pl.DataFrame:
    """The n largest 一级分类 of the period with the previous period's count and the change in orders."""
    top = overview.read_top_categories(con, filters, n)
    before = (monthly_orders(con, previous, ["category_l1"]).group_by("category_l1")
              .agg(previous=pl.col("orders").sum()))
    return (top.join(before, on="category_l1", how="left")
            .with_columns(pl.col("previous").fill_null(0).cast(pl.Int64), pl.col("orders").cast(pl.Int64))
            .with_columns(change=pl.col("orders") - pl.col("previous"))
            .select("category_l1", "orders", "previous", "change", "share"))


def action_items(kpis: list[dict[str, Any]], ranking: pl.DataFrame, categories: pl.DataFrame,
                 surges: pl.DataFrame, unit_label: str, issues: pl.DataFrame | None = None,
                 alert_callers: int = 5) -> list[str]:
    """Plain sentences on what needs attention, each traceable to a number in the report."""
    items = []
    for k in kpis:
        if k["metric"] not in ("orders", "composite") and k["change"] is not None and k["change"] <= -DROP_ALERT:
            items.append(f"{k['label']}为 {k['value']:.1%}，比上月下降 {-k['change'] * 100:.1f} 个百分点，需查明原因。")
    rated = ranking.drop_nulls("composite")
    if rated.height > WORST_UNITS:
        worst = rated.tail(WORST_UNITS).sort("rank")
        items.append(f"综合得分排名靠后的{unit_label}：" + "、".join(
            f"{u}（{c:.1f} 分，{o:,} 件）" for u, c, o in zip(worst["unit"], worst["composite"], worst["orders"])) + "。")
    for row in surges.head(3).iter_rows(named=True):
        items.append(f"{row['area']}“{row['category']}”类工单 {row['count']} 件，约为期望值 {row['expected']:.1f} 件的 "
                     f"{row['lift']:.1f} 倍，属激增，建议提前研判、源头治理。")
    if issues is not None:
        for row in issues.filter(pl.col("callers") >= alert_callers).head(3).iter_rows(named=True):
            items.append(f"热点问题“{row['label']}”：{row['callers']} 位来电人反映 {row['size']} 件"
                         f"（{row['first_at']:%m月%d日}至{row['last_at']:%m月%d日}），建议到现场一次性解决。")
    rising = categories.filter(pl.col("previous") > 0, pl.col("change") > 0).sort("change", descending=True).head(2)
    for row in rising.iter_rows(named=True):
        items.append(f"“{row['category_l1']}”类工单 {row['orders']:,} 件，比上月增加 {row['change']:,} 件"
                     f"（{row['change'] / row['previous']:+.0%}）。")
    return items or ["本月各项指标未见明显异常。"]


def month_report(con: duckdb.DuckDBPyConnection, filters: Filters, month: date, district: str | None,
                 settings: Settings) -> MonthReport:
    """Everything the 月度通报 shows for `month` (any day in it) and a district (None: the city), within
    `filters` (whose period and districts the month and district replace)."""
    first, last = month_bounds(month)
    scope = replace(filters, date_from=first, date_to=last, districts=(district,) if district else ())
    before = replace(scope, date_from=add_months(first, -1), date_to=first - timedelta(days=1))
    unit = "street" if district else "district"
    ranking = overview.read_ranking(con, scope, unit, settings).rename({unit: "unit"})
    categories = read_category_changes(con, scope, before)
    hot = hotspots.read_hotspots(con, scope, unit, settings)
    surge = hotspots.surges(hot).select("area", "category", "count", "expected", "lift", "z")
    kpis = overview.read_kpis(con, scope, settings, previous=before)
    plan = hot_months.plan(con, scope, settings)   # once for the table and its note
    issues = hot_issues.read_hot_issues(con, scope, settings, plan)
    unit_label = "街乡" if district else "区"
    return MonthReport(first, district or CITY, unit, kpis, ranking, categories, surge, issues,
                       action_items(kpis, ranking, categories, surge, unit_label, issues, settings.hot_issues.alert_callers),
                       plan.note)


def kpi_table(report: MonthReport) -> pl.DataFrame:
    """The key numbers as a printable table: 指标, 本月, 上月, 变化 (rates as percentages)."""
    fmt = overview.format_kpi
    return pl.DataFrame({
        "指标": [LABELS[k["metric"]] for k in report.kpis],
        "本月": [fmt(k["metric"], k["value"]) for k in report.kpis],
        "上月": [fmt(k["metric"], k["previous"]) for k in report.kpis],
        "变化": [fmt(k["metric"], k["change"], change=True) for k in report.kpis],
    })
