"""First start (demo build + 总览) and every page's render time, measured in headless Streamlit sessions.

Usage: .venv/bin/python bench/bench_dashboard.py [--db DB]
Writes bench/RESULTS-dashboard.md. Targets: first start ≤ 60 s; a page ≤ 2 s cold on the demo database.

Cold = the first render of a page in a fresh process whose caches are empty, the page asked for first (as a
shared link opens it); the modules are imported before the clock starts, as a running server has them.
Warm = the same session rendered again.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import PAGES  # noqa: E402

FIRST = (
    "import time; from streamlit.testing.v1 import AppTest; t=time.perf_counter();"
    "at=AppTest.from_file({script!r}, default_timeout=1200).run(); dt=time.perf_counter()-t;"
    "assert not at.exception, at.exception; print(dt)"
)
PAGE = (
    "import importlib, pkgutil, time, analytics, ui, dashboard;"
    "[importlib.import_module(m.name) for p in (analytics, ui) for m in pkgutil.iter_modules(p.__path__, p.__name__ + '.')"
    " if not m.name.endswith('__main__')];"
    "from streamlit.testing.v1 import AppTest; at=AppTest.from_file({entry!r}, default_timeout=600); at.switch_page({script!r});"
    "t=time.perf_counter(); at.run(); cold=time.perf_counter()-t;"
    "assert not at.exception, at.exception; t=time.perf_counter(); at.run(); warm=time.perf_counter()-t;"
    "print(cold, warm)"
)


def _python(code: str, db: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "HOTLINE_DB": str(db)},
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="measure the pages on this database instead of building the demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "hotline.duckdb"
        first = None
        if not args.db:
            load_first = os.getloadavg()[0]
            first = float(_python(FIRST.format(script=str(ROOT / "dashboard.py")), db))
        con = duckdb.connect(str(db), read_only=True)
        n_orders = con.execute("SELECT count(*) FROM work_orders").fetchall()[0][0]
        con.close()
        size_mb = db.stat().st_size / 2**20
        rows = []
        for _, file, title, _, _ in PAGES:
            load = os.getloadavg()[0]
            try:
                cold, warm = map(float, _python(PAGE.format(entry=str(ROOT / "dashboard.py"), script=file), db).split())
            except RuntimeError as e:
                rows.append(f"| {title} | failed: {e} | | {load:.1f} |")
            else:
                rows.append(f"| {title} | {cold:.2f} | {warm:.2f} | {load:.1f} |")
            print(rows[-1], flush=True)
    lines = [
        "# Dashboard benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, measured {time.strftime('%Y-%m-%d %H:%M')}.",
        f"Database: {n_orders:,} orders, {size_mb:.0f} MB{'' if args.db else ' (the demo, built by the first start)'}.",
        "",
    ]
    if first is not None:
        lines += [
            "| what | seconds | target | load average (1 min) |",
            "|---|---|---|---|",
            f"| first start: build the demo database and render 总览 (fresh process, imports included) | {first:.1f} | ≤ 60 | {load_first:.1f} |",
            "",
        ]
    lines += [
        "Each page opened first in a fresh process with empty caches (modules already imported, as in",
        "a running server): cold = first render, warm = the same session again. Target: ≤ 2 s cold.",
        "",
        "| page | cold s | warm s | load average (1 min) |",
        "|---|---|---|---|",
        *rows,
    ]
    (ROOT / "bench" / "RESULTS-dashboard.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
