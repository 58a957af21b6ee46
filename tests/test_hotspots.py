"""Hotspots, surges, hot words and the CLI, on planted data built here."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analytics import hotspots as hs
from analytics.__main__ import main as cli
from analytics.settings import load_settings
from core.segment import segment
from tests.dbfactory import orders_frame, write_orders

ROOT = Path(__file__).resolve().parents[1]

AREAS = [("朝阳区", "望京街道"), ("朝阳区", "三里屯街道"), ("海淀区", "中关村街道"), ("丰台区", "卢沟桥街道")]
CATEGORIES = ["住房", "城乡建设", "交通管理", "公共服务"]
FILLER = ["小区门口垃圾没人清运", "楼下道路破损积水", "停车位不足乱停车", "物业服务态度差", "小区路灯不亮"]


def background(months: list[date], seed: int = 1, per_cell: int = 10) -> list[dict]:
    """Poisson(per_cell) orders per area × category × month, with ordinary texts."""
    rng = np.random.default_rng(seed)
    rows = []
    for m in months:
        for district, street in AREAS:
            for cat in CATEGORIES:
                for k in range(int(rng.poisson(per_cell))):
                    rows.append({"received_at": datetime(m.year, m.month, 1 + k % 28, 9 + k % 9), "district": district,
                                 "street": street, "category_l1": cat, "content": FILLER[k % len(FILLER)]})
    return rows


def months_between(first: date, n: int) -> list[date]:
    out, m = [], first
    for _ in range(n):
        out.append(m)
        m = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return out


def frame(rows: list[dict]) -> pl.DataFrame:
    f = pl.DataFrame(rows).with_columns(order_id=pl.format("H{}", pl.int_range(pl.len())))
    return f.with_columns(tokens=pl.Series(segment(f["content"].to_list()), dtype=pl.List(pl.String)))


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    months = months_between(date(2025, 1, 1), 18)  # 2025-01 .. 2026-06
    rows = background(months)
    # The surge: 丰台区 卢沟桥街道 公共服务 in 2026-05, 40 extra orders about water cuts.
    rows += [{"received_at": datetime(2026, 5, 3 + k % 20, 10), "district": "丰台区", "street": "卢沟桥街道",
              "category_l1": "公共服务", "content": "小区突然停水没有通知，自来水管网改造"} for k in range(40)]
    # A smaller, less significant rise elsewhere in the same month.
    rows += [{"received_at": datetime(2026, 5, 5, 11), "district": "朝阳区", "street": "望京街道",
              "category_l1": "住房", "content": "物业服务态度差"} for _ in range(8)]
    return frame(rows)


def test_planted_surge_ranks_first(planted):
    settings = load_settings()
    hot = hs.hotspots(planted, "district", settings, start=date(2026, 5, 1), end=date(2026, 5, 31))
    top = hs.surges(hot).row(0, named=True)
    assert (top["area"], top["category"], top["month"]) == ("丰台区", "公共服务", date(2026, 5, 1))
    assert top["count"] >= 40 and top["lift"] >= 3
    by_street = hs.surges(hs.hotspots(planted, "street", settings, start=date(2026, 5, 1)))
    assert by_street.row(0, named=True)["area"] == "卢沟桥街道"
    assert by_street.row(0, named=True)["district"] == "丰台区"


def test_expected_uses_same_month_last_year_else_trailing_mean():
    settings = load_settings().with_overrides("hotspots", trailing_months=3)
    counts = {date(2025, 1, 1): 7, date(2025, 2, 1): 2, date(2025, 3, 1): 4, date(2025, 4, 1): 6,
              date(2026, 1, 1): 12, date(2026, 2, 1): 9}
    rows = [{"received_at": datetime(m.year, m.month, 2 + k, 12), "district": "东城区", "street": "景山街道",
             "category_l1": "住房"} for m, n in counts.items() for k in range(n)]
    # Another cell keeps the months between covered, so 2025-05..2025-12 are zero months for this one.
    rows += [{"received_at": datetime(m.year, m.month, 1), "district": "西城区", "street": "德胜街道", "category_l1": "住房"}
             for m in months_between(date(2025, 1, 1), 14)]
    rows.append({"received_at": datetime(2026, 2, 28, 18), "district": "西城区", "street": "德胜街道", "category_l1": "住房"})
    hot = hs.hotspots(pl.DataFrame(rows), "district", settings).filter(pl.col("area") == "东城区")
    cell = {r["month"]: r for r in hot.to_dicts()}
    assert cell[date(2026, 1, 1)]["expected"] == 7 and cell[date(2026, 1, 1)]["basis"] == "去年同月"
    assert cell[date(2026, 2, 1)]["expected"] == 2 and cell[date(2026, 2, 1)]["lift"] == 4.5
    # 2025-04 has no 2024-04 in the data: the mean of 2025-01..03.
    assert cell[date(2025, 4, 1)]["expected"] == pytest.approx((7 + 2 + 4) / 3)
    assert cell[date(2025, 4, 1)]["basis"] == "前3个月均值"
    assert cell[date(2025, 4, 1)]["z"] == pytest.approx((6 - 13 / 3) / (13 / 3) ** 0.5)
    # The first month has no history: no expected, no lift, no surge.
    assert cell[date(2025, 1, 1)]["expected"] is None and cell[date(2025, 1, 1)]["lift"] is None
    assert not cell[date(2025, 1, 1)]["surge"]


def test_partial_last_month_scales_expected():
    settings = load_settings()
    rows = [{"received_at": datetime(2026, m, d, 10), "district": "东城区", "street": "景山街道", "category_l1": "住房"}
            for m in (8, 9, 10) for d in range(1, 31)]
    rows += [{"received_at": datetime(2026, 11, d, 10), "district": "东城区", "street": "景山街道", "category_l1": "住房"}
             for d in range(1, 16)]
    hot = hs.hotspots(pl.DataFrame(rows), "district", settings, start=date(2026, 11, 1))
    nov = hot.row(0, named=True)
    # Data stops on 15 Nov: half of November is covered, so 15 orders are just as expected.
    assert nov["expected"] == pytest.approx(30 * 15 / 30) and nov["lift"] == pytest.approx(1.0)
    assert not nov["surge"]


def test_planted_word_is_top_emerging_word(planted):
    words = hs.hot_words(planted, "district", "1mo", start=date(2026, 5, 1))
    fengtai = hs.emerging(words.filter(pl.col("area") == "丰台区"), n=5)
    assert fengtai["word"][0] in {"停水", "管网改造", "自来水"}
    assert set(fengtai["word"].head(3)) <= {"停水", "管网改造", "自来水", "自来水管", "突然", "改造", "管网"}
    # The same words are not emerging where nothing was planted.
    haidian = hs.emerging(words.filter(pl.col("area") == "海淀区"))
    assert "停水" not in haidian["word"].to_list()
    # Whole window vs everything before it, and against the city.
    window = hs.emerging(hs.hot_words(planted, None, None, start=date(2026, 5, 1)))
    assert window["word"][0] in {"停水", "管网改造", "自来水"}
    city = hs.hot_words(planted, "district", "1mo", start=date(2026, 5, 1), baseline="city")
    assert city.filter(pl.col("area") == "丰台区").sort("z", descending=True)["word"][0] in {"停水", "管网改造", "自来水"}


def test_top_places_and_per_10k():
    rows = [{"received_at": datetime(2026, 1 + k % 3, 5, 9), "address": "望京西园三区212号楼", "street": "望京街道",
             "category_l1": "公共服务", "caller_key": f"c{k % 4}"} for k in range(9)]
    rows += [{"received_at": datetime(2026, 1, 6, 9), "address": "其他地址1号", "street": "望京街道",
              "category_l1": "住房", "caller_key": "x"}]
    top = hs.top_places(pl.DataFrame(rows), "address")
    first = top.row(0, named=True)
    assert (first["address"], first["orders"], first["callers"], first["months"], first["main_category"]) == (
        "望京西园三区212号楼", 9, 4, 3, "公共服务")
    areas = pl.DataFrame({"district": ["朝阳区"], "street": [None], "population": [3_452_000]}, schema_overrides={"street": pl.String})
    pc = hs.per_10k(pl.DataFrame({"district": ["朝阳区"], "orders": [3452]}), areas)
    assert pc["per_10k"][0] == pytest.approx(10.0)


def test_figures_build_offline():
    fig = hs.district_map(pl.DataFrame({"district": ["朝阳区", "海淀区"], "orders": [10, 5]}))
    # Only cartesian SVG traces: geo / map traces would fetch a base map from the internet.
    assert {t.type for t in fig.data} == {"scatter"}
    labels = next(t for t in fig.data if t.name == "区")
    assert len(labels.customdata) == 16 and "朝阳区" in labels.customdata
    fills = {t.name: t.fillcolor for t in fig.data if t.fill == "toself"}
    assert fills["朝阳区"] != fills["海淀区"] and fills["延庆区"] == "#e5e5e5"   # no data: grey
    hs.add_points(fig, pl.DataFrame({"lat": [39.99], "lon": [116.47], "category_l1": ["住房"]}))
    assert fig.data[-1].type == "scatter" and list(fig.data[-1].x) == [116.47]


def test_cli_reports_requested_months_with_history(planted, tmp_path, capsys):
    db = write_orders(tmp_path / "h.duckdb", orders_frame(planted.to_dicts()))
    assert cli(["hotspots", "--db", str(db), "--from", "2026-05-01", "--to", "2026-05-31", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["period"] for r in rows} == {"2026-05"}
    assert (rows[0]["area"], rows[0]["category"], rows[0]["surge"]) == ("丰台区", "公共服务", True)
    # Expected came from 2025-05, which lies before --from.
    assert rows[0]["basis"] == "去年同月" and rows[0]["expected"] > 0
    assert {"area", "category", "period", "count", "expected", "lift", "z", "surge"} <= set(rows[0])
    assert cli(["words", "--db", str(db), "--from", "2026-05-01", "--to", "2026-05-31", "--by", "district", "--format", "json"]) == 0
    words = [r for r in json.loads(capsys.readouterr().out) if r["area"] == "丰台区"]
    assert words[0]["word"] in {"停水", "管网改造", "自来水"} and words[0]["period"] == "2026-05"


@pytest.fixture(scope="module")
def app_db(tmp_path_factory) -> pl.DataFrame:
    """A database whose latest month (the page's default period) holds the planted surge."""
    rows = background(months_between(date(2025, 6, 1), 12), seed=2)
    rows += [{"received_at": datetime(2026, 5, 3 + k % 20, 10), "district": "丰台区", "street": "卢沟桥街道",
              "category_l1": "公共服务", "content": "小区突然停水没有通知，自来水管网改造"} for k in range(40)]
    orders = frame(rows).with_columns(caller_key=pl.format("c{}", pl.int_range(pl.len()) % 97))
    path = write_orders(tmp_path_factory.mktemp("app") / "app.duckdb", orders_frame(orders.to_dicts()))
    return path, orders


def test_hotspots_page_shows_the_analytics_surges(app_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path, orders = app_db
    monkeypatch.setenv("HOTLINE_DB", str(path))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page("pages/hotspots.py").run()
    assert not at.exception, [e.value for e in at.exception]
    expected = hs.surges(hs.hotspots(orders, "district", load_settings(), start=date(2026, 5, 1), end=date(2026, 5, 31)))
    assert expected.height >= 1 and expected["area"][0] == "丰台区"
    assert f"所选时段共有 **{expected.height}** 个激增单元。" in [m.value for m in at.markdown]
    surge_table = next(d.value for d in at.dataframe if "lift" in d.value.columns)
    assert surge_table["area"].iloc[0] == "丰台区" and int(surge_table["count"].iloc[0]) == expected["count"][0]
    assert at.selectbox[-1].value in {"停水", "管网改造", "自来水", "突然", "通知"}


def test_hotspots_page_while_the_token_index_is_pending(app_db, tmp_path, monkeypatch):
    """Orders published without their token index yet: the words are the same, tokenised on read, and the
    sidebar says how many orders are waiting."""
    from streamlit.testing.v1 import AppTest

    _, orders = app_db
    pending = write_orders(tmp_path / "pending.duckdb", orders_frame(orders.drop("tokens").to_dicts()))
    monkeypatch.setenv("HOTLINE_DB", str(pending))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page("pages/hotspots.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"{orders.height:,} 条工单的分词索引" in i.value for i in at.sidebar.info)
    assert at.selectbox[-1].value in {"停水", "管网改造", "自来水", "突然", "通知"}
    word = at.selectbox[-1].value
    shown = [c.value for c in at.caption if c.value.startswith(f"包含“{word}”")]
    expected = orders.filter(pl.col("content").str.contains(word) & (pl.col("received_at") >= datetime(2026, 5, 1))
                             & (pl.col("received_at") < datetime(2026, 6, 1))).height
    assert shown == [f"包含“{word}”的最近 {min(expected, 50)} 件工单"]
