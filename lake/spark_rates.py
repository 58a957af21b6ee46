"""The monthly 三率, composite and rankings of districts, streets and departments, computed by Spark from
the Parquet lake that `python -m etl lake DIR` writes; the same definitions (METRICS.md) and settings as the
dashboard, so the figures agree with `python -m analytics scores`.

On a cluster:
    spark-submit lake/spark_rates.py --lake hdfs:///whistle/lake --out hdfs:///whistle/rates \
        --settings settings.toml
Locally (pyspark installed, Java 17):
    python lake/spark_rates.py --lake /path/to/lake --out /path/to/rates [--master local[2]]

Writes one Parquet folder per unit kind under --out (rates_district, rates_street, rates_dept): one row per
unit and month with the counts behind every rate, the rates (0–1), composite (0–100), rank and rank change.
The job reads settings.toml itself (no project imports), so this one file is all a cluster needs.
"""
from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

UNIT_KEYS = {"district": ["district"], "street": ["district", "street"], "dept": ["dept"]}
TIE_DECIMALS = 1   # scores equal to the 0.1 shown are ties and share a rank, as on the dashboard


def load_settings(path: str | None) -> dict:
    defaults = {
        "rates": {"response_window_hours": 24, "partial_credit": 0.5, "basic_credit": 1.0,
                  "default_deadline_days": 7, "exclude_invalid": False,
                  "response_window_hours_by_category": {}, "deadline_days_by_category": {}},
        "composite": {"w_response": 0.30, "w_resolution": 0.35, "w_satisfaction": 0.35},
        "departments": {"w_street_rating": 1 / 3},
        "rankings": {"min_orders": 20},
    }
    if path and Path(path).exists():
        with open(path, "rb") as f:
            given = tomllib.load(f)
        for section, values in defaults.items():
            values.update({k: v for k, v in given.get(section, {}).items() if k in values})
    return defaults


def _per_category(mapping: dict, default: float):
    expr = F.lit(float(default))
    for category, value in mapping.items():
        expr = F.when(F.col("category_l1") == category, F.lit(float(value))).otherwise(expr)
    return expr


def order_flags(orders: DataFrame, s: dict) -> DataFrame:
    r = s["rates"]
    if r["exclude_invalid"]:
        orders = orders.filter(~F.coalesce(F.col("is_invalid"), F.lit(False)))
    start = F.coalesce("dispatched_at", "received_at")
    window_s = _per_category(r["response_window_hours_by_category"], r["response_window_hours"]) * 3600
    deadline_s = _per_category(r["deadline_days_by_category"], r["default_deadline_days"]) * 86400
    due = F.coalesce(F.col("due_at").cast("double"), F.col("received_at").cast("double") + deadline_s)
    seconds = lambda a, b: F.col(a).cast("double") - b.cast("double")  # noqa: E731
    flag = lambda c: F.coalesce(c, F.lit(False)).cast("int")  # noqa: E731
    return orders.select(
        "*",
        # As analytics.rates: dispatched = a dispatch time, a unit or a response.
        flag(F.col("dispatched_at").isNotNull() | F.col("dept").isNotNull() | F.col("responded_at").isNotNull()).alias("dispatched"),
        flag(F.col("dispatched_at").isNotNull() | F.col("dept").isNotNull()).alias("dispatch_marked"),
        flag(F.col("responded_at").isNotNull()).alias("response_known"),
        flag(seconds("responded_at", start) <= window_s).alias("responded_in_time"),
        flag(F.col("resolution").isNotNull()).alias("resolution_rated"),
        flag(F.col("resolution") == "解决").alias("resolved"),
        flag(F.col("resolution") == "部分解决").alias("partially_resolved"),
        flag(F.col("satisfaction").isNotNull()).alias("satisfaction_rated"),
        flag(F.col("satisfaction") == "满意").alias("satisfied"),
        flag(F.col("satisfaction") == "基本满意").alias("basically_satisfied"),
        flag(F.col("closed_at").isNotNull()).alias("closed"),
        flag(F.col("closed_at").cast("double") <= due).alias("closed_on_time"),
    )


COUNTS = ["dispatched", "dispatch_marked", "response_known", "responded_in_time", "resolution_rated", "resolved", "partially_resolved",
          "satisfaction_rated", "satisfied", "basically_satisfied", "closed", "closed_on_time"]


