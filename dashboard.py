"""哨声 Whistle: the dashboard's entry — page config, first-run demo data, shared filters, navigation."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from streamlit.runtime.scriptrunner import get_script_run_ctx

from analytics import db
from analytics.filters import Filters
from ui import auth, data, filters, startup, style
from ui.page import run_inside_entry

ROOT = Path(__file__).resolve().parent
HOME = "home"   # the path the default page (总览, served at "/") reserves

# (section, file, title, icon, url path); a page appears once its file exists.
PAGES = [
    ("概览", "pages/overview.py", "总览", ":material/dashboard:", "overview"),
    ("概览", "pages/report.py", "月度通报", ":material/summarize:", "report"),
    ("概览", "pages/forecast.py", "预警与预测", ":material/notifications_active:", "forecast"),
    ("热点与源头治理", "pages/hotspots.py", "热点分布", ":material/map:", "hotspots"),
    ("热点与源头治理", "pages/community.py", "社区画像", ":material/groups:", "community"),
    ("热点与源头治理", "pages/recurring.py", "重复诉求与源头治理", ":material/repeat:", "recurring"),
    ("考评", "pages/streets.py", "街乡考评", ":material/leaderboard:", "streets"),
    ("考评", "pages/departments.py", "部门考评", ":material/apartment:", "departments"),
    ("考评", "pages/dispatch.py", "派单质量", ":material/alt_route:", "dispatch"),
    ("考评", "pages/whistle.py", "吹哨报到", ":material/campaign:", "whistle"),
    ("数据", "pages/orders.py", "工单明细", ":material/table_rows:", "orders"),
    ("数据", "pages/data_import.py", "数据导入", ":material/upload_file:", "import"),
    ("数据", "pages/quality.py", "数据质量", ":material/fact_check:", "quality"),
]


def not_found() -> None:
    st.title("页面不存在")
    st.write("您打开的链接没有对应的页面，可能是地址输入有误，或页面已改名。请从左侧菜单选择页面。")
    st.page_link(ROOT / "pages/overview.py", label="回到总览")


def navigation(user) -> st.navigation:
    sections: dict[str, list[st.Page]] = {}
    for section, file, title, icon, url in PAGES:
        if (ROOT / file).exists() and auth.may_open(url, user):
            default = url == "overview"
            sections.setdefault(section, []).append(
                st.Page(ROOT / file, title=title, icon=icon, url_path=HOME if default else url, default=default)
            )
    # The default page is served at "/" only (the path it reserves never resolves), so /overview is a hidden
    # copy of it. Any other unknown address gets a Chinese page (Streamlit's own answer is an English dialog),
    # registered under the address that was asked for.
    paths = {page.url_path for pages in sections.values() for page in pages}   # the default page's is ""
    hidden = [st.Page(ROOT / "pages/overview.py", title="总览", url_path="overview", visibility="hidden")] if "" in paths else []
    registered = paths | {"", HOME}
    ctx = get_script_run_ctx()
    asked = (ctx.pages_manager.intended_page_name or "").strip("/") if ctx else ""
    known = registered | {"overview"}
    if asked and asked not in known and "/" not in asked:
        hidden.append(st.Page(not_found, title="页面不存在", url_path=asked, visibility="hidden"))
    sections.setdefault("概览", []).extend(hidden)
    return st.navigation(sections, expanded=True)   # every page in view: a collapsed menu hides pages behind "View N more"


def data_line() -> None:
    extent = data.read(db.data_extent, Filters())
    if not extent["orders"]:
        st.sidebar.warning("数据库中还没有工单。请在“数据导入”页上传导出文件。")
        return
    st.sidebar.caption(
        f"已载入 {extent['orders']:,} 条工单，受理时间 {extent['first_at']:%Y-%m-%d} 至 {extent['last_at']:%Y-%m-%d}；"
        f"最近一次导入 {extent['loaded_at']:%Y-%m-%d %H:%M}（共 {extent['loads']} 批）。"
        if extent["loaded_at"] else f"已载入 {extent['orders']:,} 条工单。"
    )
    untokenized = data.read(db.pending_tokens, Filters())
    if untokenized:
        st.sidebar.info(f"{untokenized:,} 条工单的分词索引正在生成或未完成；热词、热点诉求等已对它们临时分词，结果完整。"
                        "如长时间未完成，请运行 `python -m etl tokens`。")


def main() -> None:
    st.set_page_config(page_title="哨声 · 12345 接诉即办分析", page_icon=str(style.ICON), layout="wide")
    user = auth.gate()
    startup.ensure_database()
    page = navigation(user)
    st.sidebar.title("哨声")
    filters.sidebar()
    data_line()
    style.apply()
    run_inside_entry(page)


if __name__ == "__main__":  # streamlit runs this file as __main__; importing it (tests) draws nothing
    main()
