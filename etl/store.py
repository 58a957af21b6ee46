"""Where the database lives and how it is written without ever exposing a half-loaded state.

DuckDB's file lock is exclusive across processes: a dashboard holding a read connection would block a
writer, and a writer would block every reader. So a write never touches the live file: it works on a
private copy and, once committed and checkpointed, atomically renames it over the live file. Readers that
opened the old file keep reading it (POSIX keeps the old inode alive) and pick up the new one on their next
connection. A failed or interrupted write only leaves a temporary file behind, which is removed.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core import summary
from core.schema import create_all, fill_order_months
from core.settings import rates_settings
from core.store import ROOT, DEFAULT_DB, connect, connect_read, db_path, db_version  # noqa: F401 (etl.store.* callers)

SCRATCH_STALE_SECONDS = 24 * 3600

@contextmanager
def writing(path: Path | str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a private copy of `path`, published atomically if the block succeeds.

    Writers are serialised by an flock on `<db>.lock`, so two loads never race to publish.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Holding the lock, any other private copy is what a killed writer left behind.
        for stale in path.parent.glob(f".{path.name}.*.tmp*"):
            stale.unlink(missing_ok=True)
        # A name never used before: DuckDB caches open instances by path.
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        if path.exists():
            shutil.copyfile(path, tmp)
        con = connect(str(tmp))
        try:
            create_all(con)
            yield con
            fill_order_months(con)
            summary.refresh(con, rates_settings())
            summary.refresh_detail(con)
            summary.refresh_daily(con)
            summary.refresh_words(con)
            con.execute("CHECKPOINT")
            con.close()
            os.replace(tmp, path)
        except BaseException:
            con.close()
            raise
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)


def publish(built: Path | str, path: Path | str) -> None:
    """Replace `path` by a database file built elsewhere on the same file system (the demo), under the
    writers' lock and in one rename, as `writing` publishes."""
    path = Path(path)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.replace(built, path)


def scratch_dir() -> Path:
    """Where plaintext copies of imports live while they are read (uploads, GBK files decoded to UTF-8):
    one folder per OS user, readable by that user only. WHISTLE_SCRATCH overrides the place."""
    base = Path(os.environ.get("WHISTLE_SCRATCH") or Path(tempfile.gettempdir()) / f"whistle-{os.getuid()}")
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base


def scratch_file(suffix: str = "", tag: str = "tmp") -> Path:
    """A new empty private file in scratch_dir(), named after this process so a later run can tell a
    killed process's leftovers (see sweep_scratch)."""
    fd, name = tempfile.mkstemp(prefix=f"{tag}-{os.getpid()}-", suffix=suffix, dir=scratch_dir())
    os.close(fd)
    return Path(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_scratch() -> list[Path]:
    """Remove scratch files of processes that no longer run (a killed load or server) and any older than a
    day (an upload abandoned in a live session). Every load and every dashboard start calls this."""
    removed = []
    now = time.time()
    for f in scratch_dir().iterdir():
        parts = f.name.split("-")
        try:
            pid = int(parts[1])
        except (IndexError, ValueError):
            pid = None
        try:
            stale = (pid is not None and pid != os.getpid() and not _alive(pid)) or now - f.stat().st_mtime > SCRATCH_STALE_SECONDS
        except FileNotFoundError:
            continue
        if stale:
            f.unlink(missing_ok=True)
            removed.append(f)
    return removed
