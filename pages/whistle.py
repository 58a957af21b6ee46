"""吹哨报到: which departments report in when a street blows the whistle, and how streets use the whistle."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import cases
from analytics.filters import Filters
from ui import data, filters, url
from ui.safe import md
from ui.export import download_buttons
from ui.widgets import definition, grid, metric_with_definition, pct
from ui.page import setup

setup()

L = cases.LABELS


f = filters.current()
settings = data.settings()
minutes = settings.cases.arrival_minutes
st.title("吹哨报到")
st.caption(
    f"筛选：{md(f.describe())}。案件按发起时间归属时段，按案件所在区、街乡筛选（问题分类筛选不作用于吹哨案件）。"
    f"到场时限 {minutes} 分钟。"
)

t = data.read(cases.read_tables, f, settings)
if t["cases"].is_empty():
    st.info("所选条件下没有吹哨案件。请放宽左侧的时间段或区域筛选，或在“数据导入”页导入吹哨案件与事件记录。")
    st.stop()

s = t["summary"]
cols = st.columns(5)
with cols[0]:
    metric_with_definition("吹哨次数", f"{s['whistles']:,}", cases.explain("streets", settings))
with cols[1]:
    metric_with_definition("部门被呼叫次数", f"{s['calls']:,}", cases.explain("league", settings))
with cols[2]:
    metric_with_definition(f"{minutes} 分钟内到场率", pct(s["within_share"]), cases.explain("league", settings))
with cols[3]:
    metric_with_definition("部门未到次数", f"{s['no_show']:,}", cases.explain("league", settings))
with cols[4]:
    hours = s["median_closure_hours"]
    metric_with_definition(
        "案件办结率", pct(s["closed_share"]), cases.explain("streets", settings),
        help_text=None if hours is None else f"办结用时中位数 {hours:.1f} 小时",
    )

st.subheader("部门报到榜")
league = t["league"]
percent = {c: st.column_config.NumberColumn(L[c], format="percent") for c in ("within_share", "reported_in_share")}
percent["within_share"] = st.column_config.NumberColumn(f"{minutes} 分钟内到场率", format="percent")
minutes_cols = {c: st.column_config.NumberColumn(L[c], format="%.0f") for c in ("median_arrival_minutes", "p90_arrival_minutes")}
NO_CALLS = "所选案件没有任何部门被呼叫的记录：请在“数据导入”页导入吹哨过程记录（呼叫、响应、到场、办结）。"
called = not league.filter(pl.col("called") > 0).is_empty()
if not called:
    st.info(NO_CALLS)
else:
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(cases.league_figure(league, settings), width="stretch")
        ranked = league.filter(pl.col("called") > 0).height
        if ranked > 20:
            st.caption(f"图中为限时到场率最高与最低的各 10 个部门（共 {ranked} 个被呼叫部门，完整名单见右表）。")
    with right:
        league_view = league.drop("within")
        grid(
            league_view,
            column_config={**{c: L[c] for c in league_view.columns}, **percent, **minutes_cols},
        )
        definition(cases.explain("league", settings))
        download_buttons(league_view, "部门报到榜")

st.subheader("双考核：街乡用哨与部门报到")
st.caption("街乡按吹哨的使用情况考核，部门按报到情况考核；两张表同一时段、同一区域。")
use = t["street_use"]
left, right = st.columns([3, 2])
with left:
    st.markdown("**街乡用哨**")
    st.plotly_chart(cases.street_use_figure(use), width="stretch")
    grid(
        use,
        column_config={
            **{c: L[c] for c in use.columns},
            "whistles_per_month": st.column_config.NumberColumn(L["whistles_per_month"], format="%.1f"),
            "closed_share": st.column_config.NumberColumn(L["closed_share"], format="percent"),
            "median_closure_hours": st.column_config.NumberColumn(L["median_closure_hours"], format="%.1f"),
            "orders": st.column_config.NumberColumn(L["orders"], format="localized"),
            "whistles_per_10k_orders": st.column_config.NumberColumn(L["whistles_per_10k_orders"], format="%.1f"),
        },
    )
    definition(cases.explain("streets", settings))
    download_buttons(use, "街乡用哨")
with right:
    st.markdown("**部门报到**")
    reporting = league.select("dept", "called", "within_share", "no_show", "reported_in_share")
    if not called:
        st.info(NO_CALLS)
    else:
        grid(
            reporting,
            column_config={"dept": L["dept"], "called": L["called"], "no_show": L["no_show"], **percent},
        )
        definition(cases.explain("league", settings))

with st.expander("各街乡按月吹哨与办结"):
    by_month = t["street_month"]
    grid(
        by_month,
        column_config={
            **{c: L[c] for c in by_month.columns},
            "month": st.column_config.DateColumn(L["month"], format="YYYY年MM月"),
            "closed_per_whistle": st.column_config.NumberColumn(L["closed_per_whistle"], format="%.2f"),
            "median_closure_hours": st.column_config.NumberColumn(L["median_closure_hours"], format="%.1f"),
        },
    )
    definition(cases.explain("street_month", settings))
    download_buttons(by_month, "街乡按月吹哨")

st.subheader("案件列表")
st.caption("点选一行查看该案件的时间线与关联工单。")
case_view = t["case_table"].select(
    "case_id", "opened_at", "district", "street", "title", "category", "whistled_by", "status", "closed_at",
    "closure_hours", "depts_called", "depts_arrived", "no_show", "flags",
)
picked = grid(
    case_view, key="case_table", on_select="rerun", selection_mode="single-row",
    selection_default=url.row("case", case_view["case_id"].to_list()),
    column_config={
        **{c: L[c] for c in case_view.columns},
        "opened_at": st.column_config.DatetimeColumn(L["opened_at"], format="YYYY-MM-DD HH:mm"),
        "closed_at": st.column_config.DatetimeColumn(L["closed_at"], format="YYYY-MM-DD HH:mm"),
        "closure_hours": st.column_config.NumberColumn(L["closure_hours"], format="%.1f"),
        "no_show": st.column_config.NumberColumn("未到次数"),
    },
)
definition(cases.explain("cases", settings))
download_buttons(case_view, "吹哨案件")

chosen = url.keep_row("case", picked, case_view["case_id"].to_list())
if chosen is None:
    st.info("在上表中选择一个案件，查看各部门的呼叫、响应、到场与办结时间线。")
    st.stop()

case = t["case_table"].row(chosen, named=True)
st.subheader(f"案件 {md(case['case_id'])}：{md(case['title'] or '（无标题）')}")
st.caption(
    f"{md((case['district'] or '') + (case['street'] or '') + (case['community'] or ''))} · 发起 {case['opened_at']:%Y-%m-%d %H:%M}"
    f" · 吹哨主体：{md(case['whistled_by'] or '—')} · 状态：{md(case['status'] or '—')}"
    + (f" · 办结用时 {case['closure_hours']:.1f} 小时" if case["closure_hours"] is not None else "")
)
if case["description"]:
    st.text(case["description"])
if case["flags"]:
    st.warning(f"提示：{md(case['flags'])}")
case_events = t["events"].filter(pl.col("case_id") == case["case_id"])
if case_events.is_empty():
    st.info("该案件没有任何呼叫、到场或办结记录。")
else:
    st.plotly_chart(cases.timeline_figure(case, case_events, settings), width="stretch")
    definition(
        f"每行一个部门；线段从呼叫连到到场（{minutes} 分钟内为绿色，超时为橙色），未到场的呼叫为红色虚线；"
        f"灰色竖线标记呼叫后 {minutes} 分钟的时限。到场按该部门最近一次更早的呼叫计时。"
        "案件持续较久时，图表先显示呼叫与到场阶段，双击图表可看到办结的全程。"
    )
    detail = cases.calls(case_events, settings).select(
        "dept", "called_at", "answered_at", "arrived_at", "arrival_minutes", "within", "declared_no_show", "finished_at"
    )
    grid(
        detail,
        column_config={
            "dept": "部门",
            **{c: st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm") for c, label in (
                ("called_at", "呼叫时间"), ("answered_at", "响应时间"), ("arrived_at", "到场时间"), ("finished_at", "办结时间"))},
            "arrival_minutes": st.column_config.NumberColumn("到场用时（分钟）", format="%.0f"),
            "within": st.column_config.CheckboxColumn(f"{minutes} 分钟内到场"),
            "declared_no_show": st.column_config.CheckboxColumn("记录为未到"),
        },
    )

order_ids = cases.related_order_ids(case["related_order_id"])
st.markdown("**关联工单**")
if not order_ids:
    st.caption("该案件没有关联工单。")
else:
    related = data.read(cases.read_related_orders, Filters(), tuple(order_ids))
    missing = sorted(set(order_ids) - set(related["order_id"].to_list()))
    if missing:
        st.caption(f"数据库中找不到关联工单：{md('、'.join(missing))}（可能尚未导入）。")
    for order in related.iter_rows(named=True):
        st.markdown(
            f"**{md(order['order_id'])}** · {order['received_at']:%Y-%m-%d %H:%M} · {md(order['category_l1'] or '未分类')}"
            f" · 状态：{md(order['status'] or '—')} · 是否解决：{md(order['resolution'] or '未评价')}"
            f" · 是否满意：{md(order['satisfaction'] or '未评价')}"
        )
        st.text(order["content"] or "（无诉求内容）")
