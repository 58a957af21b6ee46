"""总览: how is the city / my district doing this period, against the previous period?"""
from __future__ import annotations

import streamlit as st

from analytics import overview
from analytics.rates import explain
from ui import data, filters
from ui.export import download_buttons
from ui.widgets import definition, metric_with_definition
from ui.page import setup
from ui.safe import md

setup()

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

trend = data.read(overview.read_trend, f, settings)

left, right = st.columns([3, 2])
with left:
    st.subheader("月度趋势")
    st.plotly_chart(overview.trend_figure(trend), width="stretch")
    definition("\n\n".join(explain(m, settings) for m in ("orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")))
with right:
    st.subheader("主要问题分类")
    top = data.read(overview.read_top_categories, f)
    picked = st.plotly_chart(overview.categories_figure(top), width="stretch", on_select="rerun",
                             selection_mode="points", key=filters.chart_key("ov_categories"))
    if picked.selection.point_indices:
        filters.narrow(category=[top["category_l1"][i] for i in picked.selection.point_indices])
    definition("按一级分类统计所选时段的工单量，百分比为占全部工单的比例。点击柱条可只看该分类。")

st.subheader("各区综合得分排名")
ranking = data.read(overview.read_ranking, f, "district", settings)
picked = st.plotly_chart(overview.ranking_figure(ranking), width="stretch", on_select="rerun",
                         selection_mode="points", key=filters.chart_key("ov_districts"))
if picked.selection.point_indices:
    filters.narrow(district=[ranking["district"][i] for i in picked.selection.point_indices])
definition(explain("composite", settings) + "\n\n排名：综合得分高者在前；得分相同时工单量多者在前，再按名称。")
table = ranking.select(
    "rank", "district", "orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "composite"
)
st.dataframe(
    table, hide_index=True, placeholder="—", width="stretch",
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
