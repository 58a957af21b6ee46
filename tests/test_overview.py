"""总览 shows the numbers the database holds, computed independently here in SQL."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters
from analytics.overview import read_kpis, read_ranking
from analytics.settings import load_settings
from tests.dbfactory import sample_orders, write_orders

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
OCT = "received_at >= DATE '2026-10-01' AND received_at < DATE '2026-11-01'"


@pytest.fixture()
def db(tmp_path, monkeypatch):
    path = write_orders(tmp_path / "hotline.duckdb", sample_orders())
    monkeypatch.setenv("HOTLINE_DB", str(path))
    return path


def independent_rates(path, where: str = OCT) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    row = con.execute(f"""
        SELECT count(*) AS orders,
          count(*) FILTER (WHERE responded_at - coalesce(dispatched_at, received_at) <= INTERVAL 24 HOUR) / count(*) AS response,
          (count(*) FILTER (WHERE resolution = '解决') + 0.5 * count(*) FILTER (WHERE resolution = '部分解决'))
            / count(resolution) AS resolution,
          (count(*) FILTER (WHERE satisfaction = '满意') + count(*) FILTER (WHERE satisfaction = '基本满意'))
            / count(satisfaction) AS satisfaction,
          count(*) FILTER (WHERE closed_at <= coalesce(due_at, received_at + INTERVAL 7 DAY)) / count(closed_at) AS on_time
        FROM work_orders WHERE {where}""").fetchall()[0]
    con.close()
    keys = ("orders", "response", "resolution", "satisfaction", "on_time")
    return dict(zip(keys, row))


def test_overview_metrics_match_sql(db):
    at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    want = independent_rates(db)
    assert shown["工单量"] == f"{want['orders']:,}" == "18"
    assert shown["响应率"] == f"{want['response'] * 100:.1f}%"
    assert shown["解决率"] == f"{want['resolution'] * 100:.1f}%"
    assert shown["满意率"] == f"{want['satisfaction'] * 100:.1f}%"
    assert shown["按时办结率"] == f"{want['on_time'] * 100:.1f}%"
    composite = 100 * (0.30 * want["response"] + 0.35 * want["resolution"] + 0.35 * want["satisfaction"])
    assert shown["综合得分"] == f"{composite:.1f}"
    # The default period is the latest month loaded, compared with the month before.
    assert "2026-10-01 至 2026-10-31" in at.caption[0].value
    assert any("已载入 36 条工单" in c.value for c in at.sidebar.caption)


def test_url_filters_select_the_view(db):
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = "2026-09"
    at.query_params["to"] = "2026-09"
    at.query_params["district"] = "海淀区"
    at.run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    want = independent_rates(db, "received_at < DATE '2026-10-01' AND district = '海淀区'")
    assert shown["工单量"] == str(want["orders"]) == "6"
    assert shown["解决率"] == f"{want['resolution'] * 100:.1f}%"


def test_kpis_compare_with_previous_period(db):
    con = duckdb.connect(str(db), read_only=True)
    f = Filters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
    rows = {k["metric"]: k for k in read_kpis(con, f, load_settings())}
    assert f.previous() == Filters(date_from=date(2026, 9, 1), date_to=date(2026, 9, 30))
    assert rows["orders"]["value"] == 18 and rows["orders"]["previous"] == 18 and rows["orders"]["change"] == 0
    ranking = read_ranking(con, f, "district", load_settings())
    assert ranking["rank"].to_list() == [1, 2, 3]
    assert sorted(ranking["district"].to_list()) == ["延庆区", "朝阳区", "海淀区"]
    assert ranking["composite"].is_sorted(descending=True)


def test_open_dashboard_sees_a_load_published_by_another_writer(db, tmp_path):
    """The app keeps running while a load publishes a new file; its next run shows the new orders."""
    from etl.load import load_file

    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.query_params["from"] = "2026-10"
    at.query_params["to"] = "2026-10"
    at.run()
    assert {m.label: m.value for m in at.metric}["工单量"] == "18"
    export = tmp_path / "october.csv"
    export.write_text(
        "工单编号,来电时间,区,街道,问题分类,诉求内容\n"
        "N1,2026-10-20 10:00:00,朝阳,望京,住房->物业管理,小区电梯停运\n"
        "N2,2026/10/21 9:30,海淀区,中关村街道,城乡建设,路灯不亮\n",
        encoding="utf-8",
    )
    result = load_file(export, db)
    assert (result.rows_inserted, result.rows_quarantined) == (2, 0)
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["工单量"] == "20"
    assert any("已载入 38 条工单" in c.value for c in at.sidebar.caption)
