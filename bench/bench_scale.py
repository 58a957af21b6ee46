"""Scale benchmark: a Beijing year and more on one machine.

Builds monthly exports of realistic orders (official districts and streets, estates, multi-level categories,
departments, free text), loads them month by month with `python -m etl load` (orders published, then the token
index), and at each checkpoint (default 1, 10 and 25 million orders) times every page of the dashboard cold
(a fresh process) and warm (the same session again), a filter change, and every analytics command, with the
peak memory of each process.

    nice .venv/bin/python bench/bench_scale.py [--rows-per-month 1000000] [--checkpoints 1,10,25] [--keep]
        [--no-measure]      load only (the load figures), measure later
        [--measure-now]     with --keep: measure the database as it is, loading nothing
        [--timeout 600]     seconds one page or command may take before it is stopped (recorded as such)
        [--pages 总览,预警与预测]  measure only these pages (by title) and no commands

Writes bench/RESULTS-scale.md (and bench/out/scale.json with every figure). Targets (issue #16):
10 M: every page ≤ 1 s warm, ≤ 3 s cold, filter change ≤ 300 ms, memory ≤ 4 GB;
25 M: every page ≤ 2 s cold, memory ≤ 8 GB, 25 monthly 1 M loads ≤ 10 minutes (orders published);
cold time at a one-month window not growing more than 1.5× from 10 M to 25 M.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard import PAGES  # noqa: E402
from etl.reference import streets as official_streets  # noqa: E402

OUT = ROOT / "bench" / "out" / "scale"
RESULTS = ROOT / "bench" / "RESULTS-scale.md"
START = date(2024, 1, 1)

CATEGORIES = [
    ("住房", "物业管理", "收费"), ("住房", "物业管理", "维修"), ("住房", "房屋质量", "漏水"),
    ("城乡建设", "供暖", "室温不达标"), ("城乡建设", "市政设施", "路灯"), ("城乡建设", "排水", "积水"),
    ("交通管理", "停车", "占道停车"), ("交通管理", "公交", "线路"), ("市场管理", "无证经营", "流动摊贩"),
    ("市场管理", "预付卡", "退费"), ("环境保护", "噪声", "夜间施工"), ("环境保护", "大气", "油烟"),
    ("医疗卫生", "医保", "报销"), ("教育", "入学", "学位"), ("劳动和社会保障", "欠薪", "拖欠工资"),
    ("社会秩序", "扰民", "群租"), ("公共服务", "供水", "水质"), ("公共服务", "电力", "停电"),
]
DEPTS = ["住建委", "城管委", "市场监管局", "交通委", "生态环境局", "教委", "卫健委", "人力社保局", "水务局", "公安分局"]
ESTATE_HEADS = ["华", "景", "富", "康", "嘉", "锦", "和", "安", "泰", "金", "翠", "龙", "瑞", "祥", "欣", "怡"]
ESTATE_TAILS = ["园", "苑", "家园", "小区", "里", "新城", "花园", "嘉园"]
PROBLEMS = {
    "收费": "物业乱收停车费，收费标准不公示", "维修": "楼道灯坏了物业一直不修", "漏水": "楼上卫生间漏水渗到我家",
    "室温不达标": "暖气不热室温只有十五度", "路灯": "路灯不亮晚上出行有安全隐患", "积水": "雨后路口积水严重无法通行",
    "占道停车": "小区门口占道停车严重堵塞通道", "线路": "公交线路调整后出行不便", "流动摊贩": "路边流动摊贩占道经营",
    "退费": "健身房预付卡关门无法退费", "夜间施工": "工地夜间施工噪音很大影响休息", "油烟": "楼下餐馆油烟直排扰民",
    "报销": "医保异地报销手续复杂", "学位": "孩子入学学位紧张咨询政策", "拖欠工资": "公司拖欠工资三个月",
    "群租": "楼内违规群租人员混杂", "水质": "自来水浑浊发黄", "停电": "小区频繁停电影响生活",
}
ESTATES_PER_STREET = 4
ASKS = ["希望尽快处理", "要求相关部门核实", "请尽快派人查看", "多次反映未解决，希望督办", "请给予答复"]


def _units(rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    """Official (district, street) pairs and ESTATES_PER_STREET invented estates for each (street i owns
    estates[i * ESTATES_PER_STREET:(i + 1) * ESTATES_PER_STREET])."""
    pairs = official_streets().select("district", "street").unique().sort("district", "street")
    estates = np.array([rng.choice(ESTATE_HEADS) + rng.choice(ESTATE_HEADS) + rng.choice(ESTATE_TAILS)
                        for _ in range(pairs.height * ESTATES_PER_STREET)])
    return pairs, estates


def month_export(path: Path, month: int, rows: int, seed: int = 25) -> None:
    """One monthly export (CSV, UTF-8) of `rows` orders received in month `month` (0 = January 2024)."""
    rng = np.random.default_rng(seed + month)
    units, estates = _units(np.random.default_rng(seed))
    year, mon = START.year + (START.month - 1 + month) // 12, (START.month - 1 + month) % 12 + 1
    first = np.datetime64(f"{year}-{mon:02d}-01T00:00:00")
    after = np.datetime64(f"{year + mon // 12}-{mon % 12 + 1:02d}-01T00:00:00")
    seconds = int((after - first) / np.timedelta64(1, "s"))
    recv = first + np.sort(rng.integers(0, seconds, rows)).astype("timedelta64[s]")
    # Busy streets get more orders (Zipf-like), as in the city.
    weights = 1 / np.arange(1, units.height + 1) ** 0.6
    unit = rng.choice(units.height, rows, p=weights / weights.sum())
    cat = rng.integers(0, len(CATEGORIES), rows)
    district = units["district"].to_numpy()[unit]
    street = units["street"].to_numpy()[unit]
    estate = estates[unit * ESTATES_PER_STREET + rng.integers(0, ESTATES_PER_STREET, rows)]
    problem = np.array([PROBLEMS[c[2]] for c in CATEGORIES])[cat]
    l1 = np.array([c[0] for c in CATEGORIES])[cat]
    l2 = np.array([c[1] for c in CATEGORIES])[cat]
    l3 = np.array([c[2] for c in CATEGORIES])[cat]
    dept = np.char.add(district.astype(str), np.array(DEPTS)[cat % len(DEPTS)])
    dispatched = recv + rng.integers(600, 7200, rows).astype("timedelta64[s]")
    responded = dispatched + rng.gamma(2.0, 6.0, rows).astype("int64").astype("timedelta64[h]")
    closed = dispatched + rng.gamma(2.0, 2.5, rows).astype("int64").astype("timedelta64[D]") + np.timedelta64(3, "h")

    def fmt(values: np.ndarray) -> pl.Series:
        return pl.Series(values.astype("datetime64[ms]")).dt.strftime("%Y-%m-%d %H:%M:%S")

    def pick(values: list[str], p: list[float] | None = None) -> np.ndarray:
        return np.asarray(values)[rng.choice(len(values), rows, p=p)]

    building = pl.Series(rng.integers(1, 30, rows)).cast(pl.String)
    frame = pl.DataFrame({
        "工单编号": f"S{year}{mon:02d}" + pl.Series(np.arange(rows)).cast(pl.String).str.zfill(7),
        "受理时间": fmt(recv),
        "来源渠道": pick(["电话", "网络", "微信", "APP"], [0.7, 0.15, 0.1, 0.05]),
        "诉求类型": pick(["投诉", "求助", "咨询", "举报", "建议"], [0.45, 0.25, 0.2, 0.05, 0.05]),
        "一级分类": l1, "二级分类": l2, "三级分类": l3,
        "诉求内容": pl.Series(estate) + building + "号楼居民反映" + pl.Series(problem) + "，" + pl.Series(pick(ASKS)) + "。",
        "区": district, "街道": street,
        "社区": pl.Series(estate) + "社区",
        "地址": pl.Series(district) + pl.Series(street) + pl.Series(estate) + building + "号楼",
        "来电号码": pl.Series(rng.integers(13_000_000_000, 19_000_000_000, rows)).cast(pl.String),
        "承办单位": dept,
        "派单时间": fmt(dispatched), "响应时间": fmt(responded), "办结时间": fmt(closed),
        "工单状态": pick(["已办结", "办理中"], [0.93, 0.07]),
        "是否解决": pick(["解决", "部分解决", "未解决", ""], [0.72, 0.1, 0.1, 0.08]),
        "是否满意": pick(["满意", "基本满意", "不满意", "未评价"], [0.7, 0.12, 0.1, 0.08]),
    }).with_columns(pl.col(pl.String).replace("", None))
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)


TIMEOUT = 600.0   # seconds one measurement may take before it is stopped and recorded as such


def _load() -> float:
    return round(os.getloadavg()[0], 1)


MEMORY_CAP_GB = 8.0   # a measurement's data segment beyond this fails (the machine is shared: 24 GB, 3 helpers)


def _cap(gb: float) -> Callable[[], None]:
    def limit() -> None:
        cap = int(gb * 2**30)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    return limit


def _child(code: str, env: dict[str, str], timeout: float = TIMEOUT, cap_gb: float = MEMORY_CAP_GB) -> dict:
    """Run `code` in a fresh interpreter (no cache of an earlier run helps); it prints one JSON line last.
    Adds the process's peak resident memory and the machine's 1-minute load average before and after."""
    wrapped = code + "\nimport resource, json as _j; print(_j.dumps({**RESULT, 'peak_mb': " \
                     "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    load = {"load_before": _load()}
    try:
        run = subprocess.run([sys.executable, "-c", wrapped], cwd=ROOT, env={**os.environ, **env},
                             capture_output=True, text=True, timeout=timeout, preexec_fn=_cap(cap_gb))
    except subprocess.TimeoutExpired:
        return {**load, "load_after": _load(), "error": f"stopped after {timeout:.0f} s"}
    load["load_after"] = _load()
    if run.returncode:
        return {**load, "error": (run.stderr or run.stdout).strip().splitlines()[-1][:300] if (run.stderr or run.stdout) else "?"}
    return {**json.loads(run.stdout.strip().splitlines()[-1]), **load}


PAGE_CODE = """
import time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({dashboard!r}, default_timeout=900)
at.query_params.update({params})
t = time.perf_counter(); at.run(); boot = time.perf_counter() - t
if {page!r} != {default!r}:
    t = time.perf_counter(); at.switch_page({page!r}).run(); cold = time.perf_counter() - t
