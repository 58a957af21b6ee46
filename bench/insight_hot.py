"""Hot issues and repeats measured against #11's done-when, as rows for bench/eval_insight.py
(check, expected, measured, passed). Run alone: .venv/bin/python bench/insight_hot.py"""
from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from analytics import hot_issues as hi  # noqa: E402
from analytics import recurring  # noqa: E402
from analytics.settings import load_settings  # noqa: E402
from core.segment import plain  # noqa: E402

REALDATA = ROOT.parent / "shared" / "realdata"
BOARD = REALDATA / "cn_gov_messages" / "tipdm2020_c_att3_messages_with_votes.csv"
NYC = REALDATA / "nyc311" / "nyc311_2023-02-28_sample_4999rows.csv"
# Parts of speech that are grammar, never part of a place or a problem label.
FUNCTION_TAGS = {"p", "c", "u", "uj", "ul", "uv", "uz", "ud", "ug", "y", "e", "r"}


def _load(path: Path) -> pl.DataFrame:
    from etl.load import load_file
    from etl.tokens import fill

    db = Path(tempfile.mkdtemp()) / "x.duckdb"
    load_file(path, db)
    fill(db)
    con = duckdb.connect(str(db), read_only=True)
    cols = [c for c in hi.INPUT_COLUMNS if c != "tokens"]
    try:
        return con.sql(f"SELECT {', '.join('w.' + c for c in cols)}, t.tokens FROM work_orders w "
                       "LEFT JOIN order_tokens t USING (order_id)").pl()
    finally:
        con.close()


def _bad_label(place: str, problem: str) -> bool:
    """A grammar word in the problem, or a place that is a generic word or a stretch of sentence."""
    jb = plain()
    grammar = any(t in FUNCTION_TAGS for _, t in jb.tag(problem)) if problem else False
    return grammar or bool(place) and (hi.is_generic_place(place)
                                       or any(t in FUNCTION_TAGS and len(w) >= 2 for w, t in jb.tag(place)))


def _city(seed: int = 7, orders: int = 20_000) -> tuple[pl.DataFrame, object]:
    """The synthetic city (bench/synthcity.py: places and texts not from the demo) through the loader."""
    from bench.synthcity import generate

    city = generate(seed=seed, orders=orders)
    path = Path(tempfile.mkdtemp()) / "城市导出.csv"
    city.write_csv(path)
    return _load(path), city.truth


def rows() -> list[dict]:
    s = load_settings()
    out = []

    def row(check, expected, measured, passed):
        out.append({"check": check, "expected": expected, "measured": measured, "passed": bool(passed)})

    city, truth = _city()
    burst = set(truth.burst.order_ids)

    def rank_of(table: pl.DataFrame, ids: set[str]) -> int:
        hits = [len(ids & set(o)) for o in table["order_ids"]]
        return hits.index(max(hits)) + 1 if hits and max(hits) else 0

    year = hi.hot_issues(city, s)
    r = rank_of(year, burst)
    row("陌生城市（bench/synthcity.py）：埋入的爆发（≥ 50 位来电人、一个小区、3 周）全年排名", "第 1",
        f"第 {r}（{year['label'][r - 1] if r else '—'}）", r == 1)
    month0 = datetime.combine(truth.burst.first.replace(day=1), datetime.min.time())
    month1 = (month0 + timedelta(days=32)).replace(day=1)
    in_month = city.filter((pl.col("received_at") >= month0) & (pl.col("received_at") < month1))
    m = hi.hot_issues(in_month, s, period_start=month0, period_end=month1)
    r = rank_of(m, burst)
    row("陌生城市：埋入的爆发在其所在月份的排名", "第 1", f"第 {r}", r == 1)
    policy = set(truth.policy.order_ids)
    r = rank_of(year, policy)
    row(f"陌生城市：不含地点的政策爆发（{truth.policy.phrase}）全年排名", "前 10", f"第 {r}", 0 < r <= 10)
    bad = [lab for lab, p, q in zip(year["label"], year["place"], year["problem"]) if _bad_label(p, q)]
    row("陌生城市：标签和地点中的虚词或泛称地点", "0 个", f"{len(bad)} 个" + (f"（{'、'.join(bad[:3])}）" if bad else ""),
        not bad)
    share = (year["callers"] >= 2).mean() if year.height else 0.0
    row("陌生城市：热点问题中来电人 ≥ 2 的占比", "≥ 90%", f"{share:.0%}（共 {year.height} 个）", share >= 0.9)
    reps = recurring.repeats(city, s).filter(pl.col("kind") == "同一来电人")
    truth_sets = [set(t.order_ids) for t in truth.repeats]
    found = [set(o) for o in reps["order_ids"]]
    hit = sum(any(len(f & t) >= 0.8 * len(t) and len(f & t) >= 0.8 * len(f) for f in found) for t in truth_sets)
    good = sum(any(len(f & t) >= 0.8 * len(t) and len(f & t) >= 0.8 * len(f) for t in truth_sets) for f in found)
    precision, recall = (good / len(found) if found else 0.0), hit / len(truth_sets)
    row("陌生城市：同一来电人重复诉求的精确率 / 召回率（按预警）", "≥ 0.9 / ≥ 0.9",
        f"{precision:.2f} / {recall:.2f}（{len(found)} 条预警，埋入 {len(truth_sets)} 个）", precision >= 0.9 and recall >= 0.9)

    if BOARD.exists():
        board = _load(BOARD)
        table = hi.hot_issues(board, s)
        top = table.head(10)["label"].to_list()
        for name in ("丽发新城", "伊景园", "58车贷", "魅力之城"):
            n = sum(name in label for label in top)
            row(f"附件3：{name} 在前 10 且只出现一次", "1 次", f"{n} 次", n == 1)
        n = sum(("人才新政" in label) or ("购房补贴" in label) for label in top)
        row("附件3：人才新政 / 购房补贴 在前 10 且只出现一次", "1 次", f"{n} 次", n == 1)
        share = (table["callers"] >= 2).mean() if table.height else 0.0
        row("附件3：热点问题中来电人 ≥ 2 的占比", "≥ 90%", f"{share:.0%}（共 {table.height} 个）", share >= 0.9)
        bad = [lab for lab, p, q in zip(table["label"], table["place"], table["problem"]) if _bad_label(p, q)]
        row("附件3：标签和地点中的虚词或泛称地点", "0 个", f"{len(bad)} 个" + (f"（{'、'.join(bad[:3])}）" if bad else ""), not bad)
    if NYC.exists():
        nyc = _load(NYC)
        t = hi.hot_issues(nyc, s)
        r = recurring.repeats(nyc, s)
        row("NYC 311：热点问题 / 重复诉求非空（地址 × 投诉类型）", "> 0 / > 0", f"{t.height} / {r.height}",
            t.height > 0 and r.height > 0)
    return out


if __name__ == "__main__":
    for r in rows():
        print(f"{'✓' if r['passed'] else '✗'} {r['check']}：期望 {r['expected']}，实测 {r['measured']}")
