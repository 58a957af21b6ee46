"""重复诉求与源头治理: what keeps coming back — hot issues, repeat callers, recurring types, 每月一题 candidates."""
from __future__ import annotations

from dataclasses import replace

import polars as pl
import streamlit as st

from analytics import hot_issues as hi
from analytics import hot_months
from analytics import orders as work_orders
from analytics import recurring as rc
from analytics.filters import Filters
from ui import data, filters, url
from ui.export import download_buttons
from ui.widgets import definition, grid, pct
from ui.page import setup
from ui.safe import md

setup()

f = filters.current()
settings = data.settings()
st.title("重复诉求与源头治理")
st.caption(f"筛选：{md(f.describe())}。源头治理从反复出现的问题开始：同一地点的同一问题、同一人的反复来电、持续偏高或难解决的问题类型。")

DETAIL_COLUMNS = ("order_id", "received_at", "channel", "district", "street", "community", "category_l2", "category_l3",
                  "content", "status", "resolution", "satisfaction")
DETAIL_CONFIG = {
    "order_id": "工单编号", "received_at": st.column_config.DatetimeColumn("受理时间", format="YYYY-MM-DD HH:mm"),
    "channel": "来源渠道", "district": "区", "street": "街道/乡镇", "community": "社区/村", "category_l2": "二级分类",
    "category_l3": "三级分类", "content": st.column_config.TextColumn("诉求内容", width="large"), "status": "状态",
    "resolution": "是否解决", "satisfaction": "是否满意",
}


def _drill(ids: list[str], title: str) -> None:
    """The orders behind a selected row, with their text."""
    ids = list(ids)   # a cell of a list column arrives as a polars Series
    st.markdown(f"**{md(title)}** · 共 {len(ids):,} 件工单")
    if not ids:
        st.info("这一行没有对应的工单（可能已被重新导入的数据替换），请刷新页面。")
        return
    detail = data.read(work_orders.listing, Filters(), DETAIL_COLUMNS, (), "", tuple(ids), "received_at", False)
    grid(detail, column_config=DETAIL_CONFIG, height=320)
    download_buttons(detail, f"工单明细_{title[:20]}", key=f"dl_detail_{hash(title)}")


def _selected(event) -> int | None:
    rows = event.selection.rows if event is not None else []
    return rows[0] if rows else None


# A window beyond the ceiling for text work: which months hot issues and repeats leave out, and what to do.
# Planned once for both tables.
plan = data.read(hot_months.plan, f, settings)
left_out = plan.note
tab_hot, tab_rep, tab_types, tab_topics = url.tabs(["热点问题", "重复诉求预警", "反复出现的问题类型", "每月一题候选"], "tab",
                                                   key="rc_tab")

with tab_hot:
    hot = data.read(hi.read_hot_issues, f, settings, plan)
    st.markdown(f"所选条件下识别出 **{hot.height}** 个热点问题（不同来电人短时间内集中反映的同一具体问题，按爆发程度排序）。"
                "点选一行查看其工单。")
    if left_out:
        st.warning(md(left_out))
    definition(rc.explain(settings, "hot_issues"), label="识别方法与热度口径")
    if hot.is_empty():
        st.info("没有找到热点问题。可放宽时间段，或在设置中降低文本相似度阈值。")
    else:
        view = hot.with_row_index("rank", offset=1).select(
            "rank", "label", "size", "callers", "channels", "first_at", "last_at", "likes", "burst", "lift", "heat")
        event = grid(
            view, on_select="rerun", selection_mode="single-row", key="rc_hot",
            selection_default=url.row("issue", view["label"].to_list()),
            column_config={
                "rank": "排名", "label": st.column_config.TextColumn("热点问题（地点 · 问题）", width="large"),
                "size": st.column_config.NumberColumn("工单数", format="localized"), "callers": "来电人数", "channels": "渠道数",
                "first_at": st.column_config.DatetimeColumn("首次", format="YYYY-MM-DD"),
                "last_at": st.column_config.DatetimeColumn("最近", format="YYYY-MM-DD"), "likes": "点赞数",
                "burst": st.column_config.NumberColumn(f"最忙 {settings.hot_issues.burst_days} 天来电人数", format="localized"),
                "lift": st.column_config.NumberColumn("高于预期倍数", format="%.1f"),
                "heat": st.column_config.NumberColumn("热度", format="%.2f"),
            },
        )
        download_buttons(hot.with_columns(pl.col("order_ids").list.join(";")), "热点问题", key="dl_hot")
        row = url.keep_row("issue", event, view["label"].to_list())
        if row is not None:
            _drill(hot["order_ids"][row], hot["label"][row])

