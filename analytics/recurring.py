"""What keeps coming back: hot issues, repeat complaints, recurring types per area, 每月一题 candidates."""
from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import plotly.graph_objects as go
import polars as pl

from analytics import hot_issues as hi
from analytics.db import orders as fetch_orders
from analytics.db import detail_sql, query
from analytics.filters import Filters, from_args
from analytics.rates import RATE_INPUT_COLUMNS, rate_table, read_rate_table, with_rates
from analytics.settings import Settings, load_settings
from core.counts import COUNT_COLUMNS
from core.schema import WORK_ORDER_COLUMNS

if TYPE_CHECKING:   # analytics.hot_months imports this module
    from analytics.hot_months import Plan

TYPE_COLUMNS = tuple(dict.fromkeys((
    *RATE_INPUT_COLUMNS, "order_id", "district", "street", "category_l2", "category_l3", "redispatch_count",
)))
REPEAT_COLUMNS = hi.INPUT_COLUMNS
LEVEL_LABELS = {"category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类"}
_LEVELS = ("category_l3", "category_l2", "category_l1")


_TYPES = {"received_at": pl.Datetime("us"), "dispatched_at": pl.Datetime("us"), "responded_at": pl.Datetime("us"),
          "due_at": pl.Datetime("us"), "closed_at": pl.Datetime("us"), "redispatch_count": pl.Int64,
          "is_invalid": pl.Boolean}


def _typed(orders: pl.DataFrame) -> pl.DataFrame:
    """Columns a source left entirely empty arrive untyped; give them their canonical type."""
    return orders.with_columns([pl.col(c).cast(t) for c, t in _TYPES.items()
                                if c in orders.columns and orders.schema[c] == pl.Null]
                               + [pl.col(c).cast(pl.String) for c in orders.columns if orders.schema[c] == pl.Null
                                  and c not in _TYPES])



def _episodes(frame: pl.DataFrame, matter: str, window_days: int) -> pl.DataFrame:
    """Runs of orders on one matter where each follows the previous by at most window_days."""
    # Sorted by matter, the previous row is the same matter's previous order unless the matter changes there
    # (a window per matter costs a group per caller: a million of them in a big month).
    gap = pl.col("received_at").diff()
    first = pl.col(matter).ne_missing(pl.col(matter).shift(1)) | pl.int_range(pl.len()).eq(0)
    return frame.sort(matter, "received_at").with_columns(
        episode=(first | gap.is_null() | (gap > timedelta(days=window_days))).cum_sum()
    )


def repeats(orders: pl.DataFrame, settings: Settings, period_start: datetime | None = None,
            period_end: datetime | None = None) -> pl.DataFrame:
    """Two lists in one frame. 同一来电人 (the alert): the same caller on the same matter (same category_l3 / l2,
    or similar text where there is no category), each time within settings.repeats.window_days of the last, at
    least settings.repeats.alert_count times. 同一地点 (root causes): the hot-issue groups at one place with
    several callers and at least alert_count orders, most callers first, at most settings.repeats.place_limit.
    `hot_issue` names the hot issue the orders belong to, so that the two pages never disagree about them."""
    if orders.height < settings.repeats.alert_count:
        return pl.DataFrame(schema=REPEAT_SCHEMA)
    groups, hot = hi.settle(hi.group_orders(orders, settings, period_start, period_end), settings, period_end)
    runs = caller_runs(groups, settings)
    labels = run_labels(runs, settings, groups.vocabulary(settings.hot_issues.max_df_share))
    by_caller = caller_rows(runs, labels, hot_orders(hot, groups.members))
    candidates = place_candidates(groups.stats, settings)
    return pl.concat([by_caller, place_rows(hi.describe(groups, candidates, settings, period_end), settings)])


def caller_runs(groups: hi.Groups, settings: Settings) -> pl.DataFrame:
    """The prepared orders of every caller's runs on one matter of at least alert_count orders, each follows
    the previous within window_days, with `matter_key` and `episode` (one number per run)."""
    r = settings.repeats
    return long_runs(caller_matters(groups, settings), r.window_days, r.alert_count)


