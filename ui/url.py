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
