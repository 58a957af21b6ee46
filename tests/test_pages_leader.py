"""Leader-first pages: 总览, 街乡考评 and 部门考评 open on the worst units of the period (ties kept whole) and on what
changed most against the previous period, checked against the 三率 written straight from METRICS.md."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics.ranking import worst
from tests.test_scores import SMALL_UNITS, build_db, independent

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")


@pytest.fixture(autouse=True)
def small_units(monkeypatch):
    monkeypatch.setenv("WHISTLE_SETTINGS", str(SMALL_UNITS))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("leader") / "hotline.duckdb")


def plain(cell: str) -> str:
    """A printed table's cell without its markdown escapes."""
    return cell.replace("\\", "")


def test_worst_keeps_ties_whole():
    table = pl.DataFrame({"unit": list("abcdef"), "rank": [1, 2, 3, 3, 3, None]})
    assert worst(table, 1)["unit"].to_list() == ["c", "d", "e"]          # three tied last: all of them
    assert worst(table, 4)["unit"].to_list() == ["c", "d", "e", "b"]
    assert worst(table, 9)["unit"].to_list() == ["c", "d", "e", "b", "a"]  # unranked units are not "worst"
    assert worst(table, 0).is_empty()


def test_overview_opens_on_the_worst_and_the_largest_moves(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = at.query_params["to"] = "2026-10"
    at.run()
    assert not at.exception, at.exception
    con = duckdb.connect(str(db), read_only=True)
    try:
        truth = independent(con, "district")
    finally:
        con.close()
    oct_, sep = (truth.filter(pl.col("period") == date(2026, m, 1)).select("district", "composite") for m in (10, 9))
    scores = {d: round(c, 1) for d, c in oct_.drop_nulls("composite").iter_rows()}
    third_lowest = sorted(scores.values())[min(3, len(scores)) - 1]
    worst_table = at.table[0].value
    shown = [plain(d) for d in worst_table["区"]]
    assert set(shown) == {d for d, c in scores.items() if c <= third_lowest}
    assert [float(plain(c)) for c in worst_table["综合得分"]] == sorted(scores[d] for d in shown)
    # What changed most: the district whose composite moved most against September, with both values.
    before = dict(sep.drop_nulls("composite").iter_rows())
    moves = {d: round(c - before[d], 1) for d, c in oct_.drop_nulls("composite").iter_rows() if d in before}
    biggest = max(abs(v) for v in moves.values())
    moved = at.table[1].value
    first = moved.iloc[0]
    assert abs(moves[plain(first["区"])]) == biggest
    assert plain(first["变化"]) == f"{moves[plain(first['区'])]:+.1f}"
    # The 需要关注 block comes before the trend and the full ranking.
    subheaders = [s.value for s in at.subheader]
    assert subheaders.index("需要关注") < subheaders.index("月度趋势") < subheaders.index("各区综合得分排名")


def test_overview_of_one_district_compares_its_streets(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = at.query_params["to"] = "2026-10"
    at.query_params["district"] = "东城区"
    at.run()
    assert not at.exception, at.exception
    assert "街道/乡镇" not in at.table[0].value.columns and "街乡" in at.table[0].value.columns
    assert any("综合得分最低的街乡" in m.value for m in at.markdown)


def test_departments_open_on_the_worst(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = "2026-09"
    at.query_params["to"] = "2026-10"
    at.run()
    at.switch_page("pages/departments.py").run()
    assert not at.exception, at.exception
    ranking = at.dataframe[0].value
    ranked = ranking.dropna(subset=["rank"])
    worst_table = at.table[0].value
    assert plain(worst_table.iloc[0]["部门"]) == ranked.iloc[-1]["unit"]
    assert int(worst_table.iloc[0]["排名"]) == ranked["rank"].max()
    # The score a department is ranked by sits beside its name, not at the far right of the grid.
    assert list(ranking.columns[:4]) == ["rank", "movement", "unit", "dept_score"]
    pinned = json.loads(at.dataframe[0].proto.columns)
    assert all(pinned[c].get("pinned") for c in ("rank", "unit", "dept_score"))   # they stay when the grid scrolls


def test_streets_score_beside_the_name(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = at.query_params["to"] = "2026-10"
    at.run()
    at.switch_page("pages/streets.py").run()
    grid = next(d for d in at.dataframe if d.key == "ranking_street")
    assert list(grid.value.columns[:5]) == ["rank", "movement", "unit", "district", "composite"]
    assert all(json.loads(grid.proto.columns)[c].get("pinned") for c in ("rank", "unit", "composite"))
