"""响应率 divides by dispatched orders only, as its 口径 says (METRICS.md)."""
from datetime import datetime, timedelta

import duckdb
import polars as pl
import pytest

from analytics.filters import Filters
from analytics.rates import explain, rate_table, read_rate_table
from analytics.settings import load_settings
from bench.synthcity import generate
from etl.load import load_file


def _frame(rows):
    schema = {"received_at": pl.Datetime("us"), "dispatched_at": pl.Datetime("us"), "responded_at": pl.Datetime("us"),
              "due_at": pl.Datetime("us"), "closed_at": pl.Datetime("us"), "dept": pl.String, "street": pl.String,
              "category_l1": pl.String, "resolution": pl.String, "satisfaction": pl.String, "is_invalid": pl.Boolean}
    return pl.DataFrame(rows, schema=schema)


def test_non_dispatched_orders_leave_the_denominator():
    t0 = datetime(2026, 3, 2, 9)
    rows = []
    # 4 dispatched to 甲街道: 3 answered within 24 h, 1 after 30 h; 6 answered on the spot (no dispatch at all).
    for lag in (1, 2, 23, 30):
        rows.append({"received_at": t0, "dispatched_at": t0 + timedelta(hours=1),
                     "responded_at": t0 + timedelta(hours=1 + lag), "dept": "区城管局", "street": "甲街道"})
    rows += [{"received_at": t0, "street": "甲街道"} for _ in range(6)]
    # 乙街道: dispatched (a unit, no dispatch time) but never answered counts as not in time.
    rows += [{"received_at": t0, "responded_at": t0 + timedelta(hours=3), "dept": "区水务局", "street": "乙街道"},
             {"received_at": t0, "dept": "区水务局", "street": "乙街道"},
             {"received_at": t0, "street": "乙街道"}]
    table = rate_table(_frame(rows), ["street"], load_settings()).sort("street")
    got = dict(zip(table["street"], zip(table["dispatched"], table["response_rate"])))
    assert got["甲街道"] == (4, pytest.approx(3 / 4))
    assert got["乙街道"] == (2, pytest.approx(1 / 2))
    assert "派发的工单" in explain("response_rate", load_settings())


def test_export_without_dispatch_fields_counts_every_order():
    t0 = datetime(2026, 3, 2, 9)
    rows = [{"received_at": t0, "responded_at": t0 + timedelta(hours=h), "street": "丙街道"} for h in (1, 5)]
    rows.append({"received_at": t0, "street": "丙街道"})
    table = rate_table(_frame(rows), ["street"], load_settings())
    assert table["dispatch_marked"][0] == 0 and table["response_rate"][0] == pytest.approx(2 / 3)


def test_synthetic_city_street_rates_match_an_independent_count(tmp_path):
    """Per street, from the raw export: answered within 24 h of dispatch ÷ rows with a dispatch time."""
    city = generate(seed=21, orders=3000)
    db = tmp_path / "city.duckdb"
    load_file(city.write_csv(tmp_path / "city.csv"), db)
    num, den, everyone = city.response_counts()
    con = duckdb.connect(str(db), read_only=True)
    try:
        in_db = read_rate_table(con, Filters(), ["street"], load_settings())
        orders = con.sql("SELECT received_at, dispatched_at, responded_at, due_at, closed_at, dept, street, category_l1,"
                         " resolution, satisfaction, is_invalid FROM work_orders").pl()
    finally:
        con.close()
    table = rate_table(orders, ["street"], load_settings())
    got = dict(zip(table["street"], table["response_rate"]))
    assert set(got) == set(den)
    in_db = dict(zip(in_db["street"], in_db["response_rate"]))
    for street in den:
        assert got[street] == pytest.approx(num[street] / den[street])
        assert in_db[street] == pytest.approx(num[street] / den[street])
    # Dividing by every order would be wrong in every street, since each has orders answered on the spot.
    assert all(abs(got[s] - num[s] / everyone[s]) > 1e-9 for s in den)
