"""Small widgets every page uses: a number with its definition one click away, percent formatting."""
from __future__ import annotations

import streamlit as st


def pct(value: float | None, digits: int = 1) -> str:
    """0–1 fraction as a percentage for the screen; "—" when there is no data."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


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
