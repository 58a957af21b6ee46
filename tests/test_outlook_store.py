"""The city's 预警与预测 stored after each load: equal to computing it, used only while it still is."""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analytics import forecast as F
from analytics import outlook_store as S
from analytics.filters import Filters, Scope
from analytics.settings import load_settings
from core.store import ROOT, connect_read
from etl.demo import build_demo
from etl.store import writing

SETTINGS = load_settings()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("outlook") / "hotline.duckdb"
    build_demo(path, orders=20_000, seed=3)
    return path


def _same_forecasts(a: F.Forecasts, b: F.Forecasts) -> None:
    assert (a.level, a.possible, a.reason) == (b.level, b.possible, b.reason)
    assert a.history.months == b.history.months and a.history.partial == b.history.partial
    assert_frame_equal(a.history.cells, b.history.cells)
    np.testing.assert_array_equal(a.history.y, b.history.y)
    for part in ("table", "record", "backtest"):
        assert_frame_equal(getattr(a, part), getattr(b, part))
    assert (a.season is None) == (b.season is None)
    if a.season is not None:
        np.testing.assert_array_equal(a.season, b.season)


def _same_outlook(a: F.Outlook, b: F.Outlook) -> None:
    _same_forecasts(a.forecasts, b.forecasts)
    _same_forecasts(a.types, b.types)
    assert (a.type_column, a.end, a.observed_months) == (b.type_column, b.end, b.observed_months)
    assert_frame_equal(a.warnings, b.warnings)


def test_the_demo_build_stores_what_the_page_would_compute(demo):
    assert S.store_path(demo).exists()
    con = connect_read(demo)
    try:
        for level in S.LEVELS:
            stored = S.stored_outlook(con, Filters(), SETTINGS, level)
            assert stored is not None and stored.forecasts.possible and stored.observed_months == 36
            assert stored.warnings.height > 0
            _same_outlook(stored, F.compute_outlook(con, Filters(), SETTINGS, level))
        actual, coming, record = S.stored_series(con, Filters(), SETTINGS)
        live = F.compute_series(con, Filters(), SETTINGS)
        assert_frame_equal(actual, live[0])
        assert_frame_equal(coming, live[1])
        assert record == live[2] and record["possible"] and coming.height == SETTINGS.forecast.horizon
    finally:
        con.close()


def test_the_page_reads_the_stored_outlook_for_the_whole_city(demo, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("computed although stored")

    monkeypatch.setattr(F, "compute_outlook", refuse)
    monkeypatch.setattr(F, "compute_series", refuse)
    con = connect_read(demo)
    try:
        o = F.read_outlook(con, Filters(), SETTINGS, "district")
        end = o.end - timedelta(days=1)
        # The default period ends on the last day with data or later: the same history.
        for f in (Filters(date_to=end), Filters(date_from=date(2020, 1, 1), date_to=end + timedelta(days=40))):
            assert F.read_outlook(con, f, SETTINGS, "street").end == o.end
            assert F.read_series(con, f, SETTINGS)[2]["possible"]
    finally:
        con.close()
    with duckdb.connect(str(demo), read_only=True) as plain:   # the file found without connect_read's alias too
        assert F.read_outlook(plain, Filters(), SETTINGS).end == o.end


def test_any_other_scope_is_computed(demo):
    con = connect_read(demo)
    try:
        end = F.read_outlook(con, Filters(), SETTINGS).end - timedelta(days=1)
        district = con.execute("SELECT district FROM work_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        category = con.execute("SELECT category_l1 FROM work_orders GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        others = [Filters(districts=(district,)), Filters(categories=(category,)), Filters(date_to=end - timedelta(days=1)),
                  Filters(scope=Scope(district=district))]
        for f in others:
            assert S.stored_outlook(con, f, SETTINGS, "street") is None and S.stored_series(con, f, SETTINGS) is None
            _same_outlook(F.read_outlook(con, f, SETTINGS), F.compute_outlook(con, f, SETTINGS))
        assert S.stored_outlook(con, Filters(), SETTINGS, "street", horizon=SETTINGS.forecast.horizon + 1) is None
        changed = replace(SETTINGS, forecast=replace(SETTINGS.forecast, warn_ratio=SETTINGS.forecast.warn_ratio + 0.1))
        assert S.stored_outlook(con, Filters(), changed, "street") is None
        _same_outlook(F.read_outlook(con, Filters(), changed), F.compute_outlook(con, Filters(), changed))
    finally:
        con.close()


def test_a_write_makes_it_stale_and_the_load_command_stores_it_again(demo, tmp_path):
    path = tmp_path / "hotline.duckdb"
    shutil.copy(demo, path)
    shutil.copy(S.store_path(demo), S.store_path(path))
    con = connect_read(path)
    before = S.stored_outlook(con, Filters(), SETTINGS, "street")
    con.close()
    assert before is not None
    with writing(path) as w:   # one street's orders of the last month move to another 一级分类
        w.execute("UPDATE work_orders SET category_l1 = '其他', load_id = 'edit' WHERE order_id IN (SELECT order_id "
                  "FROM work_orders WHERE received_at >= (SELECT date_trunc('month', max(received_at)) FROM work_orders) "
                  "ORDER BY order_id LIMIT 40)")
    con = connect_read(path)
    try:
        assert S.stored_outlook(con, Filters(), SETTINGS, "street") is None
        assert S.stored_series(con, Filters(), SETTINGS) is None
        live = F.compute_outlook(con, Filters(), SETTINGS)
        _same_outlook(F.read_outlook(con, Filters(), SETTINGS), live)
    finally:
        con.close()
    run = subprocess.run([sys.executable, "-m", "etl", "outlook", "--db", str(path), "--json"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    con = connect_read(path)
    try:
        stored = S.stored_outlook(con, Filters(), SETTINGS, "street")
        assert stored is not None
        _same_outlook(stored, live)
    finally:
        con.close()


def test_a_damaged_store_is_ignored(demo, tmp_path):
    path = tmp_path / "hotline.duckdb"
    shutil.copy(demo, path)
    S.store_path(path).write_bytes(b"PK\x03\x04 not a zip")
    con = connect_read(path)
    try:
        assert S.stored_outlook(con, Filters(), SETTINGS, "street") is None
        o = F.read_outlook(con, Filters(), SETTINGS)
        assert o.forecasts.possible and o.warnings.height > 0
    finally:
        con.close()


def test_a_load_stores_it_and_says_so(demo, tmp_path):
    path = tmp_path / "hotline.duckdb"
    shutil.copy(demo, path)
    export = tmp_path / "工单.csv"
    last = connect_read(path)
    try:
        day = last.execute("SELECT max(received_at)::DATE FROM work_orders").fetchone()[0] + timedelta(days=1)
    finally:
        last.close()
    pl.DataFrame({"工单编号": [f"N{i}" for i in range(30)], "受理时间": [f"{day} 09:{i:02d}:00" for i in range(30)],
                  "区": ["朝阳区"] * 30, "街道": ["望京街道"] * 30, "一级分类": ["城乡建设"] * 30,
                  "诉求内容": ["小区门口道路破损，多次反映"] * 30}).write_csv(export)
    run = subprocess.run([sys.executable, "-m", "etl", "load", str(export), "--db", str(path), "--json"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert '"step": "outlook", "stored": true' in run.stdout
    con = connect_read(path)
    try:
        stored = S.stored_outlook(con, Filters(), SETTINGS, "street")
        assert stored is not None and stored.end == day + timedelta(days=1)
        _same_outlook(stored, F.compute_outlook(con, Filters(), SETTINGS, "street"))
    finally:
        con.close()
