"""月度通报 action items name the hot issues that have enough callers, and only those."""
from __future__ import annotations

from datetime import datetime

import polars as pl

from analytics.report import action_items


def test_hot_issue_actions_respect_the_caller_threshold():
    issues = pl.DataFrame({
        "label": ["望京西园三区 · 暖气不热", "某小区 · 路灯"], "size": [83, 3], "callers": [68, 3],
        "first_at": [datetime(2025, 11, 3), datetime(2025, 11, 5)],
        "last_at": [datetime(2025, 11, 26), datetime(2025, 11, 9)],
    })
    empty = pl.DataFrame(schema={"rank": pl.UInt32, "unit": pl.String, "composite": pl.Float64, "orders": pl.UInt32})
    cats = pl.DataFrame(schema={"category_l1": pl.String, "orders": pl.Int64, "previous": pl.Int64, "change": pl.Int64})
    surges = pl.DataFrame(schema={"area": pl.String, "category": pl.String, "count": pl.Int64, "expected": pl.Float64,
                                  "lift": pl.Float64})
    items = action_items([], empty, cats, surges, "区", issues, alert_callers=5)
    assert items == ["热点问题“望京西园三区 · 暖气不热”：68 位来电人反映 83 件（11月03日至11月26日），建议到现场一次性解决。"]
    assert action_items([], empty, cats, surges, "区", issues, alert_callers=100) == ["本月各项指标未见明显异常。"]
