"""Where problems concentrate: area × category × month hotspots and surges, hot words, top places, maps."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, timedelta
from functools import cache
from typing import Any, Literal

import duckdb
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
import polars as pl

from analytics import maplabels
from analytics.db import monthly_orders, pending_months, query, token_months, whole_months
from analytics.filters import Filters, add_months, from_args
from analytics.settings import Settings, load_settings
from analytics.text import DATA, keyword_lists, keyword_rows
from core import summary
from core.segment import segment

Area = Literal["district", "street"]
HOTSPOT_COLUMNS = ("received_at", "district", "street", "category_l1")
WORD_COLUMNS = ("received_at", "district", "street", "tokens")
CITY = "全市"
BASELINE_SHORT = "基线不足"


def _keys(by: Area) -> list[str]:
    if by not in ("district", "street"):
        raise ValueError(f"by 只能是 district 或 street，收到 {by!r}")
    return ["district"] if by == "district" else ["district", "street"]


def _month(col: str = "received_at") -> pl.Expr:
    return pl.col(col).dt.truncate("1mo").dt.date()


def covered_months(orders: pl.DataFrame, share: float) -> pl.DataFrame:
    """Per month from the first to the last order: orders, and whether the data covers it (`covered`): at
    least `share` × the median month's orders (months with orders only; the last month scaled up to a
    whole month when the data stops before its end). A sample with empty or thin stretches (a few orders
    in 2014, none in 2015–16) is not evidence that nothing happened there."""
    o = orders.drop_nulls("received_at")
    if o.is_empty():
        return _coverage(pl.DataFrame(schema={"month": pl.Date, "orders": pl.UInt32}), None, share)
    per = o.group_by(_month().alias("month")).agg(pl.len().alias("orders"))
    return _coverage(per, o["received_at"].max().date(), share)


def _coverage(per: pl.DataFrame, last_day: date | None, share: float) -> pl.DataFrame:
    """covered_months from the orders per month (`per`: month, orders; months with orders only) and the
    day of the last order."""
    if per.is_empty() or last_day is None:
        return pl.DataFrame(schema={"month": pl.Date, "orders": pl.UInt32, "covered": pl.Boolean})
    first, last = per["month"].min(), per["month"].max()
    part = min(1.0, ((last_day - last).days + 1) / (add_months(last, 1) - last).days)
    months = pl.DataFrame({"month": pl.date_range(first, last, "1mo", eager=True)})
    full = months.join(per, on="month", how="left").with_columns(pl.col("orders").fill_null(0))
    whole = pl.when(pl.col("month") == last).then(pl.col("orders") / part).otherwise(pl.col("orders"))
    median = per.with_columns(o=pl.when(pl.col("month") == last).then(pl.col("orders") / part)
                              .otherwise(pl.col("orders")))["o"].median()
    return full.with_columns(covered=(whole >= share * median) & (pl.col("orders") > 0)).sort("month")


def hotspots(
    orders: pl.DataFrame, by: Area, settings: Settings, start: date | None = None, end: date | None = None,
) -> pl.DataFrame:
    """One row per area × category_l1 × month with orders, for months in [start, end] (default: all).

    Only usable baseline months count: covered by the data (covered_months) and holding at least
    coverage_share × the judged month's orders. expected = the cell's count in the same month last year when
    that month is usable, else the mean over the usable months among the previous `trailing_months` (a
    usable month without orders in the cell counts as 0); in the last month, when the data stops before its
    end, expected is scaled by the share of its days covered. A month the data does not cover, or without a
    usable baseline, gets no expected. lift = count / e and z = (count − e) / √e with e = max(expected, 1)
    (Poisson approximation). surge = count ≥ min_count and lift ≥ surge_lift and z ≥ surge_z. Orders without
    area or category are left out. History before `start` must be in `orders` for expected to use it.
    """
    keys = _keys(by)
    o = orders.drop_nulls("received_at").with_columns(month=_month())
    per = o.group_by("month").agg(pl.len().alias("orders"))
    cells = (o.drop_nulls([*keys, "category_l1"]).group_by([*keys, "category_l1", "month"])
             .agg(pl.len().cast(pl.Int64).alias("count")))
    last_day = o["received_at"].max().date() if o.height else None
    return hotspot_cells(cells, per, last_day, by, settings, start, end)


def hotspot_cells(
    counts: pl.DataFrame, per: pl.DataFrame, last_day: date | None, by: Area, settings: Settings,
    start: date | None = None, end: date | None = None,
) -> pl.DataFrame:
    """hotspots from counts: `counts` (the area keys, category_l1, month, count: cells with orders and both
    keys), `per` (month, orders: every order, months with orders only) and the day of the last order."""
    h = settings.hotspots
    keys = _keys(by)
    cell = [*keys, "category_l1"]
    coverage = _coverage(per, last_day, h.coverage_share)
    o = counts.drop_nulls([*keys, "category_l1"]).filter(pl.col("count") > 0)
    schema_out = {"area": pl.String, **({"district": pl.String} if by == "street" else {}), "category": pl.String,
                  "month": pl.Date, "count": pl.Int64, "expected": pl.Float64, "basis": pl.String,
                  "lift": pl.Float64, "z": pl.Float64, "surge": pl.Boolean}
    if o.is_empty():
        return pl.DataFrame(schema=schema_out)
    last = coverage["month"].max()
    part = min(1.0, ((last_day - last).days + 1) / (add_months(last, 1) - last).days)
    coverage = coverage.with_columns(
        total=pl.when(pl.col("month") == last).then(pl.col("orders") / part).otherwise(pl.col("orders")).cast(pl.Float64))
    counts = o.group_by([*cell, "month"]).agg(pl.col("count").sum().cast(pl.Int64))
    grid = (
        counts.select(cell).unique().join(coverage.select("month", "covered", "total"), how="cross")
        .join(counts, on=[*cell, "month"], how="left").with_columns(pl.col("count").fill_null(0))
        .sort([*cell, "month"])
    )
    # A baseline month serves only when covered and not far thinner than the month judged (a sample that is
    # dense in one month and sparse in another would otherwise make every cell surge).
    usable = lambda covered, total: covered & (total >= h.coverage_share * pl.col("total"))  # noqa: E731
    last_year = grid.select(*cell, pl.col("month").dt.offset_by("1y").alias("month"), pl.col("count").alias("count_ly"),
                            pl.col("covered").alias("covered_ly"), pl.col("total").alias("total_ly"))
    grid = grid.join(last_year, on=[*cell, "month"], how="left").with_columns(
        count_ly=pl.when(usable(pl.col("covered_ly"), pl.col("total_ly"))).then(pl.col("count_ly")))
    oks = [usable(pl.col("covered").shift(k).over(cell), pl.col("total").shift(k).over(cell)).fill_null(False)
           for k in range(1, h.trailing_months + 1)]
    sums = [pl.when(ok).then(pl.col("count").shift(k).over(cell)).otherwise(0) for k, ok in enumerate(oks, 1)]
    n_ok = pl.sum_horizontal([ok.cast(pl.Int64) for ok in oks])
    grid = grid.with_columns(trailing=pl.when(n_ok > 0).then(pl.sum_horizontal(sums) / n_ok).cast(pl.Float64))
    scale = pl.when(pl.col("month") == last).then(pl.lit(part)).otherwise(1.0)
    expected = pl.when("covered").then(pl.coalesce(pl.col("count_ly").cast(pl.Float64), pl.col("trailing")) * scale)
    basis = (pl.when(~pl.col("covered")).then(pl.lit("本月数据不完整"))
             .when(pl.col("count_ly").is_not_null()).then(pl.lit("去年同月"))
             .when(pl.col("trailing").is_not_null()).then(pl.lit(f"前{h.trailing_months}个月均值"))
             .otherwise(pl.lit("无可比基线")))
    # No covered history: no expected, no lift, never a surge.
    e = pl.when(pl.col("expected").is_not_null()).then(pl.max_horizontal(pl.col("expected"), pl.lit(h.expected_floor)))
    out = grid.with_columns(expected=expected, basis=basis).with_columns(
        lift=pl.col("count") / e, z=(pl.col("count") - e) / e.sqrt(),
    ).with_columns(
        surge=((pl.col("count") >= h.min_count) & (pl.col("lift") >= h.surge_lift) & (pl.col("z") >= h.surge_z)).fill_null(False)
    )
    if start:
        out = out.filter(pl.col("month") >= start.replace(day=1))
    if end:
        out = out.filter(pl.col("month") <= end)
    out = out.filter(pl.col("count") > 0).rename({by: "area", "category_l1": "category"})
    return out.select(list(schema_out)).sort(["month", "z", "count"], descending=[False, True, True], nulls_last=True)


def surges(hot: pl.DataFrame) -> pl.DataFrame:
    """The surge cells, most significant first (z, then count)."""
    return hot.filter(pl.col("surge")).sort(["z", "count"], descending=True).with_row_index("rank", offset=1)


def formula(settings: Settings) -> str:
    """The hotspot definition (口径) with the thresholds in force, for the page."""
    h = settings.hotspots
    return (
        "**热点单元**：区域 × 一级分类 × 月份。\n\n"
        f"**期望值** = 该单元去年同月的工单量；数据不含去年同月时，取前 {h.trailing_months} 个月中数据完整月份的平均值（该单元无工单的月份按 0 计）。"
        f"可作基线的月份：全部工单量不少于各月工单量中位数的 {h.coverage_share:.0%}，且不少于所比较月份全部工单量的 "
        f"{h.coverage_share:.0%}；数据缺失或过少的月份不作基线，其本身也不计算期望值（标为“本月数据不完整”），"
        "没有可作基线的月份时也不计算（标为“无可比基线”）。"
        "数据截止日不在月末时，最后一个月的期望值按已覆盖的天数比例折算。\n\n"
        f"**提升度** = 工单量 ÷ 期望值；**显著性 z** = (工单量 − 期望值) ÷ √期望值（泊松近似；期望值不足 {h.expected_floor:g} 件按 {h.expected_floor:g} 件计）。\n\n"
        f"**激增**：工单量 ≥ {h.min_count} 件，且提升度 ≥ {h.surge_lift:g}，且 z ≥ {h.surge_z:g}。按 z 从高到低排序。"
        "阈值可在设置文件中修改。"
    )


def hot_words(
    orders: pl.DataFrame, by: Area | None = "district", period: str | None = "1mo", start: date | None = None,
    baseline: Literal["history", "city"] = "history", min_count: int = 3, stop: frozenset[str] | None = None,
    min_baseline: int = 1,
) -> pl.DataFrame:
    """Words per area and period: in how many orders each keyword occurs, against a baseline.

    period: a polars interval ("1mo", "1w"), or None for one period from `start` on (the rest is history).
    baseline "history": the word's share of orders in the same area's earlier periods; "city": its share of
    all orders in the same period. expected = baseline share × orders of the area in the period;
    lift = (count + 1) / (expected + 1) (smoothed, so new words get a finite lift);
    z = (count − expected) / √(expected + 1). Only periods from `start` and words with count ≥ min_count
    are returned. A baseline of fewer than `min_baseline` orders gives no expected, lift or z (basis
    "基线不足"): a handful of earlier orders says nothing about what is usual. Words are content words
    (analytics.text.keyword_lists).
    """
    area = pl.col(by) if by else pl.lit(CITY)
    if period:
        per = pl.col("received_at").dt.truncate(period).dt.date()
    else:
        if start is None:
            raise ValueError("period=None 需要给出 start（当前时段的起点）")
        per = pl.when(pl.col("received_at") >= start).then(pl.lit(start)).otherwise(pl.lit(date(1900, 1, 1)))
    o = orders.filter(pl.col("received_at").is_not_null())
    o = o.select(area.alias("area"), per.alias("period")).with_columns(
        keyword_lists(o["tokens"], stop).list.unique().alias("word")).drop_nulls("area")
    docs = o.group_by("area", "period").agg(pl.len().alias("orders"))
    words = o.explode("word").drop_nulls("word").group_by("area", "period", "word").agg(pl.len().alias("count"))
    return word_stats(docs, words, period, start, baseline, min_count, min_baseline)


def word_stats(
    docs: pl.DataFrame, words: pl.DataFrame, period: str | None, start: date | None,
    baseline: Literal["history", "city"] = "history", min_count: int = 3, min_baseline: int = 1,
) -> pl.DataFrame:
    """hot_words from counts: `docs` (area, period, orders) and `words` (area, period, word, count: orders
    of the area and period holding the keyword), periods as hot_words makes them."""
    if baseline == "history":
        docs = docs.sort("period").with_columns(base_orders=pl.col("orders").cum_sum().over("area") - pl.col("orders"))
        words = words.sort("period").with_columns(base_count=pl.col("count").cum_sum().over("area", "word") - pl.col("count"))
        words = words.join(docs, on=["area", "period"])
        base = pl.col("base_orders")
        share = pl.when(base >= max(min_baseline, 1)).then(pl.col("base_count") / pl.col("base_orders"))
    elif baseline == "city":
        city_docs = docs.group_by("period").agg(pl.col("orders").sum().alias("city_orders"))
        city_words = words.group_by("period", "word").agg(pl.col("count").sum().alias("city_count"))
        words = words.join(docs, on=["area", "period"]).join(city_docs, on="period").join(city_words, on=["period", "word"])
        base = pl.col("city_orders")
        share = pl.when(base >= max(min_baseline, 1)).then(pl.col("city_count") / pl.col("city_orders"))
    else:
        raise ValueError(f"baseline 只能是 history 或 city，收到 {baseline!r}")
    out = words.with_columns(share=pl.col("count") / pl.col("orders"), expected=share * pl.col("orders"),
                             baseline_orders=base.cast(pl.Int64)).with_columns(
        lift=(pl.col("count") + 1) / (pl.col("expected") + 1),
        z=(pl.col("count") - pl.col("expected")) / (pl.col("expected") + 1).sqrt(),
        basis=pl.when(pl.col("expected").is_null()).then(pl.lit(BASELINE_SHORT))
        .otherwise(pl.lit("历史占比" if baseline == "history" else "全市占比")),
    )
    out = out.filter(pl.col("count") >= min_count)
    if start:
        out = out.filter(pl.col("period") >= (start if not period else pl.lit(start).dt.truncate(period)))
    return out.select("area", "period", "word", "count", "orders", "share", "expected", "lift", "z", "basis",
                      "baseline_orders").sort(
        ["area", "period", "z", "count", "word"], descending=[False, False, True, True, False], nulls_last=True
    )


def baseline_note(words: pl.DataFrame, min_baseline: int) -> str:
    """Why no word is rising: a Chinese sentence when every baseline is short of `min_baseline` orders, else ""."""
    if words.is_empty() or words["expected"].null_count() < words.height:
        return ""
    have = int(words["baseline_orders"].fill_null(0).max() or 0)
    return (f"{BASELINE_SHORT}：可比较的历史只有 {have:,} 件工单，少于 {min_baseline:,} 件，不计算提升度，"
            "只列出现最多的词。可在设置文件 `settings.toml` 的 `[hotspots]` `word_min_baseline` 中调整。")


def emerging(words: pl.DataFrame, n: int = 20, min_lift: float = 1.5) -> pl.DataFrame:
    """Words rising most above their baseline (z, then count), with lift ≥ min_lift; n per area/period."""
    return (
        words.filter(pl.col("expected").is_not_null() & (pl.col("lift") >= min_lift))
        .sort(["z", "count"], descending=True)
        .group_by("area", "period", maintain_order=True).head(n)
    )


def top_words(orders: pl.DataFrame, n: int = 30, stop: frozenset[str] | None = None) -> pl.DataFrame:
    """The keywords occurring in the most orders, with their share of orders."""
    total = max(orders.height, 1)
    return (
        keyword_lists(orders["tokens"], stop).list.unique().alias("word").to_frame().explode("word").drop_nulls()
        .group_by("word").agg(pl.len().alias("count")).with_columns(share=pl.col("count") / total)
        .sort(["count", "word"], descending=[True, False]).head(n)
    )


def top_places(orders: pl.DataFrame, column: Literal["address", "community"] = "address", n: int = 20) -> pl.DataFrame:
    """The addresses (or communities) with most orders: callers, months active, last order, main category."""
    has_caller = "caller_key" in orders.columns
    agg = [
        pl.len().alias("orders"),
        pl.col("received_at").dt.truncate("1mo").n_unique().alias("months"),
        pl.col("received_at").min().alias("first_at"),
        pl.col("received_at").max().alias("last_at"),
        pl.col("category_l1").drop_nulls().mode().sort().first().alias("main_category"),
    ]
    if has_caller:
        agg.insert(1, pl.col("caller_key").n_unique().alias("callers"))
    keys = [column, *(c for c in ("street",) if c in orders.columns and column != "street")]
    return (
        orders.filter(pl.col(column).is_not_null() & (pl.col(column).str.strip_chars() != ""))
        .group_by(keys).agg(agg).sort(["orders", "months", column], descending=[True, True, False]).head(n)
    )


def per_10k(counts: pl.DataFrame, areas: pl.DataFrame, key: str = "district") -> pl.DataFrame:
    """counts (key, orders) with population from `areas` and orders per 10,000 residents (NULL if unknown)."""
    pop = areas.filter(pl.col("street").is_null() if key == "district" else pl.col("street").is_not_null())
    pop = pop.group_by(key).agg(pl.col("population").max())
    return counts.join(pop, on=key, how="left").with_columns(
        per_10k=pl.when(pl.col("population") > 0).then(pl.col("orders") / pl.col("population") * 10_000)
    )


@cache
def district_geojson() -> dict[str, Any]:
    return json.loads((DATA / "beijing_districts.geojson").read_text(encoding="utf-8"))


# Plotly's geo and map traces fetch a base map (world topojson, tiles) from the internet and draw nothing
# without it; these maps are plain SVG shapes on lon/lat axes, so they render offline and in print.
_LAT_SCALE = 1 / math.cos(math.radians(40.2))  # keeps Beijing's proportions on equal-unit axes


_MAP_HEIGHT = 460
_LABEL_PX = 11
_MIN_MAP_WIDTH = 360   # the narrowest the map column is drawn (a 1,000-pixel window with the sidebar open)


def map_scale(geo: dict[str, Any], height: int = _MAP_HEIGHT) -> float:
    """Pixels per degree of longitude the district map is drawn at (for placing its labels)."""
    points = [p for f in geo["features"] for polygon in f["geometry"]["coordinates"] for p in polygon[0]]
    bounds = (min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points))
    return maplabels.pixels_per_degree(bounds, _LAT_SCALE, height - 20, _MIN_MAP_WIDTH)


def _map_layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True, scaleanchor="x", scaleratio=_LAT_SCALE)
    fig.update_layout(margin=dict(t=10, b=10, l=10, r=10), height=height, plot_bgcolor="white", showlegend=False,
                      hovermode="closest", dragmode=False)
    return fig


def district_map(values: pl.DataFrame, column: str = "orders", title: str = "工单量", fmt: str = ",.0f") -> go.Figure:
    """The 16 districts from the bundled GeoJSON, shaded by `column`; districts without data are grey.

    Each district's label is a selectable point (customdata = district name), so a click can narrow the view.
    """
    geo = district_geojson()
    # NaN (a rate over no orders) is no data, like None
    vals = {d: v for d, v in zip(values["district"].to_list(), values[column].to_list()) if v is not None and v == v}
    low, high = (min(vals.values()), max(vals.values())) if vals else (0, 1)
    span = (high - low) or 1
    fig = go.Figure()
    names, label_x, label_y, texts = [], [], [], []
    for feature in geo["features"]:
        name = feature["properties"]["name"]
        value = vals.get(name)
        color = "#e5e5e5" if value is None else sample_colorscale("OrRd", [min(1.0, 0.1 + 0.9 * (value - low) / span)])[0]
        hover = f"{name}：无数据" if value is None else f"{name}：{value:{fmt}}"
        for polygon in feature["geometry"]["coordinates"]:
            ring = polygon[0]
            fig.add_trace(go.Scatter(
                x=[p[0] for p in ring], y=[p[1] for p in ring], mode="lines", fill="toself", fillcolor=color,
                line=dict(color="white", width=1), hoveron="fills", text=hover, hoverinfo="text", name=name,
            ))
        cx, cy = feature["properties"].get("centroid") or feature["properties"]["center"]
        names.append(name), label_x.append(cx), label_y.append(cy)
        texts.append(f"{name}<br>{'—' if value is None else format(value, fmt)}")
    short = [n.removesuffix("区") for n in names]
    placed = maplabels.place(list(zip(label_x, label_y)), short, map_scale(geo), _LAT_SCALE, _LABEL_PX)
    leaders = [v for p, cx, cy in zip(placed, label_x, label_y) if p.moved for v in ((cx, p.x), (cy, p.y))]
    if leaders:   # small neighbours whose labels had to move apart: a line from each label to its area
        fig.add_trace(go.Scatter(
            x=[c for pair in leaders[0::2] for c in (*pair, None)], y=[c for pair in leaders[1::2] for c in (*pair, None)],
            mode="lines", line=dict(color="#555", width=0.8), hoverinfo="skip", name="标注引线",
        ))
        fig.add_trace(go.Scatter(
            x=[cx for p, cx in zip(placed, label_x) if p.moved], y=[cy for p, cy in zip(placed, label_y) if p.moved],
            mode="markers", marker=dict(size=4, color="#555"), hoverinfo="skip", name="区位置",
        ))
    fig.add_trace(go.Scatter(
        x=[p.x for p in placed], y=[p.y for p in placed], mode="markers+text", text=short, customdata=names,
        textfont=dict(size=_LABEL_PX, color="#222", shadow="0 0 3px white"), marker=dict(size=6, color="#333", opacity=0.35),
        hovertext=texts, hoverinfo="text", name="区",
    ))
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip", name=title,
        marker=dict(colorscale=[[i / 10, sample_colorscale("OrRd", [0.1 + 0.09 * i])[0]] for i in range(11)],
                    cmin=low, cmax=high, color=[low], showscale=True, colorbar=dict(title=title, tickformat=fmt)),
    ))
    return _map_layout(fig, _MAP_HEIGHT)


def add_points(fig: go.Figure, points: pl.DataFrame, text_column: str = "category_l1", max_points: int = 3000) -> go.Figure:
    """Orders with lat/lon as dots on a district map (a sample of max_points when there are more)."""
    pts = points.drop_nulls(["lat", "lon"])
    if pts.height > max_points:
        pts = pts.sample(max_points, seed=0)
    fig.add_trace(go.Scatter(
        x=pts["lon"], y=pts["lat"], mode="markers", marker=dict(size=4, color="#1f4e79", opacity=0.5),
        text=pts[text_column] if text_column in pts.columns else None, hovertemplate="%{text}<extra></extra>", name="工单位置",
    ))
    return fig


def ranking_bar(ranking: pl.DataFrame, label: str, value: str = "orders", title: str = "工单量", n: int = 20) -> go.Figure:
    top = ranking.head(n)
    fig = go.Figure(go.Bar(
        x=top[value], y=top[label], orientation="h", marker_color="#e45756",
        hovertemplate=f"%{{y}}：%{{x:,.1f}}<extra>{title}</extra>",
    ))
    fig.update_layout(yaxis=dict(autorange="reversed"), margin=dict(t=10, b=10, l=10, r=10),
                      height=max(260, 22 * top.height + 60), xaxis_title=title)
    return fig


def words_bar(words: pl.DataFrame, value: str = "count", title: str = "涉及工单数", n: int = 20) -> go.Figure:
    top = words.head(n)
    custom = top.select(
        pl.col("lift").fill_null(float("nan")) if "lift" in top.columns else pl.lit(float("nan")).alias("lift")
    )["lift"]
    fig = go.Figure(go.Bar(
        x=top[value], y=top["word"], orientation="h", marker_color="#54a24b", customdata=custom,
        hovertemplate="%{y}：%{x:,}<extra>提升度 %{customdata:.1f}</extra>" if "lift" in top.columns else "%{y}：%{x:,}<extra></extra>",
    ))
    fig.update_layout(yaxis=dict(autorange="reversed"), margin=dict(t=10, b=10, l=10, r=10),
                      height=max(260, 22 * top.height + 60), xaxis_title=title, clickmode="event+select")
    return fig


def read_hotspots(con: duckdb.DuckDBPyConnection, filters: Filters, by: Area, settings: Settings) -> pl.DataFrame:
    """hotspots of the filtered period, with the history its expected counts need before it, counted in
    DuckDB (the monthly summary for whole months): only cell × month counts reach polars."""
    keys = _keys(by)
    counts = monthly_orders(con, filters.reaching_back(max(12, settings.hotspots.trailing_months)),
                            ["district", "street", "category_l1"])
    per = counts.group_by("month").agg(pl.col("orders").sum())
    last_day = counts["last_at"].max().date() if counts.height else None
    cells = (counts.drop_nulls([*keys, "category_l1"]).group_by([*keys, "category_l1", "month"])
             .agg(count=pl.col("orders").sum()))
    return hotspot_cells(cells, per, last_day, by, settings, start=filters.date_from, end=filters.date_to)


def read_area_counts(con: duckdb.DuckDBPyConnection, filters: Filters, by: Area) -> pl.DataFrame:
    """Orders per district (district, orders) or street (district, street, orders) under the filters."""
    keys = ", ".join(_keys(by))
    where, params = filters.where()
    return query(con, f"SELECT {keys}, count(*) AS orders FROM work_orders WHERE {where} AND {by} IS NOT NULL "
                      f"GROUP BY {keys}", params)


def read_points(con: duckdb.DuckDBPyConnection, filters: Filters, max_points: int = 3000) -> dict[str, Any]:
    """How many filtered orders have coordinates (`count`) and a fixed pseudo-random sample of at most
    max_points of them (`points`: lat, lon, category_l1) for the map."""
    where, params = filters.where()
    where += " AND lat IS NOT NULL AND lon IS NOT NULL"
    count = query(con, f"SELECT count(*) AS n FROM work_orders WHERE {where}", params)["n"][0]
    points = query(con, f"SELECT lat, lon, category_l1 FROM work_orders WHERE {where} ORDER BY hash(order_id) LIMIT ?",
                   [*params, max_points])
    return {"count": count, "points": points}


def read_words(con: duckdb.DuckDBPyConnection, filters: Filters, min_count: int, min_lift: float,
               min_baseline: int = 1, n: int = 30) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """The period's most frequent keywords, those rising most against the 12 months before it, and, when
    that history is too short for a lift (fewer than min_baseline orders), a note saying so (基线不足).
    Words are counted in DuckDB from the token index; only one row per word reaches polars."""
    if not filters.date_from:
        docs, words = read_word_counts(con, filters, None)
        return _top(docs, words, n), pl.DataFrame(), ""
    docs, words = read_word_counts(con, filters.reaching_back(12), None, filters.date_from)
    stats = word_stats(docs, words, None, filters.date_from, min_count=min_count, min_baseline=min_baseline)
    now = pl.col("period") == filters.date_from
    return _top(docs.filter(now), words.filter(now), n), emerging(stats, n, min_lift), baseline_note(stats, min_baseline)


def _top(docs: pl.DataFrame, words: pl.DataFrame, n: int) -> pl.DataFrame:
    """top_words from counts of one period."""
    total = max(int(docs["orders"].sum() or 0), 1)
    return (words.group_by("word").agg(pl.col("count").sum()).with_columns(share=pl.col("count") / total)
            .sort(["count", "word"], descending=[True, False]).head(n))


_FAR_PAST = date(1900, 1, 1)


def read_word_counts(con: duckdb.DuckDBPyConnection, filters: Filters, by: Area | None, start: date | None = None,
                     period: Literal["1mo"] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The counts hot_words starts from, made in DuckDB: `docs` (area, period, orders) and `words` (area,
    period, word, count: orders holding the keyword, case-folded, keywords only), per month (`period` "1mo")
    or, without period, from `start` on against everything before it (period 1900-01-01); without start
    either, one period. Whole months come from the monthly word counts (core.summary) when the filters
    narrow by district at most, the rest from the token index; orders it does not cover yet are segmented
    here (as analytics.db.with_tokens does)."""
    if by is not None:
        _keys(by)
    area, head = (f"w.{by}", []) if by else ("?", [CITY])
    if period == "1mo":
        per = "date_trunc('month', w.received_at)::DATE"
    elif start is not None:
        per, head = "CASE WHEN w.received_at >= ? THEN ?::DATE ELSE ?::DATE END", [*head, start, start, _FAR_PAST]
    else:
        per, head = "?::DATE", [*head, _FAR_PAST]
    where, params = filters.where(prefix="w.")
    valid = " AND w.received_at IS NOT NULL" + (f" AND {area} IS NOT NULL" if by else "")
    select = f"{area}::VARCHAR AS area, {per} AS period"
    docs = _docs(con, filters, by, start, period) if start is None or start.day == 1 or period == "1mo" else query(
        con, f"SELECT {select}, count(*)::BIGINT AS orders FROM work_orders w WHERE {where}{valid} GROUP BY ALL",
        [*head, *params])
    whole, parts = whole_months(filters) if _words_summary(con, filters, by) else (None, [filters])
    wholes = [] if whole is None else [whole]
    if whole is not None and period is None and start is not None and start.day != 1:
        # The month `start` cuts in two is counted from the orders.
        first, after = start.replace(day=1), add_months(start, 1)
        if (whole.date_from is None or whole.date_from <= first) and (whole.date_to is None or whole.date_to >= after - timedelta(days=1)):
            wholes = [w for w in (replace(whole, date_to=first - timedelta(days=1)), replace(whole, date_from=after))
                      if w.date_from is None or w.date_to is None or w.date_from <= w.date_to]
            parts = [*parts, replace(filters, date_from=first, date_to=after - timedelta(days=1))]
    pieces = []
    for whole in wholes:
        w_where, w_params = whole.where(time_column="month", prefix="w.")
        pieces.append((f"SELECT {select.replace('w.received_at', 'w.month')}, word, orders AS count "
                       f"FROM {summary.WORDS} w WHERE {w_where}" + (f" AND {area} IS NOT NULL" if by else ""),
                       [*head, *w_params]))
    for part in parts:
        p_where, p_params = part.where(prefix="w.")
        p_months, m_params = token_months(part)
        pieces.append((f"SELECT {select}, unnest(list_distinct(list_transform(t.tokens, lambda x: lower(x)))) AS word, "
                       f"1 AS count FROM work_orders w JOIN order_tokens t ON t.order_id = w.order_id AND {p_months} "
                       f"WHERE {p_where}{valid}", [*head, *m_params, *p_params]))
    words = query(con, "SELECT area, period, word, sum(count)::BIGINT AS count FROM ("
                       + " UNION ALL ".join(sql for sql, _ in pieces) + ") WHERE word IS NOT NULL GROUP BY ALL",
                  [x for _, p in pieces for x in p]) if pieces else pl.DataFrame(
        schema={"area": pl.String, "period": pl.Date, "word": pl.String, "count": pl.Int64})
    words = keyword_rows(words)
    # Only the months the summaries say are not fully tokenised are searched for orders without tokens.
    months = pending_months(con, filters)
    bound, bound_params = token_months(filters)
    pending = query(con, f"SELECT {select}, w.content FROM work_orders w LEFT JOIN order_tokens t "
                         f"ON t.order_id = w.order_id AND {bound} WHERE {where}{valid} AND t.tokens IS NULL"
                         + ("" if months is None else " AND list_contains(?, date_trunc('month', w.received_at)::DATE)"),
                    [*head, *bound_params, *params, *([] if months is None else [months])]) if months != [] else None
    if pending is not None and pending.height:
        tokens = pl.Series(segment(pending["content"].fill_null("").to_list()), dtype=pl.List(pl.String))
        late = (pending.select("area", "period", word=keyword_lists(tokens).list.unique()).explode("word")
                .drop_nulls("word").group_by("area", "period", "word").agg(pl.len().cast(pl.Int64).alias("count")))
        words = pl.concat([words, late]).group_by("area", "period", "word").agg(pl.col("count").sum())
    return docs, words


