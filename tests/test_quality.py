"""数据质量: load history, quarantine browser, coverage and freshness on a file loaded through the real loader."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import quality
from analytics.filters import Filters
from etl.load import load_file
from etl.store import connect_read

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
# Five orders: A3 has no 受理时间 (quarantined); A2's street is not official; A4 lacks category, street and content.
CSV = """工单编号,受理时间,问题分类,诉求内容,被反映区,被反映街乡镇,工单状态,办结时间,是否解决,是否满意
A1,2026-10-03 09:00:00,住房->物业管理->收费,小区物业乱收费,朝阳,建外街道,已办结,2026-10-04 10:00:00,解决,满意
A2,2026-10-05 10:00:00,市场管理->价格,"=HYPERLINK(""http://x"")",海淀区,不存在街道,已办结,,未解决,不满意
A3,,交通管理->停车,乱停车,丰台区,,办理中,,,
A4,2026-11-02 08:00:00,,,朝阳区,,已受理,,,
A5,2026-11-20 08:00:00,交通管理->停车,-违停严重,朝阳区,建外街道,已办结,2026-11-21 08:00:00,部分解决,基本满意
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quality")
    src = tmp / "工单样例.csv"
    src.write_text(CSV, encoding="utf-8")
    db = tmp / "hotline.duckdb"
    result = load_file(src, db)
    return db, result


@pytest.fixture()
def con(loaded):
    c = connect_read(loaded[0])
    yield c
    c.close()


def test_load_history_and_quarantine(con, loaded):
    _, result = loaded
    history = quality.load_history(con)
    assert history.height == 1
    row = history.row(0, named=True)
    assert (row["rows_read"], row["rows_inserted"], row["rows_quarantined"], row["status"]) == (5, 4, 1, "partial")
    reasons = quality.quarantine_reasons(con, load_id=result.load_id)
    assert reasons.height == 1 and reasons["rows"][0] == 1
    assert reasons["reason"][0].startswith("『受理时间』")      # the row number is dropped for grouping
    rows = quality.quarantine_rows(con, load_id=result.load_id, search="A3")
    assert rows["line_no"].to_list() == [4]
    assert quality.quarantine_rows(con, search="没有这个词").is_empty()
    assert quality.quarantine_rows(con, load_id="other").is_empty()


def test_coverage_counts(con):
    cov = {r["check"]: r for r in quality.coverage(con).iter_rows(named=True)}
    assert cov["street_unknown"]["orders"] == 1          # 海淀区 不存在街道
    assert cov["street_missing"]["orders"] == 1          # A4
    assert cov["category_missing"]["orders"] == 1
    assert cov["content_missing"]["orders"] == 1
    assert cov["closed_missing"]["orders"] == 1          # A2: 已办结 without 办结时间
    assert cov["street_unknown"]["share"] == pytest.approx(0.25)
    october = quality.coverage(con, Filters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31)))
    assert october.filter(october["check"] == "category_missing")["orders"][0] == 0
    unknown = quality.unknown_streets(con)
    assert unknown.rows() == [("海淀区", "不存在街道", 1)]


def test_freshness(con):
    fresh = quality.freshness(con, Filters(), date(2026, 11, 25))
    assert fresh["latest_received"].date() == date(2026, 11, 20)
    assert fresh["received_days_behind"] == 5
    assert fresh["load_days_behind"] == (date(2026, 11, 25) - fresh["last_load"].date()).days


def test_quality_page(loaded, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(loaded[0]))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = "2026-10"
    at.query_params["to"] = "2026-11"
    at.run()
    at.switch_page("pages/quality.py").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["最新受理时间"] == "2026-11-20 08:00"
    history, reasons, rows, coverage = (at.dataframe[i].value for i in range(4))
    assert list(history["rows_quarantined"]) == [1]
    assert list(rows["line_no"]) == [4]
    assert dict(zip(coverage["label"], coverage["orders"]))["街道/乡镇不在官方名录"] == 1
    at.text_input(key="q_search").input("不存在的词").run()
    assert at.dataframe[2].value.empty
