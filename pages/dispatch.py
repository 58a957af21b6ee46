"""派单质量: which orders look misdispatched, where and when, what returns and re-dispatches cost in days, and
which issue types go astray most — from the classifier's suggestions (analytics.classify) and the 权责清单."""
from __future__ import annotations

import streamlit as st

import suggestions
from analytics import dispatch
from analytics.classify import ClassifyError
from ui import data, filters
from ui.export import download_buttons
from ui.widgets import definition, grid, metric_with_definition, pct, says_why
from ui.page import setup

setup()

L = dispatch.LABELS
settings = data.settings()
f = filters.current()
st.title("派单质量")

cover = data.read(dispatch.coverage, f)
if not cover["orders"]:
    st.info("当前筛选范围内没有工单。请放宽左侧筛选条件。")
    st.stop()
if cover["suggested"]:
    st.caption(f"范围：{f.describe()}。建议来自学习到导入批次 {cover['model']} 的模型，覆盖 {cover['suggested']:,} / "
               f"{cover['orders']:,} 条工单。")
else:
    st.info("还没有分类建议，“疑似错派”暂无法判断；退单/改派与权责清单核对照常显示。训练后每次导入足够多的新工单会自动重新训练。")
    if st.button("用历史工单训练分类与派单模型", type="primary", icon=":material/model_training:", key="d_train"):
        with st.spinner("正在学习历史工单的分类与派单…"):
            try:
                suggestions.retrain(data.current_path(), settings)
            except ClassifyError as e:
                st.error(str(e))
                st.stop()
        st.rerun()

tallies = data.read(dispatch.counts, f, settings)
s = tallies.summary
c1, c2, c3, c4 = st.columns(4)
with c1:
    metric_with_definition(L["suspect"], f"{s['suspect']:,}（{pct(s['suspect_share'])}）" if s["suggested"] else "—",
                           dispatch.explain("suspect", settings))
with c2:
    metric_with_definition(L["off_duty"], f"{s['off_duty']:,}", dispatch.explain("off_duty", settings))
with c3:
    metric_with_definition(L["redispatched"], f"{s['redispatched']:,}（{pct(s['redispatch_share'])}）",
                           dispatch.explain("redispatched", settings))
with c4:
    metric_with_definition(L["days_lost"], f"{s['days_lost']:,.1f} 天", dispatch.explain("days_lost", settings))

NUM = {c: st.column_config.NumberColumn(L[c], format="localized") for c in
       ("orders", "suggested", "off_suggestion", "off_duty", "suspect", "redispatched")}
SHARE = {c: st.column_config.NumberColumn(L[c], format="percent") for c in ("suspect_share", "redispatch_share")}
DAYS = {"days_lost": st.column_config.NumberColumn(L["days_lost"], format="%.1f"),
        "days_lost_each": st.column_config.NumberColumn(L["days_lost_each"], format="%.2f")}

st.subheader("各部门逐月")
months = tallies.by_dept_month
if not says_why(months, f, "各部门逐月", "dept"):
    grid(months, column_config={"dept": L["dept"], "month": st.column_config.DateColumn(L["month"], format="YYYY-MM"),
                                **NUM, **SHARE, **DAYS})
    definition("\n\n".join(dispatch.explain(m, settings) for m in ("suspect", "off_duty", "redispatched", "days_lost", "confidence")))
    download_buttons(months, "派单质量_各部门逐月", key="dl_dispatch_months")

st.subheader("最常错派的问题类型")
cats = tallies.by_category
if cats.is_empty():
    st.success("范围内没有疑似错派的工单。")
else:
    grid(cats,
         column_config={"category_l1": "一级分类", "category_l2": "二级分类", "top_suggested": L["top_suggested"],
                        **NUM, **SHARE, **DAYS})
    definition(dispatch.explain("suspect", settings))

st.subheader("疑似错派的工单")
rows = data.read(dispatch.suspect_orders, f, settings)
if rows.is_empty():
    st.info("范围内没有疑似错派的工单。" if s["suggested"] else
            "还没有分类建议，无法判断哪些工单疑似错派：需要先用带“承办单位”的历史工单训练模型（见本页上方）。")
    st.stop()
depts = sorted(set(rows["dept"].to_list())) if rows.height else []
pick = st.selectbox("承办部门", [None, *depts], format_func=lambda d: "全部部门" if d is None else d, key="d_dept")
shown = rows if pick is None else rows.filter(rows["dept"] == pick)
st.caption(f"按建议置信度从高到低，最多 {rows.height:,} 条。")
grid(shown,
     column_config={"order_id": "工单编号", "received_at": st.column_config.DatetimeColumn("受理时间", format="YYYY-MM-DD HH:mm"),
                    "district": "区", "street": "街道/乡镇", "category_l1": "一级分类", "category_l2": "二级分类",
                    "content": st.column_config.TextColumn("诉求内容", width="large"), "dept": L["dept"],
                    "suggested_dept": L["suggested_dept"],
                    "dept_conf": st.column_config.NumberColumn(L["dept_conf"], format="percent"),
                    "responsible": L["responsible"], "redispatch_count": "退单/改派次数",
                    "days_lost": st.column_config.NumberColumn("多耗天数", format="%.1f")})
definition(dispatch.explain("confidence", settings))
download_buttons(shown, "疑似错派工单", key="dl_dispatch_orders")
if pick:
    st.page_link("pages/orders.py", label=f"在“工单明细”中查看 {pick} 的全部工单", icon=":material/table_rows:",
                 query_params=filters.link_params(dept=pick))
