"""Exports for people: CSV and XLSX with a header saying what the table is, and chart images.

Every exported cell that a spreadsheet could take for a formula (=, +, -, @, tab, CR) is prefixed with a
single quote: the OWASP defence against CSV injection, since order text comes from the public.
"""
from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from datetime import datetime

import plotly.graph_objects as go
import polars as pl

from analytics.rates import LABELS as RATE_LABELS
from core.schema import TABLES

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_ROWS = 1_048_576
BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

# Chinese column headers for exports: canonical columns first, then names the analytics use.
COLUMN_LABELS: dict[str, str] = {
    **{col: lab for table in TABLES.values() for col, (_, lab) in table.items()},
    **RATE_LABELS,
    "rank": "排名",
    "share": "占比",
    "month": "月份",
    "period": "期间",
    "count": "数量",
    "rows": "行数",
}


@dataclass(frozen=True)
class ExportMeta:
    """What an export states above its table."""
    title: str
    filters: str
    source: str
    generated_at: datetime

    def lines(self) -> list[tuple[str, str]]:
        return [
            ("报表", self.title),
            ("筛选条件", self.filters),
            ("数据来源", self.source),
            ("导出时间", f"{self.generated_at:%Y-%m-%d %H:%M:%S}"),
        ]


def neutralise_text(value: str | None) -> str | None:
    """'=1+1' → "'=1+1": a spreadsheet shows it as text instead of evaluating it."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Every string cell neutralised; numbers, dates and booleans are left as they are."""
    pattern = "^[=+\\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.String
    )


def cells(frame: pl.DataFrame) -> pl.DataFrame:
    """The table as a spreadsheet gets it: lists joined with spaces, categoricals as text, every string
    cell and every header neutralised."""
    lists = [c for c, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    if lists:
        frame = frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(" ") for c in lists)
    frame = frame.with_columns(
        pl.col(c).cast(pl.String) for c, dtype in frame.schema.items() if dtype in (pl.Categorical, pl.Enum, pl.Object)
    )
    return neutralise(frame.rename({c: neutralise_text(c) for c in frame.columns if neutralise_text(c) != c}))


def prepare(frame: pl.DataFrame, columns: dict[str, str] | None = None) -> pl.DataFrame:
    """The table as exported: Chinese headers (`columns` overrides the defaults; unknown names stay as they
    are, never two columns with one header), then `cells`."""
    labels = {**COLUMN_LABELS, **(columns or {})}
    renamed, seen = {}, set(frame.columns)
    for col in frame.columns:
        new = labels.get(col, col)
        if new != col and new not in seen:
            renamed[col] = new
            seen.add(new)
    return cells(frame.rename(renamed))


def sheet_name(name: str) -> str:
    """A name Excel accepts for a sheet: without / \\ ? * : [ ], not starting or ending with an apostrophe,
    at most 31 characters, never empty or "History" (reserved)."""
    clean = "".join("_" if ch in '/\\?*:[]' or ord(ch) < 32 else ch for ch in name).strip("' ")[:31].strip("' ")
    return "数据" if not clean or clean.lower() == "history" else clean


def to_csv(frame: pl.DataFrame, meta: ExportMeta, columns: dict[str, str] | None = None) -> bytes:
    """UTF-8 with BOM (Excel opens Chinese correctly); the header lines, a blank line, then the table."""
    out = io.StringIO()
    head = pl.DataFrame({"k": [k for k, _ in meta.lines()], "v": [neutralise_text(v) for _, v in meta.lines()]})
    out.write(head.write_csv(include_header=False))
    out.write("\n")
    out.write(prepare(frame, columns).write_csv(datetime_format="%Y-%m-%d %H:%M:%S"))
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(frame: pl.DataFrame, meta: ExportMeta, columns: dict[str, str] | None = None,
            sheet: str = "数据") -> bytes:
    """One sheet: the header lines, a blank row, then the table with a frozen header row. Text cells are
    written as strings (never as formulas); more rows than Excel holds is an error that says so."""
    import xlsxwriter

    if frame.height + len(meta.lines()) + 2 > EXCEL_MAX_ROWS:
        raise ValueError(
            f"共 {frame.height:,} 行，超过 Excel 单表上限 {EXCEL_MAX_ROWS:,} 行。请缩小筛选范围，或改用 CSV 导出。"
        )
    table = prepare(frame, columns)
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet_name(sheet))
    bold = book.add_format({"bold": True})
    header = book.add_format({"bold": True, "bg_color": "#DDE7F3", "border": 1})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for r, (k, v) in enumerate(meta.lines()):
        ws.write_string(r, 0, k, bold)
        ws.write_string(r, 1, neutralise_text(v) or "")
    top = len(meta.lines()) + 1
    for c, name in enumerate(table.columns):
        ws.write_string(top, c, name, header)
        ws.set_column(c, c, min(max(len(name) * 2 + 2, 10), 60))
    kinds = [table.schema[c] for c in table.columns]
    for r, row in enumerate(table.iter_rows(), start=top + 1):
        for c, (value, dtype) in enumerate(zip(row, kinds)):
            if value is None:
                continue
            if dtype == pl.String:
                ws.write_string(r, c, value)
            elif dtype == pl.Datetime:
                ws.write_datetime(r, c, value.replace(tzinfo=None), stamp)
            elif dtype == pl.Date:
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif dtype == pl.Boolean:
                ws.write_boolean(r, c, value)
            elif dtype.is_numeric():
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, neutralise_text(str(value)))
    ws.freeze_panes(top + 1, 0)
    book.close()
    return buf.getvalue()


def browser_path() -> str | None:
    """The Chrome/Chromium kaleido drives: BROWSER_PATH if set, else a system one."""
    given = os.environ.get("BROWSER_PATH")
    if given and os.path.exists(given):
        return given
    return next((p for p in BROWSERS if os.path.exists(p)), None) or shutil.which("chromium")


def png_available() -> bool:
    """PNG needs kaleido (1.x) and a Chrome/Chromium on this machine."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return False
    return browser_path() is not None


def figure_png(fig: go.Figure, width: int = 1200, height: int | None = None, title: str | None = None) -> bytes:
    """The chart as PNG at 2× scale (kaleido renders it in a headless Chromium; a few seconds)."""
    path = browser_path()
    if path:
        os.environ.setdefault("BROWSER_PATH", path)
    fig = go.Figure(fig)
    if title:
        fig.update_layout(title=title, margin_t=60)
    return fig.to_image(format="png", width=width, height=height or fig.layout.height or 500, scale=2)


def figure_html(fig: go.Figure, title: str | None = None) -> bytes:
    """A standalone interactive HTML file (plotly.js embedded, so it opens offline)."""
    fig = go.Figure(fig)
    if title:
        fig.update_layout(title=title, margin_t=60)
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")