def _docs(con: duckdb.DuckDBPyConnection, filters: Filters, by: Area | None, start: date | None,
          period: Literal["1mo"] | None) -> pl.DataFrame:
    """read_word_counts' `docs` from the monthly summary (analytics.db.monthly_orders), for periods made of
    whole months."""
    counts = monthly_orders(con, filters, [by] if by else [])
    if by:
        counts = counts.filter(pl.col(by).is_not_null())
    if period == "1mo":
        when = pl.col("month")
    elif start is not None:
        when = pl.when(pl.col("month") >= start).then(pl.lit(start)).otherwise(pl.lit(_FAR_PAST))
    else:
        when = pl.lit(_FAR_PAST)
    return (counts.group_by(area=pl.col(by) if by else pl.lit(CITY), period=when).agg(pl.col("orders").sum().cast(pl.Int64))
            .with_columns(pl.col("area").cast(pl.String), pl.col("period").cast(pl.Date)))


def _words_summary(con: duckdb.DuckDBPyConnection, filters: Filters, by: Area | None) -> bool:
    """Whether the monthly word counts can answer: they are kept per district only."""
    if by not in (None, "district") or filters.streets or filters.categories or filters.depts or filters.scope.street:
        return False
    try:
        query(con, f"SELECT 1 FROM {summary.WORDS} LIMIT 1")
    except duckdb.CatalogException:   # a database written before the word counts existed
        return False
    return True


