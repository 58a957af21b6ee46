"""未诉先办: what residents will call about next — monthly forecasts with intervals, their track record, and
early warnings (预警).

The model is compact and vectorised over every cell (unit × category) at once (bench/RESULTS-forecast.md
compares it with statsforecast): expected count = recent level × seasonal index of the target month ×
trend. The seasonal index comes from the same months of earlier years, pooled over all units of the
category and shrunk towards the cell's own profile as far as its volume and the spread between units allow; the level is the cell's
deseasonalised recent volume (exponentially weighted); the trend is the category's year-on-year growth,
damped. Intervals are negative-binomial with the dispersion measured in the rolling-origin backtest, which
also gives every cell its track record against the seasonal-naive forecast (去年同月).

Months absent from the export altogether are gaps (NaN), never zeros; a month the export covers in which a
cell has no orders is a zero.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from analytics.filters import Filters, add_months
from analytics.settings import Forecast as ForecastSettings
from analytics.settings import Settings

# level -> (unit column, category column, Chinese names)
LEVELS: dict[str, tuple[str, str, str, str]] = {
    "street": ("street", "category_l1", "街道/乡镇", "一级分类"),
    "district": ("district", "category_l2", "区", "二级分类"),
    "dept": ("dept", "category_l1", "承办单位", "一级分类"),
    "city": ("'全市'", "category_l1", "全市", "一级分类"),
}
# Month windows the fitted history may not end in: a last month with data only up to this day is partial.
PARTIAL_LAST_DAYS = 2


# A FROM source holding the filtered orders as (month, district, street, dept, category_l1..3, orders,
# last_at) rows: analytics.db.detail_sql (the monthly summary) on a connection, or orders_source.
Source = Callable[[Filters], tuple[str, list[Any]]]


def orders_source(filters: Filters) -> tuple[str, list[Any]]:
    """The filtered work orders as a Source, one row per order (for callers without a connection)."""
    where, params = filters.where()
    return ("(SELECT date_trunc('month', received_at)::DATE AS month, district, street, dept, category_l1, category_l2, "
            f"category_l3, 1::BIGINT AS orders, received_at AS last_at FROM work_orders WHERE {where})", params)


def monthly_sql(level: str, filters: Filters | None = None, category: str | None = None,
                source: Source = orders_source) -> tuple[str, list[Any]]:
    """Monthly counts per (unit, category) at `level`, plus, in `district` for street cells, the unit's district
    (for links). `category` overrides the level's category column (category_l1/l2/l3). Small result:
    units × categories × months."""
    unit, cat, *_ = LEVELS[level]
    cat = category or cat
    if cat not in ("category_l1", "category_l2", "category_l3"):
        raise ValueError(f"unknown category column {cat}")
    rows, params = source(filters or Filters())
    district = {"street": "min(district)", "district": "district"}.get(level, "NULL")   # min: the same pick on every path
    return (
        f"SELECT month, {unit} AS unit, {cat} AS category, {district}::VARCHAR AS district, sum(orders)::BIGINT AS n "
        f"FROM {rows} s WHERE {unit} IS NOT NULL AND {cat} IS NOT NULL GROUP BY 1, 2, 3",
        params,
    )


def coverage_sql(filters: Filters | None = None, source: Source = orders_source) -> tuple[str, list[Any]]:
    """Which months the export covers (any order at all, whatever the filters' units) and the last day with data."""
    f = filters or Filters()
    rows, params = source(Filters(date_from=f.date_from, date_to=f.date_to))
    return (f"SELECT month, sum(orders)::BIGINT AS n, max(last_at) AS last_at FROM {rows} s GROUP BY 1 ORDER BY 1",
            params)


# Where recent_sql counts days (table, day column, orders per row): work_orders, one row per order, or the
# daily summary (analytics.db.daily_source), which reads far fewer rows for the same counts.
ORDERS_BY_DAY = ("work_orders", "received_at", "1")


def recent_sql(level: str, end: date, days: int, baseline_days: int, filters: Filters | None = None,
               by_day: tuple[str, str, str] | None = None) -> tuple[str, list[Any]]:
    """Per (unit, category): orders in the `days` before `end` (exclusive), in the `baseline_days` before those,
    and in the same two windows one year earlier (counted from `by_day`: table, day column, orders per row;
    None: the orders)."""
    unit, cat, *_ = LEVELS[level]
    table, day, weight = by_day or ORDERS_BY_DAY
    where, params = (filters or Filters()).where(time_column=day)
    r0 = end - timedelta(days=days)
    b0 = r0 - timedelta(days=baseline_days)
    ly = lambda d: d - timedelta(days=364)  # noqa: E731  (52 weeks: same weekdays)
    bounds = [r0, end, b0, r0, ly(r0), ly(end), ly(b0), ly(r0)]
    district = "min(district)::VARCHAR" if level == "street" else "NULL::VARCHAR"
    # The two spans are read apart, so the months between them are skipped (one span when they meet).
    spans = [(b0, end), (ly(b0), ly(end))] if ly(end) < b0 else [(ly(b0), end)]
    # The bounds are whole days, so a day column counts exactly what the orders' timestamps would.
    rows = " UNION ALL ".join(f"SELECT {unit} AS unit, {cat} AS category, district, {day} AS d, {weight} AS n FROM {table} "
                              f"WHERE {where} AND {unit} IS NOT NULL AND {cat} IS NOT NULL "
                              f"AND {day} >= ? AND {day} < ?" for _ in spans)
    return (
        f"SELECT unit, category, {district} AS district, "
        "coalesce(sum(n) FILTER (WHERE d >= ? AND d < ?), 0)::BIGINT AS recent, "
        "coalesce(sum(n) FILTER (WHERE d >= ? AND d < ?), 0)::BIGINT AS baseline, "
        "coalesce(sum(n) FILTER (WHERE d >= ? AND d < ?), 0)::BIGINT AS recent_ly, "
        "coalesce(sum(n) FILTER (WHERE d >= ? AND d < ?), 0)::BIGINT AS baseline_ly "
        f"FROM ({rows}) GROUP BY 1, 2",
        [*bounds, *(x for a, b in spans for x in (*params, a, b))],
    )


def top_units_sql(category_column: str, category: str, month: date, filters: Filters | None = None,
                  limit: int = 12) -> tuple[str, list[Any]]:
    """The streets with most orders of one category in one month (last year's same month, for reminders)."""
    if category_column not in ("category_l1", "category_l2", "category_l3"):
        raise ValueError(f"unknown category column {category_column}")
    f = filters or Filters()
    where, params = Filters(districts=f.districts, streets=f.streets).where()
    return (f"SELECT district, street, count(*)::BIGINT AS n FROM work_orders WHERE {where} AND {category_column} = ? "
            "AND received_at >= ? AND received_at < ? AND street IS NOT NULL GROUP BY 1, 2 ORDER BY n DESC, street LIMIT ?",
            [*params, category, month, add_months(month, 1), limit])


@dataclass
class History:
    """Monthly counts as a matrix: cells (rows of `cells`) × months (`months`), NaN where the export has no data."""
    cells: pl.DataFrame          # unit, category, district
    months: list[date]
    y: np.ndarray                # float, cells × months
    partial: date | None = None  # a last month left out because it is incomplete

    @property
    def observed(self) -> int:
        """Months with data (gaps excluded)."""
        return int((~np.isnan(self.y[0])).sum()) if len(self.cells) else int(len(self.months))


def history(counts: pl.DataFrame, coverage: pl.DataFrame) -> History:
    """The matrix from monthly_sql's counts and coverage_sql's months. Months between the first and the last
    covered month that have no orders at all are gaps; a last month whose data stops before its last days
    is left out as partial."""
    covered = coverage.filter(pl.col("n") > 0).sort("month")
    partial = None
    if covered.height:
        last, last_at = covered["month"][-1], covered["last_at"][-1]
        month_end = add_months(last, 1) - timedelta(days=1)
        if last_at is not None and last_at.date() < month_end - timedelta(days=PARTIAL_LAST_DAYS - 1):
            partial = last
            covered = covered.head(-1)
    if not covered.height:
        return History(pl.DataFrame(schema={"unit": pl.String, "category": pl.String, "district": pl.String}), [],
                       np.zeros((0, 0)), partial)
    first, last = covered["month"][0], covered["month"][-1]
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = add_months(m, 1)
    has = np.isin(np.array(months, dtype="datetime64[D]"), covered["month"].to_numpy().astype("datetime64[D]"))
    counts = counts.filter(pl.col("month").is_between(first, last))
    cells = (counts.group_by("unit", "category").agg(pl.col("district").drop_nulls().min(), total=pl.col("n").sum())
             .sort("total", "unit", "category", descending=[True, False, False]).drop("total"))
    idx = cells.select("unit", "category").with_row_index("_r")
    pos = {m: i for i, m in enumerate(months)}
    joined = counts.join(idx, on=["unit", "category"]).with_columns(
        _c=pl.col("month").replace_strict(pos, return_dtype=pl.Int64))
    y = np.zeros((cells.height, len(months)))
    np.add.at(y, (joined["_r"].to_numpy(), joined["_c"].to_numpy()), joined["n"].to_numpy().astype(float))
    y[:, ~has] = np.nan
    return History(cells, months, y, partial)


def _seasonal_index(y: np.ndarray, month_of: np.ndarray) -> np.ndarray:
    """Seasonal indices (rows × 12, mean 1) from each month's ratio to the 12-month window around it, averaged
    over the years; 1 where a calendar month was never seen."""
    n, t = y.shape
    if t < 12:
        return np.ones((n, 12))
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.nan_to_num(y), axis=1)], axis=1)
    cnt = np.concatenate([[0], np.cumsum(~np.isnan(y[0]) if n else np.ones(t))])
    start = np.clip(np.arange(t) - 6, 0, t - 12)
    window = (csum[:, start + 12] - csum[:, start]) / np.maximum(cnt[start + 12] - cnt[start], 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(window > 0, y / window, np.nan)
    s = np.ones((n, 12))
    for m in range(12):
        cols = month_of == m
        if cols.any():
            vals = ratio[:, cols]
            seen = ~np.isnan(vals)
            s[:, m] = np.where(seen.any(axis=1), np.nansum(vals, axis=1) / np.maximum(seen.sum(axis=1), 1), np.nan)
    s = np.nan_to_num(s, nan=1.0)
    mean = s.mean(axis=1, keepdims=True)
    return np.where(mean > 0, s / np.where(mean > 0, mean, 1), 1.0)


def _group_rows(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys, inverse = np.unique(groups, return_inverse=True)
    return keys, inverse


def _groups(h: History) -> np.ndarray:
    """Each cell's category as a small integer (the pooling group): sorting strings every origin is slow."""
    if not h.cells.height:
        return np.zeros(0, dtype=np.int64)
    return h.cells.select(pl.col("category").rank("dense")).to_series().to_numpy().astype(np.int64)


def point_forecast(y: np.ndarray, month_of: np.ndarray, groups: np.ndarray, horizon: int,
                   cfg: ForecastSettings, with_season: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Expected counts (cells × horizon) for the months after the last column of `y` (and, asked, the seasonal
    indices used, cells × 12). `month_of` is each column's calendar month (0–11); `groups` the pooling group
    (category) of each row."""
    n, t = y.shape
    keys, g = _group_rows(groups)
    pooled = np.zeros((len(keys), t))
    np.add.at(pooled, g, np.nan_to_num(y))
    pooled[:, np.isnan(y[0]) if n else np.zeros(t, bool)] = np.nan
    s_pool = _seasonal_index(pooled, month_of)[g]
    s_own = _seasonal_index(y, month_of)
    # Empirical Bayes: a cell's own profile counts by how far cells of its category really differ from the
    # pooled one (τ²) against the sampling noise of its own estimate (σ² ≈ 1 / orders per calendar month).
    obs_months = np.maximum((~np.isnan(y)).sum(axis=1), 1)
    per_month = np.nansum(y, axis=1) / obs_months * np.maximum(obs_months / 12, 1)
    noise = 1 / np.maximum(per_month, 0.5)
    spread = ((s_own - s_pool) ** 2).mean(axis=1)
    tau = np.zeros(len(keys))
    np.add.at(tau, g, spread - noise)
    tau = np.maximum(tau / np.maximum(np.bincount(g, minlength=len(keys)), 1), 0)[g]
    w = (tau / (tau + noise))[:, None]
    season = w * s_own + (1 - w) * s_pool
    # A season needs a year of history to be told apart from a level change.
    if t < 12:
        season = np.ones_like(season)

    age = (t - 1 - np.arange(t)).astype(float)
    weight = 0.5 ** (age / cfg.level_half_life_months)
    obs = ~np.isnan(y)
    s_cols = season[:, month_of]
    num = np.nansum(np.where(obs, y, 0) * weight, axis=1)
    den = np.sum(np.where(obs, s_cols, 0) * weight, axis=1)
    level = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)
    mean_age = np.sum(np.where(obs, s_cols, 0) * weight * age, axis=1) / np.where(den > 0, den, 1)

    growth = np.ones(len(keys))
    if t >= 24:
        last = np.nansum(pooled[:, -12:], axis=1)
        prev = np.nansum(pooled[:, -24:-12], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            yearly = np.where((last > 0) & (prev > 0), last / prev, 1.0)
        growth = np.clip(yearly ** (1 / 12), 1 - cfg.trend_limit, 1 + cfg.trend_limit)
    growth = growth[g]

    steps = np.arange(1, horizon + 1)
    target_month = (month_of[-1] + steps) % 12 if t else steps % 12
    damp = np.cumsum(cfg.trend_damping ** np.arange(1, horizon + 1))
    log_g = np.log(growth)[:, None]
    trend = np.exp(log_g * (mean_age[:, None] * cfg.trend_damping + damp[None, :]))
    mu = level[:, None] * season[:, target_month] * trend
    return (mu, season) if with_season else mu


def seasonal_naive(y: np.ndarray, horizon: int) -> np.ndarray:
    """去年同月: the count of the same month one year earlier (NaN where that month is a gap or missing)."""
    n, t = y.shape
    out = np.full((n, horizon), np.nan)
    for h in range(1, horizon + 1):
        src = t + h - 1 - 12
        if 0 <= src < t:
            out[:, h - 1] = y[:, src]
    return out


def _month_of(months: list[date]) -> np.ndarray:
    return np.array([m.month - 1 for m in months], dtype=np.int64)


def backtest(h: History, cfg: ForecastSettings, horizon: int | None = None) -> pl.DataFrame:
    """Rolling-origin backtest over the last `cfg.backtest_months` months: one row per (cell, origin, step)
    with the actual count, the forecast and the seasonal-naive forecast. Origins need `min_history_months`
    of history; targets that are gaps are left out."""
    horizon = horizon or cfg.horizon
    t = len(h.months)
    month_of = _month_of(h.months)
    groups = _groups(h)
    frames = []
    for origin in range(max(cfg.min_history_months, t - cfg.backtest_months), t):
        past = h.y[:, :origin]
        if (~np.isnan(past[0]) if len(past) else np.array([])).sum() < cfg.min_history_months:
            continue
        steps = min(horizon, t - origin)
        fc = point_forecast(past, month_of[:origin], groups, steps, cfg)
        sn = seasonal_naive(past, steps)
        for k in range(steps):
            actual = h.y[:, origin + k]
            if np.isnan(actual[0]) if len(actual) else True:
                continue
            frames.append(pl.DataFrame({
                "cell": np.arange(h.cells.height), "origin": np.full(h.cells.height, origin - 1),
                "step": np.full(h.cells.height, k + 1), "target": np.full(h.cells.height, origin + k),
                "actual": actual, "forecast": fc[:, k], "naive": sn[:, k],
            }))
    if not frames:
        return pl.DataFrame(schema={"cell": pl.Int64, "origin": pl.Int64, "step": pl.Int64, "target": pl.Int64,
                                    "actual": pl.Float64, "forecast": pl.Float64, "naive": pl.Float64})
    return pl.concat(frames)


def track_record(bt: pl.DataFrame, step: int = 1) -> pl.DataFrame:
    """Per cell at one step ahead: months scored, WAPE of the forecast and of 去年同月 (Σ|error| / Σ actual),
    and MASE: the forecast's mean absolute error over 去年同月's on the same months (< 1 is better)."""
    scored = bt.filter((pl.col("step") == step) & pl.col("naive").is_not_nan() & pl.col("naive").is_not_null())
    return scored.group_by("cell").agg(
        months=pl.len(),
        actual=pl.col("actual").sum(),
        abs_err=(pl.col("actual") - pl.col("forecast")).abs().sum(),
        abs_err_naive=(pl.col("actual") - pl.col("naive")).abs().sum(),
    ).with_columns(
        wape=pl.when(pl.col("actual") > 0).then(pl.col("abs_err") / pl.col("actual")),
        wape_naive=pl.when(pl.col("actual") > 0).then(pl.col("abs_err_naive") / pl.col("actual")),
        mase=pl.when(pl.col("abs_err_naive") > 0).then(pl.col("abs_err") / pl.col("abs_err_naive")),
    ).sort("cell")


def dispersion(bt: pl.DataFrame, horizon: int) -> np.ndarray:
    """Negative-binomial dispersion φ per step (variance = μ + φμ²) by the method of moments on the backtest."""
    phi = np.full(horizon, 0.05)
    for k in range(1, horizon + 1):
        s = bt.filter((pl.col("step") == k) & (pl.col("forecast") > 0))
        if s.height < 10:
            s = bt.filter(pl.col("forecast") > 0)
        if s.height >= 10:
            mu, y = s["forecast"].to_numpy(), s["actual"].to_numpy()
            phi[k - 1] = max(0.0, float(((y - mu) ** 2 - mu).sum() / (mu ** 2).sum()))
    return phi


def nb_quantile(mu: np.ndarray, phi: np.ndarray, q: float) -> np.ndarray:
    """Quantile q of a negative binomial with mean μ and variance μ + φμ² (Poisson when φ = 0): exact by the pmf
    recurrence for small means, normal with a continuity correction beyond (where the two agree)."""
    from statistics import NormalDist

    mu = np.maximum(np.asarray(mu, dtype=float), 0.0)
    phi = np.broadcast_to(np.maximum(phi, 1e-9), mu.shape)
    flat_mu, flat_phi = mu.ravel(), phi.ravel()
    out = np.empty_like(flat_mu)
    sd = np.sqrt(flat_mu + flat_phi * flat_mu ** 2)
    big = flat_mu + 6 * sd > 400
    z = NormalDist().inv_cdf(q)
    out[big] = np.maximum(np.round(flat_mu[big] + z * sd[big] - 0.5), 0)
    small = ~big
    if small.any():
        m, size = flat_mu[small], 1 / flat_phi[small]
        ratio = m / (size + m)
        p = np.exp(size * np.log(size / (size + m)))   # P(0)
        cdf = p.copy()
        k_out = np.where(cdf >= q, 0.0, np.nan)
        for k in range(1, 401):
            p = p * (k - 1 + size) / k * ratio
            cdf += p
            k_out = np.where(np.isnan(k_out) & (cdf >= q), float(k), k_out)
            if not np.isnan(k_out).any():
                break
        out[small] = np.nan_to_num(k_out, nan=400.0)
    return out.reshape(mu.shape)


def interval(mu: np.ndarray, phi: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Central `level` interval of a negative binomial with mean μ (φ per column)."""
    return nb_quantile(mu, phi, (1 - level) / 2), nb_quantile(mu, phi, 1 - (1 - level) / 2)


@dataclass
class Forecasts:
    level: str
    history: History
    table: pl.DataFrame         # one row per cell × step: unit, category, district, month, forecast, lo, hi, ...
    record: pl.DataFrame        # per cell: track record (see track_record)
    backtest: pl.DataFrame
    possible: bool              # enough history for a seasonal forecast
    reason: str                 # why not, in Chinese, when not
    season: np.ndarray | None = None   # seasonal indices (cells × 12, calendar months)


def forecast(counts: pl.DataFrame, coverage: pl.DataFrame, settings: Settings, level: str = "street",
             horizon: int | None = None) -> Forecasts:
    """Forecasts for every cell of `counts` (monthly_sql at `level`) for the next `horizon` months, with
    intervals and each cell's backtest track record."""
    cfg = settings.forecast
    horizon = horizon or cfg.horizon
    h = history(counts, coverage)
    observed = h.observed
    if observed < cfg.min_history_months:
        reason = (f"现有数据只覆盖 {observed} 个月，按季节预测至少需要 {cfg.min_history_months} 个月"
                  f"（要有去年同月可比）；请导入更早的工单。下面只给出按近期水平的预警。")
        return Forecasts(level, h, pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), False, reason)
    month_of = _month_of(h.months)
    groups = _groups(h)
    mu, season = point_forecast(h.y, month_of, groups, horizon, cfg, with_season=True)
    bt = backtest(h, cfg, horizon)
    phi = dispersion(bt, horizon)
    lo, hi = interval(mu, phi[None, :], cfg.interval)
    naive = seasonal_naive(h.y, horizon)
    recent = np.nanmean(h.y[:, -cfg.baseline_months:], axis=1)
    targets = [add_months(h.months[-1], k) for k in range(1, horizon + 1)]
    n = h.cells.height
    table = pl.concat([
        h.cells.with_row_index("cell").with_columns(
            step=pl.lit(k + 1), month=pl.lit(targets[k]), forecast=pl.Series(mu[:, k]),
            lo=pl.Series(lo[:, k]), hi=pl.Series(hi[:, k]), last_year=pl.Series(naive[:, k]),
            recent=pl.Series(recent), history_months=pl.lit(observed),
        ) for k in range(horizon)
    ]) if n else pl.DataFrame()
    record = track_record(bt)
    if n:
        table = table.join(record.select("cell", "months", "wape", "wape_naive", "mase"), on="cell", how="left")
    return Forecasts(level, h, table, record, bt, True, "", season)


def series_forecast(monthly: pl.DataFrame, coverage: pl.DataFrame, settings: Settings,
                    horizon: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """One aggregate series (e.g. the filtered scope's total): (actual months, forecast months with interval,
    track record dict) for the chart."""
    counts = monthly.group_by("month").agg(pl.col("n").sum()).with_columns(
        unit=pl.lit("合计"), category=pl.lit("合计"), district=pl.lit(None, pl.String))
    fc = forecast(counts, coverage, settings, "city", horizon)
    h = fc.history
    actual = pl.DataFrame({"month": h.months, "actual": h.y[0] if h.cells.height else [None] * len(h.months)},
                          schema={"month": pl.Date, "actual": pl.Float64})
    if not fc.possible or fc.table.is_empty():
        return actual, pl.DataFrame(), {"possible": fc.possible, "reason": fc.reason}
    rec = fc.record.row(0, named=True) if fc.record.height else {}
    fitted = fc.backtest.filter(pl.col("step") == 1).select(
        pl.col("target").map_elements(lambda i: h.months[i], return_dtype=pl.Date).alias("month"),
        pl.col("forecast").alias("backtest"))
    actual = actual.join(fitted, on="month", how="left")
    return actual, fc.table.select("month", "forecast", "lo", "hi", "last_year"), {"possible": True, "reason": "", **rec}


def record_text(wape: float | None, wape_naive: float | None, months: int | None) -> str:
    """The track record as a leader reads it: "过去 12 个月，预测误差 18%，优于“去年同月”（25%）"."""
    if wape is None or months is None or not months:
        return "尚无可回测的月份（历史不足），误差未知"
    if wape_naive is None:
        return f"过去 {months} 个月，预测误差 {wape:.0%}"
    verdict = "优于" if wape < wape_naive else ("持平于" if wape == wape_naive else "劣于")
    return f"过去 {months} 个月，预测误差 {wape:.0%}，{verdict}“去年同月”（{wape_naive:.0%}）"


WARNING_COLUMNS = {"kind": pl.String, "unit": pl.String, "category": pl.String, "category_column": pl.String,
                   "district": pl.String, "month": pl.Date, "lead_months": pl.Int64, "expected": pl.Float64,
                   "baseline": pl.Float64, "ratio": pl.Float64, "last_year": pl.Float64, "message": pl.String}
KIND_FORECAST, KIND_SEASONAL, KIND_RECENT, KIND_RISING = "预测上升", "季节提醒", "近期上升", "上升类型"


def _empty_warnings() -> pl.DataFrame:
    return pl.DataFrame(schema=WARNING_COLUMNS)


def _kind(column: str = "category") -> pl.Expr:
    """"供暖" → "供暖类" (a name already ending in 类 is kept)."""
    c = pl.col(column)
    return pl.when(c.str.ends_with("类")).then(c).otherwise(c + "类")


def _month_cn(m: date) -> str:
    return f"{m.year}年{m.month}月"


def forecast_warnings(fc: Forecasts, cfg: ForecastSettings) -> pl.DataFrame:
    """Cells whose forecast rises well above their recent level (≥ warn_ratio × the mean of the last
    baseline_months, at least warn_min_count, the interval's lower end above the baseline): the earliest such
    month per cell, with its lead time."""
    if not fc.possible or fc.table.is_empty():
        return _empty_warnings()
    unit_name, cat_col = LEVELS[fc.level][2], LEVELS[fc.level][1]
    hits = (fc.table.filter((pl.col("forecast") >= cfg.warn_ratio * pl.col("recent")) & (pl.col("forecast") >= cfg.warn_min_count)
                            & (pl.col("lo") > pl.col("recent")))
            .sort("step").unique("cell", keep="first", maintain_order=True))
    if hits.is_empty():
        return _empty_warnings()
    return hits.select(
        kind=pl.lit(KIND_FORECAST), unit="unit", category="category", category_column=pl.lit(cat_col), district="district",
        month="month", lead_months=pl.col("step").cast(pl.Int64), expected="forecast", baseline="recent",
        ratio=pl.col("forecast") / pl.col("recent").clip(lower_bound=1), last_year="last_year",
        message=pl.format(f"{{}}（{unit_name}）{{}}诉求预计 {{}} 达 {{}} 件（区间 {{}}–{{}}），为近 {cfg.baseline_months} 个月月均 {{}} 件的 {{}} 倍",
                          "unit", _kind(), pl.col("month").dt.strftime("%Y年%-m月"), pl.col("forecast").round(0).cast(pl.Int64),
                          pl.col("lo").cast(pl.Int64), pl.col("hi").cast(pl.Int64), pl.col("recent").round(1),
                          (pl.col("forecast") / pl.col("recent").clip(lower_bound=1)).round(1)),
    ).sort("lead_months", "ratio", descending=[False, True])


def seasonal_reminders(fc: Forecasts, cfg: ForecastSettings, category_column: str) -> pl.DataFrame:
    """Types whose scope-wide forecast for a coming month is ≥ seasonal_ratio × the latest month because of the
    season (the seasonal indices learnt from earlier years rise as much, so it is not a trend or noise): per
    type the steepest such month, with its lead time."""
    if not fc.possible or fc.table.is_empty() or fc.season is None:
        return _empty_warnings()
    h = fc.history
    cells = fc.table["cell"].to_numpy()
    latest = h.y[:, -1][cells]
    origin_month = h.months[-1].month - 1
    target_month = fc.table["month"].dt.month().to_numpy() - 1
    season_rise = fc.season[cells, target_month] / np.maximum(fc.season[cells, origin_month], 1e-9)
    t = fc.table.with_columns(latest=pl.Series(latest), season_rise=pl.Series(season_rise))
    hits = (t.filter((pl.col("forecast") >= cfg.seasonal_ratio * pl.col("latest").clip(lower_bound=1))
                     & (pl.col("forecast") >= cfg.seasonal_min_count) & (pl.col("season_rise") >= cfg.seasonal_ratio))
            .with_columns(ratio=pl.col("forecast") / pl.col("latest").clip(lower_bound=1))
            .sort("ratio", descending=True).unique("cell", keep="first", maintain_order=True))
    if hits.is_empty():
        return _empty_warnings()
    return hits.select(
        kind=pl.lit(KIND_SEASONAL), unit="unit", category="category", category_column=pl.lit(category_column),
        district="district", month="month", lead_months=pl.col("step").cast(pl.Int64), expected="forecast",
        baseline="latest", ratio="ratio", last_year="last_year",
        message=pl.format("{}{}诉求预计上升 {} 倍（{} 件 → 约 {} 件），去年同月 {} 件",
                          pl.col("month").dt.strftime("%-m月"), _kind(), pl.col("ratio").round(1), pl.col("latest").cast(pl.Int64),
                          pl.col("forecast").round(0).cast(pl.Int64),
                          pl.when(pl.col("last_year").is_nan()).then(pl.lit("无数据")).otherwise(pl.col("last_year").cast(pl.Int64).cast(pl.String))),
    ).sort("lead_months", "ratio", descending=[False, True])


def recent_warnings(recent: pl.DataFrame, cfg: ForecastSettings, level: str, end: date, seasonal: bool) -> pl.DataFrame:
    """Cells whose last recent_days rose well above the recent_baseline_days before them (scaled to the same
    length and, with a year of history, by the category's own change over the same weeks last year)."""
    if recent.is_empty():
        return _empty_warnings()
    unit_name, cat_col = LEVELS[level][2], LEVELS[level][1]
    scale = cfg.recent_days / cfg.recent_baseline_days
    r = recent
    if seasonal:
        season = r.group_by("category").agg(ly_ratio=(pl.col("recent_ly").sum() * cfg.recent_baseline_days)
                                             / (pl.col("baseline_ly").sum() * cfg.recent_days).clip(lower_bound=1))
        r = r.join(season, on="category", how="left").with_columns(pl.col("ly_ratio").fill_null(1.0).clip(0.2, 5.0))
    else:
        r = r.with_columns(ly_ratio=pl.lit(1.0))
    r = r.with_columns(expected=(pl.col("baseline") * scale * pl.col("ly_ratio")).clip(lower_bound=0.5))
    r = r.with_columns(ratio=pl.col("recent") / pl.col("expected"),
                       z=(pl.col("recent") - pl.col("expected")) / pl.col("expected").sqrt())
    hits = r.filter((pl.col("ratio") >= cfg.recent_ratio) & (pl.col("z") >= cfg.recent_z)
                    & (pl.col("recent") >= cfg.recent_min_count))
    if hits.is_empty():
        return _empty_warnings()
    return hits.select(
        kind=pl.lit(KIND_RECENT), unit="unit", category="category", category_column=pl.lit(cat_col), district="district",
        month=pl.lit((end - timedelta(days=1)).replace(day=1)), lead_months=pl.lit(0, pl.Int64), expected="expected",
        baseline=pl.col("baseline") * scale, ratio="ratio", last_year=pl.col("recent_ly").cast(pl.Float64),
        message=pl.format(f"{{}}（{unit_name}）{{}}诉求近 {cfg.recent_days} 天 {{}} 件，为此前同样天数期望值 {{}} 件的 {{}} 倍",
                          "unit", _kind(), "recent", pl.col("expected").round(1), pl.col("ratio").round(1)),
    ).sort("ratio", descending=True)


def rising_types(counts: pl.DataFrame, coverage: pl.DataFrame, cfg: ForecastSettings, category_column: str) -> pl.DataFrame:
    """Types (monthly_sql "city" rows, one per category) whose last rising_months are ≥ rising_yoy × the same
    months a year earlier and ≥ rising_momentum × the rising_months before: rising before they are hot issues.
    Without a year of history only the momentum is asked, and the message says so."""
    h = history(counts, coverage)
    k = cfg.rising_months
    t = len(h.months)
    if not h.cells.height or t < 2 * k:
        return _empty_warnings()
    last = np.nansum(h.y[:, -k:], axis=1)
    before = np.nansum(h.y[:, -2 * k:-k], axis=1)
    yoy_known = t >= 12 + k and not np.isnan(h.y[0, -12 - k:-12]).all()
    year_ago = np.nansum(h.y[:, -12 - k:-12], axis=1) if yoy_known else np.full(len(last), np.nan)
    momentum = last / np.maximum(before, 1)
    yoy = last / np.maximum(year_ago, 1) if yoy_known else np.full(len(last), np.inf)
    # The rise over last year must also be beyond Poisson noise (z), or small types flicker in and out.
    base = year_ago if yoy_known else before
    z = (last - base) / np.sqrt(np.maximum(last + base, 1))
    hit = (last >= cfg.rising_min_count) & (momentum >= cfg.rising_momentum) & (yoy >= cfg.rising_yoy) & (z >= cfg.rising_z)
    if not hit.any():
        return _empty_warnings()
    cells = h.cells.filter(pl.Series(hit))
    span = f"{_month_cn(h.months[-k])}至{_month_cn(h.months[-1])}"
    msg = [f"{c}：{span}共 {int(a)} 件，比前 {k} 个月（{int(b)} 件）增 {m - 1:.0%}" +
           (f"，比去年同期（{int(y)} 件）增 {a / max(y, 1) - 1:.0%}" if yoy_known else "（历史不足一年，未与去年同期比较）")
           for c, a, b, m, y in zip(cells["category"], last[hit], before[hit], momentum[hit], year_ago[hit])]
    return pl.DataFrame({
        "kind": KIND_RISING, "unit": cells["unit"], "category": cells["category"], "category_column": category_column,
        "district": pl.Series([None] * cells.height, dtype=pl.String), "month": h.months[-k],
        "lead_months": 0, "expected": last[hit] / k, "baseline": before[hit] / k,
        "ratio": momentum[hit], "last_year": year_ago[hit] / k, "message": msg,
    }, schema=WARNING_COLUMNS).sort("ratio", descending=True)


Reader = Callable[[str, list[Any]], pl.DataFrame]


@dataclass
class Outlook:
    """Everything the 预警与预测 page and the commands show, for one scope (forecasts without their backtest rows)."""
    forecasts: Forecasts
    types: Forecasts            # scope-wide forecasts per type (category_l2, else category_l1)
    type_column: str
    warnings: pl.DataFrame      # all kinds, WARNING_COLUMNS
    end: date | None            # the day after the last day with data
    observed_months: int


def scope(filters: Filters | None) -> Filters:
    """The history a forecast reads: everything up to the end of the chosen period, in the chosen areas and
    categories (the period's start does not limit the history)."""
    return replace(filters or Filters(), date_from=None)


def outlook(read: Reader, filters: Filters | None, settings: Settings, level: str = "street",
            horizon: int | None = None, source: Source = orders_source,
            by_day: tuple[str, str, str] | None = None) -> Outlook:
    """Forecasts and warnings for `filters`' scope; `read(sql, params)` runs a query (analytics.db.query on a
    connection), each one a small aggregate; monthly counts come from `source` (read_outlook: the summary),
    daily ones from `by_day`."""
    cfg = settings.forecast
    f = scope(filters)
    coverage = read(*coverage_sql(f, source))
    fc = forecast(read(*monthly_sql(level, f, source=source)), coverage, settings, level, horizon)
    type_column = "category_l2"
    type_counts = read(*monthly_sql("city", f, category=type_column, source=source))
    if type_counts.is_empty():
        type_column = "category_l1"
        type_counts = read(*monthly_sql("city", f, category=type_column, source=source))
    types = forecast(type_counts, coverage, settings, "city", horizon)
    rising_column = "category_l3"
    rising_counts = read(*monthly_sql("city", f, category=rising_column, source=source))
    if rising_counts.is_empty():
        rising_column, rising_counts = type_column, type_counts
    parts = [forecast_warnings(fc, cfg), seasonal_reminders(types, cfg, type_column),
             rising_types(rising_counts, coverage, cfg, rising_column)]
    end = None
    last_at = coverage["last_at"].max() if coverage.height else None
    if last_at is not None:
        end = last_at.date() + timedelta(days=1)
        recent = read(*recent_sql(level, end, cfg.recent_days, cfg.recent_baseline_days, f, by_day))
        parts.append(recent_warnings(recent, cfg, level, end, seasonal=fc.history.observed >= 13))
    # The page and the commands show each cell's track record, not the backtest's rows (a cell × origin × step
    # each, megabytes at city scale): left out, a cached or stored outlook stays small.
    fc, types = replace(fc, backtest=fc.backtest.clear()), replace(types, backtest=types.backtest.clear())
    return Outlook(fc, types, type_column, pl.concat(parts), end, fc.history.observed)


def read_outlook(con, filters: Filters, settings: Settings, level: str = "street", horizon: int | None = None) -> Outlook:
    """outlook() on a connection (for ui.data.read): the one stored after the last load when it answers
    `filters` (analytics.outlook_store), else computed."""
    from analytics.outlook_store import stored_outlook

    return stored_outlook(con, filters, settings, level, horizon) or compute_outlook(con, filters, settings, level, horizon)


def compute_outlook(con, filters: Filters, settings: Settings, level: str = "street", horizon: int | None = None) -> Outlook:
    """outlook() on a connection, monthly counts from the summary."""
    from analytics.db import daily_source, detail_sql, query

    return outlook(lambda sql, params: query(con, sql, params), filters, settings, level, horizon,
                   lambda f: detail_sql(con, f), daily_source(con))


def read_series(con, filters: Filters, settings: Settings, horizon: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The scope's total per month, its forecast with interval and its track record (the page's chart): stored
    after the last load when it answers `filters`, else computed."""
    from analytics.outlook_store import stored_series

    return stored_series(con, filters, settings, horizon) or compute_series(con, filters, settings, horizon)


def compute_series(con, filters: Filters, settings: Settings, horizon: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """read_series computed from the summary."""
    from analytics.db import detail_sql, query

    f = scope(filters)
    source = lambda g: detail_sql(con, g)  # noqa: E731
    return series_forecast(query(con, *monthly_sql("city", f, source=source)), query(con, *coverage_sql(f, source)),
                           settings, horizon)


def read_top_units(con, filters: Filters, category_column: str, category: str, month: date, limit: int) -> pl.DataFrame:
    """top_units_sql on a connection (for ui.data.read)."""
    from analytics.db import query

    return query(con, *top_units_sql(category_column, category, month, filters, limit))


def warning_links(w: dict, level: str, rising_months: int = 3) -> tuple[dict[str, Any], dict[str, Any]]:
    """工单明细 URL parameters for one warning: (the orders behind it, the same month last year). Behind a
    近期上升: the last two months (its days may span both); an 上升类型: its rising months; a coming month:
    the latest month of its baseline."""
    params: dict[str, Any] = {}
    if w.get("district"):
        params["district"] = w["district"]
    unit_column = LEVELS[level][0]
    if w["kind"] in (KIND_FORECAST, KIND_RECENT) and unit_column in ("street", "district", "dept"):
        params[{"street": "street", "district": "district", "dept": "dept"}[unit_column]] = w["unit"]
    column = w["category_column"]
    params["category" if column == "category_l1" else column] = w["category"]
    month: date = w["month"]
    if w["kind"] == KIND_RECENT:
        behind = (add_months(month, -1), month)
    elif w["kind"] == KIND_RISING:
        behind = (month, add_months(month, rising_months - 1))
    else:
        behind = (add_months(month, -w["lead_months"]), add_months(month, -w["lead_months"]))
    ly = add_months(month, -12)
    return ({**params, "from": f"{behind[0]:%Y-%m}", "to": f"{behind[1]:%Y-%m}"},
            {**params, "from": f"{ly:%Y-%m}", "to": f"{ly:%Y-%m}"})


def explain(settings: Settings) -> str:
    """口径 of the page's numbers, with the settings in force."""
    c = settings.forecast
    return "\n".join([
        f"- **预测**：未来 {c.horizon} 个月每月工单量 = 近期水平 × 目标月份的季节系数 × 趋势。季节系数来自往年同月"
        "（同类问题全部单位合并估计；单位自身的规律按其可信程度加权：工单越多、同类单位之间差别越大，越按自身规律）；"
        f"近期水平按月加权（每往前 {c.level_half_life_months:g} 个月权重减半）并剔除季节；趋势为该类问题的同比增速，"
        f"每月不超过 ±{c.trend_limit:.0%}，逐月衰减（×{c.trend_damping:g}）。",
        f"- **区间**：{c.interval:.0%} 预测区间（负二项分布，离散度由回测误差估计）。",
        f"- **误差与“去年同月”**：滚动回测过去 {c.backtest_months} 个月，每月只用当时已有的数据预测下个月；"
        "误差 = Σ|实际 − 预测| ÷ Σ实际；“去年同月”即直接用去年同月的工单量作预测，误差算法相同。"
        "误差比 = 预测的平均绝对误差 ÷ “去年同月”的平均绝对误差，小于 1 即优于去年同月。",
        f"- **至少 {c.min_history_months} 个月**历史才做季节预测；导出中整月没有任何工单的月份视为缺数（不是 0），"
        f"最后一个月如未满（最后一天无数据）不参与预测。",
        f"- **预测上升**：某单位某类诉求的预测 ≥ 近 {c.baseline_months} 个月月均的 {c.warn_ratio:g} 倍、"
        f"不少于 {c.warn_min_count} 件，且区间下限高于月均；“提前 N 个月”= 距目标月份的月数。",
        f"- **季节提醒**：某类诉求（全部范围合计）预测 ≥ 最近一个月的 {c.seasonal_ratio:g} 倍、不少于 "
        f"{c.seasonal_min_count} 件，且往年的季节规律同样上升这么多（不是趋势或偶然）；取上升最陡的月份；"
        f"列出去年同月该类工单最多的 {c.top_units} 个街乡。",
        f"- **近期上升**：最近 {c.recent_days} 天 ≥ 此前 {c.recent_baseline_days} 天（折算为同样天数，"
        f"并按该类问题去年同期的变化调整季节）的 {c.recent_ratio:g} 倍，显著性 z ≥ {c.recent_z:g}，"
        f"不少于 {c.recent_min_count} 件。历史不足时只用这一种预警。",
        f"- **上升类型**：最近 {c.rising_months} 个月 ≥ 去年同期的 {c.rising_yoy:g} 倍，且 ≥ 前 {c.rising_months} "
        f"个月的 {c.rising_momentum:g} 倍，不少于 {c.rising_min_count} 件，且增量显著（z ≥ {c.rising_z:g}）："
        "尚未成为热点问题前的苗头。",
        "- 全市范围（未选区、街乡、类别，时段截至最新数据）的预警与预测在每次导入工单后预先算好，本页直接读取；"
        "其他范围当场计算，算法相同。",
        "- 设置见设置文件 `settings.toml` 的 `[forecast]` 一节。",
    ])


def run_forecast(con, args) -> pl.DataFrame:
    """`python -m analytics forecast`: every cell's forecast for the next months with interval and track record."""
    from analytics.db import detail_sql, query
    from analytics.filters import from_args
    from analytics.settings import load_settings

    level = args.by or "street"
    if level not in ("street", "district", "dept"):
        raise SystemExit("预测的统计单位只能是 street、district 或 dept")
    f = scope(from_args(args))
    settings = load_settings()
    read = lambda sql, params: query(con, sql, params)  # noqa: E731
    source = lambda g: detail_sql(con, g)  # noqa: E731
    fc = forecast(read(*monthly_sql(level, f, source=source)), read(*coverage_sql(f, source)), settings, level,
                  args.horizon)
    if not fc.possible:
        raise SystemExit(fc.reason)
    return fc.table.select(
        "unit", "category", "district", "month", "step", pl.col("forecast").round(1), "lo", "hi", "last_year",
        pl.col("recent").round(1), pl.col("months").alias("backtest_months"), pl.col("wape").round(3),
        pl.col("wape_naive").round(3), pl.col("mase").round(3),
    ).sort("unit", "category", "step")


def run_warnings(con, args) -> pl.DataFrame:
    """`python -m analytics warnings`: forecast rises, seasonal reminders, recent rises and rising types."""
    from analytics.filters import from_args
    from analytics.settings import load_settings

    level = args.by or "street"
    if level not in ("street", "district", "dept"):
        raise SystemExit("预警的统计单位只能是 street、district 或 dept")
    o = read_outlook(con, from_args(args), load_settings(), level, args.horizon)
    return o.warnings.with_columns(pl.col("expected", "baseline", "ratio", "last_year").round(2))


def figure(actual: pl.DataFrame, coming: pl.DataFrame, months_shown: int = 24):
    """Actual monthly orders, last months' one-step-ahead backtest forecasts, and the coming months' forecast
    with its interval band."""
    import plotly.graph_objects as go

    actual = actual.tail(months_shown)
    fig = go.Figure()
    if coming.height:
        x = coming["month"].to_list()
        fig.add_scatter(x=x + x[::-1], y=coming["hi"].to_list() + coming["lo"].to_list()[::-1], fill="toself",
                        fillcolor="rgba(214,39,40,0.15)", line=dict(width=0), hoverinfo="skip", name="预测区间")
    fig.add_scatter(x=actual["month"], y=actual["actual"], mode="lines+markers", name="实际", line_color="#1f4e79",
                    connectgaps=False)
    if "backtest" in actual.columns:
        fig.add_scatter(x=actual["month"], y=actual["backtest"], mode="lines", name="当时的预测（回测）",
                        line=dict(color="#d62728", dash="dot", width=1.5))
    if coming.height:
        last = actual.drop_nulls("actual").tail(1)
        fig.add_scatter(x=last["month"].to_list() + coming["month"].to_list(),
                        y=last["actual"].to_list() + coming["forecast"].to_list(), mode="lines+markers", name="预测",
                        line=dict(color="#d62728", width=2.5))
        fig.add_scatter(x=coming["month"], y=coming["last_year"], mode="markers", name="去年同月",
                        marker=dict(symbol="diamond-open", size=9, color="#7f7f7f"))
    fig.update_layout(
        margin=dict(t=10, b=10, l=10, r=10), height=320, hovermode="x unified",
        legend=dict(orientation="h", y=-0.18), xaxis=dict(tickformat="%Y年%-m月", dtick="M3"),
        yaxis=dict(title="工单量（件/月）", rangemode="tozero", separatethousands=True),
    )
    return fig
