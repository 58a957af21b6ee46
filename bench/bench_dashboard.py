"""First start (demo build + 总览) and 总览 render time, measured in a headless Streamlit session.

Usage: .venv/bin/python bench/bench_dashboard.py
Writes bench/RESULTS-dashboard.md. Targets: first start ≤ 60 s, 总览 ≤ 2 s on the demo database.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = str(ROOT / "dashboard.py")


def _render(db: Path) -> tuple[float, list[str]]:
    # A fresh interpreter per measurement, so no cache of an earlier run helps.
    code = (
        "import time, sys; from streamlit.testing.v1 import AppTest; t=time.perf_counter();"
        f"at=AppTest.from_file({DASHBOARD!r}, default_timeout=1200).run(); dt=time.perf_counter()-t;"
        "assert not at.exception, at.exception; t2=time.perf_counter(); at.run(); warm=time.perf_counter()-t2;"
        "print(dt, warm, '|'.join(f'{m.label}={m.value}' for m in at.metric))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "HOTLINE_DB": str(db)},
                         capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    cold, warm, metrics = out.split(" ", 2)
    return float(cold), [warm, metrics]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hotline.duckdb"
        first, _ = _render(db)                      # no database yet: builds the demo, then renders 总览
        size_mb = db.stat().st_size / 2**20
        con = duckdb.connect(str(db), read_only=True)
        n_orders = con.execute("SELECT count(*) FROM work_orders").fetchall()[0][0]
        con.close()
        cold, (warm, metrics) = _render(db)        # a new process on the existing database
    lines = [
        "# Dashboard benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.python_version()}, measured {time.strftime('%Y-%m-%d %H:%M')}.",
        "Each figure is one headless Streamlit run (`AppTest`) of `dashboard.py` in a fresh process.",
        "",
        "| what | seconds | target |",
        "|---|---|---|",
        f"| first start: build the demo database ({n_orders:,} orders, {size_mb:.0f} MB) and render 总览 | {first:.1f} | ≤ 60 |",
        f"| 总览 render, new process, database present (cold caches) | {cold:.2f} | ≤ 2 |",
        f"| 总览 rerun in the same session (warm caches) | {float(warm):.2f} | — |",
        "",
        f"Numbers shown: {metrics}",
    ]
    (ROOT / "bench" / "RESULTS-dashboard.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
