"""社区画像: what do residents of my street / community call about, what keeps coming back, what is solved?"""
from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from analytics import community as cm
from analytics.rates import explain
from analytics.overview import month_labels
from ui import data, filters, url
from ui.safe import md
from ui.export import download_buttons
from ui.widgets import definition, pct, print_table, says_why
from ui.page import setup

setup()

f = filters.current()
settings = data.settings()
st.title("社区画像")

period = replace(f, streets=(), categories=())
choices = data.read(cm.read_streets, period)
if says_why(choices, period, "社区画像", "street"):
    st.stop()
labels = [f"{s}（{d}）" for d, s in zip(choices["district"], choices["street"])]
default = next((i for i, s in enumerate(choices["street"]) if s in f.streets), 0)
c1, c2 = st.columns(2)
picked = c1.selectbox("街道 / 乡镇", range(len(labels)), index=url.index("place", labels, default), format_func=lambda i: labels[i],
                      key="cm_street")
url.keep("place", labels[picked])
district, street = choices["district"][picked], choices["street"][picked]
communities = ["全部社区", *data.read(cm.read_communities, replace(period, streets=(street,)))]
community = c2.selectbox("社区 / 村（可选）", communities, index=url.index("community", communities), key="cm_community")
url.keep("community", community, default="全部社区")
community = None if community == "全部社区" else community

scope = replace(period, districts=(district,), streets=(street,))
name = f"{street}{community or ''}"
reference_name = street if community else district
profile = data.read(cm.read_profile, scope, community, settings, name, reference_name)

st.caption(f"{md(district)} · {md(name)} · {f.date_from or '…'} 至 {f.date_to or '…'}")
with st.container(key="noprint_cm_hint"):
    st.caption("本页可直接用浏览器打印（Ctrl+P）为 A4 材料，选择框和按钮不会打印。")
issues, recurring = profile["issues"], profile["recurring"]
st.markdown("#### 概况\n" + md(profile["summary"]))
if not profile["orders"]:
    st.stop()

left, right = st.columns(2)
with left:
    st.markdown("#### 居民反映最多的问题")
    print_table(issues, {"issue": ("问题（一级 · 二级分类）", "text"), "orders": ("工单", "count"), "share": ("占比", "pct"),
                         "resolution_rate": ("解决率", "pct"), "satisfaction_rate": ("满意率", "pct")},
                empty="所选时段内没有带分类的工单。")
    st.caption("占比 = 该问题的工单 ÷ 全部工单。解决率、满意率只算已回访评价的工单。")
with right:
    st.markdown("#### 每月工单量")
    trend = data.read(cm.read_monthly, scope, community)
    if trend.height < 2:
        st.info("只有一个月的数据，还看不出变化趋势；导入更早月份的工单后这里显示最近 13 个月。")
    else:
        fig = go.Figure(go.Bar(x=month_labels(trend["month"].to_list()), y=trend["orders"], marker_color="#4c78a8",
                               hovertemplate="%{x}：%{y:,} 件<extra></extra>"))
        fig.update_layout(height=260, margin=dict(t=10, b=10, l=10, r=10), xaxis=dict(type="category"),
                          yaxis=dict(title="工单量", tickformat=",d"))
        st.plotly_chart(fig, width="stretch", key="cm_trend")
        st.caption("截至所选时段末的最近 13 个月。")

st.markdown(f"#### 三率：{md(name)} 与 {md(reference_name)} 平均")
rates = profile["rates"]
cols = st.columns(len(rates))
for col, row in zip(cols, rates.to_dicts()):
    delta = None if row["difference"] is None else f"{row['difference'] * 100:+.1f} 个百分点"
    col.metric(row["metric"], pct(row["local"]), delta=delta, border=True,
               help=f"{md(reference_name)}平均：{pct(row['reference'])}")
for line in rates["reading"]:
    st.markdown(f"- {md(line)}")
definition("\n\n".join(explain(m, settings) for m in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")))

left, right = st.columns(2)
with left:
    st.markdown("#### 反复来电的地址")
    if recurring.is_empty():
        st.write("所选时段内没有同一地址 3 件及以上的工单。")
    else:
        print_table(recurring.head(10), {
            "address": ("地址", "text"), "orders": ("工单", "count"), "callers": ("来电人数", "count"),
            "months": ("涉及月数", "count"), "main_category": ("主要问题", "text"), "unsolved": ("未解决/部分解决", "count"),
            "last_at": ("最近一次", "date")})
        if recurring.height > 10:
            st.caption(f"共 {recurring.height:,} 个地址，上表为工单最多的 10 个；全部见下载。")
        st.caption("同一地址在所选时段内有 3 件及以上工单。来电人数多说明是多户共同的问题，涉及月数多说明问题拖得久。")
        download_buttons(recurring, f"{name}_反复来电地址", key="dl_cm_recurring")
with right:
    st.markdown("#### 居民常说的词")
    words = profile["words"]
    print_table(words.head(12), {"word": ("词", "text"), "count": ("涉及工单", "count"), "share": ("占比", "pct"),
                                 "lift": (f"相对{reference_name}", "times")}, empty="所选时段内的诉求内容没有可统计的词。")
    st.caption(f"诉求内容里出现最多的词（已去掉“来电人”“反映”等套话）。“相对{reference_name}”大于 1 表示这里比{reference_name}平均更常提到。")
