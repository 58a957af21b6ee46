"""预警与预测 of the whole city, stored after each work-order load (analytics.outlook_store) so that the page
opens on it instead of redoing the backtest: `python -m etl outlook`.

It runs in a process of its own (etl does not import analytics), reading the published file, no lock held, and
replaces the store beside the file in one rename; about a second at 25 M orders. Until it has run, and for any
other scope, the page computes on request.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from core.store import ROOT
from etl import store


@dataclass
class OutlookResult:
    stored: bool = False
    seconds: float = 0.0
    bytes: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _command(path: Path) -> list[str]:
    return [sys.executable, "-m", "analytics.outlook_store", "--db", str(path)]


def fill(db: str | os.PathLike | None = None, progress=None) -> OutlookResult:
    """Compute and store the outlook of the published `db` (nothing for a file that does not exist)."""
    path = store.db_path(db)
    if not path.exists():
        return OutlookResult()
    if progress:
        progress("outlook", 0.0)
    run = subprocess.run(_command(path), cwd=ROOT, capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError((run.stderr or run.stdout).strip()[-2000:])
    if progress:
        progress("outlook", 1.0)
    return OutlookResult(**json.loads(run.stdout.strip().splitlines()[-1]))


def start(db: str | os.PathLike | None = None) -> None:
    """Run `fill` in a process of its own (the import page does not wait for it)."""
    path = store.db_path(db)
    subprocess.Popen(_command(path), cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
