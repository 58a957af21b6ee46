"""A running dashboard reads each newly published file and closes what it held on versions two publishes old."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import db as adb
from analytics.filters import Filters, Scope
from etl.store import writing
from tests.dbfactory import orders_frame, write_orders
from ui import auth, data

DASHBOARD = str(Path(__file__).resolve().parents[1] / "dashboard.py")


def _database(path: Path) -> Path:
    return write_orders(path, orders_frame([{"order_id": "A0", "received_at": "2026-10-05 08:00:00", "district": "朝阳区"}]))


def _publish(path: Path, n: int) -> None:
    """A write adding order A<n>, published by rename like every write."""
    with writing(path) as con:
        con.execute("INSERT INTO work_orders (order_id, received_at, district) VALUES (?, TIMESTAMP '2026-10-06 08:00', '朝阳区')",
                    [f"A{n}"])


def _replaced_files_held(path: Path) -> int:
    """Files this process holds open that were once `path` and have been replaced since."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == f"{path} (deleted)":
            held.add(os.fstat(int(fd)).st_ino)
    return len(held)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files through /proc")
def test_each_publish_is_read_and_versions_two_publishes_old_are_let_go(tmp_path, monkeypatch):
    path = _database(tmp_path / "hotline.duckdb")
    monkeypatch.setenv("HOTLINE_DB", str(path))
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    for n in range(1, 5):
        _publish(path, n)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(f"已载入 {n + 1} 条工单" in c.value for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
        # the version before this publish stays open for reads begun on it; the ones before that are closed
        assert _replaced_files_held(path) <= 1


def test_a_download_drawn_before_two_publishes_fetches_the_file_as_published_now(tmp_path, monkeypatch):
    path = _database(tmp_path / "hotline.duckdb")
    monkeypatch.setenv("HOTLINE_DB", str(path))
    monkeypatch.setattr(auth, "scope", lambda: Scope())
    fetch = data.fetcher(adb.data_extent, Filters())
    assert fetch()["orders"] == 1
    for n in (1, 2):
        _publish(path, n)
        data.connection()   # a rerun after the publish: the first version's connection is closed after the second
    assert fetch()["orders"] == 3
