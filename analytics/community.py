"""社区画像: what residents of a street (or one community) call about, what keeps coming back, how it is handled."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import duckdb
import polars as pl

from analytics.db import orders as fetch_orders
from analytics.db import monthly_orders, query
from analytics.filters import Filters
from analytics.hotspots import read_word_counts, top_places
from analytics.rates import LABELS, RATE_INPUT_COLUMNS, rate_table, read_rate_table
from analytics.settings import Settings
from analytics.text import keyword_lists, stopwords
from core.segment import place_terms

PROFILE_COLUMNS = (
    *RATE_INPUT_COLUMNS, "order_id", "district", "street", "community", "address", "category_l2", "caller_key", "tokens",
)
PROFILE_METRICS = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")


def top_issues(orders: pl.DataFrame, settings: Settings, n: int = 8) -> pl.DataFrame:
    """The most frequent issue types (一级 → 二级分类) with their share and how well they are solved."""
    total = max(orders.height, 1)
    frame = orders.with_columns(
        issue=pl.concat_str(pl.col("category_l1").fill_null("未分类"), pl.col("category_l2"), separator=" · ", ignore_nulls=True)
    )
    return (
        rate_table(frame, ["issue"], settings).sort(["orders", "issue"], descending=[True, False]).head(n)
        .with_columns(share=pl.col("orders") / total)
        .select("issue", "orders", "share", "resolution_rate", "satisfaction_rate")
    )


def monthly(orders: pl.DataFrame) -> pl.DataFrame:
    """Orders per month of received_at."""
    return (
        orders.group_by(pl.col("received_at").dt.truncate("1mo").dt.date().alias("month")).agg(pl.len().alias("orders"))
        .sort("month")
    )


def recurring_addresses(orders: pl.DataFrame, min_orders: int = 3, n: int = 15) -> pl.DataFrame:
    """Addresses that keep coming back: at least min_orders orders, with how many callers and months,
    the main issue and how many of their rated orders were not (fully) solved."""
    places = top_places(orders, "address", n=10_000).filter(pl.col("orders") >= min_orders)
    unsolved = orders.group_by("address").agg(
        unsolved=(pl.col("resolution").is_in(["未解决", "部分解决"])).sum(),
    )
    return places.join(unsolved, on="address", how="left").sort(
        ["orders", "months", "address"], descending=[True, True, False]
    ).head(n)


def distinctive_words(local: pl.DataFrame, reference: pl.DataFrame, n: int = 20, min_count: int = 3) -> pl.DataFrame:
    """Keywords of `local` orders with their share, and lift against `reference` (e.g. the whole district):
    lift = (local share) ÷ (reference share), with one order added to each count so rare words stay finite."""
    return lifted_words(word_counts(local), local.height, word_counts(reference), reference.height, n, min_count)


def _stop() -> frozenset[str]:
    # Official place names say where, not what: they would top every area's own list.
    return stopwords() | set(place_terms())


def word_counts(orders: pl.DataFrame) -> pl.DataFrame:
    """Per keyword (word), the orders holding it (count), by the rules distinctive_words uses."""
    return (keyword_lists(orders["tokens"], _stop()).list.unique().alias("word").to_frame().explode("word").drop_nulls()
            .group_by("word").agg(pl.len().cast(pl.Int64).alias("count")))


def lifted_words(local: pl.DataFrame, local_orders: int, reference: pl.DataFrame, reference_orders: int,
                 n: int = 20, min_count: int = 3) -> pl.DataFrame:
    """distinctive_words from word counts (word, count) and the orders they were counted over."""
    lt, rt = max(local_orders, 1), max(reference_orders, 1)
    return (
        local.filter(pl.col("count") >= min_count).with_columns(share=pl.col("count") / lt)
        .join(reference.select("word", ref_count="count"), on="word", how="left")
        .with_columns(pl.col("ref_count").fill_null(0))
        .with_columns(lift=((pl.col("count") + 1) / (lt + 1)) / ((pl.col("ref_count") + 1) / (rt + 1)))
        .sort(["count", "lift", "word"], descending=[True, True, False]).head(n)
        .select("word", "count", "share", "lift")
    )


def rates_vs(local: pl.DataFrame, reference: pl.DataFrame, settings: Settings, local_name: str, reference_name: str) -> pl.DataFrame:
    """The 三率 and on-time rate of `local` next to `reference`, with a plain-language reading per rate."""
    return compare_rates(rate_table(local, [], settings).to_dicts()[0], rate_table(reference, [], settings).to_dicts()[0],
                         local_name, reference_name)


def compare_rates(a: dict[str, Any], b: dict[str, Any], local_name: str, reference_name: str) -> pl.DataFrame:
    """rates_vs from the two rate rows (rate_table or read_rate_table without grouping)."""
    rows = []
    for m in PROFILE_METRICS:
        va, vb = a.get(m), b.get(m)
        diff = None if va is None or vb is None else va - vb
        rows.append({"metric": LABELS[m], "local": va, "reference": vb, "difference": diff,
                     "reading": reading(LABELS[m], va, vb, local_name, reference_name)})
    return pl.DataFrame(rows, schema={"metric": pl.String, "local": pl.Float64, "reference": pl.Float64,
                                      "difference": pl.Float64, "reading": pl.String})


def reading(metric: str, value: float | None, reference: float | None, local_name: str, reference_name: str) -> str:
    """One sentence a community secretary can read: value, comparison, and what it means."""
    if value is None:
        return f"{local_name}暂无可计算{metric}的工单。"
    text = f"{local_name}{metric}为 {value * 100:.1f}%"
    if reference is None:
        return text + "。"
    gap = (value - reference) * 100
    if abs(gap) < 1:
        return text + f"，与{reference_name}平均（{reference * 100:.1f}%）基本持平。"
    side = "高于" if gap > 0 else "低于"
    hint = "做得比平均好。" if gap > 0 else "需要关注，可从下面反复出现的地址和问题入手。"
    return text + f"，{side}{reference_name}平均（{reference * 100:.1f}%）{abs(gap):.1f} 个百分点，{hint}"


def summary(orders: pl.DataFrame, issues: pl.DataFrame, recurring: pl.DataFrame, name: str) -> str:
    """Two plain sentences at the top of the profile."""
    if orders.is_empty():
        return f"所选时段内{name}没有工单。"
    parts = [f"所选时段内，{name}共收到 {orders.height:,} 件工单，"
             f"{orders['caller_key'].n_unique() if 'caller_key' in orders.columns else '—'} 位来电人。"]
    if issues.height:
        top = issues.row(0, named=True)
        parts.append(f"最多的问题是“{top['issue']}”，{top['orders']:,} 件，占 {top['share'] * 100:.0f}%。")
    if recurring.height:
        parts.append(f"有 {recurring.height} 个地址反复来电（≥3 件），最多的是“{recurring['address'][0]}”（{recurring['orders'][0]} 件）。")
    return "".join(parts)


def read_streets(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """Streets with orders under the filters (district, street, n), busiest first: the profiles to choose from."""
    where, params = filters.where()
    return query(con, f"SELECT district, street, count(*) AS n FROM work_orders WHERE street IS NOT NULL AND {where} "
                      "GROUP BY 1, 2 ORDER BY n DESC, street", params)


def read_communities(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[str]:
    """Communities named by the filtered orders, busiest first."""
    where, params = filters.where()
    return query(con, f"SELECT community, count(*) AS n FROM work_orders WHERE community IS NOT NULL AND {where} "
                      "GROUP BY 1 ORDER BY n DESC, community", params)["community"].to_list()


def read_monthly(con: duckdb.DuckDBPyConnection, filters: Filters, community: str | None, months: int = 13) -> pl.DataFrame:
    """Orders per month (`month`) of the last `months` months with orders up to the end of the period (all
    history before it), of one community when given."""
    if not community:   # the whole history of a street: from the monthly summary
        return monthly_orders(con, replace(filters, date_from=None), []).select("month", "orders").tail(months)
    where, params = replace(filters, date_from=None).where()
    if community:
        where += " AND community = ?"
        params.append(community)
    return query(con, "SELECT date_trunc('month', received_at)::DATE AS month, count(*) AS orders FROM work_orders "
                      f"WHERE {where} GROUP BY 1 ORDER BY 1", params).tail(months)


def read_profile(con: duckdb.DuckDBPyConnection, filters: Filters, community: str | None, settings: Settings,
                 local_name: str, reference_name: str) -> dict[str, Any]:
    """Everything the profile of one street (`filters` name it) or one of its communities shows, against the
    street (for a community) or its district: only the street's orders of the period are read; the district's
    rates and word counts are counted in DuckDB (the monthly summaries for whole months)."""
    street_orders = fetch_orders(con, filters, PROFILE_COLUMNS)
    local = street_orders.filter(pl.col("community") == community) if community else street_orders
    if community:
        rates = rates_vs(local, street_orders, settings, local_name, reference_name)
        words = distinctive_words(local, street_orders)
    else:
        district = replace(filters, streets=())
        rates = compare_rates(rate_table(local, [], settings).to_dicts()[0],
                              read_rate_table(con, district, [], settings).to_dicts()[0], local_name, reference_name)
        docs, counts = read_word_counts(con, district, None)
        counts = counts.filter(~pl.col("word").is_in(sorted(_stop())))
        words = lifted_words(word_counts(local), local.height, counts.group_by("word").agg(pl.col("count").sum()),
                             int(docs["orders"].sum() or 0))
    issues, recurring = top_issues(local, settings), recurring_addresses(local)
    return {
        "orders": local.height, "issues": issues, "recurring": recurring,
        "summary": summary(local, issues, recurring, local_name), "rates": rates, "words": words,
    }
