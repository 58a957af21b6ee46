"""Evaluation of the insight analytics on data they were not built on (issue #11), written to RESULTS-insight.md.

Inputs: the real public files in ../shared/realdata (NYC and LA 311, the 泰迪杯 message board) and synthetic
cities from bench/synthcity.py (texts, places and categories not drawn from the demo). The expected values
were established by reading the messages and the files (see RESULTS-insight.md); the hot-issue and repeat
rows come from bench/insight_hot.py (`rows()`).

    .venv/bin/python bench/eval_insight.py [--realdata DIR] [--out bench/RESULTS-insight.md]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.db import orders as fetch_orders  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from analytics.filters import add_months  # noqa: E402
from analytics.hotspots import HOTSPOT_COLUMNS, WORD_COLUMNS, covered_months, hotspots, hot_words, top_words  # noqa: E402
from analytics.quality import coverage  # noqa: E402
from analytics.rates import RATE_INPUT_COLUMNS, rate_table, read_rate_table  # noqa: E402
from analytics.recurring import TYPE_COLUMNS, topic_candidates, topic_level  # noqa: E402
from analytics.settings import load_settings  # noqa: E402
from bench.synthcity import generate  # noqa: E402
from etl.load import load_file  # noqa: E402

# Boilerplate the issue found among the hot words, and words a reader of 附件3 finds the messages are about.
BOILERPLATE = {"领导", "政府", "尊敬", "您好", "谢谢", "a7", "西地省", "况且", "由此", "居然", "怎能"}
ATT3_MATTERS = {"物业", "开发商", "噪音", "学校", "施工", "小孩", "合同", "规划", "安全隐患"}
EN_STOP = {"no", "with", "other", "of", "the", "n/a", "and", "for"}


class Eval:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, data: str, check: str, expected: str, measured, passed: bool) -> None:
        self.rows.append({"data": data, "check": check, "expected": expected, "measured": str(measured),
                          "passed": bool(passed)})
        print(f"[{'ok' if passed else 'FAIL'}] {data} · {check}: {measured} (expected {expected})", flush=True)


def _load(path: Path, work: Path) -> Path:
    db = work / (path.stem + ".duckdb")
    load_file(path, db)
    return db


def _con(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def words_checks(ev: Eval, att3: Path, nyc: Path) -> None:
    con = _con(att3)
    try:
        orders = fetch_orders(con, Filters(), WORD_COLUMNS)
    finally:
        con.close()
    top = top_words(orders, 30)["word"].to_list()
    ev.add("附件3", "热词前30中的套话/虚词/匿名代号", "0 个", sorted(BOILERPLATE & set(top)) or 0, not BOILERPLATE & set(top))
    hits = ATT3_MATTERS & set(top)
    ev.add("附件3", "热词前30中读留言确认的事项词", f"≥ 6 / {len(ATT3_MATTERS)}", f"{len(hits)}：{'、'.join(sorted(hits))}",
           len(hits) >= 6)
    jan = hot_words(orders, None, "1mo", start=datetime(2019, 1, 1), min_count=3,
                    min_baseline=load_settings().hotspots.word_min_baseline)
    jan = jan.filter(pl.col("period") == datetime(2019, 1, 1).date())
    basis = set(jan["basis"])
    ev.add("附件3", "2019-01 热词基线（此前仅 3 条留言）", "基线不足，不算提升度", "、".join(sorted(basis)),
           basis == {"基线不足"} and jan["lift"].null_count() == jan.height)
    con = _con(nyc)
    try:
        orders = fetch_orders(con, Filters(), WORD_COLUMNS)
    finally:
        con.close()
    words = top_words(orders, 25)
    listed = words["word"].to_list()
    ev.add("NYC 2023", "英文热词统一小写、无英文停用词", "全部小写，0 个停用词",
           f"{sum(w != w.lower() for w in listed)} 个大写，停用词 {sorted(EN_STOP & set(listed)) or 0}",
           all(w == w.lower() for w in listed) and not EN_STOP & set(listed))


def hotspot_checks(ev: Eval, nyc_old: Path) -> None:
    con = _con(nyc_old)
    try:
        orders = fetch_orders(con, Filters(), HOTSPOT_COLUMNS)
    finally:
        con.close()
    settings = load_settings()
    hot = hotspots(orders, "district", settings)
    surges = hot.filter("surge")
    ev.add("NYC 2014–19", "激增单元数（修正前 37 个，全部以无数据月份为基线）", "≤ 3", surges.height, surges.height <= 3)
    covered = covered_months(orders, settings.hotspots.coverage_share).filter("covered")["month"].to_list()
    on_gaps = 0
    for m, basis in zip(surges["month"], surges["basis"]):
        base = [m.replace(year=m.year - 1)] if basis == "去年同月" else [add_months(m, -k) for k in (1, 2, 3)]
        on_gaps += not any(b in covered for b in base)
    ev.add("NYC 2014–19", "基线月份不在数据覆盖范围内的激增单元", "0", on_gaps, on_gaps == 0)
    thin = hot.filter(pl.col("basis").is_in(["本月数据不完整", "无可比基线"])).height
    ev.add("NYC 2014–19", "不作判断的单元（本月数据不完整或无可比基线）", "> 0", thin, thin > 0)


def topic_checks(ev: Eval, att3: Path, nyc: Path) -> None:
    settings = load_settings()
    for name, db, want in (("附件3", att3, None), ("NYC 2023", nyc, "category_l1")):
        con = _con(db)
        try:
            orders = fetch_orders(con, Filters(), TYPE_COLUMNS)
        finally:
            con.close()
        level, note = topic_level(orders, settings.topics.level)
        n = topic_candidates(orders, settings).height
        if want is None:
            ev.add(name, "topics 无分类时说明原因", "空表 + 中文原因", f"{n} 行；{note[:24]}…", n == 0 and "没有问题分类" in note)
        else:
            ev.add(name, "topics 无二级分类时退到一级分类", "按一级分类排序", f"{level}，{n} 个类型", level == want and n > 0)


def area_checks(ev: Eval, la: Path, nyc: Path, work: Path) -> None:
    for name, db, level in (("LA 311", la, "district"), ("NYC 2023", nyc, "street")):
        con = _con(db)
        try:
            total, with_area, n = con.sql(f"SELECT count(*), count({level}), count(DISTINCT {level}) FROM work_orders").fetchall()[0]
        finally:
            con.close()
        label = "区级（CD）" if name == "LA 311" else "街乡级（Community Board）"
        ev.add(name, f"{label}有区域的工单", "≥ 98%", f"{with_area / total:.1%}（{n} 个）", with_area / total >= 0.98)
    city = generate(seed=5, orders=4000, area_columns=False, divisions="beijing")
    db = work / "bj_noarea.duckdb"
    load_file(city.write_csv(work / "bj_noarea.csv", encoding="gbk"), db)
    con = _con(db)
    try:
        got = {o: (d, s) for o, d, s in con.sql("SELECT order_id, district, street FROM work_orders").fetchall()}
        cov = dict(zip(*coverage(con, Filters()).select("check", "orders").to_dict().values()))
    finally:
        con.close()
    truth, named = city.truth.areas, city.truth.area_named
    found = [o for o, (_, s) in got.items() if s]
    precision = sum(got[o] == truth[o] for o in found) / max(len(found), 1)
    recall = sum(got[o] == truth[o] for o in named) / max(len(named), 1)
    ev.add("合成城市（无区域列）", "从地址/文本识别街乡：精确率", "≥ 0.98", f"{precision:.3f}（{len(found)} 件）", precision >= 0.98)
    ev.add("合成城市（无区域列）", "从地址/文本识别街乡：召回率（地址或文本写明的）", "≥ 0.95", f"{recall:.3f}（{len(named)} 件）",
           recall >= 0.95)
    ev.add("合成城市（无区域列）", "数据质量页“街乡取自地址或诉求内容”", f"{len(found)}", cov["street_from_text"],
           cov["street_from_text"] == len(found))


def rate_checks(ev: Eval, work: Path) -> None:
    city = generate(seed=21, orders=8000)
    db = work / "rates.duckdb"
    load_file(city.write_csv(work / "rates.csv"), db)
    num, den, everyone = city.response_counts()
    con = _con(db)
    try:
        sql = read_rate_table(con, Filters(), ["street"], load_settings())
        pol = rate_table(fetch_orders(con, Filters(), RATE_INPUT_COLUMNS + ("street",)), ["street"], load_settings())
    finally:
        con.close()
    for name, table in (("DuckDB", sql), ("polars", pol)):
        got = dict(zip(table["street"], table["response_rate"]))
        wrong = sum(abs(got[s] - num[s] / den[s]) > 1e-9 for s in den)
        ev.add("合成城市（含未派发工单）", f"响应率 = 按时响应 ÷ 派发（{name}）与独立计算不符的街乡", "0",
               f"{wrong} / {len(den)}", wrong == 0)
    old_wrong = sum(abs(num[s] / everyone[s] - num[s] / den[s]) > 1e-9 for s in den)
    ev.add("合成城市（含未派发工单）", "若按全部工单作分母，会算错的街乡（修正前的口径）", "—", f"{old_wrong} / {len(den)}", True)


def hot_rows(ev: Eval) -> None:
    from bench.insight_hot import rows

    for r in rows():
        ev.add(r.get("data", "热点/重复"), r["check"], str(r["expected"]), r["measured"], r["passed"])


def write(ev: Eval, out: Path, seconds: float) -> None:
    load = os.getloadavg()
    lines = [
        "# Insight evaluation (issue #11)",
        "",
        f"`bench/eval_insight.py`, {datetime.now():%Y-%m-%d %H:%M}, {seconds:.0f} s, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} ({os.cpu_count()} cores; other work may share them).",
        "",
        "Real files: ../shared/realdata (NYC 311 2014–19 sample and 2023-02-28, LA 311 2018-01-01..04, 泰迪杯 附件3).",
        "Synthetic cities: bench/synthcity.py (invented places, phrasing and categories; seeds in the script).",
        "Expected values were set by reading the files before running: the words people write about in 附件3",
        "(developers, property management, noise, schools, construction, children, contracts, planning,",
        "safety hazards), the issue's boilerplate list, NYC's empty 2015–16 and sparse 2017 months, LA's 15",
        "council districts.",
        "",
        "| data | check | expected | measured | passed |",
        "|---|---|---|---|---|",
    ]
    for r in ev.rows:
        cells = [str(r[k]).replace("|", "/").replace("\n", " ") for k in ("data", "check", "expected", "measured")]
        lines.append("| " + " | ".join(cells) + f" | {'✓' if r['passed'] else '✗'} |")
    passed = sum(r["passed"] for r in ev.rows)
    lines += ["", f"{passed} of {len(ev.rows)} checks pass.", ""]
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"写入 {out}（{passed}/{len(ev.rows)} 通过）")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--realdata", type=Path, default=ROOT.parent / "shared" / "realdata")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS-insight.md")
    args = p.parse_args(argv)
    real = args.realdata
    files = {
        "att3": real / "cn_gov_messages" / "tipdm2020_c_att3_messages_with_votes.csv",
        "nyc": real / "nyc311" / "nyc311_2023-02-28_sample_4999rows.csv",
        "nyc_old": real / "nyc311" / "nyc311_2014-2019_sample_1000rows.csv",
        "la": real / "la311" / "myla311_2018-01-01_to_01-04_10000rows.csv",
    }
    missing = [str(f) for f in files.values() if not f.exists()]
    if missing:
        print(f"找不到真实数据文件：{'、'.join(missing)}。请用 --realdata 指定目录。", file=sys.stderr)
        return 2
    started = time.perf_counter()
    ev = Eval()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dbs = {k: _load(f, work) for k, f in files.items()}
        words_checks(ev, dbs["att3"], dbs["nyc"])
        hotspot_checks(ev, dbs["nyc_old"])
        topic_checks(ev, dbs["att3"], dbs["nyc"])
        area_checks(ev, dbs["la"], dbs["nyc"], work)
        rate_checks(ev, work)
    hot_rows(ev)
    write(ev, args.out, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
