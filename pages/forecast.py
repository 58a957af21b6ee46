"""预警与预测 (未诉先办): what residents will call about in the coming months, warned ahead, with each
forecast's track record against 去年同月. Prints on A4 (ui.style's print rules: body text at least 9 pt)."""
from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from analytics import forecast
from ui import data, filters, safe, url
from ui.export import download_buttons
from ui.widgets import definition
from ui.page import setup

setup()

LEVELS = {"street": "街乡 × 一级分类", "district": "区 × 二级分类", "dept": "承办单位 × 一级分类"}
SHOWN = 5       # warnings of each kind on the page (all of them in the download)
REMINDERS = 3   # seasonal reminders on the page
PRINT_WIDTH = 700

settings = data.settings()
cfg = settings.forecast
f = filters.current()

qp = st.query_params
with st.container(key="noprint_fc_controls", horizontal=True):
    wanted = qp.get("by") if qp.get("by") in LEVELS else "street"
    level = st.selectbox("预警与预测的单位", list(LEVELS), index=list(LEVELS).index(wanted), format_func=LEVELS.get,
                         key="fc_by", width=240)
if level != "street":
    qp["by"] = level
elif "by" in qp:
    del qp["by"]

outlook = data.read(forecast.read_outlook, f, settings, level)
st.title("预警与预测")
if outlook.end is None:
    st.info("所选范围内没有工单，无法预测。请放宽左侧筛选，或先在“数据导入”页上传导出文件。")
    st.stop()
last_day = outlook.end - timedelta(days=1)
st.caption(f"数据截至 {last_day:%Y年%-m月%-d日}，共 {outlook.observed_months} 个月历史（{safe.md(forecast.scope(f).describe())}；"
           "预测只用截止月份及以前的数据，左侧时间段的起点不限制历史）。")
with st.container(key="noprint_fc_hint"):
    st.caption("本页可直接用浏览器打印（Ctrl+P）为 A4 材料：预警与预测图会打印，选择框、按钮和明细表不会打印。")
fc = outlook.forecasts
if not fc.possible:
    st.warning(fc.reason)
elif fc.history.partial:
    st.caption(f"{fc.history.partial:%Y年%-m月}的数据不完整（月末无数据），未参与预测。")

w = outlook.warnings
st.header("一、预警")
reminders = w.filter(pl.col("kind") == forecast.KIND_SEASONAL).head(REMINDERS)
st.subheader("季节提醒（提前准备）")
if reminders.is_empty():
    st.text("未来几个月没有按往年规律将明显上升的诉求类型。" if fc.possible else "历史不足一年，无法给出季节提醒。")
for r in reminders.iter_rows(named=True):
    ly = forecast.add_months(r["month"], -12)
    top = data.read(forecast.read_top_units, f, r["category_column"], r["category"], ly, cfg.top_units)
    with st.container(border=True):
        st.text(f"提前 {r['lead_months']} 个月：{r['message']}")
        if top.height:
            st.text(f"以下 {top.height} 个街乡去年{ly.month}月最多：" + "、".join(f"{s}（{n}）" for s, n in zip(top["street"], top["n"])))

table_columns = {"message": "预警", "lead_months": "提前（月）", "record": "这一单元的预测记录"}