def read_word_orders(con: duckdb.DuckDBPyConnection, filters: Filters, word: str, limit: int = 50) -> pl.DataFrame:
    """The latest filtered orders whose tokens contain `word`, case-folded as hot words are (orders the token
    index does not cover yet are matched on their text), newest first."""
    # The newest come from the period's last days: look there first (2, 8, 32… days), widening until `limit`
    # are found. Every order outside a window is older than all of it, so its newest are the period's.
    days = 2
    while filters.date_from and filters.date_to and filters.date_to - timedelta(days=days) >= filters.date_from:
        found = _word_orders(con, replace(filters, date_from=filters.date_to - timedelta(days=days - 1)), word, limit)
        if found.height >= limit:
            return found
        days *= 4
    return _word_orders(con, filters, word, limit)


def _word_orders(con: duckdb.DuckDBPyConnection, filters: Filters, word: str, limit: int) -> pl.DataFrame:
    # A word without cased letters is only ever its own lower case: a plain lookup finds it.
    has = "list_contains(t.tokens, lower(?))" if word.lower() == word.upper() else \
        "list_contains(list_transform(t.tokens, lambda x: lower(x)), lower(?))"
    where, params = filters.where(prefix="w.")
    months, month_params = token_months(filters)
    # The index is searched first (only the period's months of it, and only between the smallest and largest
    # id of the period's orders: ids usually grow with time, so a few days' ids skip most of a month) and only
    # the matching orders are joined: joining every order of the period with its tokens costs several times more.
    ids = query(con, f"SELECT min(order_id) AS lo, max(order_id) AS hi FROM work_orders w WHERE {where}", params).row(0)
    months, month_params = f"{months} AND t.order_id >= ? AND t.order_id <= ?", [*month_params, *ids]
    hit = f"w.order_id IN (SELECT order_id FROM order_tokens t WHERE {months} AND {has})"
    late, late_params = "", []
    pending = pending_months(con, filters)
    if pending != []:
        # Lowering every text costs seconds: only orders without tokens, in months that have such orders.
        late = (f" OR (w.order_id NOT IN (SELECT order_id FROM order_tokens t WHERE {months}) "
                "AND contains(lower(w.content), lower(?))"
                + ("" if pending is None else " AND list_contains(?, date_trunc('month', w.received_at)::DATE)") + ")")
        late_params = [*month_params, word, *([] if pending is None else [pending])]
    return query(
        con,
        "SELECT w.order_id, w.received_at, w.district, w.street, w.category_l1, w.content FROM work_orders w "
        f"WHERE {where} AND ({hit}{late}) ORDER BY w.received_at DESC, w.order_id DESC LIMIT ?",
        [*params, *month_params, word, *late_params, limit],
    )


