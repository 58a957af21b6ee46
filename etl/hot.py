"""热点问题 of big months, clustered once after a load (analytics.hot_months): `python -m etl hot-issues`.

A load publishes its orders, then the token index; this step then takes each month with at least
settings.hot_issues.precompute_orders orders whose index is complete and whose stored result is missing or
stale (its orders changed, or the hot-issue settings), clusters it from the published file (no lock held:
a month takes minutes) and publishes the result in a short write, unless the month changed meanwhile.
Until then pages compute such a month on request, as for any other period.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import polars as pl

from analytics import hot_months
from analytics.db import orders as fetch_orders
from analytics.filters import Filters, add_months
from analytics.settings import Settings, load_settings
from etl import store
from core.store import ROOT

Progress = Callable[[str, float], None]


@dataclass
class HotResult:
    months: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def pending(db: str | os.PathLike | None = None, settings: Settings | None = None) -> list[date]:
    """The months `fill` would compute now."""
    path = store.db_path(db)
    if not path.exists():
        return []
    con = store.connect_read(path)
    try:
        return hot_months.pending(con, settings or load_settings())
    finally:
        con.close()


def fill(db: str | os.PathLike | None = None, progress: Progress | None = None,
         settings: Settings | None = None, months: list[date] | None = None) -> HotResult:
    """Cluster and store every pending month of `db` (or those of `months` that are pending), one at a time
    (memory: one month's orders)."""
    progress = progress or (lambda stage, fraction: None)
    settings = settings or load_settings()
    path = store.db_path(db)
    started = time.perf_counter()
    result = HotResult()
    todo = [m for m in pending(path, settings) if months is None or m in months]
    for k, month in enumerate(todo):
        progress("hot", k / len(todo))
        t = time.perf_counter()
        con = store.connect_read(path)
        try:
            state = hot_months.month_states(con).filter(pl.col("month") == month).row(0, named=True)
            first = datetime.combine(month, datetime.min.time())
            last = datetime.combine(add_months(month, 1), datetime.min.time())
            orders = fetch_orders(con, Filters(month, add_months(month, 1) - timedelta(days=1)), hot_months.INPUT_COLUMNS)
        finally:
            con.close()
        tables = hot_months.compute(orders, settings, first, last)
        del orders
        with store.writing(path) as con:
            now = hot_months.month_states(con).filter(pl.col("month") == month)
            # A load that changed the month meanwhile makes this result stale: the next run redoes it.
            if now.height and now["fingerprint"][0] == state["fingerprint"] and now["orders"][0] == state["orders"]:
                hot_months.store(con, month, hot_months.settings_key(settings), state["orders"], state["fingerprint"],
                                 tables, round(time.perf_counter() - t, 1))
                result.months.append(month.isoformat()[:7])
    progress("hot", 1.0)
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def start(db: str | os.PathLike | None = None) -> bool:
    """Run `fill` for `db` in a process of its own when a month is pending (the import page: a big month
    takes minutes, and pages compute it on request meanwhile); whether one was started."""
    path = store.db_path(db)
    if not pending(path):
        return False
    subprocess.Popen([sys.executable, "-m", "etl", "hot-issues", "--db", str(path), "--json"], cwd=ROOT,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return True
