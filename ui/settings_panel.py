"""Try other weights, credits and thresholds without editing settings.toml: the change lives in this
browser session (st.session_state["settings"], read by ui.data.settings()) and so applies on every page."""
from __future__ import annotations

from typing import Any

import streamlit as st

from analytics.scores import settings_caption
from analytics.settings import Settings, load_settings
from ui import data

PREFIX = "sp_"

# (section, field, label, kind, min, max, step, help)
FIELDS: list[tuple[str, str, str, str, float, float, float, str]] = [
    ("composite", "w_response", "响应率权重", "float", 0.0, 1.0, 0.05, "综合得分中响应率的权重"),
    ("composite", "w_resolution", "解决率权重", "float", 0.0, 1.0, 0.05, "综合得分中解决率的权重"),
    ("composite", "w_satisfaction", "满意率权重", "float", 0.0, 1.0, 0.05, "综合得分中满意率的权重"),
    ("rates", "partial_credit", "“部分解决”计分", "float", 0.0, 1.0, 0.1, "解决率中一件部分解决折合几件解决"),
    ("rates", "basic_credit", "“基本满意”计分", "float", 0.0, 1.0, 0.1, "满意率中一件基本满意折合几件满意"),
    ("rates", "response_window_hours", "响应时限（小时）", "float", 0.5, 168.0, 0.5, "派单（无派单时间时为受理）后多少小时内响应算按时"),
    ("rates", "default_deadline_days", "默认办理时限（天）", "float", 0.5, 90.0, 0.5, "工单没有办理时限时，受理后多少天内办结算按时"),
    ("rates", "exclude_invalid", "排除无效工单", "bool", 0, 0, 0, "不计入标记为无效（如无新情况的重复诉求）的工单"),
    ("departments", "w_street_rating", "部门得分中街乡评分权重", "float", 0.0, 1.0, 0.05, "部门得分 = (1 − 权重) × 综合得分 + 权重 × 街乡评分均值"),
    ("rankings", "top_n", "前/后几名", "int", 1, 50, 1, "排名页列出的前几名与后几名个数"),
    ("rankings", "min_orders", "参与排名的最少工单量", "int", 0, 1000, 1, "当月工单少于此数的单位显示比率但不排名"),
    ("rankings", "governance_top_share", "治理类：每万人工单量前多少", "float", 0.01, 0.5, 0.01, "以比例表示，0.10 即前 10%"),
    ("rankings", "governance_window_months", "治理类：考察最近几个月", "int", 1, 12, 1, "截至排名月份的最近几个月"),
    ("rankings", "governance_months_hit", "治理类：至少命中几个月", "int", 1, 12, 1, "考察期内同时满足两个条件的月数下限"),
]


def _value(settings: Settings, section: str, name: str) -> Any:
    return getattr(getattr(settings, section), name)


def _clear_widgets() -> None:
    for section, name, *_ in FIELDS:
        st.session_state.pop(f"{PREFIX}{section}.{name}", None)


def _reset() -> None:
    st.session_state["settings"] = load_settings()
    _clear_widgets()


def changed(settings: Settings, base: Settings) -> list[str]:
    """Labels and values of what differs from settings.toml."""
    out = []
    for section, name, label, kind, *_ in FIELDS:
        now, was = _value(settings, section, name), _value(base, section, name)
        if now != was:
            fmt = (lambda v: "是" if v else "否") if kind == "bool" else (lambda v: f"{v:g}")
            out.append(f"{label} {fmt(was)} → {fmt(now)}")
    return out


def _apply(base: Settings) -> None:
    settings = base
    by_section: dict[str, dict[str, Any]] = {}
    for section, name, _, kind, *_ in FIELDS:
        value = st.session_state[f"{PREFIX}{section}.{name}"]
        by_section.setdefault(section, {})[name] = int(value) if kind == "int" else (bool(value) if kind == "bool" else float(value))
    for section, values in by_section.items():
        settings = settings.with_overrides(section, **values)
    st.session_state["settings"] = settings


def render(where: str = "sidebar") -> Settings:
    """The 口径设置 panel (in the sidebar or as an expander in the page); returns the settings in force."""
    settings = data.settings()
    base = load_settings()
    container = st.sidebar if where == "sidebar" else st
    diff = changed(settings, base)
    with container.expander("口径设置（试算其他权重与阈值）" + ("·已修改" if diff else ""), icon=":material/tune:"):
        with st.form("settings_panel", border=False):
            for section, name, label, kind, lo, hi, step, help_text in FIELDS:
                key = f"{PREFIX}{section}.{name}"
                current = _value(settings, section, name)
                if kind == "bool":
                    st.checkbox(label, value=current, key=key, help=help_text)
                elif kind == "int":
                    st.number_input(label, int(lo), int(hi), int(current), int(step), key=key, help=help_text)
                else:
                    st.number_input(label, float(lo), float(hi), float(current), float(step), key=key, help=help_text,
                                    format="%.4g")
            applied = st.form_submit_button("应用到所有页面", type="primary")
        if applied:
            _apply(settings)
            st.rerun()
        st.button("恢复设置文件中的默认值", on_click=_reset, key=f"{PREFIX}reset", disabled=not diff)
        w = settings.composite
        total = w.w_response + w.w_resolution + w.w_satisfaction
        if abs(total - 1) > 1e-6:
            st.warning(f"三项权重之和为 {total:g}，不是 1；综合得分按权重之和归一，仍在 0–100 之间。")
        st.caption("修改只在本次浏览会话中生效，不会写回设置文件。")
    shown = in_force(settings, base)
    container.caption(shown)
    return settings


def in_force(settings: Settings, base: Settings | None = None) -> str:
    """The settings in force in one line, saying what differs from the file."""
    diff = changed(settings, base or load_settings())
    return settings_caption(settings) + ("。已在界面中修改：" + "；".join(diff) if diff else "（设置文件默认值）")
