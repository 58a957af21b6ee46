"""派单质量 page (AppTest) and its reads: a planted misdispatch is found, counted by department and month."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

import suggestions
from analytics import dispatch
from analytics.filters import Filters
from analytics.settings import load_settings
from core.store import connect_read
from etl.store import writing
from tests.dbfactory import write_orders
from tests.test_classify import history
from conftest import older_copy

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    frame = history()
    # Three leak orders sent to the education office; one was returned twice. And a leak in 朝阳 sent to
    # 海淀's housing bureau: the 权责清单 lists it for 住房/物业, but it serves 海淀, not 朝阳.
    leaks = frame.filter(pl.col("category_l3") == "漏水")
    bad = leaks.head(3).with_columns(dept=pl.lit("朝阳区教委"), redispatch_count=pl.Series([2, 0, 0], dtype=pl.Int32))
    cross = leaks.slice(3, 1).with_columns(dept=pl.lit("海淀区房管局"))
    assert cross["district"].to_list() == ["朝阳区"]
    bad = pl.concat([bad, cross])
    frame = pl.concat([frame.filter(~pl.col("order_id").is_in(bad["order_id"].implode())), bad])
    path = write_orders(tmp_path_factory.mktemp("dispatch") / "hotline.duckdb", frame)
    with writing(path) as con:
        con.execute("INSERT INTO dept_duties (category_l1, category_l2, dept) VALUES ('住房', '物业', '朝阳区房管局'), "
                    "('住房', '物业', '海淀区房管局'), ('住房', '物业', '延庆区房管局')")
    return path


def test_reads_find_the_planted_misdispatch(db):
    suggestions.retrain(db)
    con = connect_read(db)
    try:
        s = load_settings().with_overrides("classify", confident=0.5)
        orders = dispatch.suspect_orders(con, Filters(), s)
        tallies = dispatch.counts(con, Filters(), s)
        months, cats = tallies.by_dept_month, tallies.by_category
    finally:
        con.close()
    assert orders.height == 4
    assert orders.filter(pl.col("dept") == "朝阳区教委")["suggested_dept"].sort().to_list() == [
        "延庆区房管局", "朝阳区房管局", "海淀区房管局"]
    assert orders.filter(pl.col("dept") == "海淀区房管局").select("district", "suggested_dept").row(0) == ("朝阳区", "朝阳区房管局")
    assert months.filter(pl.col("dept") == "朝阳区教委")["suspect"].sum() == 3
    assert months["dept"][0] == "朝阳区教委"       # the department with most suspects comes first
    assert cats.row(0, named=True)["category_l2"] == "物业" and cats["suspect"][0] == 4


def test_page_offers_training_then_shows_the_suspects(db, tmp_path, monkeypatch):
    fresh = tmp_path / "hotline.duckdb"
    fresh.write_bytes(Path(db).read_bytes())
    with writing(fresh) as con:
        con.execute("DELETE FROM order_suggestions")
    monkeypatch.setenv("HOTLINE_DB", str(fresh))
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.run()
    at.switch_page("pages/dispatch.py").run()
    assert not at.exception
    assert any("还没有分类建议" in i.value for i in at.info)
    assert at.metric[0].value == "—" and at.metric[2].label == "退单/改派工单"
    at.button(key="d_train").click().run()
    assert not at.exception
    assert [m.label for m in at.metric] == ["疑似错派", "不在权责清单", "退单/改派工单", "退单/改派多耗天数"]
    assert at.metric[1].value == "4"      # the three leak orders sent to the education office, one to 海淀's bureau
    assert at.title[0].value == "派单质量"
    assert len(at.dataframe) >= 3


@pytest.mark.parametrize("apply", [False, True])
def test_import_wizard_fills_blank_labels_as_suggestions(tmp_path, monkeypatch, apply):
    db = write_orders(tmp_path / "hotline.duckdb", history())
    suggestions.retrain(db)
    monkeypatch.setenv("HOTLINE_DB", str(db))
    body = pl.DataFrame({"工单编号": ["U1", "U2", "U3"], "受理时间": ["2026-06-01 09:00"] * 3,
                         "诉求内容": ["楼上卫生间漏水，天花板渗水", "晚上工地打桩施工噪音很大", "谢谢"],
                         "区": ["朝阳区", "海淀区", "朝阳区"], "街道": ["望京街道", "中关村街道", "望京街道"]}).write_csv()
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.run()
    at.switch_page("pages/data_import.py").run()
    at.file_uploader[0].upload("六月无分类.csv", body.encode("utf-8"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert at.checkbox(key="imp_suggest").value is True
    assert at.toggle(key="imp_apply").value is False
    if apply:
        at.toggle(key="imp_apply").set_value(True).run()
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    assert any("2 条获得了建议" in i.value for i in at.info)
    con = connect_read(db)
    try:
        rows = con.execute("SELECT s.order_id, s.category_l3, s.dept, s.applied, w.category_l1, w.dept FROM order_suggestions s "
                           "JOIN work_orders w USING (order_id) WHERE s.source = 'import' ORDER BY 1").fetchall()
    finally:
        con.close()
    assert [r[:3] for r in rows] == [("U1", "漏水", "朝阳区房管局"), ("U2", "施工", "海淀区生态环境局"), ("U3", None, None)]
    if apply:
        assert [r[3:] for r in rows] == [(True, "住房", "朝阳区房管局"), (True, "环境", "海淀区生态环境局"), (False, None, None)]
    else:
        assert [r[3:] for r in rows] == [(False, None, None)] * 3   # the office's columns stay empty


def test_reads_from_the_monthly_summary_equal_counting_the_orders(db, tmp_path):
    """Which departments serve a district comes from monthly_counts; a file without it counts the orders."""
    from polars.testing import assert_frame_equal

    suggestions.retrain(db)
    bare = older_copy(db, tmp_path / "bare.duckdb", "DROP TABLE monthly_counts_state")
    s = load_settings().with_overrides("classify", confident=0.5)
    new, old = connect_read(db), connect_read(bare)
    try:
        now, was = dispatch.counts(new, Filters(), s), dispatch.counts(old, Filters(), s)
        pairs = [(dispatch.suspect_orders(new, Filters(), s), dispatch.suspect_orders(old, Filters(), s)),
                 (now.by_dept_month, was.by_dept_month), (now.by_category, was.by_category)]
        for got, want in pairs:
            assert got.height > 0
            assert_frame_equal(got, want)
        assert now.summary == was.summary
    finally:
        new.close()
        old.close()