def caller_matters(groups: hi.Groups, settings: Settings) -> pl.DataFrame:
    """The prepared orders that have a caller, with `matter_key`: the caller and the matter (category_l3, else
    category_l2, else the caller's orders linked by text similarity: #component)."""
    r, h = settings.repeats, settings.hot_issues
    docs = groups.docs
    docs = docs.with_columns(
        by_caller=pl.Series(hi.text_components(docs, groups.sig, "caller_key", r.text_similarity, h).astype(np.int64)))
    return docs.filter(pl.col("caller_key").is_not_null()).with_columns(
        matter_key=pl.concat_str([pl.col("caller_key"), pl.coalesce(_CATEGORY, pl.format("#{}", "by_caller"))], separator="|"))


def long_runs(orders: pl.DataFrame, window_days: int, alert_count: int) -> pl.DataFrame:
    """The orders of runs (see `_episodes`, per matter_key) of at least alert_count orders, in matter and time
    order. The runs are found on the keys alone: sorting every order with its text would copy it."""
    keys = _episodes(orders.select("matter_key", "received_at").with_row_index("_row"), "matter_key", window_days)
    kept = keys.filter(pl.len().over("episode") >= alert_count)
    return orders[kept["_row"]].with_columns(episode=kept["episode"])


_CATEGORY = pl.coalesce("category_l3", "category_l2")


def run_labels(runs: pl.DataFrame, settings: Settings, vocab: hi.Vocabulary) -> pl.DataFrame:
    """Per run (`episode`): where (the place its orders name, else the first address or community) and the
    matter (its category when every order has one, else the problem its texts name: hot_issues.label, against
    the period's `vocab`, Groups.vocabulary)."""
    h = settings.hot_issues
    rows = []
    for (episode,), g in runs.group_by("episode", maintain_order=True):
        g = g.sort("received_at", "order_id")
        where, problem = hi.label(g, vocab, h)
        categories = g.select(_CATEGORY.alias("c"))["c"].drop_nulls()
        rows.append((episode, where or (g["place_name"].drop_nulls()[0] if g["place_name"].drop_nulls().len() else None),
                     categories.mode().sort()[0] if categories.len() == g.height else problem))
    return pl.DataFrame(rows, schema={"episode": pl.Int64, "place": pl.String, "matter": pl.String}, orient="row")