def rate_table(orders: DataFrame, by: str, s: dict) -> DataFrame:
    keys = UNIT_KEYS[by]
    r, w = s["rates"], s["composite"]
    frame = order_flags(orders.filter(F.col(keys[-1]).isNotNull()), s).withColumn(
        "period", F.trunc(F.col("received_at"), "month"))
    grouped = frame.groupBy(*keys, "period").agg(F.count(F.lit(1)).alias("orders"),
                                                  *[F.sum(c).alias(c) for c in COUNTS])

    def ratio(num, den: str):
        return F.when(F.col(den) > 0, num / F.col(den))

    out = grouped.select(
        "*",
        # A unit none of whose orders carries a response time: the export has no such field ("—").
        F.when(F.col("response_known") > 0, F.col("responded_in_time") / F.when(
            F.col("dispatch_marked") > 0, F.col("dispatched")).otherwise(F.col("orders"))).alias("response_rate"),
        ratio(F.col("resolved") + r["partial_credit"] * F.col("partially_resolved"), "resolution_rated").alias("resolution_rate"),
        ratio(F.col("satisfied") + r["basic_credit"] * F.col("basically_satisfied"), "satisfaction_rated").alias("satisfaction_rate"),
        ratio(F.col("closed_on_time"), "closed").alias("on_time_rate"),
    )
    parts = [("response_rate", w["w_response"]), ("resolution_rate", w["w_resolution"]),
             ("satisfaction_rate", w["w_satisfaction"])]
    weighted = sum(F.coalesce(F.col(c), F.lit(0.0)) * wt for c, wt in parts)
    present = sum(F.col(c).isNotNull().cast("double") * wt for c, wt in parts)
    return out.withColumn("composite", F.when(present > 0, 100 * weighted / present)).withColumn(
        "unit", F.col(keys[-1]))


def rank_units(table: DataFrame, by: str, value: str, name: str, min_orders: int) -> DataFrame:
    """Rank per month by `value` (higher first; values equal to the 0.1 shown share the best rank of their
    group, 1, 2, 2, 4); units below `min_orders` or without a value get none. Change = last month's rank −
    this month's. Rounded half to even, like the dashboard (polars) and Python's formatting."""
    v = F.when(F.col("orders") >= min_orders, F.bround(F.col(value), TIE_DECIMALS))
    keys = UNIT_KEYS[by]
    table = table.withColumn("_v", v)
    ranked = table.withColumn(
        name, F.when(F.col("_v").isNotNull(), F.rank().over(Window.partitionBy("period").orderBy(F.col("_v").desc_nulls_last())))
    ).drop("_v")
    previous = ranked.filter(F.col(name).isNotNull()).select(
        *keys, F.add_months("period", 1).alias("period"), F.col(name).alias("_prev"))
    return ranked.join(previous, on=[*keys, "period"], how="left").withColumn(
        f"{name}_change", F.col("_prev") - F.col(name)).drop("_prev")


def dept_scores(table: DataFrame, ratings: DataFrame | None, s: dict) -> DataFrame:
    """部门得分 = (1 − w_t) × composite + w_t × mean street rating (either alone when the other is missing)."""
    w = s["departments"]["w_street_rating"]
    if ratings is None:
        table = table.withColumn("street_rating", F.lit(None).cast("double")).withColumn("rating_count", F.lit(0))
    else:
        summary = ratings.groupBy("dept", F.trunc("period", "month").alias("period")).agg(
            F.avg("score").alias("street_rating"), F.count(F.lit(1)).alias("rating_count"))
        table = table.join(summary, on=["dept", "period"], how="left").fillna(0, subset=["rating_count"])
    return table.withColumn("dept_score", F.when(
        F.col("composite").isNotNull() & F.col("street_rating").isNotNull(),
        (1 - w) * F.col("composite") + w * F.col("street_rating"),
    ).otherwise(F.coalesce("composite", "street_rating")))


def compute(spark: SparkSession, lake: str, s: dict) -> dict[str, DataFrame]:
    # The lake's timestamps are wall-clock times (no zone): read them as instants in UTC, so differences
    # in seconds are exact and months are the months written.
    spark.conf.set("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    orders = spark.read.parquet(f"{lake.rstrip('/')}/work_orders")
    try:
        ratings = spark.read.parquet(f"{lake.rstrip('/')}/dept_ratings")
    except Exception:  # noqa: BLE001 - a lake without ratings: departments are scored on their orders alone
        ratings = None
    minimum = s["rankings"]["min_orders"]
    out = {}
    for by in ("district", "street"):
        out[by] = rank_units(rate_table(orders, by, s), by, "composite", "rank", minimum)
    dept = rank_units(rate_table(orders, "dept", s), "dept", "composite", "composite_rank", minimum)
    out["dept"] = rank_units(dept_scores(dept.drop("composite_rank_change"), ratings, s), "dept", "dept_score",
                             "rank", minimum)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="从 Parquet 数据湖计算各单位月度三率、综合得分与排名")
    parser.add_argument("--lake", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--settings", default=str(Path(__file__).resolve().parents[1] / "settings.toml"))
    parser.add_argument("--master", default=None, help="如 local[2]；spark-submit 时不用")
    args = parser.parse_args(argv)
    builder = SparkSession.builder.appName("whistle-rates")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        for by, table in compute(spark, args.lake, load_settings(args.settings)).items():
            table.orderBy("period", "rank").write.mode("overwrite").parquet(f"{args.out.rstrip('/')}/rates_{by}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
