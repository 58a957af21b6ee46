"""热点问题 of big months, clustered once after a load (analytics.hot_months): `python -m etl hot-issues`.

A load publishes its orders, then the token index; this step then takes each month with at least
[hot_issues] precompute_orders orders whose index is complete and whose stored result is missing or stale
(its orders changed, or the hot-issue settings). The clustering runs in a process of its own
(`python -m analytics.hot_months compute`: etl does not import analytics, and a month's memory is given back
when it ends) reading the published file, no lock held; its tables are then published in a short write,
unless a load changed the month meanwhile. Until then pages compute such a month on request.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from core import hotstore
from core.settings import hot_settings
from core.store import ROOT
from etl import store

Progress = Callable[[str, float], None]


@dataclass
class HotResult:
    months: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def pending(db: str | os.PathLike | None = None) -> list[date]:
    """The months `fill` would compute now (settings.toml in force)."""
    path = store.db_path(db)
    if not path.exists():
        return []
    con = store.connect_read(path)
    try:
        return hotstore.pending(con, *hot_settings())
    finally:
        con.close()


def _compute(path: Path, month: date, out: Path) -> dict:
    run = subprocess.run([sys.executable, "-m", "analytics.hot_months", "compute", "--db", str(path),
                          "--month", month.isoformat(), "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"{month:%Y-%m}: {(run.stderr or run.stdout).strip()[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def fill(db: str | os.PathLike | None = None, progress: Progress | None = None,
         months: list[date] | None = None) -> HotResult:
    """Cluster and store every pending month of `db` (or those of `months` that are pending), one at a time."""
    progress = progress or (lambda stage, fraction: None)
    path = store.db_path(db)
    started = time.perf_counter()
    result = HotResult()
    todo = [m for m in pending(path) if months is None or m in months]
    for k, month in enumerate(todo):
        progress("hot", k / len(todo))
        # The tables pass through private scratch files named after this process (store.sweep_scratch).
        out = store.scratch_file(tag="hot")
        try:
            made = _compute(path, month, out)
            with store.writing(path) as con:
                if _publish(con, month, made, out):
                    result.months.append(f"{month:%Y-%m}")
        finally:
            for f in (out, *(_part(out, t) for t in hotstore.TABLES)):
                f.unlink(missing_ok=True)
    progress("hot", 1.0)
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def _part(out: Path, table: str) -> Path:
    return out.with_name(f"{out.name}.{table}.parquet")


def _publish(con: duckdb.DuckDBPyConnection, month: date, made: dict, out: Path) -> bool:
    """Replace the month's stored tables by those in `out` (inside the writer's transaction), unless the
    month's orders changed since they were read (the next run redoes it)."""
    now = hotstore.month_states(con).filter(month=month)
    if not now.height or str(now["fingerprint"][0]) != made["fingerprint"] or now["orders"][0] != made["orders"]:
        return False
    con.execute(f"CREATE TABLE IF NOT EXISTS {hotstore.STATE} (month DATE NOT NULL, settings_key VARCHAR NOT NULL, "
                "orders BIGINT, fingerprint HUGEINT, computed_at TIMESTAMP, seconds DOUBLE)")
    for table in hotstore.TABLES:
        con.register("_hot", pq.read_table(_part(out, table)))
        old = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                                         "AND database_name = current_database()", [table]).fetchall()}
        if old != set(con.table("_hot").columns):   # stored by an older version: the columns changed, and so
            con.execute(f"DROP TABLE IF EXISTS {table}")     # every stored month is stale
            con.execute(f"DELETE FROM {hotstore.STATE}")
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM _hot LIMIT 0")
        con.execute(f"DELETE FROM {table} WHERE month = ?", [month])
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _hot")
        con.unregister("_hot")
    con.execute(f"DELETE FROM {hotstore.STATE} WHERE month = ?", [month])
    con.execute(f"INSERT INTO {hotstore.STATE} VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?)",
                [month, made["settings_key"], made["orders"], int(made["fingerprint"]), made["seconds"]])
    return True


def start(db: str | os.PathLike | None = None) -> bool:
    """Run `fill` for `db` in a process of its own when a month is pending (the import page: a big month
    takes minutes, and pages compute it on request meanwhile); whether one was started."""
    path = store.db_path(db)
    if not pending(path):
        return False
    subprocess.Popen([sys.executable, "-m", "etl", "hot-issues", "--db", str(path), "--json"], cwd=ROOT,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return True
