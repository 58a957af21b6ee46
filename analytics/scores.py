"""考评: the 三率 per district, street and department and month, monthly ranks, per-capita volume,
治理类街乡 candidates, department scores (双考核) and dispatch quality (METRICS.md)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl

from analytics.db import detail_sql, query
from analytics.ranking import score_range, tied_rank
from analytics.filters import Filters, add_months, from_args
from analytics.rates import LABELS as RATE_LABELS
from analytics.rates import RATE_INPUT_COLUMNS, rate_table, read_rate_table
from analytics.settings import Settings, load_settings

SCORE_INPUT_COLUMNS = tuple(dict.fromkeys((
    *RATE_INPUT_COLUMNS, "district", "street", "dept", "category_l2", "status", "redispatch_count",
)))
# The columns that identify a unit; the last one is its display name (`unit`).
UNIT_KEYS: dict[str, tuple[str, ...]] = {"district": ("district",), "street": ("district", "street"), "dept": ("dept",)}
UNIT_LABELS = {"district": "区", "street": "街道/乡镇", "dept": "部门"}

LABELS = {
    **RATE_LABELS,
    "unit": "单位",
    "period": "月份",
    "rank": "排名",
    "rank_change": "名次变化",
    "population": "常住人口",
    "per_10k": "每万人工单量",
    "months_hit": "命中月数",
    "governance": "治理类候选",
    "street_rating": "街乡评分均值",
    "rating_count": "评分条数",
    "dept_score": "部门得分",
    "composite_rank": "综合得分排名",
    "redispatch_share": "退单/改派占比",
    "mismatch_share": "派单不符占比",
}

# Street and township governments also handle orders; they are assessed as streets, not as departments.
STREET_OFFICE = r"(办事处|人民政府|管委会)$"

# Scores equal to the precision shown (0.1) are ties: a reader cannot tell 96.12 from 96.08 apart on screen.
_TIE_DECIMALS = 1


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    return add_months(month_start(d), 1)


def with_history(filters: Filters, settings: Settings) -> Filters:
    """The same filters reaching back far enough for rank changes and the 治理类 window."""
    return filters.reaching_back(max(1, settings.rankings.governance_window_months - 1))


def monthly_scores(orders: pl.DataFrame, by: str, settings: Settings) -> pl.DataFrame:
    """One row per unit and month (`period`, first day): orders, the counts, 三率, on-time and composite."""
    keys = list(UNIT_KEYS[by])
    frame = orders.drop_nulls(keys[-1]).with_columns(period=pl.col("received_at").dt.truncate("1mo").dt.date())
    table = rate_table(frame, [*keys, "period"], settings)
    return table.with_columns(unit=pl.col(keys[-1])).sort(["period", *keys])


def rank_units(
    table: pl.DataFrame, by: str, value: str = "composite", name: str = "rank", min_orders: int = 0
) -> pl.DataFrame:
    """Rank per month by `value` (higher first; equal values as shown share a rank, listed with more orders
    first, then by name) and the change against
    the previous calendar month (positive = moved up). Units without a value, or with fewer than
    `min_orders` orders that month, get no rank."""
    keys = list(UNIT_KEYS[by])
    tie_value = pl.when(pl.col("orders") >= min_orders).then(pl.col(value).round(_TIE_DECIMALS))
    ordered = table.with_columns(_v=tie_value).sort(
        ["period", "_v", "orders", *keys[::-1]], descending=[False, True, True, *[False] * len(keys)], nulls_last=True
    )
    ranked = ordered.with_columns(tied_rank("_v", _TIE_DECIMALS).over("period").alias(name)).drop("_v")
    previous = ranked.select(
        *keys, pl.col("period").dt.offset_by("1mo").alias("period"), pl.col(name).alias("_prev")
    ).drop_nulls("_prev")
    return ranked.join(previous, on=[*keys, "period"], how="left", nulls_equal=False).with_columns(
        (pl.col("_prev") - pl.col(name)).alias(f"{name}_change")
    ).drop("_prev")


def populations(areas: pl.DataFrame, by: str) -> pl.DataFrame:
    """Population per unit from `areas` (district rows: census; street rows where known)."""
    if by == "district":
        rows = areas.filter(pl.col("street").is_null() & pl.col("community").is_null())
    elif by == "street":
        rows = areas.filter(pl.col("street").is_not_null() & pl.col("community").is_null())
    else:
        raise ValueError(f"no population for {by}")
    keys = list(UNIT_KEYS[by])
    return rows.drop_nulls("population").group_by(keys).agg(pl.col("population").max())


def with_per_capita(table: pl.DataFrame, areas: pl.DataFrame | None, by: str) -> pl.DataFrame:
    """Adds population and orders per 10,000 residents (null where the population is unknown)."""
    keys = list(UNIT_KEYS[by])
    if areas is None or by == "dept":
        return table.with_columns(population=pl.lit(None, pl.Int64), per_10k=pl.lit(None, pl.Float64))
    pop = populations(areas, by)
    return table.join(pop, on=keys, how="left").with_columns(
        per_10k=pl.when(pl.col("population") > 0).then(pl.col("orders") / pl.col("population") * 10_000)
    )


def governance(table: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """治理类街乡 candidates per street and month (METRICS.md).

    A month *hits* when, in that month, the street is in the top `governance_top_share` of streets by orders
    per 10,000 residents (among streets with a known population) and
    its composite is below the median composite of all streets; a street whose population is unknown is placed
    by its volume among all streets instead. A street is a candidate in month M when at
    least `governance_months_hit` of the `governance_window_months` months ending at M hit.
    """
    g = settings.rankings
    keys = list(UNIT_KEYS["street"])
    known = pl.col("per_10k").is_not_null()
    # Streets strictly ahead < share × streets compared, i.e. within the top ceil(share × n).
    ahead_per_10k = pl.col("per_10k").rank("min", descending=True).over("period") - 1
    ahead_volume = pl.col("orders").rank("min", descending=True).over("period") - 1
    hits = table.with_columns(
        _median=pl.col("composite").median().over("period"),
        top_share=pl.when(known)
        .then(ahead_per_10k < g.governance_top_share * known.sum().over("period"))
        .otherwise(ahead_volume < g.governance_top_share * pl.len().over("period")),
    ).with_columns(
        below_median=pl.col("composite") < pl.col("_median"), city_median=pl.col("_median"),
    ).with_columns(hit=(pl.col("top_share") & pl.col("below_median")).fill_null(False))
    window = pl.concat([
        hits.filter("hit").select(*keys, pl.col("period").dt.offset_by(f"{k}mo").alias("period"), pl.col("period").alias("_hit_month"))
        for k in range(g.governance_window_months)
    ])
    counted = window.group_by([*keys, "period"]).agg(
        months_hit=pl.len().cast(pl.Int64), hit_months=pl.col("_hit_month").sort().dt.strftime("%Y-%m").str.join("、")
    )
    return hits.drop("_median").join(
        counted, on=[*keys, "period"], how="left"
    ).with_columns(
        months_hit=pl.col("months_hit").fill_null(0),
        governance=pl.col("months_hit").fill_null(0) >= g.governance_months_hit,
    )


def rating_summary(ratings: pl.DataFrame) -> pl.DataFrame:
    """Mean street rating (0–100) and number of ratings per department and month."""
    return ratings.with_columns(period=pl.col("period").cast(pl.Date).dt.truncate("1mo")).group_by(["dept", "period"]).agg(
        street_rating=pl.col("score").mean(), rating_count=pl.len().cast(pl.Int64)
    )


def with_dept_score(table: pl.DataFrame, ratings: pl.DataFrame | None, settings: Settings) -> pl.DataFrame:
    """部门得分 = (1 − w_t) × composite + w_t × mean street rating. A department without ratings in a month is
    scored on its composite alone (and one without a composite on its ratings alone), like the composite's
    own re-weighting."""
    w = settings.departments.w_street_rating
    if ratings is None or ratings.is_empty():
        summary = pl.DataFrame(schema={"dept": pl.String, "period": pl.Date, "street_rating": pl.Float64, "rating_count": pl.Int64})
    else:
        summary = rating_summary(ratings)
    out = table.join(summary, on=["dept", "period"], how="left").with_columns(pl.col("rating_count").fill_null(0))
    return out.with_columns(
        dept_score=pl.when(pl.col("composite").is_not_null() & pl.col("street_rating").is_not_null())
        .then((1 - w) * pl.col("composite") + w * pl.col("street_rating"))
        .otherwise(pl.coalesce("composite", "street_rating"))
    )


def responsible(orders: pl.DataFrame, duties: pl.DataFrame) -> pl.DataFrame:
    """Adds `responsible` (departments the 权责清单 names for the order's category: category_l1 + category_l2,
    else category_l1 alone) and `mismatch` (the handling department is not one of them; null when unknown)."""
    text = [pl.col(c).cast(pl.String) for c in ("category_l1", "category_l2", "dept")]
    duties, orders = duties.with_columns(text).drop_nulls(["category_l1", "dept"]), orders.with_columns(text)
    exact = duties.drop_nulls("category_l2").group_by(["category_l1", "category_l2"]).agg(_exact=pl.col("dept").unique().sort())
    by_l1 = duties.group_by("category_l1").agg(_l1=pl.col("dept").unique().sort())
    out = (
        orders.join(exact, on=["category_l1", "category_l2"], how="left", maintain_order="left")
        .join(by_l1, on="category_l1", how="left", maintain_order="left")
        .with_columns(responsible=pl.coalesce("_exact", "_l1"))
        .drop("_exact", "_l1")
    )
    if "street" in out.columns:   # a duty of "the street body" means the order's own street's, not all 343
        out = _own_street_bodies(out)
    return out.with_columns(
        mismatch=pl.when(pl.col("responsible").is_not_null() & pl.col("dept").is_not_null())
        .then(~pl.col("responsible").list.contains(pl.col("dept")))
    )


STREET_BODY = r"(办事处|人民政府|管委会)$"


def _own_street_bodies(orders: pl.DataFrame) -> pl.DataFrame:
    """Narrow `responsible` to the functional departments and the order's own street body."""
    rows = orders.with_row_index("_r")
    kept = (rows.select("_r", "street", "responsible").explode("responsible")
            .filter(pl.col("responsible").is_null() | ~pl.col("responsible").str.contains(STREET_BODY)
                    | pl.col("responsible").str.starts_with(pl.col("street").fill_null("\x00")))
            .group_by("_r").agg(pl.col("responsible").drop_nulls()))
    return (rows.drop("responsible").join(kept, on="_r", how="left", maintain_order="left")
            .with_columns(pl.when(pl.col("responsible").list.len() > 0).then("responsible"))
            .select(orders.columns))


