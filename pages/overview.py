"""总览: how is the city / my district doing this period, against the previous period?"""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import overview, scores
from analytics.ranking import worst as worst_units
from analytics.rates import explain
from ui import data, filters
from ui.export import download_buttons
from ui.widgets import definition, grid, metric_with_definition, print_table, says_why
from ui.page import setup
from ui.safe import md

setup()


def _period(p) -> str:
    first, last = f"{p.date_from:%Y年%-m月}", f"{p.date_to:%Y年%-m月}"
    return first if first == last else f"{first}至{last}"


def _points(change: float | None) -> str:
    return "—" if change is None else f"{change:+.1f}"


f = filters.current()
settings = data.settings()
st.title("总览")
st.caption(f"筛选：{md(f.describe())}。与上一等长时段比较。")

kpis = data.read(overview.read_kpis, f, settings)
total = kpis[0]["value"]
if not total:
    st.info("所选条件下没有工单。请放宽左侧的时间段或区域筛选。")
    st.stop()

cols = st.columns(len(overview.KPI_METRICS))
for col, k in zip(cols, kpis):
    with col:
        metric_with_definition(
            k["label"], overview.format_kpi(k["metric"], k["value"]), explain(k["metric"], settings),
            delta=None if k["change"] is None else overview.format_kpi(k["metric"], k["change"], change=True),
            delta_color="off" if k["metric"] == "orders" else "normal",
        )

LEADER_N = 3   # worst units and largest moves at the top of the page: what a leader reads in ten seconds
unit = overview.leader_unit(f)
unit_name = "街乡" if unit == "street" else "区"
changes = data.read(overview.read_changes, f, unit, settings)
st.subheader("需要关注")
worst_col, moved_col = st.columns(2)
with worst_col:
    st.markdown(f"**综合得分最低的{unit_name}**（最差在前）")
    worst = worst_units(changes, LEADER_N)
    if not says_why(worst, f, f"综合得分最低的{unit_name}", unit, otherwise="所选时段的工单没有可计算三率的响应、解决或满意记录。"):
        print_table(
            worst.with_columns(weakest=pl.Series([overview.weakest_rate(r) for r in worst.iter_rows(named=True)], dtype=pl.String),
                               change=pl.col("composite_change").map_elements(_points, return_dtype=pl.String, skip_nulls=False)),
            {"rank": ("排名", "text"), unit: (unit_name, "text"), "composite": ("综合得分", "score"), "change": ("较上期", "text"),
             "weakest": ("最低的一率", "text"), "orders": ("工单量", "count")},
        )
        st.caption(f"共 {changes['rank'].drop_nulls().len():,} 个{unit_name}参与排名。"
                   + ("得分相同（保留一位小数）的并列名次全部列出。" if worst.height > LEADER_N else "得分相同（保留一位小数）的名次相同。"))
with moved_col:
    previous = f.previous()
    st.markdown("**与上期相比变化最大**" + (f"（上期：{_period(previous)}）" if previous else ""))
    moves = overview.largest_moves(changes, LEADER_N)
    no_before = previous is None or changes.is_empty() or changes["composite_before"].is_null().all()
    if not says_why(moves, f, "综合得分的变化", unit, otherwise="所选时段之前的等长时段没有可比的工单。" if no_before
                    else f"各{unit_name}的综合得分与上期相同（保留一位小数）。"):
        print_table(
            moves.with_columns(change=pl.col("composite_change").map_elements(_points, return_dtype=pl.String),
                               rank_move=pl.col("rank_change").map_elements(scores.movement, return_dtype=pl.String,
                                                                            skip_nulls=False)),
            {unit: (unit_name, "text"), "composite_before": ("上期得分", "score"), "composite": ("本期得分", "score"),
             "change": ("变化", "text"), "rank_move": ("名次", "text")},
        )
    rising = data.read(overview.read_category_changes, f, LEADER_N)
    if not rising.is_empty():
        st.markdown("**增加最多的问题分类**")
        print_table(rising, {"category_l1": ("一级分类", "text"), "previous": ("上期", "count"), "orders": ("本期", "count"),
                             "change": ("增加", "signed"), "growth": ("增幅", "pct")})
definition(explain("composite", settings) + f"\n\n“较上期”“变化”为综合得分与上一等长时段之差；最低的一率为响应率、解决率、"
           f"满意率中最低的一项。{unit_name}按所选范围计算：只选一个区时比较其街乡，否则比较各区。")

trend = data.read(overview.read_trend, f, settings)

left, right = st.columns([3, 2])
with left:
    st.subheader("月度趋势")
    st.plotly_chart(overview.trend_figure(trend), width="stretch")
    definition("\n\n".join(explain(m, settings) for m in ("orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")))
with right:
    st.subheader("主要问题分类")
    top = data.read(overview.read_top_categories, f)
    if not says_why(top, f, "主要问题分类", "category_l1"):
        picked = st.plotly_chart(overview.categories_figure(top), width="stretch", on_select="rerun",
                                 selection_mode="points", key=filters.chart_key("ov_categories"))
        if picked.selection.point_indices:
            filters.narrow(category=[top["category_l1"][i] for i in picked.selection.point_indices])
    definition("按一级分类统计所选时段的工单量，百分比为占全部工单的比例。点击柱条可只看该分类。")

st.subheader("各区综合得分排名")
ranking = data.read(overview.read_ranking, f, "district", settings)
if not says_why(ranking, f, "各区综合得分排名", "district"):
    picked = st.plotly_chart(overview.ranking_figure(ranking), width="stretch", on_select="rerun",
                             selection_mode="points", key=filters.chart_key("ov_districts"))
    if picked.selection.point_indices:
        filters.narrow(district=[ranking["district"][i] for i in picked.selection.point_indices])
    definition(explain("composite", settings) + "\n\n排名：综合得分高者在前；得分相同时工单量多者在前，再按名称。")
    table = ranking.select(
        "rank", "district", "orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "composite"
    )
    grid(
        table,
        column_config={
            "rank": st.column_config.NumberColumn("排名"),
            "district": "区",
            "orders": st.column_config.NumberColumn("工单量", format="localized"),
            **{c: st.column_config.NumberColumn(overview.LABELS[c], format="percent") for c in
               ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")},
            "composite": st.column_config.NumberColumn("综合得分", format="%.1f"),
        },
    )
    download_buttons(table, "各区排名")
st.page_link("pages/orders.py", label=f"查看这 {total:,} 条工单的明细", icon=":material/table_rows:",
             query_params=filters.link_params())
