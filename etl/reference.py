"""Beijing's official divisions (data/): the areas table and name normalisation (朝阳 → 朝阳区)."""
from __future__ import annotations

import duckdb
import polars as pl

from core.divisions import DATA, DISTRICT_SUFFIX, STREET_SUFFIX, districts, streets  # noqa: F401 (reference.DATA)


def areas_frame() -> pl.DataFrame:
    """The `areas` reference rows: one per district (street NULL) and one per street."""
    d = districts().select(
        "district", pl.lit(None, pl.String).alias("street"), pl.lit("区").alias("kind"), "code_12",
        pl.lit(None, pl.String).alias("community"), "population", "population_source",
    )
    s = streets().select(
        "district", "street", "kind", "code_12", pl.lit(None, pl.String).alias("community"),
        pl.lit(None, pl.Int64).alias("population"), pl.lit(None, pl.String).alias("population_source"),
    )
    return pl.concat([d, s])


def seed_areas(con: duckdb.DuckDBPyConnection) -> int:
    """Fill `areas` with the official divisions if it is empty; returns rows inserted."""
    if con.execute("SELECT count(*) FROM areas").fetchall()[0][0]:
        return 0
    frame = areas_frame()
    con.register("_areas_seed", frame.to_arrow())
    con.execute("INSERT INTO areas BY NAME SELECT * FROM _areas_seed")
    con.unregister("_areas_seed")
    return frame.height


def _core(col: pl.Expr, suffix: str) -> pl.Expr:
    return col.str.strip_chars().str.replace(r"^北京市?", "").str.replace(suffix, "")


def normalise_district(names: pl.Series) -> pl.Series:
    """Official district names where the value matches one (朝阳, 朝阳区, 北京市朝阳区); others kept, trimmed."""
    table = districts().select(_core(pl.col("district"), DISTRICT_SUFFIX).alias("_core"), pl.col("district").alias("_official"))
    frame = pl.DataFrame({"v": names.cast(pl.String)}).with_columns(_core(pl.col("v"), DISTRICT_SUFFIX).alias("_core"))
    out = frame.join(table, on="_core", how="left", maintain_order="left")
    return out.select(pl.coalesce("_official", pl.col("v").str.strip_chars()).alias(names.name)).to_series()


def normalise_street(district: pl.Series, street: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Official (district, street) names where the street matches the list.

    A street name is matched within its district when the district is known; a name that is unique in
    Beijing (most are) also matches without one, and then fills in the district.
    """
    ref = streets().select("district", "street", _core(pl.col("street"), STREET_SUFFIX).alias("_core"))
    unique = ref.filter(pl.len().over("_core") == 1).select("_core", pl.col("district").alias("_d1"), pl.col("street").alias("_s1"))
    in_district = ref.select("_core", "district", pl.col("street").alias("_s2"))
    frame = pl.DataFrame({"district": district.cast(pl.String), "v": street.cast(pl.String)}).with_columns(
        _core(pl.col("v"), STREET_SUFFIX).alias("_core")
    )
    out = (
        frame.join(in_district, on=["_core", "district"], how="left", maintain_order="left")
        .join(unique, on="_core", how="left", maintain_order="left")
    )
    official = pl.coalesce("_s2", "_s1", pl.col("v").str.strip_chars())
    dist = pl.when(pl.col("_s2").is_null() & pl.col("_s1").is_not_null() & pl.col("district").is_null()).then("_d1").otherwise("district")
    out = out.select(dist.alias(district.name or "district"), official.alias(street.name or "street"))
    return out.to_series(0), out.to_series(1)
