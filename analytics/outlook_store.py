"""预警与预测 of the whole city, computed once after each load instead of at the page's first view.

Its backtest is most of the page's time and grows with the months of history (12 origins × every unit ×
category), so the after-load step (`python -m etl outlook`, run by every work-order load) computes the city's
outlook at each level and its total series, and keeps them beside the database file
(data/hotline.duckdb → data/hotline.duckdb.outlook.zip: Arrow IPC frames, numpy arrays, a JSON index).

They are read only while they are exactly what the page would compute now: the key holds the per-month states
of the summaries the forecasts read (core.summary monthly_detail, daily_counts), the [forecast] settings and
the code that computes them. Any other scope (an area, a category, an earlier period end, a user's own
area), a changed key, or a missing or damaged file is computed on request as before.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from analytics import forecast as F
from analytics.db import query
from analytics.filters import Filters, Scope
from analytics.settings import Settings, load_settings
from core import summary

LEVELS = ("street", "district", "dept")
INDEX = "index.json"


def store_path(db: str | os.PathLike) -> Path:
    db = Path(db)
    return db.with_name(db.name + ".outlook.zip")


@cache
def _code_key() -> str:
    """The code whose results are stored: a changed model makes stored results stale."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in ("forecast.py", "outlook_store.py", "db.py", "filters.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def data_key(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    """What the stored outlook depends on, as one hash; None for a file without the summaries."""
    try:
        states = query(con, f"SELECT 'detail' AS t, month, orders, fingerprint::VARCHAR AS fp FROM {summary.DETAIL_STATE} "
                            f"UNION ALL SELECT 'daily', month, orders, fingerprint::VARCHAR FROM {summary.DAILY_STATE} "
                            "ORDER BY ALL")
    except duckdb.CatalogException:
        return None
    text = json.dumps([states.rows(), dataclasses.asdict(settings.forecast), _code_key()], default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _database_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The file behind `con`: core.store.connect_read attaches it as `hotline`, else the connection's own."""
    rows = query(con, "SELECT database_name = 'hotline' AS attached, path FROM duckdb_databases() "
                      "WHERE database_name = 'hotline' OR database_name = current_database() ORDER BY attached DESC")
    return rows["path"][0] if rows.height else None


def _whole_city(filters: Filters | None, horizon: int | None, settings: Settings) -> bool:
    f = F.scope(filters)
    return (horizon in (None, settings.forecast.horizon) and f.scope == Scope()
            and not (f.districts or f.streets or f.categories or f.depts))


def _frame(z: zipfile.ZipFile, name: str) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(z.read(f"{name}.arrow")))


def _array(z: zipfile.ZipFile, name: str) -> np.ndarray:
    return np.load(io.BytesIO(z.read(f"{name}.npy")), allow_pickle=False)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _open(con: duckdb.DuckDBPyConnection, filters: Filters | None, settings: Settings,
          horizon: int | None) -> tuple[zipfile.ZipFile, dict] | None:
    """The store and its index when it answers `filters` now (the caller closes it)."""
    if not _whole_city(filters, horizon, settings):
        return None
    db = _database_path(con)
    path = store_path(db) if db else None
    if path is None or not path.exists():
        return None
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return None
    try:
        index = json.loads(z.read(INDEX))
        end = _day(index["end"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        z.close()
        return None
    # A period ending before the last day with data forecasts from less history than was stored.
    fits = filters is None or filters.date_to is None or (end is not None and filters.date_to >= end - timedelta(days=1))
    if not fits or index.get("key") != data_key(con, settings):
        z.close()
        return None
    return z, index


def _forecasts(z: zipfile.ZipFile, prefix: str, meta: dict) -> F.Forecasts:
    history = F.History(_frame(z, f"{prefix}/cells"), [date.fromisoformat(m) for m in meta["months"]],
                        _array(z, f"{prefix}/y"), _day(meta["partial"]))
    season = _array(z, f"{prefix}/season") if meta["season"] else None
    return F.Forecasts(meta["level"], history, _frame(z, f"{prefix}/table"), _frame(z, f"{prefix}/record"),
                       _frame(z, f"{prefix}/backtest"), meta["possible"], meta["reason"], season)


def stored_outlook(con: duckdb.DuckDBPyConnection, filters: Filters | None, settings: Settings, level: str,
                   horizon: int | None = None) -> F.Outlook | None:
    """The stored outlook at `level` when it is what read_outlook would compute now, else None."""
    opened = _open(con, filters, settings, horizon)
    if opened is None:
        return None
    z, index = opened
    with z:
        meta = index["levels"].get(level)
        if meta is None:
            return None
        try:
            return F.Outlook(_forecasts(z, f"{level}/forecasts", meta["forecasts"]),
                             _forecasts(z, f"{level}/types", meta["types"]), meta["type_column"],
                             _frame(z, f"{level}/warnings"), _day(index["end"]), meta["observed_months"])
        except (OSError, KeyError, ValueError, pl.exceptions.PolarsError):
            return None


def stored_series(con: duckdb.DuckDBPyConnection, filters: Filters | None, settings: Settings,
                  horizon: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict] | None:
    """The stored total series (read_series) when it is what it would compute now, else None."""
    opened = _open(con, filters, settings, horizon)
    if opened is None:
        return None
    z, index = opened
    with z:
        try:
            return _frame(z, "series/actual"), _frame(z, "series/coming"), index["series"]
        except (OSError, KeyError, ValueError, pl.exceptions.PolarsError):
            return None


class _Writer:
    def __init__(self, z: zipfile.ZipFile):
        self.z = z

    def frame(self, name: str, df: pl.DataFrame) -> None:
        buf = io.BytesIO()
        df.write_ipc(buf, compression="lz4")
        self.z.writestr(f"{name}.arrow", buf.getvalue())

    def array(self, name: str, a: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        self.z.writestr(f"{name}.npy", buf.getvalue())

    def forecasts(self, prefix: str, fc: F.Forecasts) -> dict:
        h = fc.history
        self.frame(f"{prefix}/cells", h.cells)
        self.array(f"{prefix}/y", h.y)
        for part in ("table", "record", "backtest"):
            self.frame(f"{prefix}/{part}", getattr(fc, part))
        if fc.season is not None:
            self.array(f"{prefix}/season", fc.season)
        return {"level": fc.level, "months": [m.isoformat() for m in h.months],
                "partial": h.partial and h.partial.isoformat(), "possible": fc.possible, "reason": fc.reason,
                "season": fc.season is not None}


def write(db: str | os.PathLike, settings: Settings | None = None) -> dict:
    """Compute the city's outlook at every level and its total series from the published `db`, and replace
    the store beside it in one rename. Returns what was stored."""
    from core.store import connect_read

    settings = settings or load_settings()
    started = time.perf_counter()
    path = store_path(db)
    con = connect_read(db)
    try:
        key = data_key(con, settings)
        if key is None:
            path.unlink(missing_ok=True)
            return {"stored": False, "seconds": 0.0}
        outlooks = {level: F.compute_outlook(con, Filters(), settings, level) for level in LEVELS}
        actual, coming, record = F.compute_series(con, Filters(), settings)
    finally:
        con.close()
    end = next(iter(outlooks.values())).end
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            w = _Writer(z)
            levels = {}
            for level, o in outlooks.items():
                levels[level] = {"forecasts": w.forecasts(f"{level}/forecasts", o.forecasts),
                                 "types": w.forecasts(f"{level}/types", o.types), "type_column": o.type_column,
                                 "observed_months": o.observed_months}
                w.frame(f"{level}/warnings", o.warnings)
            w.frame("series/actual", actual)
            w.frame("series/coming", coming)
            z.writestr(INDEX, json.dumps({"key": key, "end": end and end.isoformat(), "levels": levels,
                                          "series": record}, ensure_ascii=False, default=float))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"stored": True, "seconds": round(time.perf_counter() - started, 2), "bytes": path.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics.outlook_store",
                                     description="预先计算全市的预警与预测（导入后自动进行）")
    parser.add_argument("--db", required=True, help="数据库文件")
    args = parser.parse_args(argv)
    print(json.dumps(write(args.db)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
