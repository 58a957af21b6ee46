"""月度通报: one printable page for a district or the city — key numbers, rankings, hot issues, what to act on."""
from __future__ import annotations

from datetime import datetime

import streamlit as st

from analytics import db, hot_issues, hotspots, report
from analytics.filters import Filters, month_bounds
from analytics.rates import explain
from ui import data, filters, url
from ui.export import download_buttons
from ui.widgets import print_table, why_empty
from ui.page import setup
from ui import safe
from ui.safe import md

setup()

MONTH = "{:%Y-%m}".format   # a month in the URL: ?month=2026-10

settings = data.settings()
f = filters.current()

months = filters.loaded_months()[::-1]
if not months:
    st.info("数据库中还没有工单。请先在“数据导入”页上传导出文件。")
    st.stop()
districts = sorted(data.read(db.options, Filters(), "district"))
with st.container(key="noprint_report_controls", horizontal=True, vertical_alignment="bottom"):
    default_month = f.date_to.replace(day=1) if f.date_to and f.date_to.replace(day=1) in months else months[0]
    month = st.selectbox("通报月份", months, index=url.index("month", months, months.index(default_month), MONTH),
                         format_func=lambda m: f"{m.year}年{m.month}月", key="r_month", width=200)
    url.keep("month", month, MONTH)
    scopes = [report.CITY, *districts]
    default_scope = f.districts[0] if len(f.districts) == 1 and f.districts[0] in districts else report.CITY
    scope = st.selectbox("范围", scopes, index=url.index("scope", scopes, scopes.index(default_scope)), key="r_scope", width=200)
    url.keep("scope", scope, default=report.CITY)
    st.caption("直接用浏览器打印（Ctrl+P）即得 A4 通报：侧边栏、选择框和按钮不会打印。")

r = data.read(report.month_report, Filters(), month, None if scope == report.CITY else scope, settings)
unit_label = "街道/乡镇" if r.unit == "street" else "区"
st.title(f"{md(scope)}接诉即办月度通报 · {month.year}年{month.month}月")
st.caption(f"生成时间 {datetime.now():%Y-%m-%d %H:%M}")
orders = r.kpis[0]["value"]
if not orders:
    st.info(f"{md(scope)}在{month.year}年{month.month}月没有工单。")
    st.stop()

# The month and scope of this report as filters: what an empty table below is empty for.
in_month = Filters(date_from=month, date_to=month_bounds(month)[1], districts=() if scope == report.CITY else (scope,))

st.header("一、主要指标")
safe.table(report.kpi_table(r), hide_index=True)
st.caption("与上月比较。" + " ".join(explain(m, settings).split("\n")[0] for m in ("response_rate", "resolution_rate")))

st.header("二、需要关注")
st.markdown("\n".join(f"{i}. {md(item)}" for i, item in enumerate(r.actions, 1)))

st.header(f"三、{unit_label}排名")
ranked = r.ranking.select("rank", "unit", "orders", "response_rate", "resolution_rate", "satisfaction_rate",
                          "on_time_rate", "composite")
n = settings.rankings.top_n
shown = ranked if ranked.height <= 2 * n else ranked.head(n).vstack(ranked.tail(n))
print_table(shown, {"rank": ("排名", "text"), "unit": (unit_label, "text"), "orders": ("工单量", "count"),
                    "response_rate": ("响应率", "pct"), "resolution_rate": ("解决率", "pct"),
                    "satisfaction_rate": ("满意率", "pct"), "on_time_rate": ("按时办结率", "pct"),
                    "composite": ("综合得分", "score")},
            empty="" if shown.height else why_empty(in_month, f"{unit_label}排名", r.unit))
st.caption((f"共 {ranked.height} 个{unit_label}，上表为前 {n} 名与后 {n} 名。" if ranked.height > 2 * n else "")
           + "综合得分相同（保留一位小数）的单位名次相同。")
download_buttons(ranked, f"{scope}{month:%Y%m}_{unit_label}排名", key="dl_report_rank")

st.header("四、热点问题")
left, right = st.columns(2)
with left:
    st.subheader("主要问题分类")
    print_table(r.categories, {"category_l1": ("一级分类", "text"), "orders": ("本月", "count"), "previous": ("上月", "count"),
                               "change": ("增减", "signed"), "share": ("占比", "pct")},
                empty="" if r.categories.height else why_empty(in_month, "主要问题分类", "category_l1"))
with right:
    st.subheader("激增（区域 × 分类）")
    if r.surges.is_empty():
        st.write("本月没有达到激增标准的区域与分类。")
    else:
        print_table(r.surges.head(10), {"area": (unit_label, "text"), "category": ("一级分类", "text"),
                                        "count": ("工单量", "count"), "expected": ("期望值", "score"),
                                        "lift": ("提升度", "times"), "z": ("显著性 z", "score")})
    with st.popover("口径", icon=":material/info:"):
        st.markdown(hotspots.formula(settings))

st.subheader("热点问题（同一地点、同一具体问题、多位来电人）")
if r.issues_note:
    st.caption(md(r.issues_note))
if r.issues.is_empty():
    st.write("本月没有识别出热点问题。")
else:
    print_table(r.issues.head(8), {"label": ("热点问题", "text"), "size": ("工单数", "count"), "callers": ("来电人数", "count"),
                                   "first_at": ("首次", "day"), "last_at": ("最近", "day"), "heat": ("热度", "score")})
with st.popover("热点问题口径", icon=":material/info:"):
    st.markdown(hot_issues.explain(settings))

st.page_link("pages/orders.py", label=f"查看{md(scope)}本月 {orders:,} 条工单明细", icon=":material/table_rows:",
             query_params={"from": f"{month:%Y-%m}", "to": f"{month:%Y-%m}",
                           **({"district": scope} if scope != report.CITY else {})})