def dispatch_quality(orders: pl.DataFrame, duties: pl.DataFrame | None, by: list[str]) -> pl.DataFrame:
    """Per group: share of orders returned or re-dispatched (退单 or redispatch_count > 0) and share of orders
    with a known responsible department that a different department handled."""
    if duties is None:
        duties = pl.DataFrame(schema={"category_l1": pl.String, "category_l2": pl.String, "dept": pl.String})
    flagged = responsible(orders.drop_nulls("dept"), duties).with_columns(
        _redispatched=(pl.col("redispatch_count").fill_null(0) > 0) | (pl.col("status") == "退单").fill_null(False)
    )
    return flagged.group_by(by).agg(
        redispatched=pl.col("_redispatched").sum().cast(pl.Int64),
        duty_known=pl.col("mismatch").is_not_null().sum().cast(pl.Int64),
        mismatched=pl.col("mismatch").sum().cast(pl.Int64),
        _n=pl.len(),
    ).with_columns(
        redispatch_share=pl.col("redispatched") / pl.col("_n"),
        mismatch_share=pl.when(pl.col("duty_known") > 0).then(pl.col("mismatched") / pl.col("duty_known")),
    ).drop("_n")


def score_table(
    orders: pl.DataFrame, by: str, settings: Settings, *, areas: pl.DataFrame | None = None,
    ratings: pl.DataFrame | None = None, duties: pl.DataFrame | None = None, functional_only: bool = False,
) -> pl.DataFrame:
    """Everything the assessment shows for one kind of unit, one row per unit and month.

    `functional_only` (departments): leave out street and township governments (办事处, 人民政府, 管委会)."""
    if by == "dept" and functional_only:
        orders = orders.filter(~pl.col("dept").str.contains(STREET_OFFICE).fill_null(False))
    quality = None
    if by == "dept":
        quality = dispatch_quality(
            orders.with_columns(period=pl.col("received_at").dt.truncate("1mo").dt.date()), duties, ["dept", "period"]
        )
    return assess(monthly_scores(orders, by, settings), by, settings, areas=areas, ratings=ratings, quality=quality)


