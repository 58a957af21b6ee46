"""热点问题 and 重复诉求 of large whole months, clustered once after a load and read back under filters.

Clustering a month of a big city (a million orders) takes minutes, so `etl.hot` does it once per month whose
orders reach settings.hot_issues.precompute_orders, after the load and its token index are published, and
stores the result here: the members of every group that can ever be listed (several callers) with the
columns filters and verdicts need, the groups' names and final figures, and the orders of callers' runs.
Rows carry the settings they were computed under (settings_key) and the month's token-index fingerprint
(core.summary.monthly_words_state), so changed settings or a reload fall back to computing on request.

Reading (city-wide readers, periods of whole months, every month stored): the whole month is the stored
table as computed; filters (区, 街乡, 分类 …) keep each group's members inside them and judge those again
(burst, lift, verdict, order counts), names are the whole month's; several months join groups of one name
in adjacent months (a burst across a month's end) before judging. Anything else is computed on request.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from analytics import hot_issues as hi
from analytics import recurring as rc
from analytics.db import orders as fetch_orders
from analytics.db import monthly_orders, query, whole_months
from analytics.filters import Filters, add_months, month_bounds
from analytics.settings import Settings, load_settings
from core.hotstore import GROUPS, MEMBERS, RUN_LABELS, RUNS, current, month_states, pending
from core.hotstore import settings_key as _key
from core.store import connect_read

_FILTER_COLUMNS = ("received_at", "district", "street", "category_l1", "dept")
INPUT_COLUMNS = hi.INPUT_COLUMNS


def _month_id(prefix: str = "") -> str:
    """A month as a number, to keep cluster and run numbers of several months apart."""
    return f"(year({prefix}month) * 12 + month({prefix}month))::BIGINT"


def settings_key(settings: Settings) -> str:
    return _key(settings.hot_issues, settings.repeats)


def compute(orders: pl.DataFrame, settings: Settings, start: datetime, end: datetime) -> dict[str, pl.DataFrame]:
    """One month's tables (without month and settings_key): exactly what hot_issues and repeats find for it."""
    h = settings.hot_issues
    groups, hot = hi.settle(hi.group_orders(orders, settings, start, end), settings, end)
    listed = groups.stats.filter(pl.col("callers") >= min(2, h.min_callers))
    table = hi.group_table(groups.members, listed, h, end)
    # Hot groups were named by settle; the rest (vague hot ones too) are named here.
    rest = table.join(hot.select("cluster"), on="cluster", how="anti")["cluster"]
    labels = pl.concat([hot.select("cluster", "place", "problem", "label"), hi.label_groups(groups, rest, settings)])
    labels = labels.with_columns(vague=hi.is_vague())
    table = table.join(labels, on="cluster", how="left")
    # Sorted by area: a filter on 区 or 街乡 reads a few row groups of the stored table.
    members = groups.members.join(listed.select("cluster"), on="cluster", how="semi").sort(
        "district", "street", "received_at", nulls_last=True).select(
        "order_id", "cluster", "received_at", "district", "street", "category_l1", "dept", "caller_key", "request_type",
        pl.col("likes").cast(pl.Int64), "channel", named_key=pl.when(pl.col("text_place").is_not_null()).then("spot_key"))
    # Each district's view (what a filter on it reads) is judged now too: the 区 of 月度通报 and a 区 picked
    # on the page are then read, not judged, each time.
    days = dict(orders.filter(pl.col("received_at").is_between(start, end, closed="left")).group_by("district")
                .agg(pl.col("received_at").dt.date().n_unique()).iter_rows())
    views = [table.with_columns(district=pl.lit(None, pl.String))]
    for (district,), part in members.drop_nulls("district").partition_by("district", as_dict=True).items():
        stats, part, named = _judged(_numbered(part), labels, h, days.get(district, 0))
        view = hi.group_table(part, stats, h, end).join(named, on="cluster", how="left")
        shown = pl.col("hot") | pl.col("cluster").is_in(rc.place_candidates(view, settings).implode())
        views.append(view.filter(shown).with_columns(district=pl.lit(district)))
    table = pl.concat([v.select(_GROUP_COLUMNS) for v in views])
    r = settings.repeats
    matters = rc.caller_matters(groups, settings)
    runs = rc.long_runs(matters, r.window_days, r.alert_count)
    # Every order with a caller is kept, so that runs across months and inside filters are found again.
    matters = matters.join(runs.select("order_id", "episode"), on="order_id", how="left").sort(
        "district", "street", "received_at", nulls_last=True)
    return {
        MEMBERS: members, GROUPS: table,
        RUNS: matters.select("order_id", "episode", "caller_key", "matter_key", "place_name", "received_at",
                             *_FILTER_COLUMNS[1:]),
        RUN_LABELS: rc.run_labels(runs, settings, groups.vocabulary(settings.hot_issues.max_df_share)),
    }


