"""吹哨报到: departments called to a street's case, when each arrived, and the two-way assessment (双考核).

Every event after a department's call (响应, 到场, 办结, 未到) belongs to that department's latest preceding
呼叫 in the same case, so a department called twice is judged on each call separately. Events are ordered by
their time, never by their row order. A 到场 with no earlier 呼叫 of that department is counted and flagged,
but stays out of the arrival shares (there is no call to measure it from).
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any

import duckdb
import plotly.graph_objects as go
import polars as pl

from analytics.db import query
from analytics.filters import Filters, from_args
from analytics.settings import Settings, load_settings

CASE_LIST_COLUMNS = (
    "case_id", "district", "street", "community", "opened_at", "category", "title", "description", "whistled_by",
    "closed_at", "status", "related_order_id",
)
EVENT_COLUMNS = ("case_id", "dept", "event", "occurred_at", "note")
RELATED_ORDER_COLUMNS = (
    "order_id", "received_at", "category_l1", "content", "street", "dept", "status", "closed_at", "resolution",
    "satisfaction",
)

LABELS = {
    "rank": "排名", "dept": "部门", "called": "被呼叫次数", "answered": "响应次数", "arrived": "到场次数",
    "no_show": "未到次数", "no_show_declared": "其中记录为未到", "arrived_uncalled": "未经呼叫的到场",
    "within_share": "限时到场率", "median_arrival_minutes": "到场用时中位数（分钟）",
    "p90_arrival_minutes": "到场用时 90 分位（分钟）", "reported_in": "报到次数", "reported_in_share": "报到率",
    "cases": "涉及案件数", "district": "区", "street": "街道/乡镇", "month": "月份", "whistles": "吹哨次数",
    "closed": "已办结", "closed_per_whistle": "每次吹哨办结数", "closed_share": "办结率",
    "median_closure_hours": "办结用时中位数（小时）", "whistles_per_month": "月均吹哨次数", "orders": "工单量",
    "whistles_per_10k_orders": "每万件工单吹哨次数", "case_id": "案件编号", "opened_at": "发起时间",
    "closed_at": "办结时间", "status": "状态", "title": "案件标题", "category": "问题类别", "closure_hours": "办结用时（小时）",
    "depts_called": "呼叫部门数", "depts_arrived": "到场部门数", "calls": "呼叫次数", "calls_within": "限时到场次数",
    "flags": "提示", "whistled_by": "吹哨主体", "related_order_id": "关联工单", "community": "社区/村",
}

EVENT_STYLE = {
    # event -> (marker symbol, colour, label on the timeline)
    "呼叫": ("circle", "#1f77b4", "呼叫"),
    "响应": ("diamond", "#9467bd", "响应"),
    "到场": ("square", "#2ca02c", "到场"),
    "办结": ("star", "#444444", "办结"),
    "未到": ("x", "#d62728", "未到"),
}
_EMPTY_EVENTS = {"case_id": pl.String, "dept": pl.String, "event": pl.String, "occurred_at": pl.Datetime("us"),
                 "note": pl.String}


# --- reading ---------------------------------------------------------------------------------------------

def _case_predicate(filters: Filters) -> tuple[str, list[Any]]:
    # A case belongs to the month of its opened_at; 问题分类 is a work-order taxonomy and does not apply to cases.
    return replace(filters, categories=()).where("opened_at", prefix="c.")


def cases_sql(filters: Filters) -> tuple[str, list[Any]]:
    where, params = _case_predicate(filters)
    cols = ", ".join(f"c.{c}" for c in CASE_LIST_COLUMNS)
    return f"SELECT {cols} FROM cases c WHERE {where} ORDER BY c.opened_at, c.case_id", params


def events_sql(filters: Filters) -> tuple[str, list[Any]]:
    where, params = _case_predicate(filters)
    cols = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    return f"SELECT {cols} FROM case_events e JOIN cases c ON c.case_id = e.case_id WHERE {where}", params


def street_orders_sql(filters: Filters) -> tuple[str, list[Any]]:
    """Work orders per street over the same period and area (no category filter, as for the cases)."""
    where, params = replace(filters, categories=()).where("received_at")
    return (
        f"SELECT district, street, count(*) AS orders FROM work_orders WHERE {where} AND street IS NOT NULL "
        "GROUP BY district, street", params,
    )


def related_orders_sql(order_ids: list[str]) -> tuple[str, list[Any]]:
    return (
        f"SELECT {', '.join(RELATED_ORDER_COLUMNS)} FROM work_orders WHERE list_contains(?, order_id) ORDER BY received_at",
        [order_ids],
    )


def related_order_ids(value: str | None) -> list[str]:
    """related_order_id may list several orders (comma, semicolon, 顿号 or space separated)."""
    return [v for v in re.split(r"[,，;；、\s]+", value or "") if v]


# --- per call ----------------------------------------------------------------------------------------------

def _clean(events: pl.DataFrame) -> pl.DataFrame:
    if events.is_empty():
        return pl.DataFrame(schema=_EMPTY_EVENTS)
    return (
        events.select(EVENT_COLUMNS)
        .with_columns(pl.col("event").str.strip_chars(), pl.col("dept").str.strip_chars())
        .drop_nulls(["case_id", "dept", "event", "occurred_at"])
        .sort(["occurred_at", "case_id", "dept"])
    )


def _attributed(events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(calls with call_id, every other event with the call_id of its dept's latest preceding 呼叫 or null)."""
    ev = _clean(events)
    calls = ev.filter(pl.col("event") == "呼叫").with_row_index("call_id").select(
        "call_id", "case_id", "dept", pl.col("occurred_at").alias("called_at"),
    )
    others = ev.filter(pl.col("event") != "呼叫")
    # join_asof needs both sides sorted on the time key; ties (event at the minute of the call) belong to it.
    linked = others.join_asof(
        calls.sort("called_at"), left_on="occurred_at", right_on="called_at", by=["case_id", "dept"],
        strategy="backward", check_sortedness=False,
    )
    return calls, linked


