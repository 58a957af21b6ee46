"""热点分布: where do problems concentrate, what is surging, which words are new?"""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import db
from analytics import hotspots as hs
from analytics import orders as work_orders
from ui import data, filters, url
from ui.export import download_buttons
from ui.widgets import definition, grid, says_why, why_empty
from ui.page import setup
from ui.safe import md

setup()

f = filters.current()
settings = data.settings()
st.title("热点分布")
st.caption(f"筛选：{md(f.describe())}。期望值和热词基线使用所选时段之前最多 12 个月的历史数据。")

if not data.read(work_orders.count, f):
    st.info("所选条件下没有工单。请放宽左侧的时间段或区域筛选。")
    st.stop()
areas = data.read(db.areas, f)

# Map and street ranking.
left, right = st.columns([3, 2])
with left:
    st.subheader("各区工单分布")
    measure = url.choice(st.radio, "指标", ["工单量", "每万常住人口工单量"], "measure", key="hs_measure", horizontal=True)
    by_district = hs.per_10k(data.read(hs.read_area_counts, f, "district"), areas)
    column = "orders" if measure == "工单量" else "per_10k"
    fig = hs.district_map(by_district, column, measure, ",.0f" if column == "orders" else ",.1f")
    points = data.read(hs.read_points, f)
    show_points = points["count"] > 0 and url.toggle(
        f"在地图上显示工单位置（{points['count']:,} 件有经纬度，最多抽样 3,000 件）", "points", key="hs_points")
    if show_points:
        hs.add_points(fig, points["points"])
    if by_district.is_empty():   # the map's outline alone, all grey: say why
        st.info(why_empty(f, "各区工单分布", "district"))
    picked = st.plotly_chart(fig, width="stretch", key=filters.chart_key("hs_map"), on_select="rerun", selection_mode="points")
    chosen = sorted({p["customdata"] for p in picked.selection.points if isinstance(p.get("customdata"), str)})
    if chosen:
        filters.narrow(district=chosen)
    definition("按受理时间落在所选时段内的工单计数，归属到工单的“区”。每万常住人口工单量 = 工单量 ÷ 常住人口 × 10,000"
               "（人口为第七次全国人口普查区级数据）。灰色表示该区没有工单或不在筛选范围内。点击区名可只看该区。")
with right:
    st.subheader("街乡工单量排名")
    streets = hs.per_10k(data.read(hs.read_area_counts, f, "street"), areas, "street")
    street_measure = "orders"
    if streets["per_10k"].is_not_null().any() and url.toggle("按每万常住人口", "street_per_10k", key="hs_street_pc"):
        street_measure = "per_10k"
    streets = streets.sort([street_measure, "street"], descending=[True, False], nulls_last=True)
    if not says_why(streets, f, "街乡工单量排名", "street"):
        st.plotly_chart(hs.ranking_bar(streets, "street", street_measure, "工单量" if street_measure == "orders" else "每万人工单量"),
                        width="stretch", key="hs_streets")
    definition("所选时段内各街道 / 乡镇的工单量，前 20 名。街乡人口来自数据库中的区划人口（有人口数据时可切换为每万常住人口）。")
    download_buttons(streets.select("district", "street", "orders", "population", "per_10k"), "街乡工单量排名")

# Surges.
st.subheader("激增：明显高于历史的 区域 × 分类 × 月份")
level = url.choice(st.radio, "区域层级", ["区", "街乡"], "surge_level", key="hs_level", horizontal=True)
by = "district" if level == "区" else "street"
hot = data.read(hs.read_hotspots, f, by, settings)
found = hs.surges(hot)
st.markdown(f"所选时段共有 **{found.height}** 个激增单元。")
definition(hs.formula(settings), label="计算口径")
table = found.select(
    "rank", "area", *(["district"] if by == "street" else []), "category",
    pl.col("month").dt.strftime("%Y-%m").alias("period"), "count", "expected", "basis", "lift", "z",
)
if not says_why(table, f, "激增", by, "category_l1",
                otherwise="所选时段没有明显高于历史期望的 区域 × 分类（或所选时段之前没有可作基线的历史）。"):
    grid(
        table,
        column_config={
            "rank": "排名", "area": level, "district": "区", "category": "一级分类", "period": "月份",
            "count": st.column_config.NumberColumn("工单量", format="localized"),
            "expected": st.column_config.NumberColumn("期望值", format="%.1f"), "basis": "期望值依据",
            "lift": st.column_config.NumberColumn("提升度", format="%.2f"), "z": st.column_config.NumberColumn("显著性 z", format="%.1f"),
        },
    )
    download_buttons(table, "激增列表", key="dl_surges")


st.subheader("热词")
h = settings.hotspots
top, rising, words_note = data.read(hs.read_words, f, h.word_min_count, h.word_min_lift, h.word_min_baseline)
mode = url.choice(st.radio, "显示", ["新出现 / 上升最快的词", "出现最多的词"], "words", key="hs_words_mode", horizontal=True)
if mode.startswith("新") and words_note:
    st.caption(words_note)
shown = rising if mode.startswith("新") and rising.height else top
if says_why(shown, f, "热词", "content", otherwise="所选工单的诉求内容里没有可统计的实词。"):
    st.stop()
event = st.plotly_chart(
    hs.words_bar(shown, "count", "涉及工单数"), width="stretch", key="hs_words", on_select="rerun", selection_mode="points",
)
definition(
    "把诉求内容分词后，只保留实词：去掉停用词（如“来电人”“反映”“要求”，来信来电的称呼、问候、致谢和“领导”“政府”等泛称）、"
    "虚词（按词典词性：连词、副词、介词、助词、代词、数量词、时间方位词等）、单字、数字、匿名化代号（字母加数字）和非真实省份的占位省名，"
    "英文统一小写并去掉英文停用词，统计每个词出现在多少件工单中。"
    "“新出现 / 上升最快”把所选时段与之前 12 个月比较：期望值 = 该词在历史工单中的占比 × 本时段工单量，"
    "提升度 = (工单数 + 1) ÷ (期望值 + 1)，按 z = (工单数 − 期望值) ÷ √(期望值 + 1) 排序，只列提升度 ≥ "
    f"{h.word_min_lift:g} 的词；历史工单少于 {h.word_min_baseline:,} 件时基线不足，不计算提升度。"
)
words = shown["word"].to_list()
picked = None
points_sel = getattr(getattr(event, "selection", None), "points", None) if event else None
if points_sel:
    picked = points_sel[0].get("y")
# No key: a click on the chart must be able to move the choice (a keyed selectbox keeps its own value).
word = st.selectbox("查看包含该词的工单（也可点击上图的柱子）", words,
                    index=words.index(picked) if picked in words else url.index("word", words))
url.keep("word", word, default=words[0])
samples = data.read(hs.read_word_orders, f, word)
st.caption(f"包含“{md(word)}”的最近 {samples.height:,} 件工单")
grid(samples, column_config={
    "order_id": "工单编号", "received_at": st.column_config.DatetimeColumn("受理时间", format="YYYY-MM-DD HH:mm"),
    "district": "区", "street": "街乡", "category_l1": "一级分类", "content": st.column_config.TextColumn("诉求内容", width="large"),
})
download_buttons(samples, f"热词_{word}_工单", key="dl_word_orders")
