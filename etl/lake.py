"""The lake: every table as Parquet, for engines beyond one machine (Spark, Trino, DuckDB elsewhere).

Layout under DIR:
    work_orders/month=YYYY-MM/part-0.parquet   one Hive partition per month of received_at
    <table>/part-0.parquet                     every other table, whole
    _manifest.json                             tables, partitions, rows and fingerprints; written last

Incremental: a partition (or table) is rewritten only when its fingerprint (row count and the sum of the
rows' hashes) differs from the manifest's, so after a monthly load only that month's partition is written.
A table's changed months are written in one pass over it (COPY ... PARTITION_BY into a scratch folder
beside the tables) and each file renamed into place; the manifest, renamed last, is what a reader should
trust when a write was interrupted.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from core.schema import TABLES
from core.store import connect_read

FORMAT = "whistle-lake/1"
MANIFEST = "_manifest.json"
PART = "part-0.parquet"
# Partitioned tables: the rows with their partition key `_k`, the month of the order's received_at.
PARTITIONED = {
    "work_orders": "SELECT t.*, strftime(t.received_at, '%Y-%m') AS _k FROM work_orders t",
    # The index's own month column is the partition's (Hive key `month`), as for work_orders.
    "order_tokens": "SELECT t.* EXCLUDE (month), strftime(t.month, '%Y-%m') AS _k FROM order_tokens t",
}
LABELS = {"work_orders": "工单", "order_tokens": "分词索引", "cases": "吹哨案件", "case_events": "案件事件",
          "dept_ratings": "部门评价", "dept_duties": "权责清单", "areas": "区划", "loads": "导入记录",
          "quarantine": "隔离行"}


def _fingerprints(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict[str, Any]]:
    """{partition key: {rows, fingerprint}}; key "" for an unpartitioned table."""
    source = PARTITIONED.get(table, f'SELECT t.*, \'\' AS _k FROM "{table}" t')
    cur = con.cursor()
    try:
        rows = cur.sql(
            f"SELECT _k, count(*) AS n, coalesce(sum(hash(s)::HUGEINT), 0)::VARCHAR AS fp FROM ({source}) s GROUP BY _k"
        ).fetchall()
    finally:
        cur.close()
    return {k: {"rows": n, "fingerprint": fp} for k, n, fp in rows}


def _write(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    cur = con.cursor()
    try:
        cur.sql(f'SELECT * FROM "{table}"').write_parquet(str(tmp), compression="zstd")
    finally:
        cur.close()
    os.replace(tmp, target)


def _write_partitions(con: duckdb.DuckDBPyConnection, table: str, keys: list[str], lake: Path) -> None:
    """The partitions `keys` of a partitioned table in one pass over it (COPY ... PARTITION_BY into a scratch
    folder), each then renamed into place."""
    scratch = lake / f".writing-{table}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    cur = con.cursor()
    try:
        cur.execute(f"COPY (SELECT * EXCLUDE (_k), _k AS month FROM ({PARTITIONED[table]}) WHERE list_contains(?, _k)) "
                    f"TO '{_sql_text(scratch)}' (FORMAT parquet, PARTITION_BY (month), COMPRESSION zstd)", [keys])
        for key in keys:
            files = sorted((scratch / f"month={key}").glob("*.parquet"))
            if len(files) != 1:
                raise RuntimeError(f"{table} month={key}: expected one file, got {len(files)}")
            target = lake / table / f"month={key}" / PART
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(files[0], target)
    finally:
        cur.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _sql_text(path: Path) -> str:
    """A path as a SQL string literal's content (COPY ... TO takes no parameter)."""
    return str(path).replace("'", "''")


def read_manifest(lake: Path) -> dict[str, Any]:
    path = Path(lake) / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "tables": {}}
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path} 不是本程序写出的数据湖清单（format={manifest.get('format')!r}）。请换一个空目录。")
    return manifest


def export(db: Path, lake: Path, progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Bring the lake at `lake` up to date with the database `db`; returns what was written and kept."""
    lake = Path(lake)
    lake.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(lake)
    old_tables = manifest.get("tables", {})
    tables: dict[str, Any] = {}
    written, kept, removed = 0, 0, 0
    con = connect_read(db)
    try:
        present = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        names = [t for t in TABLES if t in present]
        for i, table in enumerate(names):
            if progress:
                progress(f"写出{LABELS.get(table, table)}", i / max(len(names), 1))
            parts = _fingerprints(con, table)
            before = old_tables.get(table, {}).get("partitions", {})
            entry: dict[str, Any] = {"partitioned_by": "month" if table in PARTITIONED else None,
                                     "rows": sum(p["rows"] for p in parts.values()), "partitions": {}}
            changed = []
            for key, fp in sorted(parts.items()):
                rel = f"{table}/month={key}/{PART}" if table in PARTITIONED else f"{table}/{PART}"
                same = before.get(key, {})
                if (same.get("fingerprint") == fp["fingerprint"] and same.get("rows") == fp["rows"]
                        and (lake / rel).exists()):
                    kept += 1
                else:
                    changed.append(key)
                entry["partitions"][key] = {**fp, "file": rel}
            if changed and table in PARTITIONED:
                _write_partitions(con, table, changed, lake)
            elif changed:
                _write(con, table, lake / f"{table}/{PART}")
            written += len(changed)
            for key, old in before.items():
                if key not in parts:
                    gone = lake / old["file"]
                    gone.unlink(missing_ok=True)
                    if gone.parent != lake / table and not any(gone.parent.iterdir()):
                        gone.parent.rmdir()
                    removed += 1
            if not parts:
                shutil.rmtree(lake / table, ignore_errors=True)
            tables[table] = entry
    finally:
        con.close()
    manifest = {"format": FORMAT, "written_at": datetime.now().isoformat(timespec="seconds"),
                "source": Path(db).name, "tables": tables}
    tmp = lake / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, lake / MANIFEST)
    if progress:
        progress("完成", 1.0)
    return {"lake": str(lake), "written": written, "kept": kept, "removed": removed,
            "rows": {t: e["rows"] for t, e in tables.items()}}


def read(con: duckdb.DuckDBPyConnection, lake: Path, table: str) -> duckdb.DuckDBPyRelation:
    """A table of the lake as a DuckDB relation (partitioned tables get their `month` column back)."""
    entry = read_manifest(lake)["tables"][table]
    files = [str(Path(lake) / p["file"]) for p in entry["partitions"].values()]
    return con.read_parquet(files, hive_partitioning=bool(entry["partitioned_by"]))
