"""吹哨报到: arrival figures on hand-checked fixture cases, the CLI's json, and the 吹哨报到 page."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import cases
from analytics.__main__ import main as cli
from analytics.filters import Filters
from analytics.settings import load_settings
from etl.store import writing
from tests.dbfactory import sample_orders, write_orders

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")
OCT = Filters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))


def t(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute)


CASES = pl.DataFrame([
    # 望京: closed after 6 h; 交通支队 called twice (未到 after the first call), 房管局 never came and said nothing.
    dict(case_id="C1", district="朝阳区", street="望京街道", opened_at=t(5, 9), closed_at=t(5, 15), status="已办结",
         title="小区门口占道施工", related_order_id="T00000"),
    # 望京: 城管 arrives on the 30th minute (counts as within); 园林 arrives without being called.
    dict(case_id="C2", district="朝阳区", street="望京街道", opened_at=t(12, 14), closed_at=t(13, 14), status="已办结",
         title="树木倒伏堵路", related_order_id="T00001，X-MISSING"),
    dict(case_id="C3", district="海淀区", street="中关村街道", opened_at=t(20, 10), closed_at=None, status="办理中",
         title="夜间施工噪声", related_order_id=None),
    # A case with no events at all.
    dict(case_id="C4", district="海淀区", street="中关村街道", opened_at=t(25, 8), closed_at=t(25, 20), status="已办结",
         title="井盖缺失", related_order_id=None),
    # September: outside the October filter.
    dict(case_id="C5", district="朝阳区", street="望京街道", opened_at=t(15, 10, month=9), closed_at=t(15, 18, month=9),
         status="已办结", title="违规广告牌", related_order_id=None),
])

# Deliberately not in time order.
EVENTS = pl.DataFrame(
    [
        ("C1", "交通支队", "到场", t(5, 10, 55)),
        ("C1", "城管执法局", "办结", t(5, 14, 50)),
        ("C1", "交通支队", "呼叫", t(5, 10, 10)),
        ("C1", "城管执法局", "到场", t(5, 9, 20)),
        ("C1", "城管执法局", "响应", t(5, 9, 5)),
        ("C1", "交通支队", "未到", t(5, 10, 0)),
        ("C1", "城管执法局", "呼叫", t(5, 9)),
        ("C1", "交通支队", "呼叫", t(5, 9)),
        ("C1", "房管局", "呼叫", t(5, 9)),
        ("C2", "城管执法局", "呼叫", t(12, 14)),
        ("C2", "城管执法局", "到场", t(12, 14, 30)),
        ("C2", "房管局", "到场", t(12, 14, 40)),
        ("C2", "房管局", "响应", t(12, 14, 10)),
        ("C2", "房管局", "呼叫", t(12, 14)),
        ("C2", "园林绿化局", "到场", t(12, 14, 15)),
        ("C3", "城管执法局", "呼叫", t(20, 10)),
        ("C3", "城管执法局", "到场", t(20, 10, 10)),
        ("C3", "交通支队", "呼叫", t(20, 10)),
        ("C3", "交通支队", "到场", t(20, 10, 25)),
        ("C5", "城管执法局", "呼叫", t(15, 10, month=9)),
        ("C5", "城管执法局", "到场", t(15, 11, 30, month=9)),
    ],
    schema=["case_id", "dept", "event", "occurred_at"], orient="row",
).with_columns(note=pl.lit(None, pl.String))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = write_orders(tmp_path_factory.mktemp("cases") / "hotline.duckdb", sample_orders())
    with writing(path) as con:
        con.register("_cases", CASES.to_arrow())
        con.register("_events", EVENTS.to_arrow())
        con.execute("INSERT INTO cases BY NAME SELECT * FROM _cases")
        con.execute("INSERT INTO case_events BY NAME SELECT * FROM _events")
    return path


def october() -> tuple[pl.DataFrame, pl.DataFrame]:
    keep = CASES.filter(pl.col("opened_at").dt.month() == 10)
    return keep, EVENTS.filter(pl.col("case_id").is_in(keep["case_id"].to_list()))


def test_department_league_by_hand():
    _, events = october()
    league = {r["dept"]: r for r in cases.dept_league(events, load_settings()).to_dicts()}
    # 城管: arrivals after 20, 30, 10 minutes; 30 is within the limit.
    c = league["城管执法局"]
    assert (c["called"], c["arrived"], c["within"], c["no_show"], c["answered"]) == (3, 3, 3, 0, 3)
    assert c["within_share"] == 1.0 and c["median_arrival_minutes"] == 20.0
    assert c["p90_arrival_minutes"] == pytest.approx(28.0)   # 20 + 0.8 × (30 − 20)
    assert c["reported_in"] == 3 and c["rank"] == 1
    # 交通: called twice in C1 (no-show, then arrived 45 min after the second call), 25 min in C3.
    j = league["交通支队"]
    assert (j["called"], j["cases"], j["arrived"], j["within"]) == (3, 2, 2, 1)
    assert (j["no_show"], j["no_show_declared"]) == (1, 1)
    assert j["within_share"] == pytest.approx(1 / 3)
    assert j["median_arrival_minutes"] == 35.0 and j["p90_arrival_minutes"] == pytest.approx(43.0)
    # 房管: silent in C1, 40 min in C2: counted as called, not within.
    f = league["房管局"]
    assert (f["called"], f["arrived"], f["no_show"], f["no_show_declared"], f["answered"]) == (2, 1, 1, 0, 1)
    assert f["within_share"] == 0.0 and f["median_arrival_minutes"] == 40.0
    assert f["reported_in_share"] == 0.5
    # 园林: arrived without a call: counted and flagged, no share.
    y = league["园林绿化局"]
    assert (y["called"], y["arrived_uncalled"], y["within_share"]) == (0, 1, None)
    assert [r["dept"] for r in cases.dept_league(events, load_settings()).to_dicts()] == [
        "城管执法局", "交通支队", "房管局", "园林绿化局"]


def test_second_call_pairs_with_latest_call_and_threshold_setting():
    _, events = october()
    c1 = cases.calls(events.filter(pl.col("case_id") == "C1"), load_settings())
    traffic = c1.filter(pl.col("dept") == "交通支队").sort("called_at")
    assert traffic["arrival_minutes"].to_list() == [None, 45.0]
    assert traffic["declared_no_show"].to_list() == [True, False]
    # A 45-minute limit makes 交通's second C1 arrival count.
    wide = load_settings().with_overrides("cases", arrival_minutes=45)
    league = {r["dept"]: r for r in cases.dept_league(events, wide).to_dicts()}
    assert league["交通支队"]["within"] == 2 and league["房管局"]["within"] == 1


def test_cases_streets_and_summary():
    oct_cases, events = october()
    s = load_settings()
    table = {r["case_id"]: r for r in cases.case_table(oct_cases, events, s).to_dicts()}
    assert table["C1"]["closure_hours"] == 6.0 and table["C2"]["closure_hours"] == 24.0
    assert table["C3"]["closure_hours"] is None and table["C3"]["status"] == "办理中"
    assert (table["C1"]["depts_called"], table["C1"]["depts_arrived"], table["C1"]["calls"]) == (3, 2, 4)
    assert table["C1"]["flags"] == "有部门未到"
    assert table["C2"]["flags"] == "有未经呼叫的到场"
    assert table["C4"]["flags"] == "无事件记录" and table["C4"]["depts_called"] == 0
    summary = cases.summary(oct_cases, events, s)
    assert summary == {"whistles": 4, "calls": 8, "within_share": 0.5, "no_show": 2, "closed_share": 0.75,
                       "median_closure_hours": 12.0}
    orders = pl.DataFrame({"district": ["朝阳区", "海淀区"], "street": ["望京街道", "中关村街道"], "orders": [3, 6]})
    use = {r["street"]: r for r in cases.street_use(oct_cases, orders, 1).to_dicts()}
    assert (use["望京街道"]["whistles"], use["望京街道"]["closed_share"], use["望京街道"]["median_closure_hours"]) == (2, 1.0, 15.0)
    assert use["望京街道"]["whistles_per_10k_orders"] == pytest.approx(2 / 3 * 10_000)
    assert use["中关村街道"]["closed_share"] == 0.5 and use["中关村街道"]["whistles_per_10k_orders"] == pytest.approx(2 / 6 * 10_000)
    months = {(r["street"], r["month"]): r for r in cases.street_month(CASES).to_dicts()}
    assert months[("望京街道", date(2026, 9, 1))]["whistles"] == 1
    assert months[("中关村街道", date(2026, 10, 1))]["closed_per_whistle"] == 0.5


def test_no_events_at_all():
    empty = EVENTS.clear()
    assert cases.dept_league(empty, load_settings()).is_empty()
    table = cases.case_table(CASES, empty, load_settings())
    assert set(table["flags"]) == {"无事件记录"}


def test_cli_json(db, capsys):
    assert cli(["cases", "--db", str(db), "--from", "2026-10-01", "--to", "2026-10-31", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["dept"] for r in rows] == ["城管执法局", "交通支队", "房管局", "园林绿化局"]
    first = rows[0]
    assert {"dept", "called", "arrived", "arrived_within_30min_share", "median_arrival_minutes", "no_show"} <= set(first)
    assert (first["called"], first["arrived"], first["arrived_within_30min_share"]) == (3, 3, 1.0)
    assert rows[1]["arrived_within_30min_share"] == pytest.approx(1 / 3) and rows[2]["no_show"] == 1
    # Without a period, September's C5 (90 minutes) joins 城管's calls.
    assert cli(["cases", "--db", str(db), "--format", "json"]) == 0
    all_rows = {r["dept"]: r for r in json.loads(capsys.readouterr().out)}
    assert all_rows["城管执法局"]["called"] == 4 and all_rows["城管执法局"]["arrived_within_30min_share"] == 0.75
    assert cli(["cases", "--db", str(db), "--by", "street", "--format", "json"]) == 0
    by_street = json.loads(capsys.readouterr().out)
    assert {(r["street"], r["month"], r["whistles"]) for r in by_street} == {
        ("望京街道", "2026-09", 1), ("望京街道", "2026-10", 2), ("中关村街道", "2026-10", 2)}


def test_sql_reads_what_the_functions_expect(db):
    import duckdb
    con = duckdb.connect(str(db), read_only=True)
    try:
        case_rows, events = cases.load(con, Filters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31),
                                                    districts=("海淀区",)))
        assert sorted(case_rows["case_id"]) == ["C3", "C4"] and set(events["case_id"]) == {"C3"}
    finally:
        con.close()


def test_whistle_page(db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=60).run()
    at.switch_page("pages/whistle.py").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    oct_cases, events = october()
    want = cases.summary(oct_cases, events, load_settings())
    assert shown["吹哨次数"] == "4"
    assert shown["30 分钟内到场率"] == f"{want['within_share'] * 100:.1f}%" == "50.0%"
    assert shown["部门未到次数"] == "2"
    league = at.dataframe[0].value
    assert league["dept"].tolist()[:3] == ["城管执法局", "交通支队", "房管局"]
    # Rates in grids are in percent, shown with one decimal (33.3%) like everywhere else.
    assert league["within_share"].tolist()[1] == pytest.approx(100 / 3)
    assert json.loads(at.dataframe[0].proto.columns)["within_share"]["type_config"]["format"] == "%.1f%%"
    assert any("选择一个案件" in i.value for i in at.info)
    # Select C1 (the table lists newest first: C4, C3, C2, C1).
    at.session_state["case_table"] = {"selection": {"rows": [3], "columns": []}}
    at.run()
    assert not at.exception
    assert any("案件 C1" in h.value for h in at.subheader)
    assert any("望京街道小区问题0" in x.value for x in at.text)
    calls = at.dataframe[-1].value
    assert sorted(calls["arrival_minutes"].dropna().tolist()) == [20.0, 45.0]


def test_timeline_figure_marks_every_call():
    from datetime import timedelta
    case = CASES.filter(pl.col("case_id") == "C1").row(0, named=True)
    fig = cases.timeline_figure(case, EVENTS, load_settings())
    limit = next(tr for tr in fig.data if tr.name == "30 分钟时限")
    calls_at = sorted([t(5, 9)] * 3 + [t(5, 10, 10)])
    assert sorted(limit.x) == [c + timedelta(minutes=30) for c in calls_at]
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 4   # one per call: 城管 and 交通's second call arrived, 交通's first and 房管 did not
    assert sum(tr.line.dash == "dot" for tr in lines) == 2
    assert {tr.name for tr in fig.data if tr.mode == "markers"} >= {"呼叫", "响应", "到场", "办结", "未到"}
    assert fig.layout.xaxis.range is None   # C1's calls span about 2 of its 6 hours: show it all
    c2 = CASES.filter(pl.col("case_id") == "C2").row(0, named=True)
    start, end = cases.timeline_figure(c2, EVENTS, load_settings()).layout.xaxis.range
    assert t(12, 13, 55) < start < t(12, 14) and t(12, 14, 40) < end < t(12, 15)   # a 24-hour case opens on its calls


def test_league_ranks_by_confidence_not_raw_share():
    from datetime import datetime, timedelta
    rows = []
    t0 = datetime(2026, 10, 1, 9)
    for dept, calls, late in (("小部门", 2, 0), ("大部门", 20, 1)):
        for i in range(calls):
            case = f"{dept}{i}"
            rows += [
                {"case_id": case, "dept": dept, "event": "呼叫", "occurred_at": t0},
                {"case_id": case, "dept": dept, "event": "到场", "occurred_at": t0 + timedelta(minutes=50 if i < late else 20)},
            ]
    events = pl.DataFrame(rows).with_columns(note=pl.lit(None, pl.String))
    league = cases.dept_league(events, load_settings())
    assert league["dept"].to_list() == ["大部门", "小部门"]          # 19/20 outranks 2/2
    assert league["within_share"].to_list() == [0.95, 1.0]
    assert league.filter(pl.col("dept") == "小部门")["rank"][0] == 2
