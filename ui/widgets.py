"""Small widgets every page uses: a number with its definition one click away, percent formatting."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import streamlit as st

from analytics import overview, quality, scores
from analytics.filters import Filters
from analytics.ranking import worst as worst_units
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


def grid(frame: pl.DataFrame, column_config: dict | None = None, **kwargs: Any) -> Any:
    """st.dataframe as every page shows one: no index, "—" in empty cells, full width; rates (columns configured
    with Streamlit's "percent" format, which shows two decimals) shown with one decimal like every other rate."""
    config = dict(column_config or {})
    rates = [c for c, cfg in config.items() if c in frame.columns and isinstance(cfg, dict)
             and (cfg.get("type_config") or {}).get("format") == "percent"]
    for c in rates:
        config[c] = {**config[c], "type_config": {**config[c]["type_config"], "format": "%.1f%%"}}
    if rates:
        frame = frame.with_columns(pl.col(rates) * 100)
    return st.dataframe(frame, hide_index=True, placeholder="—", width="stretch", column_config=config or None, **kwargs)


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


def worst_and_falls(month: pl.DataFrame, n: int, unit: dict[str, tuple[str, str]], score: dict[str, tuple[str, str]],
                    extra: dict[str, tuple[str, str]], empty_worst: str, empty_falls: str) -> None:
    """What a leader reads first on a ranking page, side by side: the n lowest-ranked units (worst first, a tie
    at the cut kept whole) and the n that fell most in rank against the previous month."""
    ((score_label, _),) = score.values()
    worst_col, fall_col = st.columns(2)
    with worst_col:
        st.markdown(f"**{score_label}后 {n} 名**（最差在前；并列的全部列出）")
        worst = worst_units(month, n)
        print_table(
            worst.with_columns(movement=pl.col("rank_change").map_elements(scores.movement, return_dtype=pl.String, skip_nulls=False),
                               weakest=pl.Series([overview.weakest_rate(r) for r in worst.iter_rows(named=True)], dtype=pl.String)),
            {"rank": ("排名", "text"), **unit, **score, "movement": ("较上月", "text"), "weakest": ("最低的一率", "text"), **extra},
            empty=empty_worst,
        )
    with fall_col:
        st.markdown("**名次下降最多**（与上月相比）")
        falls = month.filter(pl.col("rank_change") < 0).sort(["rank_change", "rank"]).head(n)
        print_table(
            falls.with_columns(movement=pl.col("rank_change").map_elements(scores.movement, return_dtype=pl.String)),
            {**unit, "rank": ("排名", "text"), "movement": ("较上月", "text"), **score},
            empty=empty_falls,
        )
