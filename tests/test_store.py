"""The store publishes a write atomically, and readers see each published version."""
from __future__ import annotations

import pytest

from etl.store import connect_read, db_version, writing


def _count(path) -> int:
    con = connect_read(path)
    try:
        return con.execute("SELECT count(*) FROM work_orders").fetchall()[0][0]
    finally:
        con.close()


def _insert(con, order_id: str) -> None:
    con.execute("INSERT INTO work_orders (order_id, received_at) VALUES (?, TIMESTAMP '2026-10-01 09:00')", [order_id])


def test_reader_opened_before_a_load_keeps_its_version_and_a_new_one_sees_the_load(tmp_path):
    db = tmp_path / "hotline.duckdb"
    with writing(db) as con:
        _insert(con, "A")
    before = db_version(db)
    old = connect_read(db)
    with writing(db) as con:
        _insert(con, "B")
    assert db_version(db) != before
    assert old.execute("SELECT count(*) FROM work_orders").fetchall()[0][0] == 1
    assert _count(db) == 2
    old.close()


def test_failed_write_leaves_the_database_as_it_was(tmp_path):
    db = tmp_path / "hotline.duckdb"
    with writing(db) as con:
        _insert(con, "A")
    before = db.read_bytes()
    with pytest.raises(RuntimeError), writing(db) as con:
        _insert(con, "B")
        raise RuntimeError("interrupted")
    assert db.read_bytes() == before
    assert _count(db) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hotline.duckdb", "hotline.duckdb.lock"]
