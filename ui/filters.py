"""The shared sidebar filters, kept in the URL so a copied link reproduces the view."""
from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import db
from analytics.filters import Filters, month_bounds
from ui import data

KEY = "shared_filters"
URL_KEYS = ("from", "to", "district", "street", "category")


def loaded_months() -> list[date]:
    """The months (first days) that have orders, oldest first."""
    return data.read(db.loaded_months, Filters())


def _options(column: str, within: Filters = Filters()) -> list[str]:
    return data.read(db.options, within, column)


def _seed_from_url(months: list[date]) -> None:
    """First run of a session: widget state from the URL (or the latest month by default)."""
    qp = st.query_params
    def month(text: str | None, default: date) -> date:
        try:
            wanted = date.fromisoformat(text if len(text) > 7 else f"{text}-01").replace(day=1) if text else default
        except ValueError:
            return default
        return min(months, key=lambda m: abs((m - wanted).days))
    last = months[-1]
    st.session_state["f_from"] = month(qp.get("from"), last)
    st.session_state["f_to"] = month(qp.get("to"), last)
    st.session_state.pop("f_period", None)   # the slider then starts from f_from/f_to
    for key in ("district", "street", "category"):
        st.session_state[f"f_{key}"] = [v for v in qp.get_all(key) if v]


def _url_state() -> dict[str, list[str]]:
    return {key: [v for v in st.query_params.get_all(key) if v] for key in URL_KEYS}


def _url_changed() -> bool:
    """The URL carries filters other than the ones last written: a pasted link, st.page_link with
    query_params, or browser history. A URL without any (st.navigation drops them when the user switches
    pages in the sidebar) is not a change: the session's filters are written back instead."""
    url = _url_state()
    return any(url.values()) and url != st.session_state.get("_f_written", url)


def _apply_pending(months: list[date]) -> None:
    """A narrowing asked for by a chart click (see `narrow`), and the period snapped to loaded months."""
    for key, values in st.session_state.pop("_f_pending", {}).items():
        st.session_state[f"f_{key}"] = values
        if key == "district":
            st.session_state["f_street"] = []
    jump = st.session_state.pop("_f_jump", None)
    if jump:
        st.session_state["f_from"], st.session_state["f_to"] = jump
        st.session_state.pop("f_period", None)
    period = st.session_state.get("f_period")
    if period is not None and not isinstance(period, (tuple, list)):   # a reset slider reports one value
        st.session_state.pop("f_period")
    for key in ("f_from", "f_to"):
        if st.session_state[key] not in months:
            st.session_state[key] = min(months, key=lambda m: abs((m - st.session_state[key]).days))
            st.session_state.pop("f_period", None)


def sidebar() -> Filters:
    """Draw the shared filters in the sidebar, sync them to the URL and return them."""
    months = loaded_months()
    if not months:
        st.session_state[KEY] = Filters()
        return st.session_state[KEY]
    if "f_from" not in st.session_state or _url_changed():
        _seed_from_url(months)
    elif not any(_url_state().values()) and "_f_saved" in st.session_state:
        # A page switch in st.navigation drops the URL's parameters and resets these widgets to their
        # defaults: restore what the user had.
        st.session_state.update(st.session_state["_f_saved"])
        st.session_state.pop("f_period", None)
    _apply_pending(months)
    with st.sidebar:
        st.markdown("**筛选条件**（各页面共用）")
        start, end = st.select_slider(
            "时间段（按受理月份）", options=months, value=(st.session_state["f_from"], st.session_state["f_to"]),
            format_func=lambda m: f"{m.year}年{m.month}月", key="f_period",
        )
        st.session_state["f_from"], st.session_state["f_to"] = start, end
        districts = st.multiselect("区", _options("district"), key="f_district", placeholder="全部区")
        streets = st.multiselect("街道 / 乡镇", _options("street", Filters(districts=tuple(districts))), key="f_street",
                                 placeholder="全部街乡")
        categories = st.multiselect("问题分类（一级）", _options("category_l1"), key="f_category", placeholder="全部分类")
    filters = Filters(
        date_from=month_bounds(start)[0], date_to=month_bounds(end)[1],
        districts=tuple(districts), streets=tuple(streets), categories=tuple(categories),
    )
    _write_url(filters)
    st.session_state["_f_saved"] = {k: st.session_state[k] for k in ("f_district", "f_street", "f_category")}
    st.session_state[KEY] = filters
    return filters


def _params(f: Filters) -> dict[str, str | list[str]]:
    """The filters as URL query parameters (months as YYYY-MM)."""
    params: dict[str, str | list[str]] = {}
    if f.date_from and f.date_to:
        params.update({"from": f.date_from.isoformat()[:7], "to": f.date_to.isoformat()[:7]})
    for key, values in (("district", f.districts), ("street", f.streets), ("category", f.categories)):
        if values:
            params[key] = list(values)
    return params


def _write_url(f: Filters) -> None:
    wanted = _params(f)
    for key in URL_KEYS:
        if key in wanted and st.query_params.get_all(key) != (wanted[key] if isinstance(wanted[key], list) else [wanted[key]]):
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]
    st.session_state["_f_written"] = {k: v if isinstance(v, list) else [v] for k, v in wanted.items()} | {
        k: [] for k in URL_KEYS if k not in wanted}


def link_params(**extra: str | list[str]) -> dict[str, str | list[str]]:
    """The current filters as URL query parameters (plus page-specific ones), for st.page_link: the
    linked page opens on the same view."""
    return _params(current()) | {k: v for k, v in extra.items() if v}


def jump_to(first: date, last: date) -> None:
    """Show the months first–last (first days) from the next run on: after an import, its data."""
    st.session_state["_f_jump"] = (first, last)


def chart_key(name: str) -> str:
    """Widget key for a selectable chart; it changes after each narrowing so the old selection is cleared."""
    return f"{name}_{st.session_state.get('_f_narrowed', 0)}"


def narrow(**values: list[str]) -> None:
    """Narrow the shared filters (district=, street=, category=) from a chart click and rerun."""
    st.session_state["_f_pending"] = {k: list(v) for k, v in values.items() if k in ("district", "street", "category")}
    st.session_state["_f_narrowed"] = st.session_state.get("_f_narrowed", 0) + 1
    st.rerun()


def current() -> Filters:
    """The filters chosen in the sidebar (drawn by dashboard.py before any page runs)."""
    return st.session_state.get(KEY, Filters())