def calls(events: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """One row per 呼叫: when it was answered, when the department arrived, and whether within the limit.

    A call counts as answered when a 响应 or a 到场 follows it (arriving implies answering); reported in when
    the department arrived or recorded 办结 after it.
    """
    limit = settings.cases.arrival_minutes
    call_rows, linked = _attributed(events)
    firsts = (
        linked.drop_nulls("call_id")
        .group_by("call_id")
        .agg(
            answered_at=pl.col("occurred_at").filter(pl.col("event") == "响应").min(),
            arrived_at=pl.col("occurred_at").filter(pl.col("event") == "到场").min(),
            finished_at=pl.col("occurred_at").filter(pl.col("event") == "办结").min(),
            declared_no_show=(pl.col("event") == "未到").any(),
        )
    )
    out = call_rows.join(firsts, on="call_id", how="left").with_columns(
        pl.col("declared_no_show").fill_null(False),
        arrival_minutes=(pl.col("arrived_at") - pl.col("called_at")).dt.total_seconds() / 60,
    )
    return out.with_columns(
        arrived=pl.col("arrived_at").is_not_null(),
        answered=pl.col("answered_at").is_not_null() | pl.col("arrived_at").is_not_null(),
        within=(pl.col("arrival_minutes") <= limit).fill_null(False),
        reported_in=pl.col("arrived_at").is_not_null() | pl.col("finished_at").is_not_null(),
    ).sort(["called_at", "case_id", "dept"])


def uncalled_arrivals(events: pl.DataFrame) -> pl.DataFrame:
    """到场 records with no earlier 呼叫 of the same department in the case (counted, flagged, not timed)."""
    _, linked = _attributed(events)
    return linked.filter((pl.col("event") == "到场") & pl.col("call_id").is_null()).select(
        "case_id", "dept", "occurred_at", "note"
    )


# --- departments: reporting in -----------------------------------------------------------------------------

def dept_league(events: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Per department: calls, answers, arrivals, no-shows, arrival time (median, p90) and the within-limit share.

    Shares are over times called: a call never followed by 到场 counts as not within the limit. p90 uses linear
    interpolation between the two nearest arrivals.
    """
    c = calls(events, settings)
    per_dept = c.group_by("dept").agg(
        called=pl.len().cast(pl.Int64),
        cases=pl.col("case_id").n_unique().cast(pl.Int64),
        answered=pl.col("answered").sum().cast(pl.Int64),
        arrived=pl.col("arrived").sum().cast(pl.Int64),
        within=pl.col("within").sum().cast(pl.Int64),
        no_show=(~pl.col("arrived")).sum().cast(pl.Int64),
        no_show_declared=(~pl.col("arrived") & pl.col("declared_no_show")).sum().cast(pl.Int64),
        reported_in=pl.col("reported_in").sum().cast(pl.Int64),
        median_arrival_minutes=pl.col("arrival_minutes").median(),
        p90_arrival_minutes=pl.col("arrival_minutes").quantile(0.9, interpolation="linear"),
    )
    uncalled = uncalled_arrivals(events).group_by("dept").agg(arrived_uncalled=pl.len().cast(pl.Int64))
    league = per_dept.join(uncalled, on="dept", how="full", coalesce=True).with_columns(
        pl.col("called", "cases", "answered", "arrived", "within", "no_show", "no_show_declared", "reported_in",
               "arrived_uncalled").fill_null(0),
    )
    league = league.with_columns(
        within_share=pl.when(pl.col("called") > 0).then(pl.col("within") / pl.col("called")),
        reported_in_share=pl.when(pl.col("called") > 0).then(pl.col("reported_in") / pl.col("called")),
        within_lower=wilson_lower(pl.col("within"), pl.col("called"), settings.cases.rank_confidence_z),
    )
    # Ranked by the Wilson lower bound, so 2 of 2 calls does not outrank 95 of 100.
    return league.sort(
        ["within_lower", "called", "dept"], descending=[True, True, False], nulls_last=True
    ).with_row_index("rank", offset=1).select(
        "rank", "dept", "called", "cases", "answered", "arrived", "within", "within_share", "median_arrival_minutes",
        "p90_arrival_minutes", "no_show", "no_show_declared", "arrived_uncalled", "reported_in", "reported_in_share",
    )


# --- cases and streets: using the whistle ------------------------------------------------------------------

def case_table(cases: pl.DataFrame, events: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Per case: closure time (hours, opened_at → closed_at), status, departments called / arrived, flags."""
    c = calls(events, settings)
    per_case = c.group_by("case_id").agg(
        calls=pl.len().cast(pl.Int64),
        depts_called=pl.col("dept").n_unique().cast(pl.Int64),
        depts_arrived=pl.col("dept").filter(pl.col("arrived")).n_unique().cast(pl.Int64),
        calls_within=pl.col("within").sum().cast(pl.Int64),
        no_show=(~pl.col("arrived")).sum().cast(pl.Int64),
    )
    uncalled = uncalled_arrivals(events).group_by("case_id").agg(arrived_uncalled=pl.len().cast(pl.Int64))
    with_events = _clean(events).select(pl.col("case_id").unique(), has_events=pl.lit(True))
    out = (
        cases.join(per_case, on="case_id", how="left").join(uncalled, on="case_id", how="left")
        .join(with_events, on="case_id", how="left")
        .with_columns(
            pl.col("calls", "depts_called", "depts_arrived", "calls_within", "no_show", "arrived_uncalled").fill_null(0),
            pl.col("has_events").fill_null(False),
            raw_hours=(pl.col("closed_at") - pl.col("opened_at")).dt.total_seconds() / 3600,
        )
    )
    flags = pl.concat_list(
        pl.when(~pl.col("has_events")).then(pl.lit("无事件记录")),
        pl.when(pl.col("no_show") > 0).then(pl.lit("有部门未到")),
        pl.when(pl.col("arrived_uncalled") > 0).then(pl.lit("有未经呼叫的到场")),
        pl.when(pl.col("raw_hours") < 0).then(pl.lit("办结时间早于发起时间")),
    ).list.drop_nulls().list.join("；")
    return out.with_columns(
        closure_hours=pl.when(pl.col("raw_hours") >= 0).then(pl.col("raw_hours")),
        closed=pl.col("closed_at").is_not_null(),
        flags=flags,
    ).drop("raw_hours", "has_events").sort(["opened_at", "case_id"], descending=[True, False])


def _with_month(cases: pl.DataFrame) -> pl.DataFrame:
    return cases.with_columns(
        month=pl.col("opened_at").dt.truncate("1mo").dt.date(),
        closed=pl.col("closed_at").is_not_null(),
        closure_hours=pl.when(pl.col("closed_at") >= pl.col("opened_at"))
        .then((pl.col("closed_at") - pl.col("opened_at")).dt.total_seconds() / 3600),
    )


def street_month(cases: pl.DataFrame) -> pl.DataFrame:
    """Per street per month of opened_at: whistles, of those how many are closed, closed per whistle, median closure."""
    return (
        _with_month(cases).group_by("district", "street", "month").agg(
            whistles=pl.len().cast(pl.Int64),
            closed=pl.col("closed").sum().cast(pl.Int64),
            median_closure_hours=pl.col("closure_hours").median(),
        )
        .with_columns(closed_per_whistle=pl.col("closed") / pl.col("whistles"))
        .sort(["month", "whistles", "street"], descending=[False, True, False])
        .select("district", "street", "month", "whistles", "closed", "closed_per_whistle", "median_closure_hours")
    )


def period_months(filters: Filters, cases: pl.DataFrame) -> int:
    """Months in the chosen period; without one, the months from the first to the last case."""
    start, end = filters.date_from, filters.date_to
    if (start is None or end is None) and not cases.is_empty():
        start = start or cases["opened_at"].min().date()
        end = end or cases["opened_at"].max().date()
    if start is None or end is None:
        return 1
    return max((end.year - start.year) * 12 + end.month - start.month + 1, 1)


def street_use(cases: pl.DataFrame, street_orders: pl.DataFrame, months: int) -> pl.DataFrame:
    """Per street: whistles, whistles per month, share closed, median closure, whistles per 10,000 of its orders."""
    per = _with_month(cases).group_by("district", "street").agg(
        whistles=pl.len().cast(pl.Int64),
        closed=pl.col("closed").sum().cast(pl.Int64),
        median_closure_hours=pl.col("closure_hours").median(),
    )
    orders = street_orders.select("district", "street", pl.col("orders").cast(pl.Int64))
    return (
        per.join(orders, on=["district", "street"], how="left")
        .with_columns(
            whistles_per_month=pl.col("whistles") / months,
            closed_share=pl.col("closed") / pl.col("whistles"),
            whistles_per_10k_orders=pl.when(pl.col("orders") > 0).then(pl.col("whistles") / pl.col("orders") * 10_000),
        )
        .sort(["whistles", "street"], descending=[True, False])
        .select("district", "street", "whistles", "whistles_per_month", "closed", "closed_share",
                "median_closure_hours", "orders", "whistles_per_10k_orders")
    )


def summary(cases: pl.DataFrame, events: pl.DataFrame, settings: Settings) -> dict[str, Any]:
    """Headline figures: whistles, calls, share of calls arrived within the limit, no-shows, closed share."""
    c = calls(events, settings)
    closed = cases.filter(pl.col("closed_at").is_not_null())
    hours = _with_month(cases)["closure_hours"].drop_nulls()
    return {
        "whistles": cases.height,
        "calls": c.height,
        "within_share": c["within"].mean() if c.height else None,
        "no_show": int((~c["arrived"]).sum()) if c.height else 0,
        "closed_share": closed.height / cases.height if cases.height else None,
        "median_closure_hours": hours.median() if hours.len() else None,
    }


def wilson_lower(successes: pl.Expr, trials: pl.Expr, z: float) -> pl.Expr:
    """Lower bound of the Wilson score interval for successes / trials (NULL when there are no trials)."""
    n = trials.cast(pl.Float64)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * (p * (1 - p) / n + z * z / (4 * n * n)).sqrt()
    return pl.when(trials > 0).then((centre - spread) / (1 + z * z / n))


def explain(metric: str, settings: Settings) -> str:
    """The definition (口径) of a figure on the 吹哨报到 page, with the settings in force."""
    m = settings.cases.arrival_minutes
    texts = {
        "league": (
            f"**限时到场率** = 呼叫后 {m} 分钟内（含）到场的呼叫次数 ÷ 被呼叫次数。从未到场的呼叫（记录为“未到”或"
            f"无到场记录）都算作未在 {m} 分钟内到场。\n\n"
            "**归属规则**：各事件按发生时间排序（不按记录顺序），每条响应、到场、办结、未到记录归入同一案件中该部门"
            "**最近一次更早的呼叫**；同一案件被呼叫两次的部门按两次呼叫分别计算。\n\n"
            "**到场用时** = 到场时间 − 对应呼叫时间（分钟），中位数与 90 分位（线性插值）只统计已到场的呼叫。\n\n"
            "**响应次数**：呼叫后有“响应”或“到场”记录的呼叫。**未到次数** = 被呼叫次数 − 到场次数，其中“记录为未到”"
            "是明确登记了“未到”的部分，其余为无任何到场记录。\n\n"
            "**报到率** = 呼叫后到场或登记“办结”的呼叫次数 ÷ 被呼叫次数。\n\n"
            "**未经呼叫的到场**：之前没有该部门呼叫记录的到场，单独计数提示，不计入到场率。\n\n"
            f"**排名**按限时到场率的置信下限（威尔逊区间，z = {settings.cases.rank_confidence_z:g}）从高到低："
            "被呼叫次数少的部门不会因 2 次中 2 次到场而排在 100 次中 95 次之前。\n\n"
            f"到场时限 {m} 分钟来自设置文件（平谷金海湖镇“30 分钟到场”模式）。"
        ),
        "streets": (
            "**吹哨次数**：所选时段内发起（按发起时间归属月份）的吹哨案件数。**月均吹哨次数** = 吹哨次数 ÷ 时段月数。\n\n"
            "**办结率** = 其中已有办结时间的案件 ÷ 吹哨次数。**办结用时** = 办结时间 − 发起时间（小时），取中位数。\n\n"
            "**每万件工单吹哨次数** = 吹哨次数 ÷ 该街乡同期工单量 × 10,000（按区与街乡匹配工单）。\n\n"
            "左侧的问题分类筛选只作用于工单，不作用于吹哨案件。"
        ),
        "street_month": (
            "按街乡与发起月份：**吹哨次数**（当月发起的案件数）、**已办结**（其中已有办结时间的案件）、"
            "**每次吹哨办结数** = 已办结 ÷ 吹哨次数、**办结用时中位数**（小时）。"
        ),
        "cases": (
            "所选时段内发起的案件（按发起时间；区、街乡筛选按案件所在区与街乡）。**办结用时** = 办结时间 − 发起时间（小时）。"
            "“提示”列说明数据问题：无事件记录、有部门未到、有未经呼叫的到场、办结时间早于发起时间（此时不计办结用时）。"
        ),
    }
    return texts[metric]


# --- figures -----------------------------------------------------------------------------------------------

def timeline_figure(case: dict[str, Any], events: pl.DataFrame, settings: Settings) -> go.Figure:
    """One case on one time axis: a row per department, each event a marker, call → arrival as a line,
    and the arrival limit after each call as a tick."""
    limit = timedelta(minutes=settings.cases.arrival_minutes)
    ev = _clean(events.filter(pl.col("case_id") == case["case_id"]))
    c = calls(ev, settings)
    uncalled = uncalled_arrivals(ev)
    order = ev.group_by("dept").agg(first=pl.col("occurred_at").min()).sort("first")["dept"].to_list()
    end = max([t for t in (case.get("closed_at"), ev["occurred_at"].max() if ev.height else None) if t is not None],
              default=case["opened_at"])
    fig = go.Figure()
    for row in c.iter_rows(named=True):
        if row["arrived"]:
            color = "#2ca02c" if row["within"] else "#ff7f0e"
            fig.add_scatter(
                x=[row["called_at"], row["arrived_at"]], y=[row["dept"]] * 2, mode="lines", showlegend=False,
                line=dict(color=color, width=4), hoverinfo="skip",
            )
        else:
            fig.add_scatter(
                x=[row["called_at"], max(end, row["called_at"] + limit)], y=[row["dept"]] * 2, mode="lines",
                showlegend=False, line=dict(color="#d62728", width=2, dash="dot"), hoverinfo="skip",
            )
    if c.height:
        fig.add_scatter(
            x=[t + limit for t in c["called_at"]], y=c["dept"].to_list(), mode="markers",
            name=f"{settings.cases.arrival_minutes} 分钟时限",
            marker=dict(symbol="line-ns-open", size=22, color="#7f7f7f", line=dict(width=2)),
            hovertemplate="%{y}：到场时限 %{x|%m-%d %H:%M}<extra></extra>",
        )
    uncalled_keys = {(r["dept"], r["occurred_at"]) for r in uncalled.iter_rows(named=True)}
    for event, (symbol, color, name) in EVENT_STYLE.items():
        part = ev.filter(pl.col("event") == event)
        if part.is_empty():
            continue
        notes = [
            ("（未经呼叫）" if (d, t) in uncalled_keys else "") + (f" {n}" if n else "")
            for d, t, n in part.select("dept", "occurred_at", "note").iter_rows()
        ]
        fig.add_scatter(
            x=part["occurred_at"], y=part["dept"], mode="markers", name=name, customdata=notes,
            marker=dict(symbol=symbol, size=13, color=color, line=dict(width=1, color="white")),
            hovertemplate=f"%{{y}} · {name}：%{{x|%Y-%m-%d %H:%M}}%{{customdata}}<extra></extra>",
        )
    for when, text in ((case.get("opened_at"), "发起"), (case.get("closed_at"), "案件办结")):
        if when is None:
            continue
        fig.add_shape(type="line", x0=when, x1=when, y0=0, y1=1, xref="x", yref="paper",
                      line=dict(color="#999999", dash="dash", width=1))
        fig.add_annotation(x=when, y=1, xref="x", yref="paper", text=text, showarrow=False, yanchor="bottom",
                           font=dict(size=11, color="#666666"))
    fig.update_layout(
        height=max(220, 70 * max(len(order), 1) + 120), margin=dict(t=30, b=10, l=10, r=10),
        yaxis=dict(categoryorder="array", categoryarray=order[::-1], title=None),
        xaxis=dict(title=None, tickformat="%m-%d %H:%M", range=_call_phase(case, ev, c, limit, end)),
        legend=dict(orientation="h", y=-0.25), hovermode="closest",
    )
    return fig


def _call_phase(case: dict[str, Any], ev: pl.DataFrame, c: pl.DataFrame, limit: timedelta, end) -> list | None:
    """Open on the calls and arrivals when the case ran on far longer (a double click shows everything)."""
    if c.is_empty():
        return None
    start = min(c["called_at"].min(), case["opened_at"])
    marks = [c["called_at"].max() + limit, *ev.filter(pl.col("event") != "办结")["occurred_at"].to_list()]
    phase_end = max(marks)
    if end - start <= 4 * (phase_end - start):
        return None
    pad = (phase_end - start) * 0.08
    return [start - pad, phase_end + pad]


def league_figure(league: pl.DataFrame, settings: Settings, n: int = 10) -> go.Figure:
    """Within-limit share per department; with more than 2n departments, the best n and the worst n."""
    data = league.filter(pl.col("called") > 0)
    if data.height > 2 * n:
        data = pl.concat([data.head(n), data.tail(n)])
    fig = go.Figure(go.Bar(
        x=data["within_share"], y=data["dept"], orientation="h",
        marker=dict(color=data["within_share"], colorscale="RdYlGn", cmin=0, cmax=1),
        text=[f"{s:.0%}" for s in data["within_share"]], textposition="outside", cliponaxis=False,
        customdata=data.select("called", "arrived", "no_show", "median_arrival_minutes").rows(),
        hovertemplate=(
            "%{y}：限时到场率 %{x:.1%}<br>被呼叫 %{customdata[0]} 次，到场 %{customdata[1]} 次，"
            "未到 %{customdata[2]} 次<br>到场用时中位数 %{customdata[3]:.0f} 分钟<extra></extra>"
        ),
    ))
    fig.update_layout(
        yaxis=dict(autorange="reversed"), xaxis=dict(title=f"{settings.cases.arrival_minutes} 分钟内到场率",
                                                     tickformat=".0%", range=[0, 1.15]),
        margin=dict(t=10, b=10, l=10, r=10), height=max(260, 26 * data.height + 80),
    )
    return fig


def street_use_figure(use: pl.DataFrame, n: int = 20) -> go.Figure:
    data = use.head(n)
    fig = go.Figure(go.Bar(
        x=data["whistles_per_month"], y=data["street"], orientation="h",
        marker=dict(color=data["closed_share"], colorscale="Blues", cmin=0, cmax=1,
                    colorbar=dict(title="办结率", tickformat=".0%")),
        customdata=data.select("district", "whistles", "closed_share", "whistles_per_10k_orders").rows(),
        hovertemplate=(
            "%{customdata[0]} %{y}：月均吹哨 %{x:.1f} 次（共 %{customdata[1]} 次）<br>办结率 %{customdata[2]:.1%}，"
            "每万件工单吹哨 %{customdata[3]:.1f} 次<extra></extra>"
        ),
    ))
    fig.update_layout(yaxis=dict(autorange="reversed"), xaxis_title="月均吹哨次数",
                      margin=dict(t=10, b=10, l=10, r=10), height=max(260, 24 * data.height + 80))
    return fig


# --- CLI ---------------------------------------------------------------------------------------------------

def load(con, filters: Filters) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The filtered cases and their events."""
    return query(con, *cases_sql(filters)), query(con, *events_sql(filters))


def read_tables(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> dict[str, Any]:
    """Everything the 吹哨报到 page shows for the filtered cases: the cases and events, the summary, the
    department league, the case table and how the streets use the whistle."""
    case_rows, events = load(con, filters)
    street_orders = query(con, *street_orders_sql(filters))
    return {
        "cases": case_rows,
        "events": events,
        "summary": summary(case_rows, events, settings),
        "league": dept_league(events, settings),
        "case_table": case_table(case_rows, events, settings),
        "street_use": street_use(case_rows, street_orders, period_months(filters, case_rows)),
        "street_month": street_month(case_rows),
    }


def read_related_orders(con: duckdb.DuckDBPyConnection, filters: Filters, order_ids: tuple[str, ...]) -> pl.DataFrame:
    """The work orders a case links to."""
    return query(con, *related_orders_sql(list(order_ids)))


def run(con, args) -> pl.DataFrame:
    """CLI: the department league (shares 0–1); with --by street, whistles per street per month."""
    filters = from_args(args)
    settings = load_settings()
    case_rows, events = load(con, filters)
    if getattr(args, "by", None) == "street":
        return street_month(case_rows).with_columns(pl.col("month").dt.strftime("%Y-%m"))
    league = dept_league(events, settings)
    return league.rename({"within_share": f"arrived_within_{settings.cases.arrival_minutes}min_share"})
