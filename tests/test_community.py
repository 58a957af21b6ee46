"""社区画像: top issues, recurring addresses, rates against the district, and the page showing them."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics import community as cm
from analytics.rates import rate_table
from analytics.settings import load_settings
from core.segment import segment
from tests.dbfactory import orders_frame, write_orders

ROOT = Path(__file__).resolve().parents[1]


def planted() -> pl.DataFrame:
    """望京街道: a heating estate calling back again and again with poor outcomes; 酒仙桥街道 does fine."""
    rows = []
    for k in range(12):
        rows.append({"street": "望京街道", "community": "望京西园社区", "address": "望京西园三区212号楼",
                     "category_l1": "公共服务", "category_l2": "供暖", "content": "望京西园三区暖气不热，室温只有16度",
                     "caller_key": f"w{k % 6}", "resolution": "未解决" if k % 2 else "部分解决", "satisfaction": "不满意"})
    for k in range(8):
        rows.append({"street": "望京街道", "community": "花家地社区", "address": f"花家地北里{k}号楼",
                     "category_l1": "住房", "category_l2": "物业管理", "content": "物业服务态度差，楼道堆物",
                     "caller_key": f"h{k}", "resolution": "解决", "satisfaction": "满意"})
    for k in range(20):
        rows.append({"street": "酒仙桥街道", "community": "大山子社区", "address": f"酒仙桥路{k}号",
                     "category_l1": "住房", "category_l2": "物业管理", "content": "小区路灯不亮",
                     "caller_key": f"j{k}", "resolution": "解决", "satisfaction": "满意"})
    out = []
    for i, r in enumerate(rows):
        t = datetime(2026, 9 + i % 2, 1 + i % 27, 10)
        out.append({**r, "order_id": f"C{i:03d}", "district": "朝阳区", "received_at": t, "dispatched_at": t,
                    "responded_at": t + timedelta(hours=3), "closed_at": t + timedelta(days=2), "status": "已办结"})
    f = pl.DataFrame(out)
    return f.with_columns(tokens=pl.Series(segment(f["content"].to_list(), extra_words=["望京西园三区"]), dtype=pl.List(pl.String)))


def test_profile_pieces():
    settings = load_settings()
    orders = orders_frame(planted().to_dicts())
    wangjing = orders.filter(pl.col("street") == "望京街道")
    issues = cm.top_issues(wangjing, settings)
    assert issues.row(0, named=True)["issue"] == "公共服务 · 供暖" and issues["orders"][0] == 12
    assert issues["resolution_rate"][0] == pytest.approx(0.25)  # 6 partial × 0.5 / 12
    recurring = cm.recurring_addresses(wangjing)
    assert recurring.height == 1
    row = recurring.row(0, named=True)
    assert (row["address"], row["orders"], row["callers"], row["unsolved"]) == ("望京西园三区212号楼", 12, 6, 12)
    rates = {r["metric"]: r for r in cm.rates_vs(wangjing, orders, settings, "望京街道", "朝阳区").to_dicts()}
    assert rates["解决率"]["local"] == pytest.approx((8 + 3) / 20)
    assert rates["解决率"]["reference"] == pytest.approx((28 + 3) / 40)
    assert "低于朝阳区平均" in rates["解决率"]["reading"]
    words = cm.distinctive_words(wangjing, orders)
    top = {r["word"]: r for r in words.head(4).to_dicts()}
    assert {"望京西园三区", "暖气不热"} <= set(top) and top["望京西园三区"]["count"] == 12 and top["暖气不热"]["lift"] > 1


def test_community_page_shows_the_rates(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    orders = orders_frame(planted().to_dicts())
    path = write_orders(tmp_path / "c.duckdb", orders)
    monkeypatch.setenv("HOTLINE_DB", str(path))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.switch_page("pages/community.py").run()
    assert not at.exception, [e.value for e in at.exception]
    # Default period is the latest month (October); 望京街道 has most orders and comes first.
    october = orders.filter(pl.col("received_at").dt.month() == 10)
    expected = rate_table(october.filter(pl.col("street") == "望京街道"), [], load_settings()).to_dicts()[0]
    shown = {m.label: m.value for m in at.metric}
    assert shown["解决率"] == f"{expected['resolution_rate'] * 100:.1f}%"
    assert any("望京西园三区212号楼" in str(t.value.values) for t in at.table)