def hot_orders(hot: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """(order_id, hot_issue): the hot issue each order belongs to."""
    return (hot.select("cluster", hot_issue="label").join(members.select("order_id", "cluster"), on="cluster")
            .select("order_id", "hot_issue"))


def caller_rows(runs: pl.DataFrame, labels: pl.DataFrame, hot_of: pl.DataFrame) -> pl.DataFrame:
    """The 同一来电人 rows: one per run (`episode`), its place and matter from `labels` by `run` (the run it
    was found in; default the run itself), `hot_issue` the hot issue most of its orders belong to."""
    if runs.is_empty():
        return pl.DataFrame(schema=REPEAT_SCHEMA)
    if "run" not in runs.columns:
        runs = runs.with_columns(run=pl.col("episode"))
    g = runs.select("order_id", "caller_key", "received_at", "episode", "run").join(hot_of, on="order_id", how="left")
    top = (g.drop_nulls("hot_issue").group_by("episode", "hot_issue").len("n")
           .sort(["episode", "n", "hot_issue"], descending=[False, True, False])
           .group_by("episode", maintain_order=True).first())
    rows = g.sort("received_at", "order_id").group_by("episode").agg(
        caller_key=pl.col("caller_key").first(), run=pl.col("run").first(), count=pl.len(),
        first_at=pl.col("received_at").min(), last_at=pl.col("received_at").max(), order_ids=pl.col("order_id"),
        with_hot=pl.col("hot_issue").is_not_null().sum())
    return (rows.join(top.select("episode", "hot_issue", "n"), on="episode", how="left")
            .join(labels.rename({"episode": "run"}), on="run", how="left")
            .select(kind=pl.lit("同一来电人"), caller_key="caller_key", place="place", matter="matter", count="count",
                    callers=pl.lit(1), first_at="first_at", last_at="last_at",
                    hot_issue=pl.when(pl.col("with_hot") * 2 > pl.col("count")).then("hot_issue"), order_ids="order_ids")
            .cast(REPEAT_SCHEMA)
            .sort(["count", "last_at", "first_at", "caller_key", "matter"], descending=[True, True, False, False, False],
                  nulls_last=True))


def place_candidates(stats: pl.DataFrame, settings: Settings) -> pl.Series:
    """The groups that may be listed 同一地点: several callers, at least alert_count orders, most callers first
    (twice the list's length: those without a place drop out)."""
    r = settings.repeats
    return stats.filter((pl.col("callers") >= 2) & (pl.col("size") >= r.alert_count)).sort(
        ["callers", "size", "cluster"], descending=[True, True, False]).head(r.place_limit * 2)["cluster"]


def place_rows(table: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The 同一地点 rows from labelled candidate groups (hot_issues.describe columns)."""
    return (table.filter(pl.col("place") != "").sort(["callers", "size", "cluster"], descending=[True, True, False])
            .head(settings.repeats.place_limit).select(
                kind=pl.lit("同一地点"), caller_key=pl.lit(None, pl.String), place="place", matter="problem",
                count="size", callers="callers", first_at="first_at", last_at="last_at",
                hot_issue=pl.when("hot").then("label"), order_ids="order_ids").cast(REPEAT_SCHEMA))


REPEAT_SCHEMA = {"kind": pl.String, "caller_key": pl.String, "place": pl.String, "matter": pl.String, "count": pl.UInt32,
                 "callers": pl.UInt32, "first_at": pl.Datetime("us"), "last_at": pl.Datetime("us"),
                 "hot_issue": pl.String, "order_ids": pl.List(pl.String)}


def _month_index(col: str = "month") -> pl.Expr:
    return pl.col(col).dt.year().cast(pl.Int32) * 12 + pl.col(col).dt.month().cast(pl.Int32)


def topic_level(orders: pl.DataFrame, preferred: str) -> tuple[str | None, str]:
    """The issue-type level to rank by: `preferred` when the orders carry it, else the next coarser level
    they do carry (三级 → 二级 → 一级); with a note in Chinese saying what was done, or why nothing can be."""
    filled = {c: orders.height - orders[c].null_count() for c in _LEVELS if c in orders.columns}
    return _level(filled, orders.height, preferred)


def _level(filled: dict[str, int], total: int, preferred: str) -> tuple[str | None, str]:
    """topic_level from the number of orders carrying each level (`filled`) among `total`."""
    start = _LEVELS.index(preferred) if preferred in _LEVELS else 1
    for level in _LEVELS[start:]:
        if filled.get(level, 0) > 0:
            if level == preferred:
                return level, ""
            return level, (f"所选工单没有{LEVEL_LABELS.get(preferred, preferred)}，改按{LEVEL_LABELS[level]}统计。")
    if not total:
        return None, "所选条件下没有工单。"
    return None, ("所选工单都没有问题分类（一、二、三级分类均为空），无法按问题类型统计。"
                  "导入时请把分类列映射为“问题分类”或“一级分类”；留言类数据可先用派单建议补上分类。")


_CELL_KEYS = ("district", "street")


def _cells(orders: pl.DataFrame, level: str, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The inputs of recurring_types and topic_candidates from orders: the counts behind the rates per
    district × street × type × month (types known), and per type the mean re-dispatch count and the 一级分类
    most of its orders have."""
    o = _typed(orders).drop_nulls(level).with_columns(month=pl.col("received_at").dt.truncate("1mo").dt.date())
    o = o.with_columns([pl.lit(None, pl.String).alias(c) for c in _CELL_KEYS if c not in o.columns])
    cells = rate_table(o, [*_CELL_KEYS, level, "month"], settings).select(*_CELL_KEYS, level, "month", *COUNT_COLUMNS)
    extras = o.group_by(level).agg(redispatch=pl.col("redispatch_count").fill_null(0).mean())
    if level != "category_l1":
        l1 = o.group_by(level, "category_l1").len("n").drop_nulls("category_l1").sort(
            [level, "n", "category_l1"], descending=[False, True, False]).group_by(level, maintain_order=True).first()
        extras = extras.join(l1.select(level, "category_l1"), on=level, how="left")
    return cells, extras


def read_cells(con: duckdb.DuckDBPyConnection, filters: Filters, level: str,
               settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """_cells counted in DuckDB: only the cells and one row per type leave the database."""
    if level not in _LEVELS:
        raise ValueError(f"not an issue-type level: {level}")
    cells = read_rate_table(con, filters, [*_CELL_KEYS, level, "month"], settings)
    cells = cells.drop_nulls(level).select(*_CELL_KEYS, level, "month", *COUNT_COLUMNS)
    where, params = filters.where()
    extras = query(con, f"WITH o AS (SELECT {level} AS t, category_l1, redispatch_count FROM work_orders "
                        f"WHERE {where} AND {level} IS NOT NULL), "
                        "l1 AS (SELECT t, arg_min(category_l1, (-n, category_l1)) AS category_l1 FROM "
                        "(SELECT t, category_l1, count(*) AS n FROM o WHERE category_l1 IS NOT NULL GROUP BY 1, 2) GROUP BY 1) "
                        "SELECT t, avg(coalesce(redispatch_count, 0)) AS redispatch, any_value(l1.category_l1) AS category_l1 "
                        "FROM o LEFT JOIN l1 USING (t) GROUP BY t", [*params])
    if level == "category_l1":   # the type is its own 一级分类 (as in _cells)
        extras = extras.drop("category_l1")
    return cells, extras.rename({"t": level})


def read_level(con: duckdb.DuckDBPyConnection, filters: Filters, preferred: str) -> tuple[str | None, str]:
    """topic_level of the filtered orders, counted in DuckDB."""
    where, params = filters.where()
    row = query(con, f"SELECT count(*) AS total, {', '.join(f'count({c}) AS {c}' for c in _LEVELS)} "
                     f"FROM work_orders WHERE {where}", params).row(0, named=True)
    return _level({c: row[c] for c in _LEVELS}, row["total"], preferred)


def recurring_types(orders: pl.DataFrame, settings: Settings, area: str = "street") -> pl.DataFrame:
    """Per area × issue type: months above expectation (longest run of consecutive months), and whether its
    解决率 stays low against the type city-wide. Expected count of a cell = area's orders that month ×
    the type's city-wide share that month. Rows: runs ≥ min_streak_months, or 解决率 low. The type level
    falls back as topic_level says."""
    level = topic_level(orders, settings.topics.level)[0]
    if level is None or orders.is_empty():
        return pl.DataFrame()
    return types_from_cells(_cells(orders, level, settings)[0], level, area, settings)


def types_from_cells(cells: pl.DataFrame, level: str, area: str, settings: Settings) -> pl.DataFrame:
    """recurring_types from the counts per district × street × type × month (see `_cells`)."""
    t = settings.topics
    sums = [pl.col(c).sum() for c in COUNT_COLUMNS]
    o = cells.drop_nulls([area, level]).group_by(area, level, "month").agg(sums)
    if o.is_empty():
        return pl.DataFrame()
    cells = o.select(area, level, "month", "orders")
    cells = (
        cells.join(cells.group_by(area, "month").agg(area_orders=pl.col("orders").sum()), on=[area, "month"])
        .join(cells.group_by(level, "month").agg(type_orders=pl.col("orders").sum()), on=[level, "month"])
        .join(cells.group_by("month").agg(total=pl.col("orders").sum()), on="month")
        .with_columns(expected=pl.col("area_orders") * pl.col("type_orders") / pl.col("total"))
        .with_columns(lift=pl.col("orders") / pl.col("expected"))
        .with_columns(above=(pl.col("lift") >= t.persistence_lift) & (pl.col("orders") >= settings.hotspots.min_count))
    )
    runs = (
        cells.filter("above").with_columns(mi=_month_index())
        .sort(area, level, "mi")
        .with_columns(run=pl.col("mi") - pl.int_range(pl.len()).over(area, level))
        .group_by(area, level, "run").agg(length=pl.len(), until=pl.col("month").max(), lift=pl.col("lift").mean())
        .sort("length", "until", descending=True)
        .group_by(area, level, maintain_order=True).first()
        .select(area, level, longest_run=pl.col("length"), run_until=pl.col("until"), run_lift=pl.col("lift"))
    )
    months_above = cells.group_by(area, level).agg(months_above=pl.col("above").sum(), months=pl.len())
    rates = with_rates(o.group_by(area, level).agg(sums), settings).select(
        area, level, "orders", "resolution_rate", "satisfaction_rate")
    city = with_rates(o.group_by(level).agg(sums), settings).select(level, city_resolution_rate="resolution_rate")
    table = (
        rates.join(months_above, on=[area, level]).join(runs, on=[area, level], how="left").join(city, on=level)
        .with_columns(longest_run=pl.col("longest_run").fill_null(0))
        .with_columns(
            recurring=pl.col("longest_run") >= t.min_streak_months,
            low_resolution=((pl.col("resolution_rate") <= pl.col("city_resolution_rate") - t.low_resolution_gap)
                            & (pl.col("orders") >= settings.hotspots.min_count * t.min_streak_months)).fill_null(False),
        )
        .filter(pl.col("recurring") | pl.col("low_resolution"))
    )
    reason = pl.concat_str([
        pl.when("recurring").then(pl.format("连续 {} 个月高于预期", "longest_run")),
        pl.when("low_resolution").then(pl.lit("解决率持续偏低")),
    ], separator="；", ignore_nulls=True)
    return table.with_columns(reason=reason).rename({level: "issue_type", area: "area"}).sort(
        ["longest_run", "orders"], descending=True)



def _minmax(col: str) -> pl.Expr:
    c = pl.col(col).cast(pl.Float64)
    span = c.max() - c.min()
    return pl.when(span > 0).then((c - c.min()) / span).otherwise(0.5).fill_null(0.5)


def topic_candidates(orders: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Issue types ranked for 每月一题: score = 100 × Σ w × component / Σ w, components min-max normalised
    over the types: volume (ln(1+orders)), breadth (streets affected), persistence (months in which the
    type's volume is above the median type's volume that month), difficulty (mean of normalised
    1−解决率, 1−满意率 and mean re-dispatch count). The type level falls back as topic_level says (empty
    when the orders have no category at all)."""
    level = topic_level(orders, settings.topics.level)[0]
    if level is None or orders.is_empty():
        return pl.DataFrame()
    return topics_from_cells(*_cells(orders, level, settings), level, settings)


def topics_from_cells(cells: pl.DataFrame, extras: pl.DataFrame, level: str, settings: Settings) -> pl.DataFrame:
    """topic_candidates from the counts per district × street × type × month and the per-type extras (see
    `_cells`)."""
    t = settings.topics
    if cells.is_empty():
        return pl.DataFrame()
    monthly = cells.group_by(level, "month").agg(n=pl.col("orders").sum())
    months = monthly["month"].n_unique()
    # Types absent in a month count 0 there, so the median reflects all types.
    grid = (monthly.select(level).unique().join(monthly.select("month").unique(), how="cross")
            .join(monthly, on=[level, "month"], how="left").with_columns(n=pl.col("n").fill_null(0)))
    grid = grid.with_columns(baseline=pl.col("n").median().over("month"))
    persistence = grid.group_by(level).agg(months_above=(pl.col("n") > pl.col("baseline")).sum())
    base = (cells.group_by(level).agg(streets=pl.col("street").drop_nulls().n_unique())
            .join(extras.select(level, "redispatch", *(["category_l1"] if level != "category_l1" else [])), on=level, how="left"))
    rates = with_rates(cells.group_by(level).agg([pl.col(c).sum() for c in COUNT_COLUMNS]), settings).select(
        level, "orders", "resolution_rate", "satisfaction_rate")
    w = {"volume": t.w_volume, "breadth": t.w_breadth, "persistence": t.w_persistence, "difficulty": t.w_difficulty}
    table = (
        rates.join(base, on=level).join(persistence, on=level)
        .with_columns(log_volume=(1 + pl.col("orders").cast(pl.Float64)).log(),
                      unresolved=1 - pl.col("resolution_rate"), unsatisfied=1 - pl.col("satisfaction_rate"))
        .with_columns(
            c_volume=_minmax("log_volume"), c_breadth=_minmax("streets"), c_persistence=_minmax("months_above"),
            c_difficulty=(_minmax("unresolved") + _minmax("unsatisfied") + _minmax("redispatch")) / 3,
        )
        .with_columns(score=100 * pl.sum_horizontal([pl.col(f"c_{k}") * v for k, v in w.items()]) / max(sum(w.values()), 1e-9))
        .sort(["score", "orders", level], descending=[True, True, False])
        .with_row_index("rank", offset=1)
        .with_columns(months=pl.lit(months, pl.UInt32))
        .rename({level: "issue_type"})
    )
    if level == "category_l1":
        table = table.with_columns(category_l1=pl.col("issue_type"))
    return table.select("rank", "issue_type", "category_l1", "score", "orders", "streets", "months_above", "months",
                        "resolution_rate", "satisfaction_rate", "redispatch", "c_volume", "c_breadth",
                        "c_persistence", "c_difficulty")


def topic_tracking(orders: pl.DataFrame, level: str, issue_type: str, pick_month: date) -> pl.DataFrame:
    """Monthly volume of one issue type with month-on-month change and change against the pick month."""
    o = _typed(orders).with_columns(month=pl.col("received_at").dt.truncate("1mo").dt.date())
    all_months = o.select(pl.col("month").unique().sort())
    counts = o.filter(pl.col(level) == issue_type).group_by("month").agg(orders=pl.len())
    frame = all_months.join(counts, on="month", how="left").with_columns(pl.col("orders").fill_null(0)).sort("month")
    return tracking(frame, pick_month)


def read_type_months(con: duckdb.DuckDBPyConnection, filters: Filters, level: str, issue_type: str) -> pl.DataFrame:
    """Orders of one issue type per month (`month`, `orders`), over every month the filtered orders cover."""
    if level not in WORK_ORDER_COLUMNS:
        raise ValueError(f"unknown work_orders column: {level}")
    source, params = detail_sql(con, filters)   # whole months from the monthly summary: not every order
    return query(con, f"SELECT month, coalesce(sum(orders) FILTER (WHERE {level} = ?), 0)::BIGINT AS orders "
                      f"FROM {source} GROUP BY 1 ORDER BY 1", [issue_type, *params])


def tracking(frame: pl.DataFrame, pick_month: date) -> pl.DataFrame:
    """Monthly volume (`month`, `orders`) with month-on-month change and change against the pick month."""
    pick = pick_month.replace(day=1)
    at_pick = frame.filter(pl.col("month") == pick)["orders"]
    base = float(at_pick[0]) if at_pick.len() and at_pick[0] else None
    return frame.with_columns(
        mom_change=pl.when(pl.col("orders").shift(1) > 0).then(pl.col("orders") / pl.col("orders").shift(1) - 1),
        vs_pick=(pl.col("orders") / base - 1) if base else pl.lit(None, pl.Float64),
        after_pick=pl.col("month") > pick,
    )


def tracking_figure(track: pl.DataFrame, pick_month: date, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(
        x=track["month"], y=track["orders"], name="工单量",
        marker_color=["#f58518" if a else "#9db4d3" for a in track["after_pick"]],
        customdata=[None if v is None else f"{v:+.0%}" for v in track["mom_change"]],
        hovertemplate="%{x|%Y年%m月}：%{y} 件（环比 %{customdata}）<extra></extra>",
    ))
    fig.add_vline(x=pick_month.replace(day=1).isoformat(), line_dash="dash", line_color="#d62728")
    fig.update_layout(title=title, height=320, margin=dict(t=40, b=10, l=10, r=10), xaxis=dict(tickformat="%Y年%m月", dtick="M1"),
                      yaxis_title="工单量", showlegend=False)
    return fig


def explain(settings: Settings, what: str) -> str:
    r, t = settings.repeats, settings.topics
    level = LEVEL_LABELS.get(t.level, t.level)
    texts = {
        "hot_issues": hi.explain(settings),
        "repeats": (
            f"**重复诉求预警（同一来电人）**：同一来电人就同一事项（同一三级/二级分类；无分类时按文本相似度 ≥ "
            f"{r.text_similarity:g}）再次来电，且与上一次相隔不超过 {r.window_days} 天，累计 ≥ {r.alert_count} 次。"
            f"**源头治理清单（同一地点）**：同一地点、同一问题、来自至少两位来电人、累计 ≥ {r.alert_count} 件的工单组"
            f"（与热点问题用同一套分组），按来电人数排序，最多列 {r.place_limit} 个；其中集中爆发的即热点问题，"
            "“所属热点问题”一栏写明，两处结论一致。"
        ),
        "recurring": (
            f"**反复出现的问题类型**（按{level}）：某区域某月的预期工单量 = 该区域当月工单量 × 该类型当月全市占比；"
            f"实际 ≥ {t.persistence_lift:g} 倍预期且 ≥ {settings.hotspots.min_count} 件为“高于预期”，连续 "
            f"≥ {t.min_streak_months} 个月列入。另列该区域该类型解决率比全市同类型低 {t.low_resolution_gap:.0%} 以上的"
            "（“解决率持续偏低”），均为源头治理候选。"
        ),
        "topics": (
            f"**每月一题候选**（按{level}）：得分 = 100 × ({t.w_volume:g}×工单量 + {t.w_breadth:g}×涉及街乡数 + "
            f"{t.w_persistence:g}×持续月数 + {t.w_difficulty:g}×难度) ÷ 权重之和，各项在候选类型间按最小—最大"
            "归一到 0–1（工单量取对数）。持续月数：该类型当月工单量高于当月各类型中位数的月数。难度：1−解决率、"
            "1−满意率、平均退单/改派次数三项归一后的平均。选题后按月跟踪工单量的环比和相对选题当月的变化。"
        ),
    }
    return texts[what]



def read_repeats(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings,
                 plan: Plan | None = None) -> pl.DataFrame:
    """repeats among the filtered orders (only the period shown is read); whole months stored after their
    load are read back instead (analytics.hot_months). `plan` as for hot_issues.read_hot_issues."""
    from analytics import hot_months

    p = plan or hot_months.plan(con, filters, settings)   # a window beyond the ceilings: the plan's note says what is left out
    if p.filters is None:
        return pl.DataFrame(schema=REPEAT_SCHEMA)
    if p.stored:
        return hot_months.read(con, p.filters, settings, p.stored, repeats=True)
    start, end = hi.period(p.filters)
    return repeats(fetch_orders(con, p.filters, REPEAT_COLUMNS), settings, start, end)


def read_types(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings,
               area: str) -> tuple[pl.DataFrame, pl.DataFrame, str | None, str]:
    """recurring_types per `area`, the 每月一题 candidates among the filtered orders, and the type level used
    with its note (topic_level: a coarser level when the orders lack the set one, or why there is none).
    Counted in DuckDB: cells of district × street × type × month leave the database, not orders."""
    level, note = read_level(con, filters, settings.topics.level)
    if level is None:
        return pl.DataFrame(), pl.DataFrame(), level, note
    cells, extras = read_cells(con, filters, level, settings)
    return types_from_cells(cells, level, area, settings), topics_from_cells(cells, extras, level, settings), level, note


def run_repeats(con, args) -> pl.DataFrame:
    """CLI: repeat-complaint alerts."""
    settings = load_settings()
    return read_repeats(con, hi.noted(con, from_args(args), settings), settings)


def run_topics(con, args) -> pl.DataFrame:
    """CLI: 每月一题 candidates, best first, counted in DuckDB (cells, not orders, leave it: any window fits);
    a fallback to a coarser level, or why there is nothing, goes to stderr."""
    settings = load_settings()
    filters = from_args(args)
    level, note = read_level(con, filters, settings.topics.level)
    if note:
        print(note, file=sys.stderr)
    if level is None:
        return pl.DataFrame()
    return topics_from_cells(*read_cells(con, filters, level, settings), level, settings)
