"""First start: build the embedded demo database, showing progress, if there is no database yet."""
from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from core.schema import needs_upgrade
from etl.outlook import start as start_outlook
from etl.store import sweep_scratch, writing
from ui import data

STAGES = {"generate": "生成工单", "tokenize": "分词", "write": "写入数据库", "cases": "生成吹哨案件", "done": "完成"}
_BUILDING = threading.Lock()  # one build per process, however many sessions open the app at once


def ensure_database() -> None:
    """Build the demo database when none exists (never overwrites a loaded one); upgrade an older layout."""
    sweep_scratch()   # plaintext copies a killed server or load left behind
    path = data.current_path()
    if path.exists():
        _upgrade(path)
        return
    waiting = st.info("首次启动：另一个会话正在生成演示数据库，请稍候…") if _BUILDING.locked() else None
    with _BUILDING:
        if waiting:
            waiting.empty()
        if path.exists():
            return
        from etl.demo import build_demo

        bar = st.progress(0.0, text="首次启动：正在生成演示数据库（三年约 36 万条工单，约需半分钟到一分钟）…")

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"首次启动：正在生成演示数据库 · {STAGES.get(stage, stage)}")

        build_demo(path, progress=progress)
        bar.empty()


@st.cache_resource(show_spinner="正在升级数据库结构…")
def _upgrade(path: Path) -> None:
    """A database written by an older version moves its tokens into the token index (once per process)."""
    # Asked on the connection the pages read through (opening a file of millions of orders twice costs a
    # tenth of a second of the first page).
    cur = data.connection().cursor()
    try:
        old = needs_upgrade(cur, "hotline")
    finally:
        cur.close()
    if old:
        with writing(path):
            pass
        data.forget_connections()   # the old file's connection would hold it open
        start_outlook(path)         # the upgraded summaries are what a stored outlook is keyed on
