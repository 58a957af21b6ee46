"""Hot issues and repeats measured against #11's done-when, as rows for bench/eval_insight.py
(check, expected, measured, passed). Run alone: .venv/bin/python bench/insight_hot.py"""
from __future__ import annotations

import random
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
from analytics.text import segment  # noqa: E402

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
    jb = hi._tagger()
    grammar = any(t in FUNCTION_TAGS for _, t in jb.tag(problem)) if problem else False
    return grammar or bool(place) and (hi.is_generic_place(place) or not hi.is_place_name(place))


# An unfamiliar city: invented estates, roads and problems (none from etl/demo_lexicon.py).
ESTATES = [f"{a}{b}{c}" for a in "澜珀汀榕枫蔚" for b in "湾溪岭汐" for c in ("雅居", "佳苑", "新邨")]
PROBLEMS = [("电梯停运", "{p}{n}栋电梯停运好几天，老人上下楼困难"), ("井盖破损", "{p}门前井盖破损，夜里有人踩空"),
            ("路灯不亮", "{p}旁边的路灯连续一周不亮"), ("积水", "{p}地库下雨积水严重，车辆被泡"),
            ("噪音", "{p}对面商铺音响声音很大，影响休息"), ("外卖车乱停", "{p}门口外卖电动车乱停，堵住通道")]


def unfamiliar_city(seed: int = 5) -> tuple[pl.DataFrame, set[str], dict[str, set[str]]]:
    """A year of background, one planted burst (60 callers, one estate, 3 weeks) and 40 planted same-caller
    repeats (3–5 orders each within 30 days)."""
    rng = random.Random(seed)
    start, rows, i = datetime(2025, 1, 1), [], 0

    def add(when, estate, problem, text, caller):
        nonlocal i
        rows.append({"order_id": f"U{i:06d}", "received_at": when, "community": estate, "street": "澜湾街道",
                     "content": text, "caller_key": caller, "category_l3": problem, "request_type": "投诉"})
        i += 1
        return f"U{i - 1:06d}"

    for _ in range(6000):
        problem, tpl = rng.choice(PROBLEMS)
        estate = rng.choice(ESTATES)
        add(start + timedelta(minutes=rng.randrange(365 * 1440)), estate, problem,
            tpl.format(p=estate, n=rng.randint(1, 20)), f"B{rng.randrange(10**9)}")
    burst = set()
    t0 = start + timedelta(days=200)
    for k in range(60):
        burst.add(add(t0 + timedelta(hours=rng.randrange(21 * 24)), "枫汐岭雅居", "电梯停运",
                      rng.choice(["枫汐岭雅居7栋电梯停运，整栋楼的人只能爬楼", "反映枫汐岭雅居7栋电梯停运多日无人修",
                                  "枫汐岭雅居七栋电梯坏了停运一周"]), f"Q{k}"))
    repeats = {}
    for k in range(40):
        problem, tpl = rng.choice(PROBLEMS)
        estate = rng.choice(ESTATES)
        t = start + timedelta(days=rng.randrange(320))
        ids = set()
        for _ in range(rng.randint(3, 5)):
            ids.add(add(t, estate, problem, "再次反映：" + tpl.format(p=estate, n=3), f"R{k}"))
            t += timedelta(days=rng.randint(1, 9))
        repeats[f"R{k}"] = ids
    frame = pl.DataFrame(rows)
    return frame.with_columns(tokens=pl.Series(segment(frame["content"].to_list()))), burst, repeats


def rows() -> list[dict]:
    s = load_settings()
    out = []

    def row(check, expected, measured, passed):
        out.append({"check": check, "expected": expected, "measured": measured, "passed": bool(passed)})

    city, burst, planted = unfamiliar_city()
    year = hi.hot_issues(city, s)
    best = max(range(year.height), key=lambda k: len(burst & set(year["order_ids"][k]))) if year.height else -1
    row("陌生城市：埋入的爆发（60 位来电人、一个小区、3 周）全年排名", "第 1", f"第 {best + 1}", best == 0)
    first = min(city.filter(pl.col("order_id").is_in(list(burst)))["received_at"])
    month0 = first.replace(day=1)
    month1 = (month0 + timedelta(days=32)).replace(day=1)
    m = hi.hot_issues(city.filter((pl.col("received_at") >= month0) & (pl.col("received_at") < month1)), s,
                      period_start=month0, period_end=month1)
    mbest = max(range(m.height), key=lambda k: len(burst & set(m["order_ids"][k]))) if m.height else -1
    row("陌生城市：埋入的爆发在其所在月份的排名", "第 1", f"第 {mbest + 1}", mbest == 0)
    reps = recurring.repeats(city, s).filter(pl.col("kind") == "同一来电人")
    found = {c: set(ids) for c, ids in zip(reps["caller_key"], reps["order_ids"])}
    truth = set().union(*planted.values())
    got = set().union(*found.values()) if found else set()
    precision = len(got & truth) / len(got) if got else 0.0
    recall = len(got & truth) / len(truth)
    row("陌生城市：同一来电人重复诉求的精确率 / 召回率（工单级）", "≥ 0.9 / ≥ 0.9", f"{precision:.2f} / {recall:.2f}",
        precision >= 0.9 and recall >= 0.9)

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
