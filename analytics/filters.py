"""The shared filters (period, district, street, category) and the one place they become SQL."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Scope:
    """The area a user may see: the whole city, one district, or one street of a district."""
    district: str | None = None
    street: str | None = None

    @property
    def is_city(self) -> bool:
        return not self.district

    def where(self, prefix: str = "") -> tuple[list[str], list[Any]]:
        """SQL clauses over a table with district/street columns, and their parameters."""
        clauses, params = [], []
        if self.district:
            clauses.append(f"{prefix}district = ?")
            params.append(self.district)
            if self.street:
                clauses.append(f"{prefix}street = ?")
                params.append(self.street)
        return clauses, params

    def describe(self) -> str:
        return " ".join(p for p in (self.district, self.street if self.district else None) if p) or "全市"


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None          # inclusive: the whole of this day
    districts: tuple[str, ...] = field(default_factory=tuple)
    streets: tuple[str, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)   # category_l1
    depts: tuple[str, ...] = field(default_factory=tuple)        # 承办单位, for drill-downs
    scope: Scope = field(default_factory=Scope)                  # the user's area; set by ui.data.scoped

    def where(self, time_column: str = "received_at", prefix: str = "") -> tuple[str, list[Any]]:
        """A SQL predicate over work_orders (columns optionally prefixed, e.g. "w.") and its bound parameters."""
        clauses, params = ["TRUE"], []
        if self.date_from:
            clauses.append(f"{prefix}{time_column} >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append(f"{prefix}{time_column} < ?")
            params.append(self.date_to + timedelta(days=1))
        for column, values in (("district", self.districts), ("street", self.streets), ("category_l1", self.categories),
                               ("dept", self.depts)):
            if values:
                clauses.append(f"list_contains(?, {prefix}{column})")
                params.append(list(values))
        scope_clauses, scope_params = self.scope.where(prefix)
        return " AND ".join(clauses + scope_clauses), params + scope_params

    def previous(self) -> "Filters | None":
        """The same filters over the period of equal length just before this one (for 环比)."""
        if not (self.date_from and self.date_to):
            return None
        days = (self.date_to - self.date_from).days + 1
        if self.date_from.day == 1 and (self.date_to + timedelta(days=1)).day == 1:
            months = (self.date_to.year - self.date_from.year) * 12 + self.date_to.month - self.date_from.month + 1
            start = add_months(self.date_from, -months)
            return replace(self, date_from=start, date_to=self.date_from - timedelta(days=1))
        return replace(self, date_from=self.date_from - timedelta(days=days), date_to=self.date_from - timedelta(days=1))

    def reaching_back(self, months: int) -> "Filters":
        """The same filters starting `months` whole months before this period's first month, for analytics
        that need history before it (expected counts, rank changes); unchanged when there is no start."""
        if not self.date_from:
            return self
        return replace(self, date_from=add_months(self.date_from.replace(day=1), -months))

    def describe(self) -> str:
        """The filters in words, for headers of exports and captions."""
        parts = []
        if self.date_from or self.date_to:
            parts.append(f"时间 {self.date_from or '…'} 至 {self.date_to or '…'}")
        for name, values in (("区", self.districts), ("街乡", self.streets), ("分类", self.categories), ("部门", self.depts)):
            if values:
                parts.append(f"{name}：{'、'.join(values)}")
        if not self.scope.is_city:
            parts.append(f"权限范围：{self.scope.describe()}")
        return "；".join(parts) or "全部数据"


def add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of the month containing `month`."""
    first = month.replace(day=1)
    return first, add_months(first, 1) - timedelta(days=1)


def from_args(args: Any) -> Filters:
    """Filters from the CLI's --from/--to (argparse namespace)."""
    return Filters(date_from=getattr(args, "date_from", None), date_to=getattr(args, "date_to", None))
