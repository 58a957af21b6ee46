"""The counts behind the 三率 (METRICS.md) as DuckDB aggregates over work_orders, so rates are counted where
the data is. They mirror analytics.rates.order_flags order by order (tests compare the two)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

# The counts every rate is a ratio of, in the order the aggregates below give them.
COUNT_COLUMNS = (
    "orders", "dispatched", "dispatch_marked", "response_known", "responded_in_time", "resolution_rated", "resolved",
    "partially_resolved", "satisfaction_rated", "satisfied", "basically_satisfied", "closed", "closed_on_time",
)


class RateSettings(Protocol):
    response_window_hours: float
    default_deadline_days: float
    exclude_invalid: bool
    response_window_hours_by_category: Mapping[str, float]
    deadline_days_by_category: Mapping[str, float]


def _per_category(mapping: Mapping[str, float], default: float) -> tuple[str, list[Any]]:
    if not mapping:
        return "?", [float(default)]
    params: list[Any] = [x for k, v in mapping.items() for x in (k, float(v))]
    return "CASE category_l1" + " WHEN ? THEN ?" * len(mapping) + " ELSE ? END", [*params, float(default)]


def aggregates(rates: RateSettings) -> tuple[str, list[Any]]:
    """The select list (`count(*) AS orders, ...`, one per COUNT_COLUMNS) and its parameters.
    Differences are taken in microseconds: an integer compared with the window is exact."""
    window, wp = _per_category(rates.response_window_hours_by_category, rates.response_window_hours)
    deadline, dp = _per_category(rates.deadline_days_by_category, rates.default_deadline_days)
    items = [
        "count(*) AS orders",
        # 响应率's denominator: orders passed to a unit (a dispatch time, a unit or a response); a group where
        # no order records a dispatch time or a unit cannot tell, and counts all (see analytics.rates).
        "count(*) FILTER (WHERE dispatched_at IS NOT NULL OR dept IS NOT NULL OR responded_at IS NOT NULL) AS dispatched",
        "count(*) FILTER (WHERE dispatched_at IS NOT NULL OR dept IS NOT NULL) AS dispatch_marked",
        "count(responded_at) AS response_known",
        "count(*) FILTER (WHERE epoch_us(responded_at) - epoch_us(coalesce(dispatched_at, received_at))"
        f" <= {window} * 3600000000.0) AS responded_in_time",
        "count(resolution) AS resolution_rated",
        "count(*) FILTER (WHERE resolution = '解决') AS resolved",
        "count(*) FILTER (WHERE resolution = '部分解决') AS partially_resolved",
        "count(satisfaction) AS satisfaction_rated",
        "count(*) FILTER (WHERE satisfaction = '满意') AS satisfied",
        "count(*) FILTER (WHERE satisfaction = '基本满意') AS basically_satisfied",
        "count(closed_at) AS closed",
        "count(*) FILTER (WHERE CASE WHEN due_at IS NOT NULL THEN closed_at <= due_at"
        f" ELSE epoch_us(closed_at) - epoch_us(received_at) <= {deadline} * 86400000000.0 END) AS closed_on_time",
    ]
    return ", ".join(items), [*wp, *dp]


def valid_only(rates: RateSettings) -> str:
    """The predicate that leaves invalid orders out when the settings say so."""
    return "NOT coalesce(is_invalid, false)" if rates.exclude_invalid else "TRUE"
