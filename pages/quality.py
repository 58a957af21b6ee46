"""数据质量: is the data complete and current enough to trust the numbers on the other pages?"""
from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from analytics import quality
from analytics.filters import Filters
from ui import auth, data, filters, url
from ui.export import download_buttons
from ui.widgets import definition, grid
from ui.page import setup
from ui.safe import md

setup()

KIND_NAMES = {"work_orders": "工单", "cases": "吹哨案件", "case_events": "吹哨过程记录", "ratings": "街乡评分",
              "dept_ratings": "街乡评分", "duties": "权责清单", "dept_duties": "权责清单"}
STATUS_NAMES = {"ok": "全部入库", "partial": "部分行隔离", "failed": "失败", "running": "进行中"}


def shown_name(text: str | None) -> str | None:
    """Load ids and source names as a reader sees them: the built-in demo is 演示数据."""
    if text is None:
        return None
    return text.replace("demo:seed=", "演示数据·种子 ").replace("demo-seed-", "演示数据-")


settings = data.settings()
f = filters.current()
st.title("数据质量")

st.subheader("数据新鲜度")
fresh = data.read(quality.freshness, Filters(), date.today())
a, b = st.columns(2)
with a:
    st.metric(
        "最新受理时间", "—" if fresh["latest_received"] is None else f"{fresh['latest_received']:%Y-%m-%d %H:%M}",
        delta=None if fresh["received_days_behind"] is None else f"距今天 {fresh['received_days_behind']} 天",
        delta_color="off", border=True,
    )
with b:
    st.metric(
        "最近一次导入", "—" if fresh["last_load"] is None else f"{fresh['last_load']:%Y-%m-%d %H:%M}",
        delta=None if fresh["load_days_behind"] is None else f"距今天 {fresh['load_days_behind']} 天",
        delta_color="off", border=True,
    )
if fresh["received_days_behind"] is not None and fresh["received_days_behind"] > 35:
    st.warning(f"最新工单已是 {fresh['received_days_behind']} 天前受理的：本月数据可能尚未导入，请在“数据导入”页上传最新导出。")

st.subheader("导入记录")
history = data.read(quality.load_history, Filters())
if history.is_empty():
    st.info("还没有导入记录。请在“数据导入”页上传导出文件。")
else:
    shown = history.with_columns(
        pl.col("kind").replace(KIND_NAMES), pl.col("status").replace(STATUS_NAMES),
        pl.col("load_id").map_elements(shown_name, return_dtype=pl.String),
        pl.col("source_file").map_elements(shown_name, return_dtype=pl.String),
    )
    grid(
        shown,
        column_config={
            "load_id": "导入批次", "source_file": "来源文件", "kind": "数据类型", "encoding": "编码",
            **{c: st.column_config.NumberColumn(lab, format="localized") for c, lab in (
                ("rows_read", "读取"), ("rows_inserted", "新增"), ("rows_updated", "更新"),
                ("rows_unchanged", "未变"), ("rows_quarantined", "隔离"))},
            "started_at": st.column_config.DatetimeColumn("开始", format="YYYY-MM-DD HH:mm:ss"),
            "finished_at": st.column_config.DatetimeColumn("结束", format="YYYY-MM-DD HH:mm:ss"),
            "status": "状态", "message": "说明",
        },
    )
    definition("每批导入满足：读取 = 新增 + 更新 + 未变 + 隔离。状态“全部入库”表示没有行被隔离，“部分行隔离”表示有行"
               "因校验未通过而未入库（见下方隔离行浏览）。")
    download_buttons(shown, "导入记录")

st.subheader("不合常理的值")
doubt = data.read(quality.plausibility, Filters())
shown = doubt.filter(doubt["rows"] > 0)
if shown.is_empty():
    st.success("已导入的数据中没有不合常理的值。")
else:
    grid(shown.drop("check_key"),
         column_config={"what": "数据", "label": "检查项",
                        "rows": st.column_config.NumberColumn("条数", format="localized")})
