"""Evaluate 智能分类与派单 (analytics/classify.py) and write bench/RESULTS-classify.md.

1. Real message board (泰迪杯 2020 附件2, the 1,842-row split and the 495-row sample, 留言编号 counted once):
   stratified 5-fold 一级分类 macro-F1 and accuracy, and the calibration of the confidence (ECE).
2. The demo: train on every month but the last, suggest the last month unseen: 分类 per level and 承办部门 top-1 /
   top-3, next to two references that say how much the demo's department is determined by category and place.
3. Speed and memory at scale: training and suggestions on N orders (the demo's orders repeated with new ids).
4. A synthetic city (bench/synthcity.py) whose texts and units are not the demo's: as 2.

Run with nice on a shared machine:
    nice .venv/bin/python bench/eval_classify.py [--realdata DIR] [--demo-orders 200000] [--scale 1000000]
        [--synth-orders 40000] [--only real,demo,scale,synth]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import suggestions  # noqa: E402
from analytics import classify  # noqa: E402
from analytics.settings import load_settings  # noqa: E402
from core.store import connect_read  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS-classify.md"
FILES = ("tipdm2020C_fj2_testsplit1842_fullfields.csv", "tipdm2020_c_att2_labeled_messages_sample.csv")


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: Σ over confidence bins of |accuracy − mean confidence| × share of orders."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(correct[idx == b].mean() - conf[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def realdata(directory: Path, s) -> list[str]:
    frames = []
    for name in FILES:
        frame = suggestions.read_export(directory / name)   # 一级标签 / 一级分类 map like any export's headers
        frames.append(frame.filter(pl.col("reason").is_null()).select("order_id", "content", "category_l1"))
    data = pl.concat(frames).unique("order_id", keep="first", maintain_order=True)
    y = data["category_l1"].to_numpy().astype(str)
    pred, conf = np.empty(len(y), dtype=object), np.zeros(len(y))
    started = time.perf_counter()
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y):
        model = classify.fit(data[train], s)
        out = classify.suggest(model, data[test].select("content"), s)
        pred[test], conf[test] = out["category_l1"].to_numpy(), out["category_l1_conf"].fill_null(0).to_numpy()
    seconds = time.perf_counter() - started
    pred = np.where(pred == None, "", pred).astype(str)  # noqa: E711
    correct = pred == y
    per = f1_score(y, pred, average=None, labels=sorted(set(y)))
    return [
        "## 1. Real message board: 泰迪杯 2020 附件2 (一级分类)",
        "",
        f"{len(y):,} messages after counting each 留言编号 once ({sum(f.height for f in frames):,} rows in the two files), "
        f"{len(set(y))} 一级分类; stratified 5-fold (shuffled, seed 0); the model of each fold never saw its test messages.",
        "",
        "| measure | value |", "|---|---|",
        f"| 一级分类 macro-F1 | **{f1_score(y, pred, average='macro'):.3f}** (target ≥ 0.88, aim 0.90) |",
        f"| accuracy | {accuracy_score(y, pred):.3f} |",
        f"| calibration error (ECE, 10 bins) of the confidence | {ece(conf, correct):.3f} |",
        f"| mean confidence / accuracy | {conf.mean():.3f} / {correct.mean():.3f} |",
        f"| 5 folds, train + suggest | {seconds:.1f} s (load average {os.getloadavg()[0]:.1f}) |",
        "",
        "Per class F1: " + "，".join(f"{c} {v:.2f}" for c, v in zip(sorted(set(y)), per)) + "。",
        "",
    ]


def unseen_month(path: Path, s, heading: str, what: str) -> list[str]:
    """Train on every month of the database at `path` but the last, suggest the last from text and place:
    each level and the department, next to simple rules on the order's true 三级分类 and its place."""
    con = connect_read(path)
    try:
        last = con.execute("SELECT max(date_trunc('month', received_at))::DATE FROM work_orders").fetchall()[0][0]
        # Train on the months before the last: the reader's views are narrowed to them (a constant date, ours).
        con.execute(f"CREATE OR REPLACE VIEW work_orders AS SELECT * FROM hotline.main.work_orders WHERE received_at < DATE '{last}'")
        t0 = time.perf_counter()
        model = classify.train(con, s, load_id="bench")
        trained = time.perf_counter() - t0
        test = con.sql(
            "SELECT order_id, content, category_l1, category_l2, category_l3, dept, district, street, community "
            "FROM hotline.main.work_orders WHERE received_at >= ? ORDER BY order_id", params=[last]).pl()
        history = con.sql("SELECT category_l3, district, street, community, dept, count(*) AS n FROM work_orders "
                          "WHERE dept IS NOT NULL GROUP BY ALL").pl()
    finally:
        con.close()
    t0 = time.perf_counter()
    out = classify.suggest(model, test.drop("category_l1", "category_l2", "category_l3", "dept"), s)
    suggest_s = time.perf_counter() - t0
    dispatched = test["dept"].is_not_null().to_numpy()
    lines = [heading, "",
             f"{what}; trained on the months before {last:%Y-%m} "
             f"({model.meta['trained_orders']:,} orders for the text model, {model.meta['labelled']:,} for the dispatch shares; "
             f"{trained:.1f} s), then {test.height:,} orders of {last:%Y-%m} suggested from their text and place "
             f"({suggest_s:.1f} s; load average {os.getloadavg()[0]:.1f}). 承办部门 is scored on the {int(dispatched.sum()):,} "
             "orders that have one.", "",
             "| what | top-1 accuracy | macro-F1 | top-3 accuracy |", "|---|---|---|---|"]
    for lv in (*model.levels, "dept"):
        rows = dispatched if lv == "dept" else np.ones(test.height, bool)
        truth = test[lv].fill_null("").to_numpy().astype(str)[rows]
        guess = out[lv].fill_null("").to_numpy().astype(str)[rows]
        top3 = out[f"{lv}_top3"].fill_null("").str.split("；").list.eval(pl.element().str.replace(r" \d+%$", "")).to_list()
        picked = [g for g, r in zip(top3, rows) if r]
        in3 = np.mean([t in g for t, g in zip(truth, picked)])
        lines.append(f"| {classify.LEVEL_NAMES[lv]} | {accuracy_score(truth, guess):.3f} | "
                     f"{f1_score(truth, guess, average='macro'):.3f} | {in3:.3f} |")
    correct = (out["dept"].fill_null("").to_numpy() == test["dept"].fill_null("").to_numpy())[dispatched]
    lines.append(f"| 承办部门 confidence: ECE | {ece(out['dept_conf'].fill_null(0).to_numpy()[dispatched], correct):.3f} | | |")
    lines += ["", "Simple rules on the order's *true* 三级分类 and its place, counted over the training months "
              "(the most common department there), on the same unseen month:", "",
              "| rule | top-1 accuracy |", "|---|---|"]

    def rule(*keys: str) -> pl.DataFrame:
        cols = ["category_l3", *keys]
        return (history.filter(pl.all_horizontal(pl.col(cols).is_not_null())).sort("n", descending=True)
                .unique(cols, keep="first").select(*cols, pl.col("dept").alias("_" + "_".join(keys or ("city",)))))

    joined = test.filter(pl.col("dept").is_not_null())
    for keys in (["district", "street", "community"], ["district", "street"], ["district"], []):
        joined = joined.join(rule(*keys), on=["category_l3", *keys], how="left")
    names = {"city": "三级分类 only (city)", "district_street": "三级分类 × street",
             "district_street_community": "三级分类 × community"}
    for col, name in names.items():
        lines.append(f"| {name} | {(joined['_' + col] == joined['dept']).fill_null(False).mean():.3f} |")
    backoff = pl.coalesce("_district_street_community", "_district_street", "_district", "_city")
    lines.append(f"| 三级分类 × community, else street, district, city (best simple rule) | "
                 f"{joined.select((backoff == pl.col('dept')).fill_null(False).mean()).item():.3f} |")
    keys = ["category_l3", "district", "street", "community"]
    ceiling = joined.group_by(*keys, "dept").len().group_by(keys).agg(pl.col("len").max().alias("best"))["best"].sum() / joined.height
    lines += ["", f"No rule on (三级分类, community) can exceed {ceiling:.3f} on this month (fitted on the month itself).", ""]
    return lines


