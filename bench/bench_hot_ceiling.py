"""Text work within its memory ceiling (issue #16): hot issues, repeats and topics over long windows.

Runs `python -m analytics hot-issues|repeats|topics` over windows of the given databases (read only), each in
a process of its own, and records seconds, peak memory (the process's maximum resident set), exit code, rows
and the coverage note on stderr; and clusters one month as `python -m etl hot-issues` does
(`python -m analytics.hot_months compute`, Parquet into a scratch folder, nothing written to the database).

    nice .venv/bin/python bench/bench_hot_ceiling.py --db /data/scale10m.duckdb [--db …]
        [--window all | 2024-08-01:2024-10-31 …]   windows to run (default: all, and the last three months)
        [--compute-month 2024-09-01]               also cluster this month of the first database

Writes bench/RESULTS-hot-ceiling.md (appending a section per run: the machine is shared, so each run says its load).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "RESULTS-hot-ceiling.md"


def measure(argv: list[str]) -> dict:
    """Run one command: seconds, its own peak memory (os.wait4 on the child), exit code, stdout lines, the
    last stderr line and the load average before and after."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        pid = os.posix_spawn(sys.executable, [sys.executable, *argv], dict(os.environ),
                             file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0), err.seek(0)
        lines, said = len(out.read().splitlines()), err.read().strip().splitlines()
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "rc": os.waitstatus_to_exitcode(status), "lines": lines,
            "note": (said or [""])[-1][:200], "load": f"{load:.1f} → {os.getloadavg()[0]:.1f}"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", action="append", required=True)
    ap.add_argument("--window", action="append")
    ap.add_argument("--compute-month")
    args = ap.parse_args()
    os.chdir(ROOT)
    rows = []
    for db in args.db:
        for window in args.window or ["all"]:
            span = [] if window == "all" else ["--from", window.split(":")[0], "--to", window.split(":")[1]]
            for command in ("hot-issues", "repeats", "topics"):
                r = measure(["-m", "analytics", command, "--db", db, *span, "--format", "csv"])
                rows.append(f"| {Path(db).name} | {window} | {command} | {r['seconds']:.1f} | {r['peak_mb']:,.0f} | {r['rc']} "
                            f"| {max(r['lines'] - 1, 0) if r['rc'] == 0 else '—'} | {r['load']} | {r['note'].replace('|', '/')} |")
                print(rows[-1], flush=True)
    compute = ""
    if args.compute_month:
        with tempfile.TemporaryDirectory() as tmp:
            r = measure(["-m", "analytics.hot_months", "compute", "--db", args.db[0], "--month", args.compute_month,
                              "--out", str(Path(tmp) / "x")])
        compute = (f"\nClustering {args.compute_month[:7]} of {Path(args.db[0]).name} as `python -m etl hot-issues` does: "
                   f"{r['seconds']:.1f} s, {r['peak_mb']:,.0f} MB peak, exit {r['rc']} (load {r['load']}).\n")
        print(compute, flush=True)
    section = (f"\n## {datetime.now():%Y-%m-%d %H:%M} ({platform.machine()}, {os.cpu_count()} cores)\n\n"
               "| database | window | command | seconds | peak MB | exit | rows | load | note (stderr, last line) |\n"
               "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n" + compute)
    head = "" if OUT.exists() else ("# Text work within its ceiling (bench/bench_hot_ceiling.py)\n\n"
                                    "Settings: settings.toml `[hot_issues] max_request_orders`, `max_stored_rows`. "
                                    "Each command in a process of its own; peak = its maximum resident set.\n")
    with OUT.open("a", encoding="utf-8") as f:
        f.write(head + section)


if __name__ == "__main__":
    main()
