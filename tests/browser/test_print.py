"""月度通报, 社区画像 and 预警与预测 printed from the loaded page (no print mode first) in real Chromium: A4, body text at least
9 pt, every chart and table on the sheet with its content, nothing but the report (no sidebar, controls, hints,
file names)."""
from __future__ import annotations

import io
import unicodedata

import pdfplumber
import pytest

from etl.demo import build_demo
from tests.browser.test_browser import browser, settle, streamlit_app  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser

A4 = (595.3, 841.9)          # points (Chromium rounds the sheet to whole CSS pixels: up to 1 pt more)
MIN_PT = 9.0
NOT_ON_PAPER = ("哨声", "筛选条件", "下载", "口径", "duckdb", "Ctrl", "打印", "选择", "工单明细", "回到")

# Per table: its first body row's first cell; per chart: the text of its axes and labels (both only where they print:
# not inside a noprint container, kept for the screen).
CONTENT = """() => ({
  tables: [...document.querySelectorAll('[data-testid=stMain] [data-testid=stTable] table')]
    .filter(t => !t.closest('[class*=st-key-noprint]'))
    .map(t => [...t.querySelectorAll('tbody tr:first-child td, tbody tr:first-child th')].map(c => c.innerText.trim()).filter(Boolean)),
  charts: [...document.querySelectorAll('[data-testid=stMain] .stPlotlyChart')]
    .filter(c => !c.closest('[class*=st-key-noprint]'))
    .map(c => [...c.querySelectorAll('svg.main-svg text')].filter(t => !t.closest('[transform*=rotate]'))
      .map(t => t.textContent.trim()).filter(Boolean)),   // rotated labels come out of a PDF letter by letter
  dataframes: document.querySelectorAll('[data-testid=stMain] [data-testid=stDataFrame]').length,
})"""


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    db = tmp_path_factory.mktemp("print") / "hotline.duckdb"
    build_demo(db, orders=20_000, seed=5)
    with streamlit_app(db) as base:
        yield base


# The CJK font also maps some glyphs to CJK Radicals Supplement code points, which NFKC leaves alone (⻄ for 西).
RADICALS = str.maketrans(
    "⻄⻅⻆⻈⻉⻋⻓⻔⻘⻙⻚⻛⻜⻝⻠⻢⻣⻤⻥⻦⻧⻨⻩⻬⻮⻰⻳⺠⺟⺮⻊⻑⺁⺇⺊⺌⺝⺩⺫⺬⺶⻌⺉⺘⺡⺣⺨⺾",
    "西见角讠贝车长门青韦页风飞食饣马骨鬼鱼鸟卤麦黄齐齿龙龟民母竹足長厂几卜小月王目示羊辶刂扌氵灬犭艹")


def _squash(text: str) -> str:
    """Text without spaces, in NFKC: the CJK font maps some glyphs to Kangxi radicals (⽉ for 月) and radical
    supplements (⻄ for 西)."""
    return "".join(unicodedata.normalize("NFKC", text).translate(RADICALS).split())


@pytest.mark.parametrize("path, title, last_section", [
    ("report", "月度通报", "热点问题（同一地点"), ("community", "社区画像", "居民常说的词"), ("forecast", "预警与预测", "下月预测最多的")])
def test_prints_as_a_report_on_a4(demo_app, browser, path, title, last_section):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(120_000)
    page.goto(f"{demo_app}/{path}")
    page.locator("h1").filter(has_text=title).first.wait_for()
    settle(page, last_section)
    page.wait_for_function("[...document.querySelectorAll('.stPlotlyChart')].every(c => c.querySelector('.main-svg'))")
    page.locator("[data-testid=stMain] [data-testid=stTable]").first.wait_for()
    settle(page, last_section)            # a rerun (the URL taking the page's choices) may have redrawn it
    page.wait_for_timeout(800)            # tables and charts settle their final height
    content = page.evaluate(CONTENT)
    assert content["dataframes"] == 0, "a canvas table (st.dataframe) prints as an empty box"
    pdf = page.pdf(format="A4", print_background=True)
    page.close()

    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        assert 1 <= len(doc.pages) <= 3, f"{path} prints on {len(doc.pages)} pages"
        for sheet in doc.pages:
            assert abs(sheet.width - A4[0]) < 1.5 and abs(sheet.height - A4[1]) < 1.5, (sheet.width, sheet.height)
        chars = [c for sheet in doc.pages for c in sheet.chars if c["text"].strip()]
        text = _squash("".join(sheet.extract_text() or "" for sheet in doc.pages))
        vector = sum(len(sheet.rects) + len(sheet.curves) + len(sheet.lines) for sheet in doc.pages)
    sizes = sorted(c["size"] for c in chars)
    print(f"{path}: {len(doc.pages)} A4 pages, {len(chars)} characters, smallest {sizes[0]:.1f} pt")
    small = [c["text"] for c in chars if c["size"] < MIN_PT - 0.05]
    assert not small, f"{path}: {len(small)} of {len(chars)} characters under {MIN_PT} pt (smallest {sizes[0]:.1f}): {''.join(small[:60])}"
    assert title in text
    for word in NOT_ON_PAPER:
        assert word not in text, f"{path} prints “{word}”"
    assert content["tables"], f"{path} has no table"
    for cells in content["tables"]:
        assert cells and all(_squash(c) in text for c in cells[:3]), f"{path}: a table printed without its row {cells}"
    for labels in content["charts"]:
        assert labels and all(_squash(t) in text for t in labels[:5]), f"{path}: a chart printed without {labels[:5]}"
    if content["charts"]:
        assert vector > 20, f"{path}: charts printed without their marks"
