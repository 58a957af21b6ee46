"""The store publishes a write atomically, and readers see each published version."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_a_killed_load_leaves_the_database_as_it_was_and_its_leftovers_are_cleared(tmp_path):
    root = Path(__file__).resolve().parents[1]
    db = tmp_path / "hotline.duckdb"
    with writing(db) as con:
        _insert(con, "A")
    before = db.read_bytes()
    export = tmp_path / "big.csv"
    with open(export, "w", encoding="utf-8") as f:
        f.write("工单编号,受理时间,诉求内容\n")
        for i in range(300_000):
            f.write(f"K{i},2026-10-01 09:00:00,来电人反映望京西园三区{i % 97}号楼暖气不热，室温只有十六度\n")
    proc = subprocess.Popen([sys.executable, "-m", "etl", "load", str(export), "--db", str(db), "--json"],
                            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while not list(tmp_path.glob(".hotline.duckdb.*.tmp")) and time.time() < deadline:
        time.sleep(0.05)
    assert list(tmp_path.glob(".hotline.duckdb.*.tmp")), "the load never started writing its private copy"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert db.read_bytes() == before and _count(db) == 1
    with writing(db) as con:
        _insert(con, "B")
    assert _count(db) == 2
    assert not list(tmp_path.glob(".hotline.duckdb.*.tmp*"))