def _records(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.is_empty() or fc.table.is_empty():
        return frame.with_columns(record=pl.lit("—"))
    rec = fc.table.filter(pl.col("step") == 1).select("unit", "category", "months", "wape", "wape_naive")
    joined = frame.join(rec, on=["unit", "category"], how="left", maintain_order="left")
    return joined.with_columns(record=pl.Series([forecast.record_text(a, b, m) for a, b, m in
                                                 zip(joined["wape"], joined["wape_naive"], joined["months"])], dtype=pl.String))


for kind, title, empty in (
    (forecast.KIND_FORECAST, "预测上升（按单位）", "没有单位的预测明显高于近期水平。"),
    (forecast.KIND_RECENT, f"近期上升（最近 {cfg.recent_days} 天）", "最近几周没有明显上升的单位。"),
    (forecast.KIND_RISING, "上升类型（成为热点之前）", "没有持续上升的诉求类型。"),
):
    rows = w.filter(pl.col("kind") == kind)
    st.subheader(title)
    if rows.is_empty():
        st.text(empty)
        continue
    shown = _records(rows.head(SHOWN)) if kind != forecast.KIND_RISING else rows.head(SHOWN).with_columns(record=pl.lit("—"))
    cols = ["message", "lead_months", "record"] if kind == forecast.KIND_FORECAST else ["message"]
    safe.table(shown.select(cols).rename({c: table_columns[c] for c in cols}))
    if rows.height > SHOWN:
        st.caption(f"共 {rows.height} 条，上表为前 {SHOWN} 条；全部见下载。")

if w.height:
    with st.container(key="noprint_fc_links"):
        labels = [f"{r['kind']}｜{r['message']}" for r in w.iter_rows(named=True)]
        pick = url.choice(st.selectbox, "查看一条预警背后的工单", range(w.height), "warning", key="fc_pick",
                          text=lambda i: f"{w['kind'][i]}·{w['unit'][i]}·{w['category'][i]}", format_func=lambda i: labels[i])
        behind, last_year = forecast.warning_links(w.row(pick, named=True), level, cfg.rising_months)
        left, right = st.columns(2)
        with left:
            st.page_link("pages/orders.py", label="这条预警背后的工单", icon=":material/table_rows:", query_params=behind)
        with right:
            st.page_link("pages/orders.py", label="去年同月的工单", icon=":material/history:", query_params=last_year)
        download_buttons(w.select("kind", "unit", "category", "district", "month", "lead_months", "expected", "baseline",
                                  "ratio", "last_year", "message"), "预警", key="dl_fc_warnings")

st.header("二、预测")
actual, coming, record = data.read(forecast.read_series, f, settings)
if not record.get("possible"):
    st.text(record.get("reason") or "历史不足，无法预测。")
else:
    st.text(f"{forecast.scope(f).describe()}：未来 {coming.height} 个月工单量预测。"
            + forecast.record_text(record.get("wape"), record.get("wape_naive"), record.get("months")) + "。")
    # Drawn at about the printed sheet's width (A4 less margins, 718 px) and scaled to it on paper, so its labels
    # print at the size they have on screen (at least 9 pt); a full-screen-width chart would shrink to 3 pt.
    fig = forecast.figure(actual, coming).update_layout(width=PRINT_WIDTH, font_size=13, yaxis_title="每月工单量（件）")
    st.plotly_chart(fig, width="content", config={"displayModeBar": False})
with st.container(key="noprint_fc_detail"):   # for the screen: the print keeps the warnings and the chart
    if record.get("possible"):
        safe.table(coming.select(
            pl.col("month").dt.strftime("%Y年%-m月").alias("月份"), pl.col("forecast").round(0).cast(pl.Int64).alias("预测"),
            pl.format("{}–{}", pl.col("lo").cast(pl.Int64), pl.col("hi").cast(pl.Int64)).alias(f"{cfg.interval:.0%} 区间"),
            pl.col("last_year").fill_nan(None).cast(pl.Int64).alias("去年同月"),
        ))
    if fc.possible and not fc.table.is_empty():
        _, _, unit_label, cat_label = forecast.LEVELS[level]
        top = fc.table.filter(pl.col("step") == 1).sort("forecast", descending=True).head(10)
        st.subheader(f"下月预测最多的{unit_label}与{cat_label}")
        safe.table(top.select(
            pl.col("unit").alias(unit_label), pl.col("category").alias(cat_label),
            pl.col("forecast").round(0).cast(pl.Int64).alias("预测"),
            pl.format("{}–{}", pl.col("lo").cast(pl.Int64), pl.col("hi").cast(pl.Int64)).alias("区间"),
            pl.col("last_year").fill_nan(None).cast(pl.Int64).alias("去年同月"),
            pl.col("recent").round(1).cast(pl.String).alias(f"近{cfg.baseline_months}月月均"),   # st.table prints floats as 0.7000
            pl.Series("预测记录", [forecast.record_text(a, b, m) for a, b, m in zip(top["wape"], top["wape_naive"], top["months"])],
                      dtype=pl.String),
        ))
        beats = fc.record.filter(pl.col("mase").is_not_null())
        if beats.height:
            st.caption(f"回测：{beats.height:,} 个{unit_label}×{cat_label}中 {(beats['mase'] < 1).mean():.0%} 的预测优于“去年同月”"
                       f"（误差比中位数 {beats['mase'].median():.2f}）。")
        download_buttons(fc.table.select("unit", "category", "district", "month", "forecast", "lo", "hi", "last_year", "recent",
                                         "months", "wape", "wape_naive", "mase"), "预测", key="dl_fc_table")
definition(forecast.explain(settings))
