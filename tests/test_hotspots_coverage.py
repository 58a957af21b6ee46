"""Hotspot baselines count only months the data covers (issue #11 item 4)."""
import calendar
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from analytics.hotspots import covered_months, hotspots
from analytics.settings import load_settings
from etl.load import load_file

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def _orders(cells: dict[tuple[str, str, str], int]) -> pl.DataFrame:
    """(month 'YYYY-MM', district, category) -> that many orders spread over the month, the last on its last day."""
    rows = []
    for (month, district, category), n in cells.items():
        y, m = map(int, month.split("-"))
        last = calendar.monthrange(y, m)[1]
        rows += [{"received_at": datetime(y, m, last if i == n - 1 else 1 + i % 28, 9), "district": district,
                  "street": None, "category_l1": category} for i in range(n)]
    return pl.DataFrame(rows, schema={"received_at": pl.Datetime("us"), "district": pl.String, "street": pl.String,
                                      "category_l1": pl.String})


def _background(months: list[str], n: int = 40) -> dict:
    return {(m, "甲区", "其他"): n for m in months}


def test_an_empty_year_is_not_a_zero_baseline():
    # Orders in 2022-03..06 and 2024-03..06, nothing in 2023: 2024's months have no usable last year.
    months = ["2022-03", "2022-04", "2022-05", "2022-06", "2024-03", "2024-04", "2024-05", "2024-06"]
    cells = _background(months) | {("2024-06", "甲区", "噪声"): 12, ("2024-05", "甲区", "噪声"): 11,
                                   ("2024-04", "甲区", "噪声"): 12, ("2024-03", "甲区", "噪声"): 13}
    hot = hotspots(_orders(cells), "district", load_settings())
    noise = hot.filter(pl.col("category") == "噪声").sort("month")
    # 2024-03: last year empty (not covered), the previous 3 months empty too: no baseline, no surge.
    assert noise["basis"].to_list()[0] == "无可比基线" and noise["expected"][0] is None
    # Later months compare with the covered months before them (12, 11, ...), not with 2023's zeros.
    assert noise["basis"].to_list()[1:] == ["前3个月均值"] * 3
    assert not noise["surge"].any()
    cov = covered_months(_orders(cells), 0.25)
    assert cov.filter(pl.col("month").dt.year() == 2023)["covered"].sum() == 0
    assert cov["covered"].sum() == 8


def test_a_real_surge_against_covered_months_is_found():
    months = [f"2024-{m:02d}" for m in range(1, 8)]
    cells = _background(months) | {(m, "甲区", "供水"): 2 for m in months[:-1]} | {("2024-07", "甲区", "供水"): 20}
    hot = hotspots(_orders(cells), "district", load_settings())
    row = hot.filter((pl.col("category") == "供水") & (pl.col("month") == datetime(2024, 7, 1).date())).row(0, named=True)
    assert row["surge"] and row["expected"] == pytest.approx(2.0) and row["basis"] == "前3个月均值"


def test_a_thin_month_is_neither_judged_nor_a_baseline():
    # 2024-02 holds 3 orders against ~40 in the others: a sampling gap, not a quiet month.
    months = ["2024-01", "2024-03", "2024-04"]
    cells = _background(months) | {("2024-02", "甲区", "其他"): 3, ("2024-03", "甲区", "占道"): 6,
                                   ("2024-02", "甲区", "占道"): 1}
    hot = hotspots(_orders(cells), "district", load_settings())
    feb = hot.filter(pl.col("month") == datetime(2024, 2, 1).date())
    assert set(feb["basis"]) == {"本月数据不完整"} and feb["expected"].null_count() == feb.height
    mar = hot.filter((pl.col("category") == "占道") & (pl.col("month") == datetime(2024, 3, 1).date())).row(0, named=True)
    # Baseline: January only (0 orders of 占道); February's single order does not count.
    assert mar["expected"] == pytest.approx(0.0) and mar["surge"]


def test_nyc_2014_2019_surges_are_not_sampling_artefacts(tmp_path):
    path = REAL / "nyc311" / "nyc311_2014-2019_sample_1000rows.csv"
    if not path.exists():
        pytest.skip(f"真实数据不在 {path}")
    import duckdb
    db = tmp_path / "nyc.duckdb"
    load_file(path, db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        orders = con.sql("SELECT received_at, district, street, category_l1 FROM work_orders").pl()
    finally:
        con.close()
    hot = hotspots(orders, "district", load_settings())
    surges = hot.filter("surge")
    # Before: 37 surges, every one against a month with no orders at all. Now each surge's baseline is a
    # month holding at least a quarter of the judged month's orders.
    assert surges.height <= 3
    assert (surges["expected"] > 0).all() or surges.is_empty()
    assert not hot.filter(pl.col("basis") == "去年同月")["month"].is_in(
        [datetime(2018, 6, 1).date(), datetime(2019, 3, 1).date()]).any()
