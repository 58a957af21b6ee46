"""The token index: built after the orders are published, filled in on read while pending, older layouts upgraded."""
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from analytics.db import orders
from analytics.filters import Filters
from core.segment import segment
from etl import tokens
from etl.load import load_file
from core.schema import WORK_ORDER_COLUMNS, needs_upgrade
from etl.store import connect_read, writing


def read_orders(db, columns=("order_id", "content", "tokens")) -> pl.DataFrame:
    con = connect_read(db)
    try:
        return orders(con, Filters(), columns).sort("order_id")
    finally:
        con.close()


def old_layout(db: Path, values: str) -> Path:
    """A database as written before the token index had its own table: tokens in work_orders, a key index."""
    con = duckdb.connect(str(db))
    try:
        old = {**WORK_ORDER_COLUMNS, "order_id": ("VARCHAR PRIMARY KEY", ""), "tokens": ("VARCHAR[]", "")}
        con.execute(f"CREATE TABLE work_orders ({', '.join(f'{c} {d}' for c, (d, _) in old.items())})")
        con.execute(f"INSERT INTO work_orders {values}")
        assert needs_upgrade(con)
    finally:
        con.close()
    return db


def test_pending_orders_get_their_tokens_on_read(etl_fx, db):
    load_file(etl_fx / "orders_gbk.csv", db)
    pending = read_orders(db)
    assert pending.height == 6 and pending.columns == ["order_id", "content", "tokens"]
    assert pending["tokens"].to_list() == segment(pending["content"].to_list())
    assert tokens.fill(db).rows_tokenized == 6
    indexed = read_orders(db)
    assert indexed["tokens"].to_list() == pending["tokens"].to_list()
    # A month filter still applies through the join.
    assert read_orders(db, ("order_id", "tokens")).height == 6
    con = connect_read(db)
    try:
        assert tokens.pending_count(con) == 0
        assert orders(con, Filters(date_from=datetime(2024, 2, 1).date()), ("order_id", "tokens")).height == 0
    finally:
        con.close()


def test_a_database_written_before_the_token_index_is_upgraded(tmp_path):
    db = old_layout(tmp_path / "old.duckdb", "(order_id, received_at, content, tokens) VALUES "
                    "('A1', '2024-01-05 08:00', '暖气不热', ['暖气', '不热']), ('A2', '2024-01-06 08:00', '占道停车', NULL)")
    with writing(db):
        pass
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert not needs_upgrade(con)
        assert con.execute("SELECT order_id, tokens FROM order_tokens").fetchall() == [("A1", ["暖气", "不热"])]
        assert con.execute("SELECT count(*) FROM work_orders").fetchall() == [(2,)]
    finally:
        con.close()
    assert tokens.fill(db).rows_tokenized == 1
    assert read_orders(db)["tokens"].to_list() == [["暖气", "不热"], ["占", "道", "停车"]]  # jieba's own cut


def test_dashboard_upgrades_an_older_database_on_start(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db = old_layout(tmp_path / "old.duckdb", "(order_id, received_at, district, content, tokens) VALUES "
                    "('A1', '2026-10-05 08:00', '朝阳区', '暖气不热', ['暖气', '不热'])")
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.label == "工单量" and m.value == "1" for m in at.metric)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert not needs_upgrade(con)
        assert con.execute("SELECT tokens FROM order_tokens").fetchall() == [(["暖气", "不热"],)]
    finally:
        con.close()


def test_fill_upgrades_an_older_database_first(tmp_path):
    db = old_layout(tmp_path / "old.duckdb", "(order_id, received_at, content, tokens) VALUES "
                    "('A1', '2024-01-05 08:00', '暖气不热', ['暖气', '不热']), ('A2', '2024-01-06 08:00', '占道停车', NULL)")
    assert tokens.fill(db).rows_tokenized == 1
    assert [t for (t,) in duckdb.connect(str(db), read_only=True).execute(
        "SELECT tokens FROM order_tokens ORDER BY order_id").fetchall()] == [["暖气", "不热"], ["占", "道", "停车"]]
