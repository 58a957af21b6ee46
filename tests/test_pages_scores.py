"""街乡考评 and 部门考评 pages show what analytics.scores computes on the planted fixture database."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import scores
from analytics.db import query
from analytics.filters import Filters
from analytics.settings import load_settings
from tests.test_scores import SMALL_UNITS, build_db

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
OCT = date(2026, 10, 1)


@pytest.fixture(autouse=True)
def small_units(monkeypatch):
    monkeypatch.setenv("WHISTLE_SETTINGS", str(SMALL_UNITS))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("pages_scores") / "hotline.duckdb")


@pytest.fixture()
def app(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = "2026-09"
    at.query_params["to"] = "2026-10"
    return at


def expected(db, by: str, settings=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        f = scores.with_history(Filters(date_from=date(2026, 9, 1), date_to=date(2026, 10, 31)), settings or load_settings())
        return scores.month_table(scores.score_table(
            query(con, *scores.orders_query(f)), by, settings or load_settings(), areas=query(con, scores.AREAS_SQL),
            ratings=query(con, *scores.ratings_query(f)), duties=query(con, scores.DUTIES_SQL),
        ), OCT)
    finally:
        con.close()


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_streets_page_shows_the_ranking(app, db):
    at = app.run()
    at.switch_page("pages/streets.py").run()
    assert not at.exception, at.exception
    want = expected(db, "street")
    shown = metrics(at)
    assert shown["综合得分中位数"] == f"{want['composite'].median():.1f}"
    assert shown["治理类候选"] == "1"
    first = want.filter(pl.col("rank") == 1)
    assert shown["第一名综合得分"] == f"{first['composite'][0]:.1f}"
    assert any("、".join(sorted(first["unit"].to_list())[:3]) in c.value for c in at.caption)   # ties named too
    assert "排名月份：2026年10月" in at.caption[0].value
    table = at.dataframe[0].value
    planted = table[table["unit"] == "东华门街道"].iloc[0]
    row = want.filter(want["unit"] == "东华门街道").row(0, named=True)
    assert planted["rank"] == row["rank"] == want.height
    assert planted["composite"] == pytest.approx(row["composite"])
    assert planted["movement"] == scores.movement(row["rank_change"]) == "↓10"
    assert bool(planted["governance"]) is True
    # The worst units come first, above the tabs: the planted last street heads the 后几名 table.
    worst = at.table[0].value
    assert worst.iloc[0]["街道/乡镇"] == "东华门街道" and worst.iloc[0]["排名"] == str(want.height)
    assert worst.iloc[0]["综合得分"].replace("\\", "") == f"{row['composite']:.1f}"


def test_settings_panel_changes_every_number(app, db):
    at = app.run()
    at.switch_page("pages/streets.py").run()
    at.number_input(key="sp_rates.partial_credit").set_value(0.0)
    at.button[0].click().run()            # the form's 应用到所有页面
    assert not at.exception, at.exception
    strict = load_settings().with_overrides("rates", partial_credit=0.0)
    assert at.session_state["settings"] == strict
    want = expected(db, "street", strict)
    assert metrics(at)["综合得分中位数"] == f"{want['composite'].median():.1f}"
    assert any("部分解决”计分 0.5 → 0" in c.value for c in at.caption)
    at.switch_page("pages/overview.py").run()      # the change applies across pages
    assert at.session_state["settings"] == strict
    at.switch_page("pages/streets.py").run()
    at.button(key="sp_reset").click().run()
    assert at.session_state["settings"] == load_settings()


def test_departments_page(app, db):
    at = app.run()
    at.switch_page("pages/departments.py").run()
    assert not at.exception, at.exception
    want = expected(db, "dept")
    table = at.dataframe[0].value
    assert list(table["unit"]) == want["unit"].to_list()
    # Departments no street rated show a dash, not "None".
    assert table["street_rating"].isna().any() and at.dataframe[0].proto.placeholder == "—"
    zj = table[table["unit"] == "区住建委"].iloc[0]
    assert zj["street_rating"] == 85 and zj["dept_score"] == pytest.approx(
        want.filter(want["unit"] == "区住建委")["dept_score"][0])
    # The profile of the first department is shown below the ranking.
    assert at.selectbox(key="dept_pick_None").value == want["unit"][0]
    assert metrics(at)[scores.LABELS["dept_score"]] == f"{want['dept_score'][0]:.1f}"


def test_district_level_and_drill_down(app, db):
    at = app.run()
    at.switch_page("pages/streets.py").run()
    at.segmented_control(key="streets_level").set_value("district").run()
    assert not at.exception, at.exception
    want = expected(db, "district")
    table = at.dataframe[0].value
    assert list(table["unit"]) == want["unit"].to_list()
    assert list(table["rank"]) == want["rank"].to_list()
    # Selecting a row shows that unit's orders with their text.
    at.session_state["ranking_district"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    first = want.row(0, named=True)
    assert f"{first['unit']} · 明细" in [s.value for s in at.subheader]
    orders = at.dataframe[-1].value
    assert len(orders) == first["orders"] and orders["content"].str.len().min() > 0
