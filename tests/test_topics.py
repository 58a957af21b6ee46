"""topics falls back to a coarser category level, or says in Chinese why it has nothing (issue #11 item 5)."""
import subprocess
import sys
from pathlib import Path

import polars as pl

from analytics.filters import Filters
from analytics.recurring import read_types, recurring_types, topic_candidates, topic_level
from analytics.settings import load_settings
from core.store import connect_read
from dbfactory import sample_orders, write_orders

ROOT = Path(__file__).resolve().parents[1]


def test_level_one_only_ranks_by_level_one():
    orders = sample_orders().with_columns(category_l2=pl.lit(None, pl.String), category_l3=pl.lit(None, pl.String))
    level, note = topic_level(orders, "category_l2")
    assert level == "category_l1" and "一级分类" in note
    table = topic_candidates(orders, load_settings())
    counts = orders.group_by("category_l1").len()
    assert sorted(table["issue_type"].to_list()) == sorted(counts["category_l1"].to_list())
    assert table["category_l1"].to_list() == table["issue_type"].to_list()
    assert dict(zip(table["issue_type"], table["orders"])) == dict(zip(counts["category_l1"], counts["len"]))


def test_no_category_at_all_says_why():
    orders = sample_orders().with_columns([pl.lit(None, pl.String).alias(c) for c in ("category_l1", "category_l2", "category_l3")])
    level, note = topic_level(orders, "category_l2")
    assert level is None and "没有问题分类" in note
    assert topic_candidates(orders, load_settings()).is_empty()


def test_the_preferred_level_is_kept_when_present():
    orders = sample_orders().with_columns(category_l2=pl.col("category_l1") + "·细类")
    assert topic_level(orders, "category_l2") == ("category_l2", "")


def test_cli_prints_the_reason(tmp_path):
    frame = sample_orders().with_columns([pl.lit(None, pl.String).alias(c) for c in ("category_l1", "category_l2", "category_l3")])
    db = write_orders(tmp_path / "t.duckdb", frame)
    out = subprocess.run([sys.executable, "-m", "analytics", "topics", "--db", str(db), "--format", "json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]"
    assert "没有问题分类" in out.stderr and "Traceback" not in out.stderr


def test_level_one_only_counted_in_duckdb_equals_counting_the_orders(tmp_path):
    """A board export with 一级分类 only (泰迪杯 附件2): the page's read, counted in DuckDB, ranks the same types."""
    orders = sample_orders().with_columns(category_l2=pl.lit(None, pl.String), category_l3=pl.lit(None, pl.String))
    db = write_orders(tmp_path / "l1.duckdb", orders)
    con = connect_read(db)
    try:
        types, topics, level, note = read_types(con, Filters(), load_settings(), "street")
    finally:
        con.close()
    assert level == "category_l1" and "一级分类" in note
    want = topic_candidates(orders, load_settings())
    assert topics.drop("score").equals(want.drop("score")) and topics["score"].round(9).equals(want["score"].round(9))
    assert types.height == recurring_types(orders, load_settings(), "street").height
