"""预警与预测: forecasts on series with known seasonality, backtest arithmetic, gaps, short history, warnings,
the commands and the page."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest

from analytics import forecast as F
from analytics.__main__ import main as cli
from analytics.filters import Filters, add_months
from analytics.settings import load_settings
from core.schema import create_all

SETTINGS = load_settings()
CFG = SETTINGS.forecast
SEASON = np.array([1.0, 0.9, 1.0, 1.1, 1.2, 1.3, 1.6, 1.4, 1.0, 0.9, 0.8, 0.8])   # Jan..Dec


def months(start: date, n: int) -> list[date]:
    return [add_months(start, i) for i in range(n)]


def frames(series: dict[tuple[str, str], list[float]], start: date, gaps: set[int] = frozenset(),
           district: str = "甲区") -> tuple[pl.DataFrame, pl.DataFrame]:
    """monthly_sql-shaped counts and coverage_sql-shaped coverage for given series (gap months: no data at all)."""
    ms = months(start, len(next(iter(series.values()))))
    rows = [(m, u, c, district, int(v)) for (u, c), vals in series.items() for i, (m, v) in enumerate(zip(ms, vals))
            if i not in gaps and v > 0]
    counts = pl.DataFrame(rows, schema={"month": pl.Date, "unit": pl.String, "category": pl.String,
                                        "district": pl.String, "n": pl.Int64}, orient="row")
    cov = pl.DataFrame({"month": [m for i, m in enumerate(ms) if i not in gaps],
                        "n": [1] * (len(ms) - len(gaps)),
                        "last_at": [datetime.combine(add_months(m, 1) - timedelta(days=1), datetime.min.time())
                                    for i, m in enumerate(ms) if i not in gaps]})
    return counts, cov


def seasonal(level: float, n: int, start_month: int = 1, growth: float = 0.0) -> np.ndarray:
    idx = (np.arange(n) + start_month - 1) % 12
    return level * SEASON[idx] * (1 + growth) ** (np.arange(n) / 12)


def test_known_seasonality_without_noise_is_forecast_closely():
    y = seasonal(200, 36, growth=0.06)
    counts, cov = frames({("甲街道", "供暖"): list(np.round(y))}, date(2023, 1, 1))
    fc = F.forecast(counts, cov, SETTINGS, "street", horizon=3)
    assert fc.possible
    truth = seasonal(200, 39, growth=0.06)[36:]
    got = fc.table.sort("step")["forecast"].to_numpy()
    assert np.all(np.abs(got / truth - 1) < 0.04), (got, truth)
    assert fc.table["month"].to_list() == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert (fc.table["lo"] <= fc.table["forecast"]).all() and (fc.table["forecast"] <= fc.table["hi"]).all()


def test_noisy_seasonal_cells_beat_last_year_same_month():
    rng = np.random.default_rng(3)
    series = {(f"街道{i}", "供水"): list(rng.poisson(seasonal(rng.uniform(5, 80), 36, growth=0.05))) for i in range(150)}
    counts, cov = frames(series, date(2023, 11, 1))
    fc = F.forecast(counts, cov, SETTINGS, "street")
    mase = fc.record["mase"].drop_nulls()
    assert mase.len() == 150
    assert (mase < 1).mean() >= 0.7
    # The 80% interval covers about 80% of next month's outcomes (backtest as independent check).
    bt = fc.backtest.filter(pl.col("step") == 1)
    lo, hi = F.interval(bt["forecast"].to_numpy(), F.dispersion(fc.backtest, 3)[0], 0.8)
    inside = ((bt["actual"].to_numpy() >= lo) & (bt["actual"].to_numpy() <= hi)).mean()
    assert 0.7 <= inside <= 0.95


def test_backtest_arithmetic():
    bt = pl.DataFrame({"cell": [0, 0, 0, 1, 1], "origin": [10, 11, 12, 10, 11], "step": [1, 1, 1, 1, 2],
                       "target": [11, 12, 13, 11, 13], "actual": [10.0, 20.0, 30.0, 5.0, 7.0],
                       "forecast": [12.0, 18.0, 33.0, 5.0, 1.0], "naive": [8.0, 25.0, float("nan"), 9.0, 7.0]})
    rec = F.track_record(bt).to_dicts()
    # cell 0: the month without 去年同月 is not scored; |e| = 2 + 2 = 4 over 30; 去年同月 |e| = 2 + 5 = 7.
    assert rec[0]["months"] == 2 and rec[0]["wape"] == pytest.approx(4 / 30) and rec[0]["wape_naive"] == pytest.approx(7 / 30)
    assert rec[0]["mase"] == pytest.approx(4 / 7)
    assert rec[1]["months"] == 1 and rec[1]["wape"] == 0 and rec[1]["mase"] == 0
    assert F.record_text(4 / 30, 7 / 30, 2) == "过去 2 个月，预测误差 13%，优于“去年同月”（23%）"
    assert "劣于" in F.record_text(0.3, 0.2, 12)


def test_backtest_uses_only_the_past():
    y = list(np.r_[np.full(24, 10.0), np.full(12, 40.0)])   # a level shift in the last year
    counts, cov = frames({("甲街道", "住房"): y}, date(2023, 1, 1))
    h = F.history(counts, cov)
    bt = F.backtest(h, CFG, 1)
    first = bt.sort("target").row(0, named=True)
    assert first["target"] == 24 and first["actual"] == 40
    assert first["forecast"] < 15                 # made before the shift was seen
    assert bt.height == CFG.backtest_months


def test_gaps_are_not_zeros():
    y = list(seasonal(50, 30))
    counts, cov = frames({("甲街道", "住房"): y, ("乙街道", "住房"): [0.0] * 10 + [5.0] * 20}, date(2024, 1, 1), gaps={20, 21})
    h = F.history(counts, cov)
    assert np.isnan(h.y[:, 20]).all() and np.isnan(h.y[:, 21]).all()
    assert h.y[1, 0] == 0                             # covered month, no orders in this cell: a zero
    assert h.observed == 28
    bt = F.backtest(h, CFG, 3)
    assert not bt.filter(pl.col("target").is_in([20, 21])).height
    fc = F.forecast(counts, cov, SETTINGS, "street")
    assert fc.possible and fc.table["forecast"].is_finite().all()
    # The seasonal index ignores the gap instead of reading it as a collapse.
    one = fc.table.filter((pl.col("unit") == "甲街道") & (pl.col("step") == 1))["forecast"][0]
    assert one == pytest.approx(seasonal(50, 31)[30], rel=0.1)


def test_partial_last_month_is_left_out():
    counts, cov = frames({("甲街道", "住房"): [10.0] * 15}, date(2024, 1, 1))
    cov = cov.with_columns(pl.when(pl.col("month") == pl.col("month").max()).then(pl.col("month").cast(pl.Datetime) + pl.duration(days=9))
                           .otherwise(pl.col("last_at")).alias("last_at"))
    h = F.history(counts, cov)
    assert h.partial == date(2025, 3, 1) and h.months[-1] == date(2025, 2, 1)


def test_short_history_says_why_and_gives_no_forecast():
    counts, cov = frames({("甲街道", "住房"): [10.0] * 8}, date(2026, 1, 1))
    fc = F.forecast(counts, cov, SETTINGS, "street")
    assert not fc.possible and fc.table.is_empty()
    assert "8 个月" in fc.reason and f"{CFG.min_history_months} 个月" in fc.reason


def test_nb_quantiles():
    lo, hi = F.interval(np.array([10.0, 0.0]), np.array([0.0, 0.0]), 0.8)
    assert lo.tolist() == [6, 0] and hi.tolist() == [14, 0]     # Poisson(10): 10% → 6, 90% → 14
    wide_lo, wide_hi = F.interval(np.array([10.0]), np.array([0.5]), 0.8)
    assert wide_lo[0] < 6 and wide_hi[0] > 14
    big_lo, big_hi = F.interval(np.array([5000.0]), np.array([0.0]), 0.8)
    assert big_lo[0] == pytest.approx(5000 - 1.2816 * 5000 ** 0.5, abs=2)


def test_seasonal_surge_is_warned_ahead():
    """A type that jumps every November is reminded of with data up to September (two months ahead)."""
    rng = np.random.default_rng(5)
    n = 35                                                     # Nov 2023 .. Sep 2026
    ms = months(date(2023, 11, 1), n)
    heat = [rng.poisson(400 if m.month in (11, 12, 1, 2) else 20) for m in ms]
    flat = list(rng.poisson(np.full(n, 200)))
    counts, cov = frames({("全市", "供暖"): heat, ("全市", "物业"): flat}, ms[0])
    fc = F.forecast(counts, cov, SETTINGS, "city")
    rem = F.seasonal_reminders(fc, CFG, "category_l2")
    assert rem["category"].to_list() == ["供暖"]
    r = rem.row(0, named=True)
    assert r["month"] == date(2026, 11, 1) and r["lead_months"] == 2 and r["ratio"] > 10
    assert "11月供暖类诉求预计上升" in r["message"]


def test_forecast_warning_flags_cells_rising_above_their_level():
    n = 36
    counts, cov = frames({("甲街道", "供暖"): [100 if m.month == 11 else 10 for m in months(date(2023, 10, 1), n)],
                          ("乙街道", "供暖"): [10] * n}, date(2023, 10, 1))     # last month: Sept 2026
    fc = F.forecast(counts, cov, SETTINGS, "street")
    w = F.forecast_warnings(fc, CFG)
    assert w["unit"].to_list() == ["甲街道"]
    assert w["lead_months"][0] == 2 and w["month"][0] == date(2026, 11, 1)


def test_recent_warnings_scale_and_season():
    recent = pl.DataFrame({"unit": ["甲", "乙", "丙"], "category": ["住房", "住房", "供暖"], "district": ["x"] * 3,
                           "recent": [30, 12, 60], "baseline": [30, 36, 30], "recent_ly": [10, 10, 50], "baseline_ly": [30, 30, 30]})
    w = F.recent_warnings(recent, CFG, "street", date(2026, 11, 1), seasonal=True)
    # 甲: expected 30 × 28/84 × (20 × 84 / (60 × 28)) = 10 → ratio 3; 乙: 12 vs 12; 丙: heating rises every year the same.
    assert w["unit"].to_list() == ["甲"]
    assert w["expected"][0] == pytest.approx(10.0) and w["ratio"][0] == pytest.approx(3.0)
    plain = F.recent_warnings(recent, CFG, "street", date(2026, 11, 1), seasonal=False)
    assert set(plain["unit"]) == {"甲", "丙"}


def test_rising_types_need_growth_over_last_year_and_momentum():
    n = 36
    rising = [20] * 27 + [25, 30, 35, 45, 55, 65, 80, 95, 110]
    seasonal_only = [100 if i % 12 in (9, 10, 11) else 10 for i in range(n)]   # rises every autumn, like last year
    counts, cov = frames({("全市", "预付卡退费"): rising, ("全市", "暖气不热"): seasonal_only}, date(2023, 11, 1))
    w = F.rising_types(counts, cov, CFG, "category_l3")
    assert w["category"].to_list() == ["预付卡退费"]
    assert w["lead_months"][0] == 0 and "比去年同期" in w["message"][0]


def _write_db(path, series: dict[tuple[str, str, str], list[int]], start: date) -> None:
    """work_orders rows realising monthly counts per (district, street, category_l1) from `start`."""
    rows = []
    for (district, street, cat), counts in series.items():
        for i, n in enumerate(counts):
            m = add_months(start, i)
            days = (add_months(m, 1) - m).days
            for k in range(int(n)):   # spread over the month, the first on its last day (a complete month)
                rows.append((f"{street}{cat}{i}-{k}", datetime(m.year, m.month, days - k * days // n, 9 + k % 8), district, street,
                             cat, cat + "类", "内容"))
    con = duckdb.connect(str(path))
    create_all(con)
    con.executemany("INSERT INTO work_orders (order_id, received_at, district, street, category_l1, category_l2, content) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()


@pytest.fixture(scope="module")
def city_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("fc") / "city.duckdb"
    rng = np.random.default_rng(11)
    series = {}
    for d in ("东区", "西区"):
        for s in range(4):
            series[(d, f"{d}{s}街道", "公共服务")] = [int(v) for v in rng.poisson(
                [60 if m.month in (11, 12) else 6 for m in months(date(2023, 10, 1), 36)])]
            series[(d, f"{d}{s}街道", "住房")] = [int(v) for v in rng.poisson(np.full(36, 15))]
    _write_db(path, series, date(2023, 10, 1))            # Oct 2023 .. Sep 2026
    return path


def test_outlook_on_a_database(city_db):
    con = duckdb.connect(str(city_db), read_only=True)
    o = F.read_outlook(con, Filters(), SETTINGS)
    con.close()
    assert o.observed_months == 36 and o.end == date(2026, 10, 1)
    assert o.type_column == "category_l2"
    kinds = set(o.warnings["kind"])
    assert F.KIND_SEASONAL in kinds and F.KIND_FORECAST in kinds
    rem = o.warnings.filter(pl.col("kind") == F.KIND_SEASONAL).row(0, named=True)
    assert rem["category"] == "公共服务类" and rem["month"] == date(2026, 11, 1) and rem["lead_months"] == 2
    behind, last_year = F.warning_links(rem, "street")
    assert behind == {"category_l2": "公共服务类", "from": "2026-09", "to": "2026-09"}
    assert last_year == {"category_l2": "公共服务类", "from": "2025-11", "to": "2025-11"}
    cell = o.warnings.filter(pl.col("kind") == F.KIND_FORECAST).row(0, named=True)
    behind, _ = F.warning_links(cell, "street")
    assert behind["street"] == cell["unit"] and behind["category"] == "公共服务" and behind["district"] == cell["district"]


def test_short_history_database_falls_back_to_recent_warnings(tmp_path):
    path = tmp_path / "short.duckdb"
    _write_db(path, {("东区", "甲街道", "住房"): [10] * 7 + [40], ("东区", "乙街道", "住房"): [10] * 8}, date(2026, 2, 1))
    con = duckdb.connect(str(path), read_only=True)
    o = F.read_outlook(con, Filters(), SETTINGS)
    con.close()
    assert not o.forecasts.possible and "8 个月" in o.forecasts.reason
    assert o.warnings.filter(pl.col("kind") == F.KIND_RECENT)["unit"].to_list() == ["甲街道"]
    assert F.KIND_FORECAST not in set(o.warnings["kind"])


def test_commands(city_db, capsys):
    assert cli(["forecast", "--db", str(city_db), "--format", "json", "--horizon", "2"]) == 0
    rows = pl.read_json(capsys.readouterr().out.encode())
    assert rows.height == 8 * 2 * 2 and set(rows["step"]) == {1, 2}
    nov = rows.filter((pl.col("unit") == "东区0街道") & (pl.col("category") == "公共服务") & (pl.col("step") == 2))
    assert nov["month"][0] == "2026-11-01" and 35 < nov["forecast"][0] < 90 and nov["mase"][0] is not None
    assert cli(["warnings", "--db", str(city_db), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "季节提醒" in out and "11月公共服务类诉求预计上升" in out and "类类" not in out
    assert cli(["forecast", "--db", str(city_db), "--to", "2025-09-30", "--format", "json"]) == 0
    earlier = pl.read_json(capsys.readouterr().out.encode())
    assert earlier["month"].min() == "2025-10-01"        # as of the end of September 2025


def test_command_short_history_message(tmp_path, capsys):
    path = tmp_path / "short.duckdb"
    _write_db(path, {("东区", "甲街道", "住房"): [10] * 5}, date(2026, 2, 1))
    with pytest.raises(SystemExit) as e:
        cli(["forecast", "--db", str(path)])
    assert "5 个月" in str(e.value.code)


def test_page(city_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("HOTLINE_DB", str(city_db))
    at = AppTest.from_file("../dashboard.py", default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    assert not at.exception
    assert [h.value for h in at.header] == ["一、预警", "二、预测"]
    texts = [t.value for t in at.text]
    assert any(t.startswith("提前 2 个月：11月公共服务类诉求预计上升") for t in texts)
    assert any("过去 12 个月，预测误差" in t for t in texts)
    links = [p for p in at.get("page_link")]
    assert len(links) == 2
    at.selectbox(key="fc_by").set_value("district").run()
    assert not at.exception and at.query_params.get("by") == "district"
    assert any(s.value.startswith("下月预测最多的区与二级分类") for s in at.subheader)


def test_page_short_history(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "short.duckdb"
    _write_db(path, {("东区", "甲街道", "住房"): [10] * 7 + [40], ("东区", "乙街道", "住房"): [10] * 8}, date(2026, 2, 1))
    monkeypatch.setenv("HOTLINE_DB", str(path))
    at = AppTest.from_file("../dashboard.py", default_timeout=120).run()
    at.switch_page("pages/forecast.py").run()
    assert not at.exception
    assert any("8 个月" in w.value and "13 个月" in w.value for w in at.warning)
    assert any("甲街道" in str(t.value) for t in at.table)


def test_links_of_recent_and_rising_warnings():
    recent = {"kind": F.KIND_RECENT, "unit": "甲街道", "category": "住房", "category_column": "category_l1",
              "district": "东区", "month": date(2026, 10, 1), "lead_months": 0}
    behind, last_year = F.warning_links(recent, "street")
    assert behind == {"district": "东区", "street": "甲街道", "category": "住房", "from": "2026-09", "to": "2026-10"}
    assert last_year["from"] == last_year["to"] == "2025-10"
    rising = {"kind": F.KIND_RISING, "unit": "全市", "category": "预付卡退费", "category_column": "category_l3",
              "district": None, "month": date(2026, 8, 1), "lead_months": 0}
    behind, _ = F.warning_links(rising, "street", 3)
    assert behind == {"category_l3": "预付卡退费", "from": "2026-08", "to": "2026-10"}