else:
    cold = boot
errors = [str(e.value)[:200] for e in at.exception]
t = time.perf_counter(); at.run(); warm = time.perf_counter() - t
filter_change = None
box = [m for m in at.sidebar.multiselect if m.label.startswith("区")]
if box and box[0].options:
    t = time.perf_counter(); box[0].select(box[0].options[0]).run(); filter_change = time.perf_counter() - t
RESULT = dict(boot=boot, cold=cold, warm=warm, filter_change=filter_change, errors=errors)
"""

CLI_CODE = """
import runpy, sys, time, io, contextlib
sys.argv = ["analytics", *{args!r}]
t = time.perf_counter()
buf = io.StringIO()
code = 0
try:
    with contextlib.redirect_stdout(buf):
        runpy.run_module("analytics", run_name="__main__")
except SystemExit as e:
    code = e.code or 0
RESULT = dict(seconds=time.perf_counter() - t, code=code, lines=buf.getvalue().count(chr(10)))
"""

CLI_COMMANDS = ["overview", "hotspots", "words", "hot-issues", "repeats", "topics", "scores", "cases"]


def _median_of(runs: list[dict]) -> dict:
    """One page's runs as one row: the median of each time (a run's single hiccup on a shared machine is not
    the page's time), the highest memory, every cold time, the load before the first and after the last."""
    failed = next((r for r in runs if r.get("error") or r.get("errors")), None)
    if failed:
        return failed
    out = {k: statistics.median(r[k] for r in runs) if all(r.get(k) is not None for r in runs) else None
           for k in ("boot", "cold", "warm", "filter_change")}
    return {**out, "colds": [r["cold"] for r in runs], "errors": [], "peak_mb": max(r["peak_mb"] for r in runs),
            "load_before": runs[0]["load_before"], "load_after": runs[-1]["load_after"]}