def assess(table: pl.DataFrame, by: str, settings: Settings, *, areas: pl.DataFrame | None = None,
           ratings: pl.DataFrame | None = None, quality: pl.DataFrame | None = None) -> pl.DataFrame:
    """Ranks, rank changes and per-capita volume (districts, streets), 治理类 candidates (streets), department
    scores and dispatch quality (departments), from the monthly rates of monthly_scores."""
    minimum = settings.rankings.min_orders
    if by == "dept":
        table = with_dept_score(table, ratings, settings).join(quality, on=["dept", "period"], how="left")
        table = rank_units(table, by, "composite", "composite_rank", minimum).drop("composite_rank_change")
        return rank_units(table, by, "dept_score", "rank", minimum)
    table = rank_units(with_per_capita(table, areas, by), by, min_orders=minimum)
    return governance(table, settings) if by == "street" else table


def read_score_table(con: duckdb.DuckDBPyConnection, filters: Filters, by: str, settings: Settings,
                     functional_only: bool = False) -> pl.DataFrame:
    """score_table of the units ranked under `filters` (with the history rank changes and the 治理类 window
    need), counted in DuckDB: one row per unit and month leaves the database."""
    scope = with_history(ranking_filters(filters, by), settings)
    keys = list(UNIT_KEYS[by])
    table = read_rate_table(con, scope, [*keys, "month"], settings).rename({"month": "period"}).drop_nulls(keys[-1])
    if by != "dept":
        table = table.with_columns(unit=pl.col(keys[-1])).sort(["period", *keys])
        return assess(table, by, settings, areas=read_areas(con, filters))
    offices = pl.col("dept").str.contains(STREET_OFFICE) if functional_only else pl.lit(False)
    table = table.filter(~offices).with_columns(unit=pl.col("dept")).sort(["period", "dept"])
    quality = read_dispatch_quality(con, scope).filter(~offices)
    return assess(table, by, settings, ratings=read_ratings(con, scope), quality=quality)