_GROUP_COLUMNS = ("district", "cluster", "place", "problem", "label", "vague", "size", "callers", "consult", "likes",
                  "burst", "burst_from", "burst_to", "expected", "lift", "heat", "hot", "channels", "first_at", "last_at",
                  "peak_share", "growth", "order_ids")


def export(db: str | Path, month: date, out: Path, settings: Settings) -> dict:
    """Compute `month` of the published database `db` into Parquet files `out`.<table>.parquet (with month
    and settings_key) and return what etl.hot needs to publish them: the month's orders and token-index
    fingerprint as read, the settings key and the seconds taken."""
    started = time.perf_counter()
    con = connect_read(db)
    try:
        state = month_states(con).filter(pl.col("month") == month).row(0, named=True)
        orders = fetch_orders(con, Filters(month, add_months(month, 1) - timedelta(days=1)), INPUT_COLUMNS)
    finally:
        con.close()
    start = datetime.combine(month, datetime.min.time())
    tables = compute(orders, settings, start, datetime.combine(add_months(month, 1), datetime.min.time()))
    del orders
    key = settings_key(settings)
    for table, frame in tables.items():
        frame.with_columns(month=pl.lit(month), settings_key=pl.lit(key)).write_parquet(out.with_name(f"{out.name}.{table}.parquet"))
    return {"month": month.isoformat(), "settings_key": key, "orders": state["orders"],
            "fingerprint": str(state["fingerprint"]), "seconds": round(time.perf_counter() - started, 1)}


