"""The pages meant for paper print on one A4 page in real Chromium, on a realistic demo year."""
from __future__ import annotations

import re

import pytest

from etl.demo import build_demo
from tests.browser.test_browser import browser, settle, streamlit_app  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    db = tmp_path_factory.mktemp("print") / "hotline.duckdb"
    build_demo(db, orders=50_000, seed=5)
    with streamlit_app(db) as base:
        yield base


@pytest.mark.parametrize("path, last_section", [("report", "四、需要关注"), ("community", "居民常说的词"),
                                                ("forecast", "下月预测最多的")])
def test_prints_on_one_a4_page(demo_app, browser, path, last_section):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(120_000)
    page.goto(f"{demo_app}/{path}")
    settle(page, last_section)             # the whole page has rendered
    page.wait_for_function("[...document.querySelectorAll('.stPlotlyChart')].every(c => c.querySelector('.main-svg'))")
    page.wait_for_timeout(1000)            # tables and charts settle their final height
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    pages = re.findall(rb"/Count (\d+)", pdf)
    assert pages and int(pages[0]) == 1, f"{path} prints on {pages} pages"
    page.close()
