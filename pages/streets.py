"""街乡考评: how do the streets (or districts) rank this month on the 三率, who moved, who is a 治理类 candidate?"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import streamlit as st

from analytics import orders as work_orders
from analytics import overview, scores
from analytics.filters import Filters, month_bounds
from analytics.rates import explain
from analytics.settings import Settings
from core.schema import label
from ui import data, filters, settings_panel, url
from ui.export import download_buttons
from ui.widgets import definition, grid, metric_with_definition, print_table, says_why, worst_and_falls
from ui.page import setup
from ui.safe import md

setup()

L = scores.LABELS
RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")
UNIT_ORDER_COLUMNS = ("order_id", "received_at", "category_l1", "category_l2", "content", "dept", "status", "resolution",
                      "satisfaction", "responded_at", "closed_at")


def view(month: pl.DataFrame, level: str) -> pl.DataFrame:
    """The ranking as shown and downloaded: Chinese-ready columns, movement as arrows."""
    # The score right after the name: on a narrow screen the columns to the right scroll out of sight.
    cols = ["rank", "movement", "unit"] + (["district"] if level == "street" else []) + [
        "composite", "orders", *RATES, "per_10k",
    ] + (["governance"] if level == "street" else [])
    return month.with_columns(
        movement=pl.col("rank_change").map_elements(scores.movement, return_dtype=pl.String, skip_nulls=False),
    ).select(cols)


def column_config(level: str) -> dict:
    return {
        "rank": st.column_config.NumberColumn(L["rank"], pinned=True),
        "movement": st.column_config.TextColumn(L["rank_change"], help="与上月名次相比；“新”为上月未参与排名"),
        "unit": st.column_config.TextColumn(scores.UNIT_LABELS[level], pinned=True), "district": "区",
        "orders": st.column_config.NumberColumn(L["orders"], format="localized"),
        **{c: st.column_config.NumberColumn(L[c], format="percent") for c in RATES},
        "composite": st.column_config.NumberColumn(L["composite"], format="%.1f", pinned=True),
        "per_10k": st.column_config.NumberColumn(L["per_10k"], format="%.2f"),
        "governance": st.column_config.CheckboxColumn(L["governance"]),
        "months_hit": L["months_hit"], "hit_months": "命中月份", "city_median": st.column_config.NumberColumn(
            "当月街乡综合得分中位数", format="%.1f"),
        "population": st.column_config.NumberColumn(L["population"], format="localized"),
    }


def drill_down(table: pl.DataFrame, row: dict, level: str, f: Filters, ranking_month: date, settings: Settings) -> None:
    """One unit: its monthly trend over the selected period, what its orders are about, and the orders."""
    name = row["unit"] if level == "district" else f"{row['district']} {row['unit']}"
    st.subheader(f"{md(name)} · 明细")
    keys = scores.UNIT_KEYS[level]
    mask = pl.lit(True)
    for k in keys:
        mask &= pl.col(k) == row[k]
    # The months the ranking reached back for, not just the selected period: one month alone is no trend.
    own = table.filter(mask & (pl.col("period") <= ranking_month)).sort("period")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**月度趋势**")
        st.plotly_chart(overview.trend_figure(own.rename({"period": "month"})), width="stretch", key="unit_trend")
        st.plotly_chart(scores.rank_history_figure(own, [row["unit"]]), width="stretch", key="unit_rank")
        definition("\n\n".join(explain(m, settings) for m in (*RATES, "composite")) + "\n\n" + scores.explain("rank", settings))
    first, last = month_bounds(ranking_month)
    unit_filters = replace(f, date_from=first, date_to=last, districts=(row["district"],),
                           streets=(row["unit"],) if level == "street" else ())
    with right:
        st.markdown(f"**{ranking_month.year}年{ranking_month.month}月问题构成**")
        mix = data.read(overview.read_top_categories, unit_filters)
        if not says_why(mix, unit_filters, "问题构成", "category_l1"):
            st.plotly_chart(overview.categories_figure(mix), width="stretch", key="unit_mix")
        definition("按一级分类统计该单位排名月份的工单量，百分比为占其全部工单的比例。")
    total = row["orders"]
    st.markdown(f"**{ranking_month.year}年{ranking_month.month}月的工单**（共 {total:,} 件，按受理时间倒序，最多显示 500 件）")
    orders = data.read(work_orders.listing, unit_filters, UNIT_ORDER_COLUMNS, (), "", None, "received_at", True, 500)
    grid(
        orders,
        column_config={c: label("work_orders", c) for c in orders.columns} | {
            "content": st.column_config.TextColumn("诉求内容", width="large")},
    )
    download_buttons(orders, f"{name}_{ranking_month:%Y%m}_工单", key="dl_unit_orders")


f = filters.current()
settings = settings_panel.render("sidebar")
st.title("街乡考评")

level = st.segmented_control(
    "考评单位", ["street", "district"], default=url.value("level", ["street", "district"], "street"),
    format_func=lambda v: "街道 / 乡镇" if v == "street" else "区", key="streets_level",
) or "street"
url.keep("level", level, default="street")

table = data.read(scores.read_score_table, f, level, settings)
if says_why(table, f, "街乡考评" if level == "street" else "各区考评", *scores.UNIT_KEYS[level]):
    st.stop()

ranking_month = (f.date_to or table["period"].max()).replace(day=1)
month_all = scores.month_table(table, ranking_month)
if month_all.is_empty():
    st.info(f"{ranking_month.year}年{ranking_month.month}月没有工单，无法排名。请调整左侧的时间段。")
    st.stop()
month = scores.unit_filter(month_all, f)
st.caption(
    f"排名月份：{ranking_month.year}年{ranking_month.month}月（所选时段的最后一个月）。筛选：{md(f.describe())}。"
    + ("排名为全市排名，区 / 街乡筛选只决定显示哪些单位。" if f.districts or f.streets else "")
)
st.caption(settings_panel.in_force(settings))

ranked = month_all.drop_nulls("rank")
cols = st.columns(4)
with cols[0]:
    metric_with_definition(f"参与排名的{'街乡' if level == 'street' else '区'}", f"{ranked.height:,}", scores.explain("rank", settings))
with cols[1]:
    median = ranked["composite"].median()
    metric_with_definition("综合得分中位数", "—" if median is None else f"{median:.1f}", explain("composite", settings))
with cols[2]:
    # The score is the value (a long name would be cut off there); the first (tied ones too) are named below it.
    first = ranked.filter(pl.col("rank") == pl.col("rank").min())
    metric_with_definition("第一名综合得分", f"{first['composite'][0]:.1f}" if first.height else "—",
                           scores.explain("rank", settings))
    if first.height:
        names = first["unit"].sort().to_list()
        st.caption(md("、".join(names[:3]) + (f" 等 {len(names)} 个并列" if len(names) > 3 else "（并列）" if len(names) > 1 else "")))
with cols[3]:
    if level == "street":
        flagged = month_all.filter("governance")
        metric_with_definition("治理类候选", f"{flagged.height}", scores.explain("governance", settings))
    else:
        known = month_all["per_10k"].drop_nulls()
        metric_with_definition("每万人工单量中位数", "—" if known.is_empty() else f"{known.median():.2f}",
                               scores.explain("per_10k", settings))

n = settings.rankings.top_n
unit_name = "街乡" if level == "street" else "区"
st.subheader(f"{ranking_month.year}年{ranking_month.month}月最需关注的{unit_name}")
worst_and_falls(month, n, {"unit": (scores.UNIT_LABELS[level], "text"), **({"district": ("区", "text")} if level == "street" else {})},
                {"composite": ("综合得分", "score")}, {},
                empty_worst=f"{ranking_month.year}年{ranking_month.month}月没有可排名的{unit_name}：工单量不足 "
                            f"{settings.rankings.min_orders} 件的单位不参与排名。",
                empty_falls=f"没有名次下降的{unit_name}，或上月没有排名可比。")

tab_rank, tab_top, tab_capita, *tab_gov = url.tabs(
    ["排名", f"前 {n} 名", "每万人工单量"] + (["治理类街乡候选"] if level == "street" else []), "tab", key="streets_tab"
)

with tab_rank:
    shown = view(month, level)
    event = grid(
        shown, column_config=column_config(level),
        on_select="rerun", selection_mode="single-row", key=f"ranking_{level}",
        selection_default=url.row("unit", shown["unit"].to_list()),
    )
    definition(
        "\n\n".join(explain(m, settings) for m in ("orders", *RATES, "composite"))
        + "\n\n" + scores.explain("rank", settings) + "\n\n" + scores.explain("per_10k", settings)
        + ("\n\n" + scores.explain("governance", settings) if level == "street" else "")
    )
    download_buttons(shown, f"{scores.UNIT_LABELS[level]}排名_{ranking_month:%Y%m}", key="dl_ranking")

with tab_top:
    top = scores.top_bottom(month_all, ranking_month, n)[0]
    print_table(
        top.with_columns(movement=pl.col("rank_change").map_elements(scores.movement, return_dtype=pl.String, skip_nulls=False)),
        {"rank": ("排名", "text"), "unit": (scores.UNIT_LABELS[level], "text"),
         **({"district": ("区", "text")} if level == "street" else {}), "composite": ("综合得分", "score"),
         "movement": ("较上月", "text"), "orders": ("工单量", "count")},
        empty="没有可排名的单位。",
    )
    if top.height:
        st.plotly_chart(scores.rank_history_figure(
            table.filter(pl.col("period") <= ranking_month), top["unit"].to_list()
        ), width="stretch", key="top_history")
        definition(scores.explain("rank", settings) + "\n\n上图为前几名在排名月份及之前几个月的名次。")

with tab_capita:
    if month_all["per_10k"].is_null().all():
        st.info("数据库中没有这些单位的常住人口，无法计算每万人工单量；下图横轴改用工单量。")
    st.plotly_chart(scores.per_capita_figure(month), width="stretch", key="per_capita")
    capita = month.drop_nulls("per_10k").sort("per_10k", descending=True).select(
        "unit", *(["district"] if level == "street" else []), "population", "orders", "per_10k", "composite", "rank"
    )
    if capita.height:   # without populations the note above says why
        grid(capita, column_config=column_config(level))
        download_buttons(capita, f"每万人工单量_{ranking_month:%Y%m}", key="dl_capita")
    definition(scores.explain("per_10k", settings))

if tab_gov:
    with tab_gov[0]:
        g = settings.rankings
        st.markdown(scores.explain("governance", settings))
        candidates = month.filter("governance").sort("months_hit", "per_10k", descending=True).select(
            "unit", "district", "months_hit", "hit_months", "orders", "per_10k", "composite", "city_median", "rank",
        )
        if candidates.is_empty():
            st.info(f"截至{ranking_month.year}年{ranking_month.month}月的最近 {g.governance_window_months} 个月内，没有街乡满足治理类候选条件。")
        else:
            grid(candidates, column_config=column_config(level))
            download_buttons(candidates, f"治理类街乡候选_{ranking_month:%Y%m}", key="dl_gov")

st.divider()
picked = url.keep_row("unit", event, shown["unit"].to_list())
if picked is not None:
    drill_down(table, month.row(picked, named=True), level, f, ranking_month, settings)
else:
    st.info("在“排名”表中选中一行，查看该单位的月度趋势、问题构成和背后的工单原文。")
