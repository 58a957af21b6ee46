"""The Parquet lake (`python -m etl lake`) and the Spark job that computes the monthly 三率 and rankings from it."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics.db import query
from analytics.scores import score_table
from analytics.settings import load_settings
from etl.__main__ import main as etl_main
from etl.demo import build_demo
from etl.lake import MANIFEST, export, read
from etl.store import connect_read, writing

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lake") / "hotline.duckdb"
    build_demo(path, orders=6000, seed=7)
    return path


def _months(db: Path) -> dict[str, int]:
    con = connect_read(db)
    try:
        rows = con.execute("SELECT strftime(received_at, '%Y-%m'), count(*) FROM work_orders GROUP BY 1").fetchall()
    finally:
        con.close()
    return dict(rows)


def test_lake_has_every_table_and_one_partition_per_month(demo_db, tmp_path):
    lake = tmp_path / "lake"
    assert etl_main(["lake", str(lake), "--db", str(demo_db), "--json"]) == 0
    manifest = json.loads((lake / MANIFEST).read_text(encoding="utf-8"))
    months = _months(demo_db)
    orders = manifest["tables"]["work_orders"]
    assert {k: p["rows"] for k, p in orders["partitions"].items()} == months
    assert sorted(p.name for p in (lake / "work_orders").iterdir()) == [f"month={m}" for m in sorted(months)]
    assert not list(lake.glob(".writing-*"))   # the one-pass scratch folders are gone
    con = duckdb.connect()
    per_month = dict(read(con, lake, "work_orders").aggregate("month, count(*)").fetchall())
    assert per_month == months
    for table in ("cases", "case_events", "dept_ratings", "areas", "loads", "order_tokens"):
        source = connect_read(demo_db)
        try:
            expected = source.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            source.close()
        assert manifest["tables"][table]["rows"] == expected
        assert read(con, lake, table).count("*").fetchall()[0][0] == expected


def test_lake_rewrites_only_changed_months(demo_db, tmp_path):
    db = tmp_path / "hotline.duckdb"
    shutil.copyfile(demo_db, db)
    lake = tmp_path / "lake"
    first = export(db, lake)
    assert first["written"] > 0 and first["kept"] == 0
    again = export(db, lake)
    assert again["written"] == 0 and again["removed"] == 0

    months = sorted(_months(db))
    changed, dropped = months[-1], months[0]
    with writing(db) as con:
        con.execute("UPDATE work_orders SET satisfaction = CASE WHEN satisfaction = '不满意' THEN '满意' ELSE '不满意' END "
                    "WHERE order_id = "
                    "(SELECT min(order_id) FROM work_orders WHERE strftime(received_at, '%Y-%m') = ?)", [changed])
        con.execute("DELETE FROM order_tokens WHERE order_id IN "
                    "(SELECT order_id FROM work_orders WHERE strftime(received_at, '%Y-%m') = ?)", [dropped])
        con.execute("DELETE FROM work_orders WHERE strftime(received_at, '%Y-%m') = ?", [dropped])
    result = export(db, lake)
    assert result["written"] == 1          # work_orders of the changed month; its tokens did not change
    assert result["removed"] == 2          # work_orders and order_tokens of the dropped month
    assert not (lake / "work_orders" / f"month={dropped}").exists()
    con = duckdb.connect()
    lake_orders = read(con, lake, "work_orders")
    assert lake_orders.filter("satisfaction = '不满意'").count("*").fetchall()[0][0] == query(
        connect_read(db), "SELECT count(*) AS n FROM work_orders WHERE satisfaction = '不满意'")["n"][0]


def _spark_rates():
    spec = importlib.util.spec_from_file_location("spark_rates", ROOT / "lake" / "spark_rates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark 需要 Java（scripts/test.sh 会安装 openjdk-17-jre-headless）")
def test_spark_rates_equal_the_dashboards(demo_db, tmp_path):
    pyspark = pytest.importorskip("pyspark")
    assert pyspark
    from pyspark.sql import SparkSession

    lake = tmp_path / "lake"
    export(demo_db, lake)
    settings = load_settings()
    job = _spark_rates()
    spark = (SparkSession.builder.master("local[2]").appName("whistle-test")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
    try:
        tables = {by: pl.from_pandas(t.toPandas()) for by, t in
                  job.compute(spark, str(lake), job.load_settings(str(ROOT / "settings.toml"))).items()}
    finally:
        spark.stop()

    con = connect_read(demo_db)
    orders = query(con, "SELECT * FROM work_orders")
    ratings = query(con, "SELECT * FROM dept_ratings")
    con.close()
    columns = ["orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "composite",
               "rank", "rank_change"]
    for by in ("district", "street", "dept"):
        ours = score_table(orders, by, settings, ratings=ratings if by == "dept" else None)
        spark_table = tables[by].with_columns(pl.col("period").cast(pl.Date))
        keys = ["unit", "period"] + (["district"] if by == "street" else [])
        joined = ours.select(*keys, *columns).join(spark_table.select(*keys, *columns), on=keys, how="full",
                                                   suffix="_spark", nulls_equal=True)
        assert joined.height == ours.height == spark_table.height, by
        for c in columns:
            a, b = joined[c], joined[f"{c}_spark"]
            assert (a.is_null() == b.is_null()).all(), (by, c)
            both = a.is_not_null() & b.is_not_null()
            diff = (a.filter(both).cast(pl.Float64) - b.filter(both).cast(pl.Float64)).abs()
            assert diff.max() is None or diff.max() < 1e-9, (by, c, diff.max())
        assert ours["rank"].drop_nulls().len() > 0