def run_hotspots(con, args) -> pl.DataFrame:
    """CLI: hotspot cells of the months in --from/--to, most significant first (history fetched before --from)."""
    by = args.by if getattr(args, "by", None) in ("district", "street") else "district"
    hot = read_hotspots(con, from_args(args), by, load_settings())
    return hot.sort(["z", "count"], descending=True, nulls_last=True).select(
        "area", *(["district"] if by == "street" else []), "category", pl.col("month").dt.strftime("%Y-%m").alias("period"),
        "count", pl.col("expected").round(2), "basis", pl.col("lift").round(3), pl.col("z").round(2), "surge",
    )


def run_words(con, args) -> pl.DataFrame:
    """CLI: per area (--by; whole city by default) and month of --from/--to, the 20 most emerging keywords
    against the same area's previous 12 months (the most frequent, without lift, where that baseline has
    fewer than word_min_baseline orders: basis 基线不足)."""
    filters = from_args(args)
    by = args.by if getattr(args, "by", None) in ("district", "street") else None
    h = load_settings().hotspots
    docs, counts = read_word_counts(con, filters.reaching_back(12), by, period="1mo")
    words = word_stats(docs, counts, "1mo", filters.date_from, min_count=h.word_min_count,
                       min_baseline=h.word_min_baseline)
    top = words.sort(["z", "count"], descending=True, nulls_last=True).group_by("area", "period", maintain_order=True).head(20)
    return top.sort(["period", "area", "z", "count"], descending=[False, False, True, True], nulls_last=True).select(
        "area", pl.col("period").dt.strftime("%Y-%m").alias("period"), "word", "count", "orders",
        pl.col("expected").round(2), pl.col("lift").round(3), pl.col("z").round(2), "basis", "baseline_orders",
    )
