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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.schema import create_all
from core.store import ROOT, DEFAULT_DB, connect, connect_read, db_path, db_version  # noqa: F401 (etl.store.* callers)

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
            con.execute("CHECKPOINT")
            con.close()
            os.replace(tmp, path)
        except BaseException:
            con.close()
            raise
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
