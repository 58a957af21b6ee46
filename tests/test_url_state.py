"""Page choices live in the URL: a link with them opens the same view, and changing them updates the link."""
from __future__ import annotations

import json
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


def opened(db: Path, monkeypatch, script: str, **params: str) -> AppTest:
    """The app as a shared link opens it: a fresh session on the page `script` with these URL parameters."""
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(script).run()
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


def test_hotspots_choices(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/hotspots.py", measure="每万常住人口工单量", surge_level="街乡", words="出现最多的词")
    assert at.radio(key="hs_measure").value == "每万常住人口工单量"
    assert at.radio(key="hs_level").value == "街乡"
    assert at.radio(key="hs_words_mode").value == "出现最多的词"
    assert "区" in [c for c in at.dataframe[0].value.columns] or "district" in at.dataframe[0].value.columns
    at.radio(key="hs_level").set_value("区").run()
    assert "surge_level" not in at.query_params and at.query_params["measure"] == "每万常住人口工单量"
    at.toggle(key="hs_street_pc").set_value(True).run()
    assert at.query_params["street_per_10k"] == "1"
    word = at.selectbox[0].options[1]
    again = opened(demo_db, monkeypatch, "pages/hotspots.py", words="出现最多的词", word=word)
    assert again.selectbox[0].value == word
    assert f"包含“{word}”" in "".join(c.value for c in again.caption)


def test_recurring_tab_and_choices(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/recurring.py", tab="反复出现的问题类型", area="区")
    assert at.session_state["rc_tab"] == "反复出现的问题类型"
    assert at.radio(key="rc_area").value == "区"
    types = next((d for d in at.dataframe if d.key == "rc_types"), None)
    assert types is None or json.loads(types.proto.columns)["area"]["label"] == "区"
    at.session_state["rc_tab"] = "每月一题候选"
    at.run()
    assert at.query_params["tab"] == "每月一题候选" and at.query_params["area"] == "区"
    pick = at.selectbox(key="rc_pick")
    other = len(pick.options) - 1 if pick.index != len(pick.options) - 1 else 0
    pick.select_index(other).run()
    chosen, token = at.selectbox(key="rc_pick").value, at.query_params["pick"]
    assert token == f"{chosen:%Y-%m}"
    again = opened(demo_db, monkeypatch, "pages/recurring.py", tab="每月一题候选", pick=token)
    assert again.selectbox(key="rc_pick").value == chosen
    again.session_state["rc_tab"] = "热点问题"
    again.run()
    assert "tab" not in again.query_params


def test_streets_tab(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/streets.py", tab="每万人工单量")
    assert at.session_state["streets_tab"] == "每万人工单量"
    at.session_state["streets_tab"] = "治理类街乡候选"
    at.run()
    assert at.query_params["tab"] == "治理类街乡候选"


def test_departments_choices(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/departments.py")
    options = at.selectbox(key="dept_pick_None").options
    assert at.toggle(key="dept_functional_only").value is True and "functional" not in at.query_params
    again = opened(demo_db, monkeypatch, "pages/departments.py", dept=options[2], only_bad="1")
    assert again.selectbox(key="dept_pick_None").value == options[2]
    assert again.subheader[-1].value == f"部门画像 · {options[2]}"
    assert again.toggle(key="dept_only_bad").value is True
    again.toggle(key="dept_functional_only").set_value(False).run()
    assert again.query_params["functional"] == "0" and again.query_params["dept"] == options[2]


def test_orders_sort_and_page(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/orders.py", sort="closed_at", desc="0", size="100", page="3")
    assert at.selectbox(key="o_sort").value == "closed_at"
    assert at.toggle(key="o_desc").value is False
    assert at.selectbox(key="o_size").value == 100 and at.number_input(key="o_page").value == 3
    assert any("第 3 / " in c.value and "显示第 201–300 条" in c.value for c in at.caption)
    at.selectbox(key="o_size").set_value(50).run()
    assert "size" not in at.query_params and at.query_params["sort"] == "closed_at"


def test_forecast_level_and_warning(demo_db, monkeypatch):
    at = opened(demo_db, monkeypatch, "pages/forecast.py", by="district")
    assert at.selectbox(key="fc_by").value == "district"
    pick = at.selectbox(key="fc_pick")
    if len(pick.options) < 2:
        pytest.skip("the demo month has fewer than two warnings")
    pick.set_value(1).run()
    token = at.query_params["warning"]
    again = opened(demo_db, monkeypatch, "pages/forecast.py", by="district", warning=token)
    assert again.selectbox(key="fc_pick").value == 1


def test_quality_batch_and_search(demo_db, monkeypatch, tmp_path, etl_fx):
    from etl.load import load_file
    import shutil

    db = tmp_path / "hotline.duckdb"
    shutil.copyfile(demo_db, db)
    broken = load_file(etl_fx / "orders_broken.csv", db)
    assert broken.rows_quarantined > 0
    at = opened(db, monkeypatch, "pages/quality.py", load=broken.load_id, search="受理")
    assert at.selectbox(key="q_load").value == broken.load_id
    assert at.text_input(key="q_search").value == "受理"
    at.text_input(key="q_search").set_value("").run()
    assert "search" not in at.query_params and at.query_params["load"] == broken.load_id


def test_drill_downs_open_from_the_link(demo_db, monkeypatch):
    """The selected row of 街乡考评, 吹哨报到 and 热点问题 is in the URL: the link opens on the same drill-down."""
    at = opened(demo_db, monkeypatch, "pages/streets.py", level="district")
    at.session_state["ranking_district"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    at.run()
    unit = at.query_params["unit"]
    again = opened(demo_db, monkeypatch, "pages/streets.py", level="district", unit=unit)
    assert f"{unit} · 明细" in [s.value for s in again.subheader]

    at = opened(demo_db, monkeypatch, "pages/whistle.py")
    cases = next(d for d in at.dataframe if d.key == "case_table").value
    case = cases["case_id"].iloc[-1]
    again = opened(demo_db, monkeypatch, "pages/whistle.py", case=case)
    assert any(s.value.startswith(f"案件 {case}") for s in again.subheader)
    again.session_state["case_table"] = {"selection": {"rows": [], "columns": [], "cells": []}}
    again.run()
    assert "case" not in again.query_params

    at = opened(demo_db, monkeypatch, "pages/recurring.py")
    hot = next(d for d in at.dataframe if d.key == "rc_hot").value
    label = hot["label"].iloc[0]
    again = opened(demo_db, monkeypatch, "pages/recurring.py", issue=label)
    assert any(f"共 {int(hot['size'].iloc[0]):,} 件工单" in m.value for m in again.markdown)
