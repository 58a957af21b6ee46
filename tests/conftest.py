"""Shared test helpers: fixture paths, a fresh database path, a fixed caller key, no users."""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch, tmp_path):
    """A fixed caller key, and a config folder (no users: single-user mode) and scratch folder of its own
    for every test."""
    monkeypatch.setenv("WHISTLE_CALLER_KEY", "test-key")
    monkeypatch.setenv("WHISTLE_CONFIG_DIR", str(tmp_path / "whistle-config"))
    monkeypatch.setenv("WHISTLE_SCRATCH", str(tmp_path / "whistle-scratch"))


@pytest.fixture
def etl_fx() -> Path:
    return FIXTURES / "etl"


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "hotline.duckdb"


def older_copy(path: Path, to: Path, *statements: str) -> Path:
    """A copy of the database at `path`, written to `to`, as an older version left it: `statements` (DROP TABLE,
    ALTER TABLE … DROP COLUMN) take away what that version did not have."""
    shutil.copy(path, to)
    raw = duckdb.connect(str(to))
    try:
        for statement in statements:
            raw.execute(statement)
    finally:
        raw.close()
    return to


def table_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        con.close()


def varchar_hits(path: Path, needle: str) -> list[str]:
    """Every table.column (VARCHAR or VARCHAR[]) of the database whose values contain `needle`."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = con.sql("SELECT table_name, column_name, data_type FROM duckdb_columns() "
                       "WHERE NOT internal AND schema_name = 'main' AND data_type IN ('VARCHAR', 'VARCHAR[]')").fetchall()
        hits = []
        for table, col, dtype in cols:
            expr = f"array_to_string({col}, ' ')" if dtype.endswith("[]") else col
            if con.execute(f"SELECT count(*) FROM {table} WHERE contains({expr}, ?)", [needle]).fetchone()[0]:
                hits.append(f"{table}.{col}")
        return hits
    finally:
        con.close()
