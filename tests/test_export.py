"""Exports: header lines, Chinese headers, formula neutralising, XLSX cell types, chart files; 工单明细 and 月度通报."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import plotly.graph_objects as go
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import export, report
from analytics.filters import Filters
from analytics.settings import load_settings
from etl.store import connect_read
from tests.test_scores import build_db
from ui.safe import md

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
META = export.ExportMeta("工单明细", "时间 2026-10-01 至 2026-10-31；区：朝阳区", "哨声 Whistle 数据库 hotline.duckdb",
                         datetime(2026, 11, 25, 9, 30))
FRAME = pl.DataFrame({
    "order_id": ["=1+1", "B2", "B3"],
    "received_at": [datetime(2026, 10, 3, 8, 3), None, datetime(2026, 10, 4, 9, 0)],
    "content": ["@SUM(A1:A9)", "+86 电话", "正常内容 = 不是公式"],
    "district": ["-朝阳区", "海淀区", "\t制表符"],
    "likes": [-3, 4, None],
    "tokens": [["物业", "收费"], [], None],
    "custom": ["x", "y", "z"],
})


def test_neutralise_prefixes_only_text():
    out = export.neutralise(FRAME.drop("tokens"))
    assert out["order_id"].to_list() == ["'=1+1", "B2", "B3"]
    assert out["content"].to_list() == ["'@SUM(A1:A9)", "'+86 电话", "正常内容 = 不是公式"]
    assert out["district"].to_list() == ["'-朝阳区", "海淀区", "'\t制表符"]
    assert out["likes"].to_list() == [-3, 4, None]          # numbers stay numbers
    assert export.neutralise_text("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert export.neutralise_text(None) is None


def test_csv_has_header_lines_and_chinese_columns():
    raw = export.to_csv(FRAME, META)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[:4] == [["报表", "工单明细"], ["筛选条件", META.filters], ["数据来源", META.source],
                        ["导出时间", "2026-11-25 09:30:00"]]
    assert rows[4] == []
    assert rows[5] == ["工单编号", "受理时间", "诉求内容", "区", "点赞数", "分词", "custom"]
    assert rows[6] == ["'=1+1", "2026-10-03 08:03:00", "'@SUM(A1:A9)", "'-朝阳区", "-3", "物业 收费", "x"]
    assert len(rows) == 9
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row if cell != "-3")


def test_xlsx_cells_are_typed_and_never_formulas():
    book = openpyxl.load_workbook(io.BytesIO(export.to_xlsx(FRAME, META, sheet="工单明细")))
    ws = book["工单明细"]
    assert [ws.cell(r, 1).value for r in range(1, 5)] == ["报表", "筛选条件", "数据来源", "导出时间"]
    assert ws.cell(2, 2).value == META.filters
    header = [c.value for c in ws[6]]
    assert header == ["工单编号", "受理时间", "诉求内容", "区", "点赞数", "分词", "custom"]
    assert ws.cell(7, 1).value == "'=1+1" and ws.cell(7, 1).data_type == "s"
    assert ws.cell(7, 2).value == datetime(2026, 10, 3, 8, 3)
    assert ws.cell(7, 5).value == -3 and ws.cell(7, 5).data_type == "n"
    assert ws.cell(8, 2).value is None
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert ws.freeze_panes == "A7"


def test_xlsx_refuses_more_rows_than_excel_holds(monkeypatch):
    monkeypatch.setattr(export, "EXCEL_MAX_ROWS", 5)
    with pytest.raises(ValueError, match="超过 Excel 单表上限"):
        export.to_xlsx(FRAME, META)


def test_custom_labels_never_duplicate_a_header():
    out = export.prepare(pl.DataFrame({"district": ["a"], "区": ["b"]}))
    assert out.columns == ["district", "区"]
    assert export.prepare(FRAME, {"custom": "自定义"}).columns[-1] == "自定义"


def test_figure_html_and_png():
    fig = go.Figure(go.Bar(x=[3, 1], y=["朝阳区", "海淀区"], orientation="h"))
    html = export.figure_html(fig, title="各区工单量").decode("utf-8")
    assert json.dumps("各区工单量")[1:-1] in html and "plotly" in html.lower() and "<html" in html
    if not export.png_available():
        pytest.fail("PNG 导出需要 kaleido（pip install kaleido）和 Chromium（apt-get install chromium）")
    png = export.figure_png(fig, width=600, height=400, title="各区工单量")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("export_pages") / "hotline.duckdb")


@pytest.fixture()
def app(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = "2026-10"
    at.query_params["to"] = "2026-10"
    return at


def count(db, sql, params=()):
    con = connect_read(db)
    try:
        return con.execute(sql, list(params)).fetchone()[0]
    finally:
        con.close()


def test_orders_page_drills_down_and_pages(app, db):
    app.query_params["district"] = "朝阳区"     # as in a copied link
    at = app.run()
    at.switch_page("pages/orders.py").run()
    assert not at.exception, at.exception
    want = count(db, "SELECT count(*) FROM work_orders WHERE district = '朝阳区' "
                     "AND received_at >= '2026-10-01' AND received_at < '2026-11-01'")
    assert want > 0
    assert any(f"共 **{want:,}** 条工单" in c.value for c in at.caption)
    assert set(at.dataframe[0].value["district"]) == {"朝阳区"}
    at.selectbox(key="o_size").set_value(50).run()
    assert len(at.dataframe[0].value) == min(50, want)
    word = at.dataframe[0].value["content"].dropna().iloc[0][:2]
    at.text_input(key="o_q").input(word).run()
    hits = count(db, "SELECT count(*) FROM work_orders WHERE district = '朝阳区' AND received_at >= '2026-10-01' "
                     "AND received_at < '2026-11-01' AND contains(lower(concat_ws(' ', order_id, content, address)), lower(?))",
                 [word])
    assert any(f"共 **{hits:,}** 条工单" in c.value for c in at.caption)
    assert at.query_params["q"] in (word, [word])


def test_report_page_matches_analytics(app, db):
    at = app.run()
    at.switch_page("pages/report.py").run()
    assert not at.exception, at.exception
    con = connect_read(db)
    try:
        want = report.month_report(con, Filters(), date(2026, 10, 1), None, load_settings())
    finally:
        con.close()
    assert at.title[0].value == "全市接诉即办月度通报 · 2026年10月"
    kpis = at.table[0].value
    assert kpis["本月"].iloc[0] == f"{want.kpis[0]['value']:,}"
    assert list(at.table[1].value["区"]) == want.ranking["unit"].head(len(at.table[1].value)).to_list()
    assert len(at.markdown) and any(md(want.actions[0]) in m.value for m in at.markdown)   # shown escaped (ui.safe)