def stored_months(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> list[date] | None:
    """The months of the filters' period when it is whole months, read by a city-wide reader, and every month
    of it with orders is big enough and stored under the current settings; else None (compute on request)."""
    if not filters.scope.is_city:
        return None
    whole, parts = whole_months(filters)
    if whole is None or parts:
        return None
    states = month_states(con)
    if states.is_empty():
        return None
    inside = states.filter((pl.col("month") >= (whole.date_from or date.min)) & (pl.col("month") <= (whole.date_to or date.max)))
    if inside.is_empty():
        return None
    ok = inside.select((pl.col("orders") >= settings.hot_issues.precompute_orders) & current(settings_key(settings)))
    return inside["month"].to_list() if ok.to_series().all() else None


@dataclass(frozen=True)
class Plan:
    """How the hot issues and repeats of a window are found within the ceilings ([hot_issues]
    max_request_orders, max_stored_rows): over `filters` (the window used: the one asked for, or its latest
    months that fit; None when none fits), read from the `stored` months (empty: computed on request), with
    the asked window's months `left_out` and a `note` in Chinese saying so and what to do ('' when the
    window is used as asked)."""
    filters: Filters | None
    stored: list[date]
    left_out: list[date]
    note: str = ""


def plan(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> Plan:
    """The window as asked when it fits: every month stored (at most max_stored_rows stored rows to merge),
    else at most max_request_orders orders to cluster on request. Otherwise the latest months that fit, read
    the same way: a run of stored months, or months clustered on request; the others are left out."""
    h = settings.hot_issues
    stored = stored_months(con, filters, settings)
    merged = sum(_stored_rows(con, settings, stored or []).values())
    if stored and merged <= h.max_stored_rows:
        return Plan(filters, stored, [])
    counts = monthly_orders(con, filters, [])
    total = int(counts["orders"].sum())
    if total <= h.max_request_orders:
        return Plan(filters, [], [])
    usable = _usable_months(con, filters, settings)
    rows = _stored_rows(con, settings, usable)
    months = [(m, n, m in rows) for m, n in counts.select("month", "orders").iter_rows()]
    run, from_store = _latest_run(months, rows, h.max_request_orders, h.max_stored_rows)
    left = [m for m, _, _ in months if m not in run]
    used = None
    if run:
        first, last = month_bounds(run[0])[0], month_bounds(run[-1])[1]
        used = replace(filters, date_from=max(first, filters.date_from or first), date_to=min(last, filters.date_to or last))
    if stored:
        why = (f"所选时段各月均已预先计算，但合并它们要读取 {merged:,} 行，超过上限 {h.max_stored_rows:,} 行"
               "（settings.toml [hot_issues] max_stored_rows）")
    else:
        why = (f"所选时段共 {total:,} 件工单，超过当场计算热点问题的上限 {h.max_request_orders:,} 件"
               "（settings.toml [hot_issues] max_request_orders）")
    # `python -m etl hot-issues` helps city-wide readers of whole months big enough to be stored.
    states = month_states(con)
    big = set(states.filter(pl.col("orders") >= h.precompute_orders)["month"]) if states.height else set()
    storable = not stored and filters.scope.is_city and whole_months(filters)[0] is not None and bool(big & set(left))
    todo = ("请运行 python -m etl hot-issues 预先计算未计入的月份（每 100 万件约需 1–3 分钟），或把时段缩短到 "
            f"{h.max_request_orders:,} 件工单以内" if storable else
            f"请把时段缩短到 {h.max_request_orders:,} 件工单以内（或选定区、街乡缩小范围）")
    if not run:
        return Plan(None, [], left, f"{why}，且没有可直接读取的预先计算结果，无法给出热点问题与重复诉求。{todo}。")
    shown = _spans(run) + ("（导入后已预先计算）" if from_store else
                           f"（{sum(n for m, n, _ in months if m in run):,} 件，当场计算）")
    # Read as that shorter window would be when asked for (it fits: one level down returns at once).
    return Plan(used, plan(con, used, settings).stored, left,
                f"{why}：本表只含 {shown}；{_spans(left)}（{len(left)} 个月）未计入。{todo}。")


def _usable_months(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> list[date]:
    """The whole months of the filters' period stored under the current settings (city-wide readers only)."""
    if not filters.scope.is_city:
        return []
    whole, _ = whole_months(filters)
    states = month_states(con)
    if whole is None or states.is_empty():
        return []
    inside = states.filter((pl.col("month") >= (whole.date_from or date.min)) & (pl.col("month") <= (whole.date_to or date.max)))
    return inside.filter((pl.col("orders") >= settings.hot_issues.precompute_orders) & current(settings_key(settings)))["month"].to_list()


def _stored_rows(con: duckdb.DuckDBPyConnection, settings: Settings, months: list[date]) -> dict[date, int]:
    """Stored rows (members and callers' orders) a read of each month merges: what its memory grows with."""
    if not months:
        return {}
    return dict(query(con, f"SELECT month, sum(n)::BIGINT AS n FROM (SELECT month, count(*) AS n FROM {MEMBERS} "
                           "WHERE settings_key = ? AND list_contains(?, month) GROUP BY 1 UNION ALL "
                           f"SELECT month, count(*) FROM {RUNS} WHERE settings_key = ? AND list_contains(?, month) "
                           "GROUP BY 1) GROUP BY 1", [settings_key(settings), months] * 2).iter_rows())


def _latest_run(months: list[tuple[date, int, bool]], rows: dict[date, int], max_orders: int,
                max_rows: int) -> tuple[list[date], bool]:
    """The latest months (month, orders, stored) that can be shown together, and whether from the store: from the
    latest month that fits (stored, within max_rows, or clustered on request within max_orders) back
    while the next earlier month is of the same kind and the total still fits."""
    for k in range(len(months) - 1, -1, -1):
        month, n, stored = months[k]
        from_store = stored and rows.get(month, 0) <= max_rows
        if not from_store and n > max_orders:
            continue
        cost = (lambda j: rows.get(months[j][0], 0)) if from_store else (lambda j: months[j][1])
        limit, total, run = (max_rows if from_store else max_orders), cost(k), [month]
        for j in range(k - 1, -1, -1):
            if (from_store and not months[j][2]) or total + cost(j) > limit:
                break
            total += cost(j)
            run.insert(0, months[j][0])
        return run, from_store
    return [], False


def _spans(months: list[date]) -> str:
    """Months as runs: 2024-01 至 2024-09、2024-11."""
    out, start = [], None
    for k, m in enumerate(months):
        start = start or m
        if k + 1 == len(months) or months[k + 1] != add_months(m, 1):
            out.append(f"{start:%Y-%m}" if start == m else f"{start:%Y-%m} 至 {m:%Y-%m}")
            start = None
    return "、".join(out)


def _narrowed(filters: Filters) -> bool:
    return bool(filters.districts or filters.streets or filters.categories or filters.depts)


def read(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, months: list[date],
         repeats: bool = False) -> pl.DataFrame:
    """The hot-issue table (or, with `repeats`, the repeat list) of stored `months` under the filters."""
    key = settings_key(settings)
    h = settings.hot_issues
    if len(months) == 1 and not _narrowed(replace(filters, districts=())) and len(filters.districts) <= 1:
        # The month as computed, or one district's view of it.
        table = _stored_groups(con, key, months, filters.districts[0] if filters.districts else None)
    else:
        table = _filtered(con, filters, settings, months)
    hot = table.filter("hot").sort(["heat", "size", "first_at", "cluster"], descending=[True, True, False, False])
    hot = hi.with_labels(hot, hot)
    if not repeats:
        return hot
    runs, run_labels = _runs(con, filters, settings, key, months)
    by_caller = rc.caller_rows(runs, run_labels, hot.select(hot_issue="label", order_id="order_ids").explode("order_id"))
    places = table.join(rc.place_candidates(table, settings).to_frame(), on="cluster", how="semi")
    return pl.concat([by_caller, rc.place_rows(hi.with_labels(places, places), settings)])


def _filtered(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, months: list[date]) -> pl.DataFrame:
    """The groups of stored `months` with their members inside the filters, judged again and named."""
    members, labels = _members(con, filters, settings_key(settings), months)
    stats, members, labels = _judged(members, labels, settings.hot_issues, _days(con, filters))
    end = hi.period(filters)[1] or datetime.combine(add_months(months[-1], 1), datetime.min.time())
    return hi.group_table(members, stats, settings.hot_issues, end).join(labels, on="cluster", how="left")


def _numbered(members: pl.DataFrame) -> pl.DataFrame:
    """Members as `judge` takes them: in time order with `i`, the named place as text_place and spot_key."""
    return (members.sort("received_at", "order_id").with_row_index("i")
            .with_columns(text_place=pl.col("named_key"), spot_key=pl.col("named_key")))


def _runs(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, key: str,
          months: list[date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The orders of callers' runs inside the filters and the period (found again over the stored orders with
    a caller: only matters with alert_count orders are fetched), each with `run`, the stored run it was
    named in, and the names of those runs. A run of orders no month found on its own (across a month's end)
    is named by its first order's place and its category."""
    r = settings.repeats
    where, params = filters.where(prefix="r.")
    # Inside one month a run is part of one the month found (removing orders only splits runs); over several,
    # the matters with alert_count orders are looked at again.
    within = "r.episode IS NOT NULL" if len(months) == 1 else "TRUE"
    runs = query(con, f"WITH o AS (SELECT r.order_id, r.caller_key, r.matter_key, r.place_name, r.received_at, "
                      f"CASE WHEN r.episode IS NOT NULL THEN {_month_id('r.')} * 4294967296 + r.episode END AS run "
                      f"FROM {RUNS} r WHERE r.settings_key = ? AND list_contains(?, r.month) AND {within} AND {where}) "
                      "SELECT * FROM o WHERE matter_key IN (SELECT matter_key FROM o GROUP BY 1 HAVING count(*) >= ?)",
                 [key, months, *params, r.alert_count])
    runs = rc.long_runs(runs, r.window_days, r.alert_count).sort("received_at", "order_id")
    runs = runs.with_columns(run=pl.coalesce(pl.col("run").drop_nulls().first().over("episode"), -1 - pl.col("episode")))
    labels = query(con, f"SELECT {_month_id()} * 4294967296 + episode AS episode, place, matter FROM {RUN_LABELS} "
                        "WHERE settings_key = ? AND list_contains(?, month)", [key, months])
    unnamed = runs.filter(pl.col("run") < 0).group_by("run").agg(
        place=pl.col("place_name").drop_nulls().first(), matter=pl.col("matter_key").first().str.split("|").list.last())
    unnamed = unnamed.select(episode="run", place="place",
                             matter=pl.when(pl.col("matter").str.starts_with("#")).then(None).otherwise("matter"))
    return runs, pl.concat([labels, unnamed.cast(labels.schema)])


def _stored_groups(con: duckdb.DuckDBPyConnection, key: str, months: list[date], district: str | None) -> pl.DataFrame:
    return query(con, f"SELECT * EXCLUDE (month, settings_key, district) FROM {GROUPS} WHERE settings_key = ? "
                      "AND list_contains(?, month) AND district IS NOT DISTINCT FROM ?",
                 [key, months, district]).cast({"cluster": pl.UInt32})


def _members(con: duckdb.DuckDBPyConnection, filters: Filters, key: str,
             months: list[date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stored members inside the filters and the names of their groups, one cluster number per month and
    group; groups of one name (place and problem) in adjacent months become one."""
    where, params = filters.where(prefix="m.")
    members = query(con, f"SELECT {_month_id('m.')} * 4294967296 + m.cluster AS g, m.order_id, m.received_at, "
                         f"m.caller_key, m.request_type, m.likes, m.channel, m.named_key FROM {MEMBERS} m "
                         f"WHERE m.settings_key = ? AND list_contains(?, m.month) AND {where}", [key, months, *params])
    labels = query(con, f"SELECT {_month_id()} AS mi, {_month_id()} * 4294967296 + cluster AS g, place, problem, label, vague "
                        f"FROM {GROUPS} WHERE settings_key = ? AND list_contains(?, month) AND district IS NULL", [key, months])
    ids = labels.select("g").sort("g").with_row_index("c")   # numbered in month and cluster order, as ties are broken
    if len(months) > 1:
        named = labels.filter((pl.col("place") != "") & (pl.col("problem") != "")).join(ids, on="g")
        edges = named.join(named.with_columns(mi=pl.col("mi") - 1), on=["label", "mi"], suffix="_b")
        if edges.height:
            roots = hi.components(ids.height, edges["c"].to_numpy().astype(np.int64), edges["c_b"].to_numpy().astype(np.int64))
            ids = ids.with_columns(c=pl.Series(roots[ids["c"].to_numpy()].astype(np.uint32)))
    labels = labels.join(ids, on="g").unique("c", keep="first").select(cluster="c", place="place", problem="problem",
                                                                        label="label", vague="vague")
    return _numbered(members.join(ids, on="g").drop("g").rename({"c": "cluster"})), labels


def _days(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    where, params = filters.where()
    return query(con, f"SELECT count(DISTINCT received_at::DATE) AS n FROM work_orders WHERE {where}", params)["n"][0]


def _judged(members: pl.DataFrame, labels: pl.DataFrame, h, days: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Judge the groups of `members` as hot_issues.settle would: groups of at least min_size, two hot groups of
    one name are one, a vague group is not hot."""
    days = float(max(days, h.burst_days))
    members = members.filter(pl.len().over("cluster") >= h.min_size)
    stats = hi.judge(members, h, days)
    twins = (stats.filter("hot").join(labels, on="cluster").filter(pl.col("label").is_duplicated())
             .group_by("label").agg(to=pl.col("cluster").min(), cluster=pl.col("cluster")).explode("cluster"))
    if twins.height:
        merged = dict(twins.select("cluster", "to").iter_rows())
        members = members.with_columns(cluster=pl.col("cluster").replace_strict(merged, default=pl.col("cluster")))
        # A group's verdict depends on its own members only: the merged groups alone are judged again.
        into = twins["to"].unique().implode()
        stats = pl.concat([stats.filter(~pl.col("cluster").is_in(twins["cluster"].implode())),
                           hi.judge(members.filter(pl.col("cluster").is_in(into)), h, days)])
    vague = labels.filter("vague").select("cluster")
    stats = stats.with_columns(hot=pl.col("hot") & ~pl.col("cluster").is_in(vague["cluster"].implode()))
    return stats, members, labels


def main(argv: list[str] | None = None) -> int:
    """`python -m analytics.hot_months pending|compute --db DB [--month 2024-10 --out DIR]`: what etl.hot runs
    (etl does not import analytics): the pending months, or one month computed into DIR; one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m analytics.hot_months")
    parser.add_argument("action", choices=["pending", "compute"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--month", type=date.fromisoformat)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.action == "pending":
        con = connect_read(args.db)
        try:
            months = pending(con, settings.hot_issues, settings.repeats)
        finally:
            con.close()
        print(json.dumps([m.isoformat() for m in months]))
    else:
        print(json.dumps(export(args.db, args.month, args.out, settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
