"""Page choices live in the URL: a link with them opens the same view, and changing them updates the link."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from etl.demo import build_demo

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("url_state") / "hotline.duckdb"
    build_demo(path, orders=20_000, seed=3)
    return path


def opened(db: Path, monkeypatch, page: str, **params: str) -> AppTest:
    """The app as a shared link opens it: a fresh session on `page` with these URL parameters."""
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_report_month_and_scope(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/report.py", month="2026-08", scope="朝阳区")
    assert at.selectbox(key="r_month").value == date(2026, 8, 1)
    assert at.selectbox(key="r_scope").value == "朝阳区"
    assert at.title[0].value == "朝阳区接诉即办月度通报 · 2026年8月"
    at.selectbox(key="r_month").set_value(date(2026, 7, 1)).run()
    assert at.query_params["month"] == "2026-07" and at.query_params["scope"] == "朝阳区"
    at.selectbox(key="r_scope").set_value("全市").run()
    assert "scope" not in at.query_params          # the default is not written


def test_community_street(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/community.py")
    options = at.selectbox(key="cm_street").options
    second = options[1]
    at.selectbox(key="cm_street").set_value(1).run()
    assert at.query_params["place"] == second
    again = opened(demo_db, monkeypatch, "pages/community.py", place=second)
    assert again.selectbox(key="cm_street").value == 1
    assert second.split("（")[0] in again.caption[0].value


def test_streets_level(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/streets.py", level="district")
    assert at.segmented_control(key="streets_level").value == "district"
    assert any("区" == c for c in at.dataframe[0].value.columns) or at.metric[0].label == "参与排名的区"
    at.segmented_control(key="streets_level").set_value("street").run()
    assert "level" not in at.query_params
