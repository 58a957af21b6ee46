"""Small widgets every page uses: a number with its definition one click away, percent formatting."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from ui import safe


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