with tab_rep:
    reps = data.read(rc.read_repeats, f, settings, plan)
    r = settings.repeats
    st.markdown(f"共 **{reps.height}** 条预警：同一事项 {r.window_days} 天内反复反映 ≥ {r.alert_count} 次。点选一行查看其工单。")
    if left_out:
        st.warning(md(left_out))
    definition(rc.explain(settings, "repeats"))
    if reps.is_empty():
        st.info("所选条件下没有达到预警次数的重复诉求。")
    else:
        kinds = url.choice(st.segmented_control, "类型", ["全部", "同一来电人", "同一地点"], "kind", key="rc_rep_kind")
        # A caller is a salted hash: shown as 来电人1, 来电人2, … (numbered within this list), never as the hash.
        callers = {k: f"来电人{i}" for i, k in enumerate(dict.fromkeys(reps["caller_key"].drop_nulls().to_list()), 1)}
        named = reps.with_columns(caller=pl.col("caller_key").replace_strict(callers, default=None, return_dtype=pl.String))
        shown = named if kinds in (None, "全部") else named.filter(pl.col("kind") == kinds)
        event = grid(
            shown.drop("order_ids", "caller_key"), on_select="rerun",
            selection_mode="single-row", key="rc_rep", column_order=[c for c in ("kind", "caller", "place", "matter", "count",
                                                                          "callers", "first_at", "last_at", "hot_issue")
                                                              if c in shown.columns],
            column_config={
                "kind": "类型", "caller": st.column_config.TextColumn("来电人", help="同一来电人（号码加盐哈希后比对）在本表内的编号"),
                "place": "地点", "matter": "事项",
                "count": st.column_config.NumberColumn("次数", format="localized"), "callers": "来电人数",
                "first_at": st.column_config.DatetimeColumn("首次", format="YYYY-MM-DD"),
                "last_at": st.column_config.DatetimeColumn("最近", format="YYYY-MM-DD"),
                "hot_issue": "所属热点问题",
            },
        )
        download_buttons(named.drop("caller_key").with_columns(pl.col("order_ids").list.join(";")), "重复诉求预警", key="dl_rep")
        row = _selected(event)
        if row is not None:
            pick = shown.row(row, named=True)
            _drill(pick["order_ids"], f"{pick['kind']}：{pick['place'] or pick['caller'] or ''} · {pick['matter'] or ''}")

with tab_types:
    area = url.choice(st.radio, "区域层级", ["街乡", "区"], "area", key="rc_area", horizontal=True)
    area_col = "street" if area == "街乡" else "district"
    types, topics, type_level, level_note = data.read(rc.read_types, f, settings, area_col)
    type_level = type_level or settings.topics.level
    level_label = rc.LEVEL_LABELS.get(type_level, type_level)
    if level_note:
        st.caption(level_note)
    st.markdown(f"共 **{types.height}** 个 区域 × {level_label} 组合连续高于预期或解决率持续偏低，是源头治理的候选。点选一行查看其工单。")
    definition(rc.explain(settings, "recurring"))
    if types.is_empty():
        st.info("所选条件下没有连续高于预期或解决率持续偏低的问题类型。")
    else:
        view = types.select("area", "issue_type", "orders", "longest_run", "run_until", "months_above", "resolution_rate",
                            "city_resolution_rate", "reason")
        event = grid(
            view, on_select="rerun", selection_mode="single-row", key="rc_types",
            column_config={
                "area": area, "issue_type": level_label, "orders": st.column_config.NumberColumn("工单量", format="localized"),
                "longest_run": "最长连续高于预期（月）",
                "run_until": st.column_config.DateColumn("连续至", format="YYYY-MM"), "months_above": "高于预期月数",
                "resolution_rate": st.column_config.NumberColumn("解决率", format="percent"),
                "city_resolution_rate": st.column_config.NumberColumn("全市同类解决率", format="percent"),
                "reason": "列入原因",
            },
        )
        download_buttons(view, "反复出现的问题类型", key="dl_types")
        row = _selected(event)
        if row is not None:
            pick = view.row(row, named=True)
            ids = data.read(work_orders.listing, f, ("order_id",), ((area_col, pick["area"]), (type_level, pick["issue_type"])),
                            "", None, "received_at", True, 2000)["order_id"].to_list()
            _drill(ids, f"{pick['area']} · {pick['issue_type']}")

