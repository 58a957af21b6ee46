"""考评 analytics against rates computed independently in DuckDB SQL over a planted fixture."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics import scores
from analytics.db import query
from analytics.filters import Filters
from analytics.settings import load_settings
from etl.store import writing
from tests.dbfactory import orders_frame, write_orders

ROOT = Path(__file__).resolve().parents[1]
MONTHS = (8, 9, 10)

# Order kinds: (resolution, satisfaction, hours to respond, dispatched?, days to close).
KINDS = {
    "good": ("解决", "满意", 2, True, 2),
    "mid": ("部分解决", "基本满意", 20, True, 6),
    "bad": ("未解决", "不满意", 30, True, 9),
    "norate": (None, None, 2, True, 2),              # no rating of any kind
    "unrated": ("解决", None, 2, True, 2),           # 未评价 satisfaction is NULL
    "nodispatch_ok": ("解决", "满意", 23, False, 3),  # falls back to received_at: 23 h is in time
    "nodispatch_late": ("解决", "满意", 25, False, 3),
    "noresponse": ("解决", "满意", None, True, 8),    # never responded; due_at set below
}

# (district, street, month) -> [(kind, count, extra columns)]
CELLS: dict[tuple[str, str, int], list[tuple[str, int, dict]]] = {}


def cell(district, street, months, *spec):
    for m in months:
        CELLS[(district, street, m)] = list(spec)


# Planted 治理类 street: tiny population, highest volume per 10k, poor rates in Aug and Oct only.
CELLS[("东城区", "东华门街道", 8)] = [("bad", 6, {}), ("mid", 2, {})]
CELLS[("东城区", "东华门街道", 9)] = [("good", 8, {})]
CELLS[("东城区", "东华门街道", 10)] = [("bad", 5, {}), ("good", 3, {})]
# A rank tie: same rates; 交道口 has more orders, 安定门 and 景山 tie on volume too and go by name.
cell("东城区", "交道口街道", MONTHS, ("good", 2, {}), ("mid", 2, {}))
cell("东城区", "安定门街道", MONTHS, ("good", 1, {}), ("mid", 1, {}))
cell("东城区", "景山街道", MONTHS, ("good", 1, {}), ("mid", 1, {}))
cell("朝阳区", "酒仙桥街道", MONTHS, ("norate", 4, {}))                        # rates NULL, composite = response
cell("朝阳区", "望京街道", MONTHS, ("unrated", 3, {}), ("bad", 1, {}))        # satisfaction only 1 rated
cell("海淀区", "中关村街道", MONTHS, ("nodispatch_ok", 2, {}), ("nodispatch_late", 1, {}), ("good", 3, {}))
cell("朝阳区", "八里庄街道", MONTHS, ("good", 3, {}), ("bad", 1, {}))
cell("海淀区", "八里庄街道", MONTHS, ("mid", 3, {}), ("noresponse", 1, {"due_at": 5}))
CELLS[("延庆区", "儒林街道", 10)] = [("good", 1, {})]                         # a unit with one order
# Every order of 望京 in September is 未评价 (satisfaction NULL throughout).
CELLS[("朝阳区", "望京街道", 9)] = [("unrated", 4, {})]
# Departments and dispatch: categories vs the 权责清单 below.
cell("朝阳区", "呼家楼街道", MONTHS,
     ("good", 2, {"dept": "区城管委", "category_l1": "城乡建设", "category_l2": "市容环境"}),
     ("mid", 1, {"dept": "区城管委", "category_l1": "住房", "category_l2": "物业管理", "redispatch_count": 1}),
     ("bad", 1, {"dept": "交通支队", "category_l1": "交通管理", "category_l2": "停车", "status": "退单"}),
     ("good", 1, {"dept": "区房管局", "category_l1": "住房", "category_l2": "房屋租赁"}),
     ("good", 1, {"dept": "区房管局", "category_l1": "住房", "category_l2": "物业管理"}))

POPULATION = {"东华门街道": 5_000, "交道口街道": 60_000, "安定门街道": 40_000, "景山街道": 30_000,
              "酒仙桥街道": 90_000, "望京街道": 200_000, "中关村街道": 150_000, "呼家楼街道": 80_000}
DUTIES = [("住房", "物业管理", "区住建委"), ("住房", None, "区房管局"), ("城乡建设", None, "区城管委")]
RATINGS = [  # period, district, street, dept, score
    (date(2026, 10, 1), "朝阳区", "望京街道", "区住建委", 90.0),
    (date(2026, 10, 1), "朝阳区", "呼家楼街道", "区住建委", 80.0),
    (date(2026, 9, 1), "朝阳区", "呼家楼街道", "区城管委", 60.0),
]


def fixture_orders() -> pl.DataFrame:
    rows, i = [], 0
    for (district, street, month), spec in CELLS.items():
        for kind, count, extra in spec:
            resolution, satisfaction, respond_h, dispatched, close_d = KINDS[kind]
            for k in range(count):
                received = datetime(2026, month, 2 + (i % 25), 8 + i % 9, 15)
                start = received + timedelta(hours=1) if dispatched else received
                row = {
                    "order_id": f"S{i:05d}", "received_at": received,
                    "dispatched_at": start if dispatched else None,
                    "responded_at": None if respond_h is None else start + timedelta(hours=respond_h),
                    "closed_at": received + timedelta(days=close_d),
                    "due_at": None, "district": district, "street": street,
                    "category_l1": "住房", "category_l2": "物业管理", "dept": "区住建委",
                    "content": f"{street}居民反映问题{i}", "status": "已办结",
                    "resolution": resolution, "satisfaction": satisfaction, "redispatch_count": 0,
                }
                row.update(extra)
                if "due_at" in extra:
                    row["due_at"] = received + timedelta(days=extra["due_at"])
                rows.append(row)
                i += 1
    return orders_frame(rows)


def build_db(path: Path) -> Path:
    write_orders(path, fixture_orders())
    with writing(path) as con:
        for street, pop in POPULATION.items():
            con.execute("UPDATE areas SET population = ? WHERE street = ? AND community IS NULL", [pop, street])
        con.executemany("INSERT INTO dept_duties (category_l1, category_l2, dept) VALUES (?, ?, ?)", DUTIES)
        con.executemany(
            "INSERT INTO dept_ratings (period, district, street, dept, score, comment) VALUES (?, ?, ?, ?, ?, '评语')",
            RATINGS,
        )
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return build_db(tmp_path_factory.mktemp("scores") / "hotline.duckdb")


@pytest.fixture(scope="module")
def con(db):
    c = duckdb.connect(str(db), read_only=True)
    yield c
    c.close()


SMALL_UNITS = Path(__file__).resolve().parent / "fixtures" / "settings_small_units.toml"
SETTINGS = load_settings(SMALL_UNITS)


@pytest.fixture(autouse=True)
def small_units(monkeypatch):
    """The CLI and pages read settings themselves: point them at the fixture settings too."""
    monkeypatch.setenv("WHISTLE_SETTINGS", str(SMALL_UNITS))


def independent(con, keys: str) -> pl.DataFrame:
    """The 三率, on-time and composite per unit and month, written straight from METRICS.md."""
    return query(con, f"""
        WITH r AS (
          SELECT {keys}, date_trunc('month', received_at)::DATE AS period, count(*) AS orders,
            CASE WHEN count(responded_at) > 0 THEN
              count(*) FILTER (WHERE responded_at - coalesce(dispatched_at, received_at) <= INTERVAL 24 HOUR) / count(*)
            END AS response_rate,
            (count(*) FILTER (WHERE resolution = '解决') + 0.5 * count(*) FILTER (WHERE resolution = '部分解决'))
              / nullif(count(resolution), 0) AS resolution_rate,
            (count(*) FILTER (WHERE satisfaction = '满意') + 1.0 * count(*) FILTER (WHERE satisfaction = '基本满意'))
              / nullif(count(satisfaction), 0) AS satisfaction_rate,
            count(*) FILTER (WHERE closed_at <= coalesce(due_at, received_at + INTERVAL 7 DAY))
              / nullif(count(closed_at), 0) AS on_time_rate
          FROM work_orders WHERE {keys.split(',')[-1]} IS NOT NULL GROUP BY ALL)
        SELECT *, 100 * (coalesce(0.30 * response_rate, 0) + coalesce(0.35 * resolution_rate, 0)
                         + coalesce(0.35 * satisfaction_rate, 0))
               / nullif(0.30 * (response_rate IS NOT NULL)::INT + 0.35 * (resolution_rate IS NOT NULL)::INT
                        + 0.35 * (satisfaction_rate IS NOT NULL)::INT, 0) AS composite
        FROM r""")


def close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def table_for(con, by: str) -> pl.DataFrame:
    orders = query(con, *scores.orders_query(Filters()))
    return scores.score_table(
        orders, by, SETTINGS, areas=query(con, scores.AREAS_SQL),
        ratings=query(con, *scores.ratings_query(Filters())), duties=query(con, scores.DUTIES_SQL),
    )


@pytest.mark.parametrize("by,keys", [("district", "district"), ("street", "district, street"), ("dept", "dept")])
def test_every_rate_matches_sql(con, by, keys):
    ours = table_for(con, by)
    want = independent(con, keys)
    key_cols = [k.strip() for k in keys.split(",")]
    assert ours.height == want.height
    joined = want.join(ours, on=[*key_cols, "period"], how="left", suffix="_ours")
    for row in joined.to_dicts():
        assert row["orders"] == row["orders_ours"], row
        for metric in ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate", "composite"):
            assert close(row[metric], row[f"{metric}_ours"]), (metric, row)


def _row(table, street, month, district=None):
    f = (pl.col("unit") == street) & (pl.col("period") == date(2026, month, 1))
    if district:
        f &= pl.col("district") == district
    rows = table.filter(f).to_dicts()
    assert len(rows) == 1, (street, month, rows)
    return rows[0]


def test_edge_cases(con):
    t = table_for(con, "street")
    no_ratings = _row(t, "酒仙桥街道", 10)
    assert no_ratings["resolution_rate"] is None and no_ratings["satisfaction_rate"] is None
    assert no_ratings["composite"] == pytest.approx(100 * no_ratings["response_rate"]) == 100
    assert no_ratings["composite_parts"] == 1
    all_unrated = _row(t, "望京街道", 9)
    assert all_unrated["satisfaction_rate"] is None and all_unrated["resolution_rate"] == 1
    # 中关村: 3 dispatched in time, 2 undispatched within 24 h of receipt, 1 at 25 h.
    assert _row(t, "中关村街道", 10)["response_rate"] == pytest.approx(5 / 6)
    one = _row(t, "儒林街道", 10)
    assert one["orders"] == 1 and one["composite"] == pytest.approx(100) and one["per_10k"] is None
    # The never-responded order in 海淀 八里庄 counts against the response rate; its due_at (5 days) is missed.
    hd = _row(t, "八里庄街道", 10, "海淀区")
    assert hd["response_rate"] == pytest.approx(3 / 4) and hd["on_time_rate"] == pytest.approx(3 / 4)
    assert _row(t, "八里庄街道", 10, "朝阳区")["orders"] == 4


def test_rank_ties_and_changes(con):
    t = table_for(con, "street")
    oct_ = scores.month_table(t, date(2026, 10, 1))
    order = [u for u in oct_["unit"].to_list() if u in ("交道口街道", "安定门街道", "景山街道")]
    assert order == ["交道口街道", "安定门街道", "景山街道"]
    ranks = dict(zip(oct_["unit"], oct_["rank"]))
    scores_shown = dict(zip(oct_["unit"], oct_["composite"].round(1)))
    # Equal scores (to the 0.1 shown) share a rank; the list shows more orders first, then the name.
    for a, b in (("交道口街道", "安定门街道"), ("安定门街道", "景山街道")):
        assert (ranks[a] == ranks[b]) == (scores_shown[a] == scores_shown[b]) and ranks[a] <= ranks[b]
    assert oct_["rank"].to_list() == sorted(oct_["rank"].to_list())
    # Ranks against SQL: rank() over the score rounded as shown; the listing order: score, orders desc, name.
    rates = independent(con, "district, street")  # noqa: F841 (the SQL below reads it by name)
    sql_ranks = duckdb.sql(
        "SELECT district, street AS unit, rank() OVER (ORDER BY round(composite, 1) DESC) AS sql_rank, "
        "row_number() OVER (ORDER BY round(composite, 1) DESC, orders DESC, street, district) AS sql_pos "
        "FROM rates WHERE period = DATE '2026-10-01'"
    ).pl()
    both = sql_ranks.join(oct_.with_row_index("pos", offset=1), on=["district", "unit"])
    assert both.height == oct_.height == 11 and (both["sql_rank"] == both["rank"]).all()
    assert (both["sql_pos"] == both["pos"]).all()
    sep = scores.month_table(t, date(2026, 9, 1))
    sep_rank = {(d, s): r for d, s, r in zip(sep["district"], sep["unit"], sep["rank"])}
    for row in oct_.to_dicts():
        prev = sep_rank.get((row["district"], row["unit"]))
        assert row["rank_change"] == (None if prev is None else prev - row["rank"])
    assert _row(t, "儒林街道", 10)["rank_change"] is None            # not ranked in September
    assert scores.movement(3) == "↑3" and scores.movement(-2) == "↓2" and scores.movement(0) == "→"
    top, bottom = scores.top_bottom(t, date(2026, 10, 1), SETTINGS.rankings.top_n)
    assert top["rank"].to_list() == [1, 1, 3, 4, 4]           # two pairs of equal scores
    assert bottom["rank"].to_list() == oct_["rank"].to_list()[::-1][:5]


def test_governance_candidate_is_the_planted_street(con):
    t = table_for(con, "street")
    flagged = t.filter("governance").select("unit", "period", "months_hit", "hit_months")
    assert flagged.to_dicts() == [
        {"unit": "东华门街道", "period": date(2026, 10, 1), "months_hit": 2, "hit_months": "2026-08、2026-10"}
    ]
    aug = _row(t, "东华门街道", 8)
    assert aug["per_10k"] == pytest.approx(8 / 5_000 * 10_000) and aug["top_share"] and aug["below_median"]
    assert not _row(t, "东华门街道", 9)["hit"]
    # Looser thresholds: one month in a one-month window is enough.
    loose = SETTINGS.with_overrides("rankings", governance_months_hit=1, governance_window_months=1)
    orders = query(con, *scores.orders_query(Filters()))
    t1 = scores.score_table(orders, "street", loose, areas=query(con, scores.AREAS_SQL))
    assert sorted(t1.filter("governance")["period"].to_list()) == [date(2026, 8, 1), date(2026, 10, 1)]


def test_population_unknown_street_is_judged_by_volume():
    base = {"district": "东城区", "composite": 50.0, "period": date(2026, 10, 1)}
    rows = [{**base, "street": f"街{i}", "unit": f"街{i}", "orders": 10, "per_10k": 1.0, "composite": 60.0} for i in range(9)]
    rows.append({**base, "street": "无人口街", "unit": "无人口街", "orders": 99, "per_10k": None})
    g = scores.governance(pl.DataFrame(rows), SETTINGS.with_overrides("rankings", governance_months_hit=1))
    assert g.filter("governance")["unit"].to_list() == ["无人口街"]


def test_department_score_and_dispatch_quality(con):
    t = table_for(con, "dept")
    w = SETTINGS.departments.w_street_rating
    zj = _row(t, "区住建委", 10)
    assert zj["street_rating"] == 85 and zj["rating_count"] == 2
    assert zj["dept_score"] == pytest.approx((1 - w) * zj["composite"] + w * 85)
    cg_oct, cg_sep = _row(t, "区城管委", 10), _row(t, "区城管委", 9)
    assert cg_oct["rating_count"] == 0 and cg_oct["dept_score"] == pytest.approx(cg_oct["composite"])
    assert cg_sep["dept_score"] == pytest.approx((1 - w) * cg_sep["composite"] + w * 60)
    # 区城管委: 2 × 城乡建设 (its duty) + 1 × 住房/物业管理 (区住建委's) → 1/3 mismatched, 1/3 re-dispatched.
    assert cg_oct["mismatch_share"] == pytest.approx(1 / 3) and cg_oct["redispatch_share"] == pytest.approx(1 / 3)
    # 交通支队: 交通管理 is not in the list → unknown; its only order was 退单.
    jt = _row(t, "交通支队", 10)
    assert jt["mismatch_share"] is None and jt["redispatch_share"] == 1
    # 区房管局: 房屋租赁 falls back to 住房 (its duty); 物业管理 matches exactly and belongs to 区住建委.
    fg = _row(t, "区房管局", 10)
    assert fg["mismatch_share"] == pytest.approx(1 / 2)
    # Mismatch against SQL over the whole fixture.
    want = query(con, """
        WITH o AS (SELECT w.order_id, w.dept,
            coalesce((SELECT list(d.dept) FROM dept_duties d WHERE d.category_l1 = w.category_l1 AND d.category_l2 = w.category_l2),
                     (SELECT list(d.dept) FROM dept_duties d WHERE d.category_l1 = w.category_l1)) AS resp
          FROM work_orders w WHERE date_trunc('month', received_at) = DATE '2026-10-01')
        SELECT dept, count(*) FILTER (WHERE NOT list_contains(resp, dept)) / nullif(count(resp), 0) AS share
        FROM o GROUP BY dept""")
    got = t.filter(pl.col("period") == date(2026, 10, 1)).select("dept", "mismatch_share")
    for row in want.join(got, on="dept").to_dicts():
        assert close(row["share"], row["mismatch_share"]), row
    ranked = scores.month_table(t, date(2026, 10, 1))
    assert ranked["dept_score"].drop_nulls().is_sorted(descending=True)


def test_settings_change_the_scores(con):
    orders = query(con, *scores.orders_query(Filters()))
    strict = SETTINGS.with_overrides("rates", partial_credit=0.0, basic_credit=0.0)
    t = scores.score_table(orders, "street", strict)
    assert _row(t, "交道口街道", 10)["resolution_rate"] == pytest.approx(0.5)
    assert _row(t, "交道口街道", 10)["satisfaction_rate"] == pytest.approx(0.5)
    heavy = SETTINGS.with_overrides("departments", w_street_rating=1.0)
    d = scores.score_table(orders, "dept", heavy, ratings=query(con, *scores.ratings_query(Filters())))
    assert _row(d, "区住建委", 10)["dept_score"] == pytest.approx(85)


def test_cli_json_shape(db):
    out = subprocess.run(
        [sys.executable, "-m", "analytics", "scores", "--db", str(db), "--by", "street", "--from", "2026-10-01",
         "--to", "2026-10-31", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    rows = json.loads(out)
    assert {r["period"] for r in rows} == {"2026-10"}
    first = rows[0]
    for key in ("unit", "district", "period", "orders", "response_rate", "resolution_rate", "satisfaction_rate",
                "on_time_rate", "composite", "rank", "rank_change", "per_10k", "governance"):
        assert key in first
    assert first["rank"] == 1 and 0 <= first["response_rate"] <= 1
    # The September rank was read even though --from starts in October.
    assert any(r["rank_change"] is not None for r in rows)
    assert [r["unit"] for r in rows if r["governance"]] == ["东华门街道"]
    dept = json.loads(subprocess.run(
        [sys.executable, "-m", "analytics", "scores", "--db", str(db), "--by", "dept", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    ).stdout)
    assert {"dept_score", "street_rating", "mismatch_share", "redispatch_share"} <= set(dept[0])
    assert {r["period"] for r in dept} == {"2026-08", "2026-09", "2026-10"}


def test_units_below_the_minimum_volume_are_shown_but_not_ranked(con):
    strict = SETTINGS.with_overrides("rankings", min_orders=3)
    t = scores.score_table(query(con, *scores.orders_query(Filters())), "street", strict)
    oct_ = t.filter(pl.col("period") == date(2026, 10, 1))
    small = oct_.filter(pl.col("orders") < 3)
    assert small.height > 0 and small["rank"].null_count() == small.height
    assert small["composite"].null_count() < small.height            # their rates are still there
    ranked = oct_.drop_nulls("rank")
    assert (ranked["orders"] >= 3).all() and ranked["rank"].sort().to_list() == list(range(1, ranked.height + 1))
