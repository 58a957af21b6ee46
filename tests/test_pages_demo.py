"""Every page renders on a realistic demo year, with the shared filters at their defaults and narrowed."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import PAGES
from etl.demo import build_demo

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo_pages") / "hotline.duckdb"
    build_demo(path, orders=60_000, seed=11)   # three years: the per-month density of a 20,000-order year
    return path


@pytest.mark.parametrize("page", [p[1] for p in PAGES], ids=[p[4] for p in PAGES])
@pytest.mark.parametrize("district", [None, "朝阳区"])
def test_page_renders_on_the_demo(demo_db, monkeypatch, page, district):
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    if district:
        at.query_params["district"] = district
    at.run()
    at.switch_page(page).run()
    assert not at.exception, f"{page}: {at.exception}"
    title = next(t for t in PAGES if t[1] == page)[2]
    shown = [e.value for e in at.title] + [e.value for e in at.header] + [e.value for e in at.markdown]
    assert any(title in text for text in shown) or page.endswith("report.py"), f"{page} shows no '{title}'"
    if not page.endswith("data_import.py"):    # the import page waits for a file
        assert len(at.metric) + len(at.dataframe) + len(at.table) > 0, f"{page} shows no figures"
