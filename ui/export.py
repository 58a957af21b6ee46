"""Download buttons: tables as CSV / XLSX (with a header stating filters, source and time), charts as PNG / HTML."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import db, export
from ui import data, filters


def meta(name: str, filters_text: str | None = None) -> export.ExportMeta:
    """What an export says about itself: its name, the filters in force, the database and its last load."""
    last = data.read(db.last_load, filters.current())
    source = f"哨声 Whistle 数据库 {data.current_path().name}"
    if last["at"]:
        source += f"（共 {last['loads']} 批导入，最近一次 {last['at']:%Y-%m-%d %H:%M}）"
    return export.ExportMeta(name, filters_text or filters.current().describe(), source, datetime.now())


def download_buttons(frame: pl.DataFrame, name: str, key: str | None = None) -> None:
    """CSV and XLSX of a table shown on a page; the files are built only when clicked."""
    download_query_buttons(lambda: frame, name, key=key)


def download_query_buttons(fetch: Callable[[], pl.DataFrame], name: str, key: str | None = None,
                           filters_text: str | None = None) -> None:
    """CSV and XLSX of a table fetched on click (e.g. every filtered order, not just the page shown).
    The files are built outside the script run, so `fetch` must not call Streamlit."""
    key = key or f"dl_{name}"
    info = meta(name, filters_text)
    stamp = f"{info.generated_at:%Y%m%d}"
    left, right, _ = st.columns([1, 1, 4])
    with left:
        st.download_button(
            "下载 CSV", lambda: export.to_csv(fetch(), info), file_name=f"{name}_{stamp}.csv", mime="text/csv",
            key=f"{key}_csv", icon=":material/download:", on_click="ignore",
        )
    with right:
        st.download_button(
            "下载 Excel", lambda: _xlsx(fetch(), info, name), file_name=f"{name}_{stamp}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"{key}_xlsx", icon=":material/table_view:", on_click="ignore",
        )


def _xlsx(frame: pl.DataFrame, info: export.ExportMeta, name: str) -> bytes:
    try:
        return export.to_xlsx(frame, info, sheet=name)
    except ValueError as e:  # too many rows for one sheet: the file says so instead of failing silently
        return export.to_xlsx(pl.DataFrame({"说明": [str(e)]}), info, sheet=name)


def figure_buttons(fig: go.Figure, name: str, key: str | None = None) -> None:
    """PNG (kaleido + Chromium, rendered on click) and interactive HTML of a chart."""
    key = key or f"fig_{name}"
    title = f"{name}（{filters.current().describe()}）"
    left, right, _ = st.columns([1, 1, 4])
    with left:
        if export.png_available():
            st.download_button(
                "下载图片 PNG", lambda: export.figure_png(fig, title=title), file_name=f"{name}.png", mime="image/png",
                key=f"{key}_png", icon=":material/image:", on_click="ignore",
            )
        else:
            st.caption("本机缺少生成图片所需的组件，无法生成 PNG；请下载 HTML 后在浏览器中另存为图片。")
    with right:
        st.download_button(
            "下载交互图 HTML", lambda: export.figure_html(fig, title=title), file_name=f"{name}.html",
            mime="text/html", key=f"{key}_html", icon=":material/code:", on_click="ignore",
        )
