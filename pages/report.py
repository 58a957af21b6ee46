"""月度通报: one printable page for a district or the city — key numbers, rankings, hot issues, what to act on."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from analytics import db, hot_issues, hotspots, report
from analytics.filters import Filters
from analytics.rates import explain
from ui import data, filters
from ui.export import download_buttons
from ui.widgets import pct
from ui.page import setup

setup()

settings = data.settings()
f = filters.current()

months = filters.loaded_months()[::-1]
if not months:
    st.info("数据库中还没有工单。请先在“数据导入”页上传导出文件。")
    st.stop()
districts = sorted(data.read(db.options, Filters(), "district"))
with st.container(key="noprint_report_controls", horizontal=True, vertical_alignment="bottom"):
    default_month = f.date_to.replace(day=1) if f.date_to and f.date_to.replace(day=1) in months else months[0]
    month = st.selectbox("通报月份", months, index=months.index(default_month), format_func=lambda m: f"{m.year}年{m.month}月",
                         key="r_month", width=200)
    scopes = [report.CITY, *districts]
    default_scope = f.districts[0] if len(f.districts) == 1 and f.districts[0] in districts else report.CITY
    scope = st.selectbox("范围", scopes, index=scopes.index(default_scope), key="r_scope", width=200)
    st.caption("直接用浏览器打印（Ctrl+P）即得 A4 通报：侧边栏、选择框和按钮不会打印。")

r = data.read(report.month_report, Filters(), month, None if scope == report.CITY else scope, settings)
unit_label = "街道/乡镇" if r.unit == "street" else "区"
st.title(f"{scope}接诉即办月度通报 · {month.year}年{month.month}月")
st.caption(f"生成时间 {datetime.now():%Y-%m-%d %H:%M}")
orders = r.kpis[0]["value"]
if not orders:
    st.info(f"{scope}在{month.year}年{month.month}月没有工单。")
    st.stop()

st.header("一、主要指标")
st.table(report.kpi_table(r))
st.caption("与上月比较。" + " ".join(explain(m, settings).split("\n")[0] for m in ("response_rate", "resolution_rate")))

st.header(f"二、{unit_label}排名")
ranked = r.ranking.select("rank", "unit", "orders", "response_rate", "resolution_rate", "satisfaction_rate",
                          "on_time_rate", "composite")
n = settings.rankings.top_n
shown = ranked if ranked.height <= 2 * n else ranked.head(n).vstack(ranked.tail(n))
st.table(shown.with_columns(
    *[shown[c].map_elements(pct, return_dtype=str).alias(c) for c in
      ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")],
    shown["composite"].map_elements(lambda v: f"{v:.1f}", return_dtype=str).alias("composite"),
).rename({"rank": "排名", "unit": unit_label, "orders": "工单量", "response_rate": "响应率", "resolution_rate": "解决率",
          "satisfaction_rate": "满意率", "on_time_rate": "按时办结率", "composite": "综合得分"}))
if ranked.height > 2 * n:
    st.caption(f"共 {ranked.height} 个{unit_label}，上表为前 {n} 名与后 {n} 名；完整排名见下载。")
download_buttons(ranked, f"{scope}{month:%Y%m}_{unit_label}排名", key="dl_report_rank")

st.header("三、热点问题")
left, right = st.columns(2)
with left:
    st.subheader("主要问题分类")
    st.table(r.categories.with_columns(r.categories["share"].map_elements(pct, return_dtype=str)).rename(
        {"category_l1": "一级分类", "orders": "本月", "previous": "上月", "change": "增减", "share": "占比"}))
with right:
    st.subheader("激增（区域 × 分类）")
    if r.surges.is_empty():
        st.write("本月没有达到激增标准的区域与分类。")
    else:
        st.table(r.surges.head(10).with_columns(
            r.surges.head(10)["expected"].round(1), r.surges.head(10)["lift"].round(2), r.surges.head(10)["z"].round(1),
        ).rename({"area": unit_label, "category": "一级分类", "count": "工单量", "expected": "期望值", "lift": "提升度",
                  "z": "显著性 z"}))
    with st.popover("口径", icon=":material/info:"):
        st.markdown(hotspots.formula(settings))

st.subheader("热点问题（同一地点、同一具体问题、多位来电人）")
if r.issues.is_empty():
    st.write("本月没有识别出热点问题。")
else:
    top_issues = r.issues.head(8)
    st.table(top_issues.select(
        pl.col("label").alias("热点问题"), pl.col("size").alias("工单数"), pl.col("callers").alias("来电人数"),
        pl.col("first_at").dt.strftime("%m-%d").alias("首次"), pl.col("last_at").dt.strftime("%m-%d").alias("最近"),
        pl.col("heat").round(1).alias("热度"),
    ))
with st.popover("热点问题口径", icon=":material/info:"):
    st.markdown(hot_issues.explain(settings))

st.header("四、需要关注")
st.markdown("\n".join(f"{i}. {item}" for i, item in enumerate(r.actions, 1)))
st.page_link("pages/orders.py", label=f"查看{scope}本月 {orders:,} 条工单明细", icon=":material/table_rows:",
             query_params={"from": f"{month:%Y-%m}", "to": f"{month:%Y-%m}",
                           **({"district": scope} if scope != report.CITY else {})})