def _page(db: Path, file: str, params: dict[str, str], timeout: float) -> dict:
    """One run of PAGE_CODE in a fresh process: the app booted on its first page with `params`, then `file`."""
    return _child(PAGE_CODE.format(dashboard=str(ROOT / "dashboard.py"), page=file, default=PAGES[0][1],
                                   params=params), {"HOTLINE_DB": str(db)}, timeout)


def _pages(only: list[str] | None) -> list[tuple[str, str]]:
    """(file, title) of the pages to measure: every page, or the titles in `only`."""
    return [(file, title) for _, file, title, _, _ in PAGES
            if (ROOT / file).exists() and (not only or title in only)]


def measure(db: Path, month_params: dict[str, str], month_args: list[str], months: int,
            timeout: float = TIMEOUT, only: list[str] | None = None, repeats: int = 3) -> dict:
    """Every page (or the titles in `only`, then no command) `repeats` times and every command, each in a fresh
    process."""
    env = {"HOTLINE_DB": str(db)}
    # One untimed start first: after minutes of loads the OS has paged the libraries out (this VM reclaims idle
    # page cache), and reading them back is the disk's time, not the app's.
    _page(db, PAGES[0][1], month_params, timeout)
    pages = {}
    for file, title in _pages(only):
        pages[title] = _median_of([_page(db, file, month_params, timeout) for _ in range(repeats)])
        print(f"  {title}: {pages[title]}", flush=True)
    cli = {}
    if only:
        return {"pages": pages, "cli": cli}
    # With one month loaded the whole history is that month: the "all" runs would repeat the "month" ones.
    windows = (("month", month_args), ("all", [])) if months > 1 else (("month", month_args),)
    for command in CLI_COMMANDS:
        for window, extra in windows:
            cli[f"{command} ({window})"] = _child(CLI_CODE.format(args=[command, "--db", str(db), *extra,
                                                                        "--format", "json"]), env, timeout)
            print(f"  {command} {window}: {cli[f'{command} ({window})']}", flush=True)
    return {"pages": pages, "cli": cli}


