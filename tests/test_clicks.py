"""Every clickable chart and table on every page is clicked (AppTest), and each click changes the page without a
crash. Clickables are found from the page itself (every st.dataframe / st.plotly_chart with on_select), so a
page or chart added later is covered without editing this file."""
from __future__ import annotations

from pathlib import Path

import base64
import json
import re

import numpy as np
import pytest
from streamlit.elements.plotly_chart import PlotlyState
from streamlit.runtime.state.common import user_key_from_element_id as _key
from streamlit.testing.v1 import AppTest

from dashboard import PAGES
from etl.demo import build_demo

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("clicks") / "hotline.duckdb"
    build_demo(path, orders=20_000, seed=11)
    return path


def clickables(at: AppTest) -> dict[str, tuple[str, object]]:
    """key -> (kind, element) for every selectable table and chart on the page."""
    found = {}
    for frame in at.dataframe:
        if frame.proto.selection_mode and frame.proto.id and not frame.proto.disabled and len(frame.value):
            found[frame.key or _key(frame.proto.id)] = ("table", frame)
    for chart in at.get("plotly_chart"):
        if chart.proto.selection_mode:
            found[_key(chart.proto.id)] = ("chart", chart)
    found.pop(None, None)
    return found


def point(chart) -> dict:
    """A click on the last point of the chart's first selectable trace (the one carrying customdata, if any):
    the last, because the first is often what the page shows before any click."""
    data = json.loads(chart.proto.spec)["data"]
    traces = [t for t in data if t.get("customdata") is not None] or [t for t in data if _values(t.get("x"))]
    assert traces, "a selectable chart without points"
    trace = traces[0]
    last = len(_values(trace.get("x")) or _values(trace.get("customdata"))) - 1
    p = {"curve_number": data.index(trace), "point_number": last, "point_index": last}
    for attr in ("x", "y", "customdata", "text", "lat", "lon", "location"):
        values = _values(trace.get(attr))
        if len(values) > last:
            p[attr] = values[last]
    # What the browser's click turns into (a dict set through session state is not converted).
    return PlotlyState({"selection": {"points": [p], "point_indices": [last], "box": [], "lasso": []}})


def _values(spec) -> list:
    """A plotly JSON array as a list (plotly sends numbers as base64 typed arrays)."""
    if isinstance(spec, dict) and "bdata" in spec:
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"])).tolist()
    return list(spec) if isinstance(spec, list) else []


CJK = re.compile(r"[\u4e00-\u9fff]")
CALLER_KEY = r"[0-9a-f]{12,}|[a-p]{16}"   # hashed caller keys: hex (older databases) or spelled in letters a–p


def headers(frame) -> dict[str, str | None]:
    """What a canvas table (st.dataframe) shows above each column: its column_config label (the column's own
    name without one), None for a hidden column."""
    config = json.loads(frame.proto.columns or "{}")
    return {col: None if config.get(col, {}).get("hidden") else config.get(col, {}).get("label") or str(col)
            for col in frame.value.columns}


def raw_identifiers(at: AppTest) -> list[str]:
    """Column names (order_id, _line, ...) shown as headers, and hashed caller keys shown as cells, in every
    canvas table on the page: the browser walk cannot read a canvas."""
    found = []
    for frame in at.dataframe:
        for col, header in headers(frame).items():
            if header is None:
                continue
            if not CJK.search(header):
                found.append(f"{frame.key or 'table'}: header “{header}”")
            texts = frame.value[col][frame.value[col].map(lambda v: isinstance(v, str))]
            if len(texts) and texts.str.fullmatch(CALLER_KEY).any():
                found.append(f"{frame.key or 'table'}: hashed caller keys in “{header}”")
    return found


def snapshot(at: AppTest) -> list[str]:
    return [repr(getattr(e, "value", "")) for e in at.main] + [repr(dict(at.query_params))]


@pytest.mark.parametrize("page", [p[1] for p in PAGES], ids=[p[4] for p in PAGES])
def test_every_click_on_the_page(demo_db, monkeypatch, page):
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not raw_identifiers(at), f"{page}: {raw_identifiers(at)}"
    clicked = set()
    for _ in range(3):   # a click may reveal more clickables (a drill-down with its own table)
        todo = {k: v for k, v in clickables(at).items() if k not in clicked}
        if not todo:
            break
        for key, (kind, element) in todo.items():
            before = snapshot(at)
            at.session_state[key] = (
                {"selection": {"rows": [len(element.value) - 1], "columns": [], "cells": []}} if kind == "table"
                else point(element))
            at.run()
            assert not at.exception, f"{page}: clicking {kind} {key}: {at.exception}"
            assert snapshot(at) != before, f"{page}: clicking {kind} {key} changed nothing"
            assert not raw_identifiers(at), f"{page}: after clicking {kind} {key}: {raw_identifiers(at)}"
            clicked.add(key)
            at = _fresh(at, demo_db, page, monkeypatch) if kind == "chart" else at
    if page.endswith(("recurring.py", "streets.py", "departments.py", "whistle.py", "overview.py", "hotspots.py")):
        assert clicked, f"{page} has no clickable chart or table"


def _fresh(at: AppTest, db: Path, page: str, monkeypatch) -> AppTest:
    """A chart click narrows the shared filters; start over so the next click sees the full page."""
    new = AppTest.from_file(DASHBOARD, default_timeout=180)
    new.run()
    new.switch_page(page).run()
    return new


def test_a_hot_issue_row_lists_its_orders(demo_db, monkeypatch):
    """Clicking a row of 热点问题 used to raise "Unable to transform python value of type polars Series"."""
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    at.run()
    at.switch_page("pages/recurring.py").run()
    table = next(d for d in at.dataframe if d.key == "rc_hot").value
    assert len(table) > 0
    at.session_state["rc_hot"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    size = int(table["size"].iloc[0])
    assert any(f"共 {size:,} 件工单" in m.value for m in at.markdown)
    detail = at.dataframe[next(i for i, d in enumerate(at.dataframe) if d.key == "rc_hot") + 1]
    shown = headers(detail)
    assert len(detail.value) == size and shown["order_id"] == "工单编号" and shown["content"] == "诉求内容"
    assert detail.value["content"].str.len().min() > 0