def demo(orders: int, s) -> list[str]:
    import etl.demo

    path = Path(tempfile.mkdtemp(prefix="whistle-classify-")) / "demo.duckdb"
    started = time.perf_counter()
    etl.demo.build_demo(path, orders=orders, seed=12345)
    built = time.perf_counter() - started
    return unseen_month(path, s, "## 2. The demo: an unseen month",
                        f"Demo of {orders:,} orders (seed 12345, built in {built:.0f} s; the demo misdispatches 3% on purpose)")


def synthetic(orders: int, s) -> list[str]:
    from bench.synthcity import generate
    from etl.load import load_file

    work = Path(tempfile.mkdtemp(prefix="whistle-classify-synth-"))
    export = generate(seed=11, orders=orders, months=12).write_csv(work / "city.csv")
    load_file(export, work / "city.duckdb")   # through the loader, like any export
    return unseen_month(work / "city.duckdb", s, "## 4. A synthetic city: an unseen month",
                        f"`bench/synthcity.py` (seed 11, {orders:,} orders over 12 months): an invented city whose "
                        "categories, departments, places and wording share nothing with the demo")


def _cpu() -> float:
    """CPU seconds of this process so far (all its threads): what a run costs however busy the machine is."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def scale(n: int, demo_orders: int, s) -> list[str]:
    import etl.demo
    from etl.store import writing

    work = Path(tempfile.mkdtemp(prefix="whistle-classify-scale-"))
    path = work / "scale.duckdb"
    etl.demo.build_demo(path, orders=demo_orders, seed=7)
    copies = -(-n // demo_orders)
    with writing(path) as con:   # the demo's orders repeated with new ids up to n (texts and places as they are)
        con.execute("CREATE TEMP TABLE _k AS SELECT range AS k FROM range(1, ?)", [copies])
        con.execute("INSERT INTO order_tokens (order_id, month, tokens) SELECT order_id || '-' || k, month, tokens FROM order_tokens, _k")
        con.execute("INSERT INTO work_orders SELECT w.* REPLACE (w.order_id || '-' || _k.k AS order_id) FROM work_orders w, _k")
        total = con.execute("SELECT count(*) FROM work_orders").fetchall()[0][0]
    con = connect_read(path)
    try:
        t0, c0 = time.perf_counter(), _cpu()
        model = classify.train(con, s)
        train_s, train_cpu = time.perf_counter() - t0, _cpu() - c0
        sample = con.sql("SELECT content, district, street, community FROM work_orders USING SAMPLE 200000 ROWS").pl()
    finally:
        con.close()
    t0, c0 = time.perf_counter(), _cpu()
    classify.suggest(model, sample, s)   # texts and places as an export brings them (no token index)
    rate, cpu_rate = sample.height / (time.perf_counter() - t0), sample.height / (_cpu() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    return ["## 3. Scale", "",
            f"{total:,} orders (the {demo_orders:,}-order demo repeated with new ids). Training reads the most recent "
            f"{s.classify.max_train_orders:,} labelled orders for the text model ([classify] max_train_orders) and counts the "
            "dispatch shares over all of them in DuckDB.", "",
            "| measure | value | target |", "|---|---|---|",
            f"| training on {total:,} orders | {train_s:.1f} s ({train_cpu:.1f} s of CPU time) | ≤ 60 s |",
            f"| suggestions (200,000 texts and places, as an export brings them) | {rate:,.0f} orders/s "
            f"({cpu_rate:,.0f} per CPU second) | ≥ 20,000/s |",
            f"| peak memory of this process (demo build, copies, training, suggestions) | {peak:.2f} GB | ≤ 4 GB |", "",
            f"Load average at the end of this section: {os.getloadavg()[0]:.1f}.", ""]


def _sections(text: str) -> dict[str, str]:
    """The results file's sections by their heading ("## 1. …", "## Notes"), to keep those not rerun."""
    out, key = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            key = line.split()[1]
            out[key] = ""
        if key:
            out[key] += line + "\n"
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--realdata", default=str(ROOT.parent / "shared" / "realdata" / "cn_gov_messages"))
    p.add_argument("--demo-orders", type=int, default=200_000)
    p.add_argument("--scale", type=int, default=1_000_000)
    p.add_argument("--synth-orders", type=int, default=40_000)
    p.add_argument("--only", default="real,demo,scale,synth")
    args = p.parse_args()
    s = load_settings()
    only = set(args.only.split(","))
    c = s.classify
    head = ["# 智能分类与派单: evaluation", "",
            "`bench/eval_classify.py` on 2 cores shared with other sessions (the load average beside each figure: "
            f"seconds measured at a high load are upper bounds). Settings: [classify] as in settings.toml "
            f"(ngram_max {c.ngram_max}, word_max {c.word_max}, max_features {c.max_features:,}, svm_c {c.svm_c}, "
            f"min_label_count {c.min_label_count}, max_train_orders {c.max_train_orders:,}, dept_backoff {c.dept_backoff}, "
            f"place_backoff {c.place_backoff}).", ""]
    kept = _sections(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    steps = {"1.": ("real", lambda: realdata(Path(args.realdata), s)), "2.": ("demo", lambda: demo(args.demo_orders, s)),
             "3.": ("scale", lambda: scale(args.scale, args.demo_orders, s)),
             "4.": ("synth", lambda: synthetic(args.synth_orders, s))}
    for key, (name, step) in steps.items():
        if name in only:
            started = f"{datetime.now():%Y-%m-%d %H:%M}, load average at start {os.getloadavg()[0]:.1f}"
            lines = step()
            kept[key] = "\n".join([lines[0], "", f"Run {started}.", *lines[1:]]) + "\n"
            print(kept[key], flush=True)   # each finished section at once: the runs are long
            order = [*steps, *(k for k in kept if k not in steps)]
            RESULTS.write_text("\n".join(head) + "\n" + "".join(kept[k] for k in order if k in kept), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
