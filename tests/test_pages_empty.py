"""No page shows a blank chart or an empty grid: where there is nothing to draw it says why, in Chinese — the
filters and period, or the column the export lacks. Two databases: an export with only 工单编号, 受理时间 and
诉求内容 (no district, street, category, department, ratings), and the demo narrowed to one district, one
category and one month."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import PAGES
from etl.demo import build_demo
from etl.load import load_file

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
# The import page waits for a file.
SHOWN = [p[1] for p in PAGES if not p[1].endswith("data_import.py")]


@pytest.fixture(scope="module")
def bare_db(tmp_path_factory):
    """Three months of orders from an export with only an id, a time and the text."""
    folder = tmp_path_factory.mktemp("bare")
    export = folder / "导出.csv"
    rows = [f"B{m}{d:02d}{i},2026-{m:02d}-{d:02d} {8 + i}:00,小区门口路灯不亮已经一周了请尽快维修{i}"
            for m in (8, 9, 10) for d in range(1, 29, 3) for i in range(3)]
    export.write_text("工单编号,受理时间,诉求内容\n" + "\n".join(rows) + "\n", encoding="utf-8")
    db = folder / "hotline.duckdb"
    assert load_file(export, db).rows_inserted == len(rows)
    return db


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("empty_demo") / "hotline.duckdb"
    build_demo(path, orders=20_000, seed=7)
    return path


def _values(spec) -> list:
    if isinstance(spec, dict) and "bdata" in spec:
        return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"])).tolist()
    return [v for v in spec if v is not None] if isinstance(spec, list) else []


def blanks(at: AppTest) -> list[str]:
    """Empty canvas tables and charts without a single point."""
    found = [f"empty table {d.key or ''}" for d in at.dataframe if len(d.value) == 0]
    for chart in at.get("plotly_chart"):
        traces = json.loads(chart.proto.spec)["data"]
        if not any(_values(t.get(axis)) for t in traces for axis in ("x", "y")):
            found.append(f"blank chart {chart.proto.id[-12:]}")
    return found


def reasons(at: AppTest) -> str:
    return "\n".join(i.value for i in at.info) + "\n".join(t.value for t in at.get("text"))


def run(db: Path, monkeypatch, page: str, **params: str) -> AppTest:
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, f"{page}: {at.exception}"
    return at


@pytest.mark.parametrize("page", SHOWN, ids=[p.split("/")[-1][:-3] for p in SHOWN])
def test_an_export_without_areas_or_categories(bare_db, monkeypatch, page):
    at = run(bare_db, monkeypatch, page)
    assert not blanks(at), f"{page}: {blanks(at)}"


# Each page that needs a column the bare export lacks names it.
NEEDS = {"overview.py": "区", "hotspots.py": "区", "streets.py": "区", "departments.py": "承办单位",
         "community.py": "街道/乡镇", "recurring.py": "一级分类"}


@pytest.mark.parametrize("page, column", NEEDS.items())
def test_the_missing_column_is_named(bare_db, monkeypatch, page, column):
    at = run(bare_db, monkeypatch, f"pages/{page}")
    assert f"“{column}" in reasons(at), f"{page} does not say the export lacks “{column}”: {reasons(at)}"


@pytest.mark.parametrize("page", SHOWN, ids=[p.split("/")[-1][:-3] for p in SHOWN])
def test_a_narrow_slice_of_the_demo(demo_db, monkeypatch, page):
    at = run(demo_db, monkeypatch, page, **{"from": "2026-10", "to": "2026-10", "district": "延庆区", "category": "医疗卫生"})
    assert not blanks(at), f"{page}: {blanks(at)}"
