"""Beijing's official divisions (data/): the areas table and name normalisation (朝阳 → 朝阳区)."""
from __future__ import annotations

from functools import cache

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
    Beijing (most are) also matches without one, and then fills in the district. A district that is not
    Beijing's (another city's export) keeps its streets as they are.
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
    foreign = pl.col("district").is_not_null() & ~pl.col("district").is_in(districts()["district"].to_list())
    official = pl.coalesce("_s2", pl.when(~foreign).then("_s1"), pl.col("v").str.strip_chars())
    dist = pl.when(pl.col("_s2").is_null() & pl.col("_s1").is_not_null() & pl.col("district").is_null()).then("_d1").otherwise("district")
    out = out.select(dist.alias(district.name or "district"), official.alias(street.name or "street"))
    return out.to_series(0), out.to_series(1)


_ROAD_AFTER = r"^(路|街|大街|大道|道|桥|胡同|巷|[东西南北中][路街大])"


@cache
def _area_patterns() -> tuple[str, str, str, pl.DataFrame]:
    """Regexes of official district names, street names, and a district followed by a street's short
    name (朝阳区望京…), longest names first; and the (district, core) → street table for the last."""
    ref = streets().select("district", "street", _core(pl.col("street"), STREET_SUFFIX).alias("core"))
    by_len = lambda names: "|".join(sorted(set(names), key=lambda n: (-len(n), n)))  # noqa: E731
    districts_re = f"({by_len(districts()['district'].to_list())})"
    streets_re = f"({by_len(ref['street'].to_list())})"
    cores = [c for c in ref["core"].to_list() if len(c) >= 2]
    pair_re = f"{districts_re}({by_len(cores)})(.{{0,2}})"
    return districts_re, streets_re, pair_re, ref.filter(pl.col("core").str.len_chars() >= 2)


def find_areas(texts: pl.Series) -> pl.DataFrame:
    """The official district and street a text names (an address, or what the caller wrote): a full street
    name (望京街道, 南独乐河镇), or a district followed by a street's short name (朝阳区望京西园…); the
    district named, else the street's own. Columns district, street; NULL where nothing is named. Only the
    official divisions (data/) are used, so a text naming places of another city finds nothing."""
    districts_re, streets_re, pair_re, ref = _area_patterns()
    t = pl.DataFrame({"t": texts.cast(pl.String)})
    found = t.select(
        pl.col("t").str.extract(districts_re, 1).alias("d"),
        pl.col("t").str.extract(streets_re, 1).alias("s_full"),
        pl.col("t").str.extract_groups(pair_re).struct.rename_fields(["pd", "pc", "next"]).alias("pair"),
    ).unnest("pair").with_columns(
        # 中关村大街, 望京西路: a road named after the street, not the street itself.
        pc=pl.when(pl.col("next").str.contains(_ROAD_AFTER)).then(None).otherwise("pc"))
    unique = ref.filter(pl.len().over("street") == 1).select(pl.col("street").alias("s_full"), pl.col("district").alias("sd"))
    pairs = ref.select(pl.col("district").alias("pd"), pl.col("core").alias("pc"), pl.col("street").alias("ps"))
    out = (found.join(unique, on="s_full", how="left", maintain_order="left")
           .join(pairs, on=["pd", "pc"], how="left", maintain_order="left"))
    street = pl.coalesce("s_full", "ps")
    # A full street name is trusted with its own district; a bare district name stands alone.
    district = pl.coalesce(pl.when(pl.col("s_full").is_not_null()).then("sd"), "pd", "d")
    return out.select(district.alias("district"), street.alias("street"))