def load_month(db: Path, csv: Path) -> dict:
    before = _load()
    t = time.perf_counter()
    # The big-month clustering (minutes a month, after publishing) is timed at each checkpoint, for its month.
    run = subprocess.run([sys.executable, "-m", "etl", "load", str(csv), "--db", str(db), "--json", "--no-hot-issues"],
                         cwd=ROOT, capture_output=True, text=True)
    total = time.perf_counter() - t
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    file_line = next((x for x in lines if "rows_inserted" in x), {})
    token_line = next((x for x in lines if x.get("step") == "tokens"), {})
    hot_line = next((x for x in lines if x.get("step") == "hot-issues"), {})
    outlook_line = next((x for x in lines if x.get("step") == "outlook"), {})
    after = [line.get("seconds") or 0 for line in (token_line, hot_line, outlook_line)]
    return {"total": total, "tokens": token_line.get("seconds"), "hot_issues": hot_line.get("seconds"),
            "outlook": outlook_line.get("seconds"), "orders_published": total - sum(after),
            "rows_inserted": file_line.get("rows_inserted"), "status": file_line.get("status"),
            "error": run.stderr.strip().splitlines()[-1] if run.returncode else None,
            "load_before": before, "load_after": _load()}


def _fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


# Issue #16's targets: (cold s, warm s, filter change s, memory MB) at 10 M orders, cold at 25 M.
TARGET_10M = (3.0, 1.0, 0.3, 4096)
TARGET_25M_COLD, TARGET_25M_MB = 2.0, 8192
TARGET_GROWTH = 1.5   # no page's cold time grows more than this from 10 M to 25 M


def _met(r: dict, rows: float, growth: float | None = None) -> str:
    """Which of the size's targets a page's figures meet: at 25 M cold, memory and the cold time's growth from 10 M
    (`growth`); up to 10 M the 10 M targets."""
    if r.get("error") or r.get("errors"):
        return "no (error)"
    cold, warm, flt, mb = TARGET_10M
    limits = [("cold", r.get("cold"), cold), ("warm", r.get("warm"), warm), ("filter", r.get("filter_change"), flt),
              ("memory", r.get("peak_mb"), mb)]
    if rows > 10e6:
        limits = [("cold", r.get("cold"), TARGET_25M_COLD), ("memory", r.get("peak_mb"), TARGET_25M_MB)]
        if growth is not None:
            limits.append((f"growth {growth:.2f}×", growth, TARGET_GROWTH))
    missed = [name for name, value, limit in limits if value is not None and value > limit]
    return "yes" if not missed else "no: " + ", ".join(missed)


