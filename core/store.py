"""Where the database lives, which published version it is, and reading it: every DuckDB connection of the
dashboard, the CLI and the load is opened here, with the memory ceiling and threads of [duckdb] in settings.
Writing (a private copy published by rename) is etl.store."""
from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import duckdb

from core.settings import duckdb_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "hotline.duckdb"


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """--db wins; else HOTLINE_DB; else data/hotline.duckdb."""
    return Path(explicit or os.environ.get("HOTLINE_DB") or DEFAULT_DB)


def db_version(path: Path) -> tuple[int, int] | None:
    """Changes whenever a write is published (new inode by rename); None when there is no database yet."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with memory_limit, threads and temp_directory from settings ([duckdb])."""
    d = duckdb_settings()
    temp = d.temp_directory or str(Path(tempfile.gettempdir()) / "whistle-duckdb")
    con = duckdb.connect(database, config={"memory_limit": d.memory_limit, "threads": d.threads, "temp_directory": temp})
    con.execute("SET enable_progress_bar = false")   # long writes would print bars into CLI output
    return con


def connect_read(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file as published now; never blocks a load.

    `duckdb.connect(path)` would hand back the instance already open on that path, which after a
    publish-by-rename still reads the old file; attaching into a fresh in-memory instance opens the
    current one. Views in the in-memory catalog make the tables visible to every cursor (a cursor does
    not inherit `USE`).
    """
    con = connect()
    try:
        con.execute("ATTACH ? AS hotline (READ_ONLY)", [str(path)])
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'hotline' AND schema_name = 'main'"
        ).fetchall()
        from core.schema import MONTHLY_BY_ORDER, TABLES, missing_columns

        missing = missing_columns(con, "hotline")   # columns of today's layout an older file lacks, as NULL
        for (table,) in tables:
            source = f'hotline.main."{table}"'
            if (table, "month") in missing and table in MONTHLY_BY_ORDER:
                # The orders' months, as a write stores them today (the next write stores them).
                source = (f"(SELECT t.*, date_trunc('month', w.received_at)::DATE AS month FROM hotline.main.{table} t "
                          "LEFT JOIN hotline.main.work_orders w USING (order_id))")
            added = "".join(f", NULL::{_type(TABLES[t][c][0])} AS {c}" for t, c in missing
                            if t == table and source.startswith("hotline"))
            con.execute(f'CREATE VIEW "{table}" AS SELECT *{added} FROM {source}')
    except BaseException:
        con.close()
        raise
    return con


def _type(decl: str) -> str:
    """The type of a column declaration of core.schema."""
    for word in (" USING", " NOT NULL", " DEFAULT", " PRIMARY"):
        decl = decl.split(word)[0]
    return decl


def secret_file(name: str) -> str:
    """The random secret in <config dir>/`name`, created with mode 0600 on first use (race-safe)."""
    path = config_dir() / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:   # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return path.read_text().strip()


def config_dir() -> Path:
    """Where secrets and users live, apart from the data folder: WHISTLE_CONFIG_DIR, else
    $XDG_CONFIG_HOME/whistle, else ~/.config/whistle."""
    given = os.environ.get("WHISTLE_CONFIG_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "whistle"
