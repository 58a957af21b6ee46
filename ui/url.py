"""A page's own choices (the street on 社区画像, the month of 月度通报, …) kept in the URL beside the shared
filters, so a copied link opens the same view. The URL decides a widget's starting value; the widget's value is
written back after each run."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st


def index(param: str, options: Sequence[Any], default: int = 0, text: Callable[[Any], str] = str) -> int:
    """Position of the option the URL names (?param=text(option)), else `default`."""
    wanted = st.query_params.get(param)
    if wanted is not None:
        for i, option in enumerate(options):
            if text(option) == wanted:
                return i
    return default


def value(param: str, options: Sequence[Any], default: Any, text: Callable[[Any], str] = str) -> Any:
    """The option the URL names, else `default`."""
    i = index(param, options, -1, text)
    return options[i] if i >= 0 else default


def keep(param: str, chosen: Any, text: Callable[[Any], str] = str, default: Any = None) -> None:
    """Write the widget's value into the URL (removed when it is the default, keeping links short)."""
    wanted = None if chosen is None or chosen == default else text(chosen)
    if wanted is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != wanted:
        st.query_params[param] = wanted


def choice(widget: Callable[..., Any], label: str, options: Sequence[Any], param: str, *, key: str, default: Any = None,
           text: Callable[[Any], str] = str, **kwargs: Any) -> Any:
    """st.radio, st.selectbox or st.segmented_control whose choice lives in the URL as ?param=text(choice): a
    shared link opens on it, and the default (the first option unless given) is left out of the link."""
    default = options[0] if default is None else default
    start = value(param, options, default, text)
    if widget is st.segmented_control:
        chosen = widget(label, options, default=start, key=key, **kwargs)
        chosen = default if chosen is None else chosen     # a segmented control can be clicked off
    else:
        chosen = widget(label, options, index=list(options).index(start), key=key, **kwargs)
    keep(param, chosen, text, default)
    return chosen


def toggle(label: str, param: str, *, key: str, default: bool = False, **kwargs: Any) -> bool:
    """st.toggle kept in the URL (?param=1 or 0; the default left out)."""
    start = {"1": True, "0": False}.get(st.query_params.get(param), default)
    on = st.toggle(label, value=start, key=key, **kwargs)
    keep(param, "1" if on else "0", default="1" if default else "0")
    return on


def tabs(labels: Sequence[str], param: str, *, key: str) -> Sequence[Any]:
    """st.tabs opening on the tab the URL names; the open tab is written back (the first tab is the default)."""
    opened = st.tabs(list(labels), default=value(param, labels, labels[0]), key=key, on_change="rerun")
    keep(param, st.session_state.get(key), default=labels[0])
    return opened


def row(param: str, names: Sequence[Any]) -> dict | None:
    """selection_default for a selectable st.dataframe: the row whose name (`names`, one per row, e.g. the
    unit or case id column) the URL names, so a shared link opens on the same drill-down."""
    wanted = st.query_params.get(param)
    for i, name in enumerate(names):
        if name is not None and str(name) == wanted:
            return {"selection": {"rows": [i], "columns": []}}
    return None


def keep_row(param: str, event: Any, names: Sequence[Any]) -> int | None:
    """The selected row's position, its name written into the URL (removed when nothing is selected)."""
    rows = event.selection.rows if event else []
    chosen = rows[0] if rows and rows[0] < len(names) else None
    keep(param, None if chosen is None else names[chosen])
    return chosen