with tab_topics:
    st.markdown(f"按{level_label}排序的每月一题候选。点选一行查看该类型的月度跟踪。")
    definition(rc.explain(settings, "topics"))
    if topics.is_empty():
        st.info(level_note or "所选条件下没有带分类的工单。")
    else:
        view = topics.select("rank", "issue_type", "category_l1", "score", "orders", "streets", "months_above", "months",
                             "resolution_rate", "satisfaction_rate", "redispatch", "c_volume", "c_breadth",
                             "c_persistence", "c_difficulty")
        event = grid(
            view, on_select="rerun", selection_mode="single-row", key="rc_topics",
            column_config={
                "rank": "排名", "issue_type": level_label, "category_l1": "一级分类",
                "score": st.column_config.ProgressColumn("得分", min_value=0, max_value=100, format="%.1f"),
                "orders": st.column_config.NumberColumn("工单量", format="localized"), "streets": "涉及街乡",
                "months_above": "持续月数", "months": "月数",
                "resolution_rate": st.column_config.NumberColumn("解决率", format="percent"),
                "satisfaction_rate": st.column_config.NumberColumn("满意率", format="percent"),
                "redispatch": st.column_config.NumberColumn("平均退单/改派", format="%.2f"),
                "c_volume": st.column_config.NumberColumn("量", format="%.2f"),
                "c_breadth": st.column_config.NumberColumn("广度", format="%.2f"),
                "c_persistence": st.column_config.NumberColumn("持续", format="%.2f"),
                "c_difficulty": st.column_config.NumberColumn("难度", format="%.2f"),
            },
        )
        download_buttons(view, "每月一题候选", key="dl_topics")
        row = _selected(event)
        chosen = topics["issue_type"][row if row is not None else 0]
        st.subheader(f"跟踪：{md(chosen)}")
        history = replace(f, date_from=None, date_to=None)
        monthly = data.read(rc.read_type_months, history, type_level, chosen)
        months = monthly["month"].to_list()
        default = f.date_from.replace(day=1) if f.date_from and f.date_from.replace(day=1) in months else months[0]
        pick_month = url.choice(st.selectbox, "选题月份", months, "pick", key="rc_pick", default=default, text="{:%Y-%m}".format,
                                format_func=lambda m: f"{m.year}年{m.month}月")
        track = rc.tracking(monthly, pick_month)
        st.plotly_chart(rc.tracking_figure(track, pick_month, f"{chosen}：每月工单量（橙色为选题之后）"), width="stretch",
                        key="rc_track")
        after = track.filter(pl.col("after_pick"))
        if after.height:
            last = after.row(-1, named=True)
            st.markdown(f"选题后最近一个月（{last['month']:%Y年%m月}）工单 {last['orders']} 件，环比 {pct(last['mom_change'])}，"
                        f"较选题当月 {pct(last['vs_pick'])}。")
        definition("按受理月份统计该类型全部工单（不受左侧时间段限制，区域与分类筛选仍然有效）。环比 = 本月 ÷ 上月 − 1；"
                   "较选题当月 = 本月 ÷ 选题当月 − 1。")
        download_buttons(track, f"跟踪_{chosen}", key="dl_track")