definition(
    f"导入时逐行检查（设置文件 `settings.toml` 的 `[plausibility]`）：早于 {settings.plausibility.earliest} 或晚于导入当天 "
    f"{settings.plausibility.future_days:g} 天以上的日期（办理时限除外）、办结/派单/响应早于受理、负数的次数、超出区域的经纬度。"
    + ("这些行已被隔离，见下方隔离行。" if settings.plausibility.action == "quarantine" else
       "这些行照常导入，但不合常理的值已置空、不计入任何比率，原值记在“存疑值”中。")
    + "受理时间本身不合常理的行一律隔离。吹哨事件对应的案件未导入时照常导入，补导案件后自动消失。"
)

st.subheader("隔离行浏览")
loads = history.filter(history["rows_quarantined"] > 0) if history.height else history
user = auth.current()
if not user.scope.is_city:
    st.info("隔离行是导入时未能入库的原始行，无法确定属于哪个街乡，因此只对全市范围的用户显示。")
elif loads.is_empty():
    st.success("没有被隔离的行。")
else:
    c1, c2 = st.columns([2, 3])
    with c1:
        options = [None, *loads["load_id"].to_list()]
        names = dict(zip(loads["load_id"], loads["source_file"]))
        load_id = url.choice(
            st.selectbox, "导入批次", options, "load", key="q_load", default=None, text=lambda x: x or "",
            format_func=lambda x: "全部批次" if x is None else f"{shown_name(x)}（{shown_name(names[x])}）",
        )
    with c2:
        if "q_search" not in st.session_state:   # a shared link opens on its search
            st.session_state["q_search"] = st.query_params.get("search", "")
        search = st.text_input("在原因或原始行中搜索", key="q_search", placeholder="例如：受理时间、工单编号、某个值")
        url.keep("search", search.strip() or None)
    reasons = data.read(quality.quarantine_reasons, Filters(), load_id)
    grid(reasons,
         column_config={"reason": "原因（同类合并）", "rows": st.column_config.NumberColumn("行数", format="localized")})
    rows = data.read(quality.quarantine_rows, Filters(), load_id, search, None)
    st.caption(f"符合条件的隔离行：{rows.height:,} 行（表格显示前 1,000 行，下载为全部）。")
    grid(
        rows.head(1000),
        column_config={"load_id": "导入批次", "source_file": "来源文件", "line_no": "行号", "reason": "原因",
               "raw": st.column_config.TextColumn("原始行(JSON)", width="large")},
    )
    download_buttons(rows, "隔离行", key="dl_quarantine")

st.subheader("数据覆盖")
st.caption(f"范围：{md(f.describe())}（左侧筛选条件）。")
cov = data.read(quality.coverage, f)
grid(
    cov.drop("check"),
    column_config={"label": "检查项", "orders": st.column_config.NumberColumn("工单数", format="localized"),
           "share": st.column_config.ProgressColumn("占比", format="percent", min_value=0, max_value=1)},
)
definition(
    "“街道/乡镇不在官方名录”：街乡名称非空，但与国家统计局统计用区划代码中的北京 343 个街乡镇（及开发区）都对不上，"
    "这些工单无法参与街乡排名与人口折算。“缺少问题分类”：导入时没有一级分类的工单。"
    "“取自地址或诉求内容”：导出文件没有区（街乡）列，导入时按官方区划名称从地址、其次从诉求内容中识别出的工单数。"
)
unknown = data.read(quality.unknown_streets, f)
if unknown.height:
    with st.expander(f"不在官方名录的街乡名称（前 {unknown.height} 个）"):
        grid(unknown,
             column_config={"district": "区", "street": "街道/乡镇（原值）",
                            "orders": st.column_config.NumberColumn("工单数", format="localized")})
        download_buttons(unknown, "不在官方名录的街乡", key="dl_unknown_streets")

if user.can_manage_users:
    st.subheader("导入审计")
    st.caption("谁在何时导入了什么（仅管理员可见；命令行导入记为“命令行：系统账号”）。")
    log = data.read(quality.audit_log, Filters(), 500)
    grid(log,
         column_config={"logged_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm:ss"),
                        "actor": "操作人", "action": "操作", "detail": "内容", "load_id": "导入批次"})
