"""Small widgets every page uses: a number with its definition one click away, percent formatting."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from analytics import quality
from analytics.filters import Filters
from core.schema import label
from ui import data, safe


def pct(value: float | None, digits: int = 1) -> str:
    """0–1 fraction as a percentage for the screen; "—" when there is no data."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def number(kind: str, value: Any) -> str:
    """One format per kind of number: count 1,194 · signed +12 · pct 66.7% · score 96.1 · times 2.3 倍 ·
    date 2026-10-05 · day 10月5日."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "pct":
        return pct(value)
    if kind == "score":
        return f"{value:.1f}"
    if kind == "signed":
        return f"{value:+,.0f}"
    if kind == "times":
        return f"{value:.1f} 倍"
    if kind == "day" and isinstance(value, (date, datetime)):
        return f"{value.month}月{value.day}日"
    if kind == "date" and isinstance(value, (date, datetime)):
        return f"{value:%Y-%m-%d}"
    return str(value)


def print_table(frame: pl.DataFrame, columns: dict[str, tuple[str, str]], empty: str = "没有数据。") -> None:
    """A table that also prints (HTML, where st.dataframe draws on a canvas that prints as an empty box), each
    column {name: (Chinese label, kind of number)} formatted by `number`; says why when there are no rows."""
    if frame.is_empty():
        st.info(empty)
        return
    safe.table(pl.DataFrame({label: [number(kind, v) for v in frame[col]] for col, (label, kind) in columns.items()}),
               hide_index=True)


def definition(text: str, label: str = "口径") -> None:
    """The metric's definition (with the settings in force) behind a small popover."""
    with st.popover(label, icon=":material/info:"):
        st.markdown(text)


def metric_with_definition(
    label: str, value: str, definition_text: str, delta: str | None = None, delta_color: str = "normal",
    help_text: str | None = None,
) -> None:
    """st.metric plus its 口径 popover underneath."""
    st.metric(label, value, delta=delta, delta_color=delta_color, help=help_text, border=True)
    definition(definition_text)


def why_empty(filters: Filters, what: str, *columns: str, otherwise: str | None = None) -> str:
    """Why `what` (a chart or table) has nothing to show, in Chinese: the orders lack one of `columns` (the
    export has no such column, or left it empty); else `otherwise` (what the finding's absence means, e.g. no
    surge this month); else the filters and period leave no data."""
    filled = data.read(quality.filled_columns, filters, tuple(columns)) if columns else {}
    lacking = [label("work_orders", c) for c in columns if not filled.get(c)]
    if lacking:
        names = "”“".join(lacking)
        return (f"{what}：所选范围内的工单没有“{names}”——导出文件缺少这一列或该列为空。"
                f"导入含“{names}”列的导出文件后即可显示。")
    if otherwise:
        return f"{what}：{otherwise}"
    return f"{what}：所选条件（{safe.md(filters.describe())}）下没有数据。请放宽左侧的时间段或筛选条件。"


def says_why(frame: pl.DataFrame, filters: Filters, what: str, *columns: str, otherwise: str | None = None) -> bool:
    """True, after saying why (`why_empty`), when `frame` has no rows: the page then draws no blank chart or
    empty grid."""
    if frame.height:
        return False
    st.info(why_empty(filters, what, *columns, otherwise=otherwise))
    return True