def read_dispatch_quality(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """dispatch_quality per department and month (`period`), counted in DuckDB against dept_duties."""
    source, params = detail_sql(con, filters)
    # Orders are counted per department, month and category first (whole months from the monthly summary);
    # only those few rows meet the duty lists.
    frame = query(con, f"""
        WITH duties AS (SELECT category_l1::VARCHAR AS c1, category_l2::VARCHAR AS c2, dept::VARCHAR AS d FROM dept_duties
                        WHERE category_l1 IS NOT NULL AND dept IS NOT NULL),
             exact AS (SELECT c1, c2, list(DISTINCT d) AS ds FROM duties WHERE c2 IS NOT NULL GROUP BY c1, c2),
             by_l1 AS (SELECT c1, list(DISTINCT d) AS ds FROM duties GROUP BY c1),
             o AS (SELECT w.dept::VARCHAR AS dept, w.month AS period, w.category_l1::VARCHAR AS c1,
                          w.category_l2::VARCHAR AS c2, sum(w.orders) AS n, sum(w.redispatched) AS r
                   FROM {source} w WHERE w.dept IS NOT NULL GROUP BY ALL)
        SELECT o.dept, o.period, sum(o.r)::BIGINT AS redispatched,
               coalesce(sum(o.n) FILTER (WHERE coalesce(e.ds, l.ds) IS NOT NULL), 0)::BIGINT AS duty_known,
               coalesce(sum(o.n) FILTER (WHERE NOT list_contains(coalesce(e.ds, l.ds), o.dept)), 0)::BIGINT AS mismatched,
               sum(o.n)::BIGINT AS _n
        FROM o LEFT JOIN exact e ON o.c1 = e.c1 AND o.c2 = e.c2 LEFT JOIN by_l1 l ON o.c1 = l.c1
        GROUP BY o.dept, o.period""", params)
    return frame.with_columns(
        redispatch_share=pl.col("redispatched") / pl.col("_n"),
        mismatch_share=pl.when(pl.col("duty_known") > 0).then(pl.col("mismatched") / pl.col("duty_known")),
    ).drop("_n")


def read_areas(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    return query(con, AREAS_SQL)


def read_ratings(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """The street ratings of departments (dept_ratings) within the filtered months, districts and streets."""
    return query(con, *ratings_query(filters))


def read_duties(con: duckdb.DuckDBPyConnection, filters: Filters) -> pl.DataFrame:
    """The 权责清单 (dept_duties)."""
    return query(con, DUTIES_SQL)


def month_table(table: pl.DataFrame, month: date) -> pl.DataFrame:
    """The ranking of one month, best first (tied units: more orders first); unranked units (no rates at all) last."""
    return table.filter(pl.col("period") == month_start(month)).sort(
        ["rank", "orders", "unit"], descending=[False, True, False], nulls_last=True)


def top_bottom(table: pl.DataFrame, month: date, n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The n best and the n worst ranked units of a month (worst first in the second)."""
    ranked = month_table(table, month).drop_nulls("rank")
    return ranked.head(n), ranked.tail(n).reverse()


def unit_filter(table: pl.DataFrame, filters: Filters) -> pl.DataFrame:
    """Rows of the units the shared district/street filters name (ranks stay citywide)."""
    if filters.districts and "district" in table.columns:
        table = table.filter(pl.col("district").is_in(list(filters.districts)))
    if filters.streets and "street" in table.columns:
        table = table.filter(pl.col("street").is_in(list(filters.streets)))
    return table


def movement(change: int | None) -> str:
    """Rank change as an arrow: ↑3, ↓2, →, 新 (not ranked the month before)."""
    if change is None:
        return "新"
    return "→" if change == 0 else (f"↑{change}" if change > 0 else f"↓{-change}")


def explain(metric: str, settings: Settings) -> str:
    """Definitions (口径) of the assessment's own metrics, with the settings in force."""
    g, w = settings.rankings, settings.departments.w_street_rating
    texts = {
        "rank": (
            "**排名**：每月按综合得分从高到低排名；得分相同时工单量多者在前，再按名称排序。"
            f"当月工单不足 {g.min_orders} 件的单位照常显示各项比率，但不参与排名（样本太小，一两件工单就能让比率大起大落）。"
            "**名次变化**为与上一个自然月名次之差（↑ 表示上升；“新”表示上月未参与排名）。"
            "区、街乡排名为全市排名，侧栏的区/街乡筛选只影响显示哪些单位。"
        ),
        "per_10k": "**每万人工单量** = 当月工单量 ÷ 常住人口 × 10,000。区人口为第七次人口普查数据；街乡人口以数据库中的区划人口为准，未知时不计算。",
        "governance": (
            f"**治理类街乡候选**（代理口径，可配置）：在截至当月的最近 {g.governance_window_months} 个月中，至少有 "
            f"{g.governance_months_hit} 个月同时满足：① 每万人工单量居全部街乡前 {g.governance_top_share:.0%}"
            "（人口未知的街乡按其工单量在全部街乡中的位置判断）；② 综合得分低于当月全市街乡综合得分的中位数。"
            "官方遴选规则未公开，此为代理指标。"
        ),
        "dept_score": (
            f"**部门得分** = (1 − {w:.2g}) × 部门工单综合得分 + {w:.2g} × 街乡评分均值（街乡考核部门，0–100）。"
            "当月没有街乡评分的部门只按综合得分计；没有综合得分的只按街乡评分计。部门排名按部门得分，规则同上。"
        ),
        "street_rating": "**街乡评分均值**：当月各街乡对该部门评分（0–100）的算术平均；“评分条数”为参与平均的评分数。",
        "redispatch_share": "**退单/改派占比** = 状态为“退单”或退单/改派次数 > 0 的工单 ÷ 该部门承办的工单。",
        "mismatch_share": (
            "**派单不符占比** = 承办部门不在权责清单所列责任部门之中的工单 ÷ 能在权责清单中找到责任部门的工单。"
            "按一级 + 二级分类匹配；二级分类无对应条目时按一级分类匹配（该一级分类下列出的任一部门均视为相符）。"
            "权责清单中找不到分类的工单不计入分母。"
        ),
    }
    return texts[metric]


def settings_caption(settings: Settings) -> str:
    """The weights and thresholds in force, in one line."""
    r, c, g = settings.rates, settings.composite, settings.rankings
    return (
        f"当前口径：综合得分权重 响应 {c.w_response:g} / 解决 {c.w_resolution:g} / 满意 {c.w_satisfaction:g}；"
        f"部分解决计 {r.partial_credit:g}、基本满意计 {r.basic_credit:g}；响应时限 {r.response_window_hours:g} 小时；"
        f"默认办理时限 {r.default_deadline_days:g} 天；街乡评分权重 {settings.departments.w_street_rating:.2g}；"
        f"治理类：近 {g.governance_window_months} 个月中 ≥ {g.governance_months_hit} 个月居前 {g.governance_top_share:.0%}"
        + ("；已排除无效工单" if r.exclude_invalid else "")
    )


# --- queries (bound parameters only) shared by the CLI and the pages ---

AREAS_SQL = "SELECT district, street, community, population FROM areas"
DUTIES_SQL = "SELECT category_l1, category_l2, dept FROM dept_duties"


def ratings_query(filters: Filters) -> tuple[str, list[Any]]:
    """dept_ratings within the filtered months, districts and streets."""
    clauses, params = ["TRUE"], []
    if filters.date_from:
        clauses.append("period >= ?")
        params.append(month_start(filters.date_from))
    if filters.date_to:
        clauses.append("period <= ?")
        params.append(filters.date_to)
    for column, values in (("district", filters.districts), ("street", filters.streets)):
        if values:
            clauses.append(f"list_contains(?, {column})")
            params.append(list(values))
    return (
        "SELECT period, district, street, dept, score, comment FROM dept_ratings WHERE "
        + " AND ".join(clauses) + " ORDER BY period, street", params,
    )


def orders_query(filters: Filters) -> tuple[str, list[Any]]:
    where, params = filters.where()
    return f"SELECT {', '.join(SCORE_INPUT_COLUMNS)} FROM work_orders WHERE {where}", params


def ranking_filters(filters: Filters, by: str) -> Filters:
    """Districts and streets are ranked citywide (the unit filters only choose which rows to show);
    departments are assessed on the orders within all the filters."""
    return filters if by == "dept" else replace(filters, districts=(), streets=())


def run(con, args) -> pl.DataFrame:
    """CLI: one row per unit and month with the rates (0–1), composite (0–100), rank and rank change."""
    by = args.by or "district"
    if by not in UNIT_KEYS:
        raise SystemExit(f"scores 不支持 --by {by}；请用 district、street 或 dept。")
    settings = load_settings()
    filters = from_args(args)
    table = read_score_table(con, filters, by, settings)
    if filters.date_from:
        table = table.filter(pl.col("period") >= month_start(filters.date_from))
    columns = ["unit", "period", "orders", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate",
               "composite", "rank", "rank_change"]
    if by == "street":
        columns[1:1] = ["district"]
        columns += ["population", "per_10k", "months_hit", "governance"]
    elif by == "district":
        columns += ["population", "per_10k"]
    else:
        columns += ["composite_rank", "street_rating", "rating_count", "dept_score", "redispatch_share", "mismatch_share"]
    return table.sort(["period", "rank", "unit"], nulls_last=True).with_columns(
        pl.col("period").dt.strftime("%Y-%m")
    ).select(columns)


# --- figures ---

def ranking_figure(month: pl.DataFrame, value: str = "composite", height: int | None = None) -> go.Figure:
    """One month's ranking (best at the top) as dots on an axis around the scores, so that close scores
    still look different; equal ranks are labelled as such."""
    shown = month.drop_nulls(value)
    names = [f"{r}. {u}" for r, u in zip(shown["rank"], shown["unit"])]
    fig = go.Figure(go.Scatter(
        x=shown[value], y=names, mode="markers+text", marker=dict(color="#f58518", size=11),
        text=[f"{v:.1f}" for v in shown[value]], textposition="middle right", customdata=shown["orders"],
        hovertemplate="%{y}：" + LABELS[value] + " %{x:.1f}（%{customdata:,} 件）<extra></extra>",
    ))
    fig.update_layout(
        yaxis=dict(autorange="reversed", type="category"), margin=dict(t=10, b=10, l=10, r=30),
        xaxis=dict(title=LABELS[value], range=score_range(shown[value].to_list()), tickformat=".1f"),
        height=height or max(260, 24 * shown.height + 60),
    )
    return fig


def per_capita_figure(month: pl.DataFrame) -> go.Figure:
    """Each street: orders per 10,000 residents (or volume where unknown) against composite; candidates red."""
    x_col = "per_10k" if month["per_10k"].is_not_null().any() else "orders"
    shown = month.drop_nulls([x_col, "composite"])
    flag = shown["governance"] if "governance" in shown.columns else pl.Series([False] * shown.height)
    fig = go.Figure()
    for is_flag, color, name in ((False, "#4c78a8", "其他街乡"), (True, "#e45756", "治理类候选")):
        part = shown.filter(flag == is_flag)
        fig.add_scatter(
            x=part[x_col], y=part["composite"], mode="markers", name=name, marker=dict(color=color, size=9 if is_flag else 6),
            text=part["unit"], customdata=part["orders"],
            hovertemplate="%{text}<br>" + LABELS[x_col] + " %{x:.1f}<br>综合得分 %{y:.1f}<br>%{customdata} 件<extra></extra>",
        )
    if shown.height:
        fig.add_hline(y=float(shown["composite"].median()), line_dash="dot", line_color="#888", annotation_text="综合得分中位数")
    fig.update_layout(
        xaxis_title=LABELS[x_col], yaxis_title="综合得分", margin=dict(t=10, b=10, l=10, r=10), height=420,
        legend=dict(orientation="h", y=-0.2),
    )
    return fig


def rank_history_figure(table: pl.DataFrame, units: list[str]) -> go.Figure:
    """Rank over the months for the chosen units (1 at the top)."""
    fig = go.Figure()
    for unit in units:
        part = table.filter(pl.col("unit") == unit).sort("period")
        fig.add_scatter(x=part["period"], y=part["rank"], name=unit, mode="lines+markers")
    fig.update_layout(
        yaxis=dict(autorange="reversed", title="排名", dtick=1 if table["rank"].max() and table["rank"].max() <= 20 else None),
        xaxis=dict(tickformat="%Y年%m月", dtick="M1"), margin=dict(t=10, b=10, l=10, r=10), height=320,
        legend=dict(orientation="h", y=-0.25), hovermode="x unified",
    )
    return fig


def ratings_figure(summary: pl.DataFrame) -> go.Figure:
    """A department's mean street rating per month, with how many ratings it rests on."""
    summary = summary.sort("period")
    fig = go.Figure(go.Scatter(
        x=summary["period"], y=summary["street_rating"], mode="lines+markers", line_color="#54a24b",
        customdata=summary["rating_count"], hovertemplate="%{x|%Y年%m月}：%{y:.1f} 分（%{customdata} 条评分）<extra></extra>",
    ))
    fig.update_layout(
        yaxis=dict(title="街乡评分均值", range=[0, 100]), xaxis=dict(tickformat="%Y年%m月", dtick="M1"),
        margin=dict(t=10, b=10, l=10, r=10), height=300,
    )
    return fig
