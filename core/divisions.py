"""Beijing's official divisions as shipped in data/: 16 districts (with census population) and the streets
and townships, with the suffixes their short forms drop (朝阳区 → 朝阳, 望京街道 → 望京)."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

DATA = Path(__file__).resolve().parent.parent / "data"
STREET_SUFFIX = r"(街道办事处|地区办事处|办事处|街道|地区|镇|乡)$"
DISTRICT_SUFFIX = r"(区|县)$"


@cache
def districts() -> pl.DataFrame:
    """16 districts with 2020 census population: district, code_12, population, population_source."""
    d = pl.read_csv(DATA / "beijing_districts_16.csv", infer_schema=False)
    pop = pl.read_csv(DATA / "beijing_district_population.csv", infer_schema=False)
    return d.select(pl.col("name").alias("district"), "code_12").join(
        pop.select(
            "district",
            (pl.col("population_10k").cast(pl.Float64) * 10_000).round().cast(pl.Int64).alias("population"),
            pl.col("source").alias("population_source"),
        ),
        on="district",
        how="left",
    )


@cache
def streets() -> pl.DataFrame:
    """349 streets, townships and 地区 (343 real ones plus 6 development zones): district, street, kind, code_12."""
    s = pl.read_csv(DATA / "beijing_streets_townships.csv", infer_schema=False)
    return s.select(pl.col("district_name").alias("district"), pl.col("name").alias("street"), "kind", "code_12")
