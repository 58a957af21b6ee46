"""社区画像: what do residents of my street / community call about, what keeps coming back, what is solved?"""
from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from analytics import community as cm
from analytics.rates import explain
from ui import data, filters
from ui.export import download_buttons
from ui.widgets import definition, pct
from ui.page import setup

setup()

f = filters.current()
settings = data.settings()
st.title("社区画像")

period = replace(f, streets=(), categories=())
choices = data.read(cm.read_streets, period)
if choices.is_empty():
    st.info("所选时段内没有带街乡的工单。请放宽左侧的时间段或区筛选。")
    st.stop()
labels = [f"{s}（{d}）" for d, s in zip(choices["district"], choices["street"])]
default = next((i for i, s in enumerate(choices["street"]) if s in f.streets), 0)
c1, c2 = st.columns(2)
picked = c1.selectbox("街道 / 乡镇", range(len(labels)), index=default, format_func=lambda i: labels[i], key="cm_street")
district, street = choices["district"][picked], choices["street"][picked]
communities = data.read(cm.read_communities, replace(period, streets=(street,)))
community = c2.selectbox("社区 / 村（可选）", ["全部社区", *communities], key="cm_community")
community = None if community == "全部社区" else community

scope = replace(period, districts=(district,), streets=(street,))
name = f"{street}{community or ''}"
reference_name = street if community else district
profile = data.read(cm.read_profile, scope, community, settings, name, reference_name)

st.caption(f"{district} · {name} · {f.date_from or '…'} 至 {f.date_to or '…'}。本页可直接用浏览器打印为一页材料。")
issues, recurring = profile["issues"], profile["recurring"]
st.markdown("#### 概况\n" + profile["summary"])
if not profile["orders"]:
    st.stop()

left, right = st.columns(2)
with left:
    st.markdown("#### 居民反映最多的问题")
    st.dataframe(issues, hide_index=True, placeholder="—", width="stretch", column_config={
        "issue": "问题（一级 · 二级分类）", "orders": st.column_config.NumberColumn("工单", format="localized"),
        "share": st.column_config.NumberColumn("占比", format="percent"),
        "resolution_rate": st.column_config.NumberColumn("解决率", format="percent"),
        "satisfaction_rate": st.column_config.NumberColumn("满意率", format="percent"),
    })
    st.caption("占比 = 该问题的工单 ÷ 全部工单。解决率、满意率只算已回访评价的工单。")
with right:
    st.markdown("#### 每月工单量")
    trend = data.read(cm.read_monthly, scope, community)
    fig = go.Figure(go.Bar(x=trend["month"], y=trend["orders"], marker_color="#4c78a8", hovertemplate="%{x|%Y年%m月}：%{y} 件<extra></extra>"))
    fig.update_layout(height=260, margin=dict(t=10, b=10, l=10, r=10), xaxis=dict(tickformat="%Y年%m月", dtick="M1"), yaxis=dict(title="工单量", tickformat=",d"))
    st.plotly_chart(fig, width="stretch", key="cm_trend")
    st.caption("截至所选时段末的最近 13 个月。")

st.markdown(f"#### 三率：{name} 与 {reference_name} 平均")
rates = profile["rates"]
cols = st.columns(len(rates))
for col, row in zip(cols, rates.to_dicts()):
    delta = None if row["difference"] is None else f"{row['difference'] * 100:+.1f} 个百分点"
    col.metric(row["metric"], pct(row["local"]), delta=delta, border=True,
               help=f"{reference_name}平均：{pct(row['reference'])}")
for line in rates["reading"]:
    st.markdown(f"- {line}")
definition("\n\n".join(explain(m, settings) for m in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")))

left, right = st.columns(2)
with left:
    st.markdown("#### 反复来电的地址")
    if recurring.is_empty():
        st.write("所选时段内没有同一地址 3 件及以上的工单。")
    else:
        st.dataframe(recurring.select("address", "orders", "callers", "months", "main_category", "unsolved", "last_at"),
                     hide_index=True, placeholder="—", width="stretch", column_config={
            "address": "地址", "orders": "工单", "callers": "来电人数", "months": "涉及月数", "main_category": "主要问题",
            "unsolved": "未解决/部分解决", "last_at": st.column_config.DatetimeColumn("最近一次", format="YYYY-MM-DD"),
        })
        st.caption("同一地址在所选时段内有 3 件及以上工单。来电人数多说明是多户共同的问题，涉及月数多说明问题拖得久。")
        download_buttons(recurring, f"{name}_反复来电地址", key="dl_cm_recurring")
with right:
    st.markdown("#### 居民常说的词")
    words = profile["words"]
    st.dataframe(words, hide_index=True, placeholder="—", width="stretch", column_config={
        "word": "词", "count": "涉及工单", "share": st.column_config.NumberColumn("占比", format="percent"),
        "lift": st.column_config.NumberColumn(f"相对{reference_name}", format="%.1f 倍"),
    })
    st.caption(f"诉求内容里出现最多的词（已去掉“来电人”“反映”等套话）。“相对{reference_name}”大于 1 表示这里比{reference_name}平均更常提到。")