def _growths(data: dict) -> dict[str, float]:
    """Each page's cold time at 25 M over its time at 10 M: from the paired runs when there are some, else from
    the two checkpoints."""
    if data.get("growth"):
        return {t: p["big"]["cold"] / p["small"]["cold"] for t, p in data["growth"]["pages"].items()
                if p["small"].get("cold") and p["big"].get("cold") is not None}
    ten = data["checkpoints"].get("10 M", {}).get("pages", {})
    big = data["checkpoints"].get("25 M", {}).get("pages", {})
    return {t: r["cold"] / ten[t]["cold"] for t, r in big.items()
            if r.get("cold") is not None and ten.get(t, {}).get("cold")}


def _loads(r: dict) -> str:
    return f"{_fmt(r.get('load_before'), 1)} → {_fmt(r.get('load_after'), 1)}"


def write_results(data: dict) -> None:
    cold, warm, flt, mb = TARGET_10M
    lines = ["# Scale benchmark", "",
             f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; written {data['when']}; "
             f"load average at start {data['loadavg']}. {data['rows_per_month']:,} orders per monthly export; "
             f"after one untimed start, each page measured in {data.get('repeats', 1)} fresh processes, the median shown "
             "(cold: first render of the page after the app booted on its "
             "first page; warm: the same page again; filter: narrowing the 区 filter), each CLI command in a fresh "
             "process; peak memory is the process's maximum resident set (Python, polars and DuckDB together). "
             "The load column is the machine's 1-minute load average before → after each measurement (2 cores, "
             f"shared). A measurement taking longer than {data.get('timeout', TIMEOUT):.0f} s is stopped and shown as such; "
             f"one needing more than {MEMORY_CAP_GB:g} GB of data segment fails (the machine is shared).", "",
             f"Targets (issue #16): at 10 M every page ≤ {cold:g} s cold, ≤ {warm:g} s warm, filter change ≤ "
             f"{flt * 1000:.0f} ms, memory ≤ {mb / 1024:g} GB; at 25 M ≤ {TARGET_25M_COLD:g} s cold and ≤ "
             f"{TARGET_25M_MB / 1024:g} GB, no page's cold time more than {TARGET_GROWTH:g}× its time at 10 M; 25 "
             "monthly 1 M loads ≤ 10 minutes (orders published). The 'meets' column applies the 10 M targets at every "
             "size up to 10 M, and the 25 M ones (growth included) beyond.", "",
             "## Loads", "", "| month | orders in db | orders published (s) | token index (s) | 预警与预测 stored (s) | "
             "whole command (s) | load |", "|---|---|---|---|---|---|---|"]
    total_published = 0.0
    for i, load in enumerate(data["loads"], 1):
        total_published += load["orders_published"]
        lines.append(f"| {i} | {i * data['rows_per_month']:,} | {_fmt(load['orders_published'], 1)} | "
                     f"{_fmt(load['tokens'], 1)} | {_fmt(load.get('outlook'), 1)} | {_fmt(load['total'], 1)} | {_loads(load)} |")
    lines += ["", f"All {len(data['loads'])} loads: orders published in {total_published / 60:.1f} min in all "
              "(loaded with `--no-hot-issues`; the measured month's hot issues are then stored by "
              "`python -m etl hot-issues --month`, timed below).", ""]
    for size, hot in data.get("hot_months", {}).items():
        lines.append(f"- {size}: hot issues and repeats of {hot['month']} clustered and stored in {hot['seconds']:.1f} s"
                     + (f" (failed: {hot['error']})" if hot["error"] else ""))
    lines.append("")
    growths = _growths(data)
    for size, result in data["checkpoints"].items():
        rows = float(size.split()[0]) * 1e6
        lines += [f"## {size} orders", "",
                  "| page | cold (s) | cold, each run (s) | warm (s) | filter change (s) | peak memory (MB) | load | meets | errors |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for title, r in result["pages"].items():
            runs = " / ".join(_fmt(c) for c in r.get("colds", [])) or "—"
            lines.append(f"| {title} | {_fmt(r.get('cold'))} | {runs} | {_fmt(r.get('warm'))} | {_fmt(r.get('filter_change'))} | "
                         f"{_fmt(r.get('peak_mb'), 0)} | {_loads(r)} | {_met(r, rows, growths.get(title) if rows > 10e6 else None)} | "
                         f"{'; '.join(r.get('errors', [])) or r.get('error', '')} |")
        lines += ["", "| command | seconds | peak memory (MB) | load | result |", "|---|---|---|---|---|"]
        for name, r in result["cli"].items():
            lines.append(f"| {name} | {_fmt(r.get('seconds'))} | {_fmt(r.get('peak_mb'), 0)} | {_loads(r)} | "
                         f"{r.get('error') or ('exit ' + str(r.get('code')) + ', ' + str(r.get('lines')) + ' lines')} |")
        lines.append("")
    if data.get("growth"):
        g = data["growth"]
        lines += [f"## Growth from {g['small']} to {g['big']}, measured in pairs", "",
                  f"Each page on the {g['small']} and the {g['big']} database in turns ({g['small']}, {g['big']}, "
                  f"{g['small']}, …), {g['repeats']} fresh processes each, measured {g['when']}: the two medians come "
                  "from the same minutes, so the machine's drift between two checkpoints is not counted as growth. "
                  f"Target: no page's cold time more than {TARGET_GROWTH:g}× its time at 10 M.", "",
                  f"| page | cold at {g['small']} (s) | each run | cold at {g['big']} (s) | each run | growth | meets |",
                  "|---|---|---|---|---|---|---|"]
        for title, p in g["pages"].items():
            a, b = p["small"], p["big"]
            ratio = growths.get(title)
            meets = "no (error)" if a.get("error") or b.get("error") else \
                "yes" if ratio is not None and ratio <= TARGET_GROWTH else "no"
            lines.append(f"| {title} | {_fmt(a.get('cold'))} | {' / '.join(_fmt(c) for c in a.get('colds', []))} | "
                         f"{_fmt(b.get('cold'))} | {' / '.join(_fmt(c) for c in b.get('colds', []))} | "
                         f"{_fmt(ratio)}× | {meets} |")
        lines.append("")
    notes = ""
    if RESULTS.exists() and "## Notes" in RESULTS.read_text(encoding="utf-8"):
        notes = RESULTS.read_text(encoding="utf-8").split("## Notes", 1)[1]
    lines += ["## Notes", notes.strip() or "(none yet)"]
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows-per-month", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", default="1,10,25", help="measure after this many monthly loads")
    parser.add_argument("--db", default=str(OUT / "scale.duckdb"))
    parser.add_argument("--keep", action="store_true", help="continue from the database and loads already there")
    parser.add_argument("--no-measure", action="store_true", help="only load; measure later with --keep --measure-now")
    parser.add_argument("--measure-now", action="store_true", help="measure the database as it is, loading nothing")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds one page or command may take")
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per page (the median is shown)")
    parser.add_argument("--pair", default=None, metavar="DB:LOADS",
                        help="then measure every page on this smaller database (holding LOADS monthly loads, e.g. a "
                             "copy taken after load 10) and on --db in turns, for the growth between the two")
    parser.add_argument("--pages", default="", help="comma-separated page titles: measure only these, and no command")
    parser.add_argument("--exports", default=None,
                        help="keep the monthly exports in this folder and reuse those already there (the same seed "
                             "writes the same file), so a rerun times the loads alone")
    args = parser.parse_args()
    checkpoints = sorted(int(x) for x in args.checkpoints.split(","))
    pages = [x for x in args.pages.split(",") if x] or None
    db = Path(args.db)
    OUT.mkdir(parents=True, exist_ok=True)
    state_path = OUT / "scale.json"
    data = json.loads(state_path.read_text()) if args.keep and state_path.exists() else None
    if not data or data["rows_per_month"] != args.rows_per_month:
        for p in db.parent.glob(db.name + "*"):
            p.unlink()
        data = {"rows_per_month": args.rows_per_month, "loads": [], "checkpoints": {}}
    data["when"] = time.strftime("%Y-%m-%d %H:%M")
    data["timeout"] = args.timeout
    data["repeats"] = args.repeats
    data["loadavg"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    if args.measure_now:
        checkpoints, months = [len(data["loads"])], []
    else:
        months = range(len(data["loads"]), checkpoints[-1])
    for month in months:
        csv = Path(args.exports or OUT) / f"month-{month:02d}-{args.rows_per_month}.csv"
        if not csv.exists():
            csv.parent.mkdir(parents=True, exist_ok=True)
            month_export(csv.with_suffix(".part"), month, args.rows_per_month)   # a stopped run leaves no half file
            csv.with_suffix(".part").rename(csv)
        load = load_month(db, csv)
        if not args.exports:
            csv.unlink()
        data["loads"].append(load)
        print(f"month {month + 1}: {load}", flush=True)
        state_path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
        if month + 1 in checkpoints and not args.no_measure:
            _checkpoint(data, db, month + 1, args.rows_per_month, args.timeout, pages, args.repeats)
            state_path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    if args.measure_now:
        _checkpoint(data, db, len(data["loads"]), args.rows_per_month, args.timeout, pages, args.repeats)
        state_path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    if args.pair:
        small, loads = args.pair.rsplit(":", 1)
        print(f"measuring {small} and {db} in turns", flush=True)
        size = lambda n: f"{n * args.rows_per_month / 1e6:g} M"  # noqa: E731
        data["growth"] = {"small": size(int(loads)), "big": size(len(data["loads"])), "repeats": args.repeats,
                          "when": time.strftime("%Y-%m-%d %H:%M"),
                          "pages": paired(Path(small), int(loads), db, len(data["loads"]), args.timeout, args.repeats, pages)}
        state_path.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    write_results(data)


def _window(months: int) -> tuple[date, date]:
    """The first and last day of the month the `months`-th monthly load brought (the measured window)."""
    first = date(START.year + (START.month - 2 + months) // 12, (START.month - 2 + months) % 12 + 1, 1)
    return first, date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)


def paired(small: Path, small_months: int, big: Path, big_months: int, timeout: float, repeats: int,
           only: list[str] | None = None) -> dict:
    """Each page on the smaller and the bigger database in turns, every run a fresh process, so that a page's
    growth is measured in the same minutes on both."""
    params = {}
    for db, months in ((small, small_months), (big, big_months)):
        first, end = _window(months)
        params[db] = {"from": first.isoformat(), "to": end.isoformat()}
    for db in (small, big):
        _page(db, PAGES[0][1], params[db], timeout)   # untimed, as in `measure`
    pages = {}
    for file, title in _pages(only):
        runs: dict[Path, list[dict]] = {small: [], big: []}
        for _ in range(repeats):
            for db in (small, big):
                runs[db].append(_page(db, file, params[db], timeout))
        pages[title] = {"small": _median_of(runs[small]), "big": _median_of(runs[big])}
        print(f"  {title}: {pages[title]['small'].get('cold')} → {pages[title]['big'].get('cold')}", flush=True)
    return pages


def _checkpoint(data: dict, db: Path, months: int, rows_per_month: int, timeout: float,
                pages: list[str] | None = None, repeats: int = 3) -> None:
    """Measure pages and commands on the database holding `months` monthly loads, at its last month."""
    first, end = _window(months)
    size = f"{months * rows_per_month / 1e6:g} M"
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "etl", "hot-issues", "--db", str(db), "--month", f"{first:%Y-%m}",
                          "--json"], cwd=ROOT, capture_output=True, text=True)
    data.setdefault("hot_months", {})[size] = {"month": f"{first:%Y-%m}", "seconds": time.perf_counter() - t,
                                               "error": run.stderr.strip()[-300:] if run.returncode else None}
    print(f"measuring at {size}", flush=True)
    data["checkpoints"][size] = measure(db, {"from": first.isoformat(), "to": end.isoformat()},
                                        ["--from", first.isoformat(), "--to", end.isoformat()], months, timeout, pages,
                                        repeats)
    write_results(data)


if __name__ == "__main__":
    main()
