"""The one settings file (settings.toml, or WHISTLE_SETTINGS): where it is, how it is read, and the [duckdb]
section that every database connection of the load and the dashboard is opened with."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SETTINGS_PATH = Path(__file__).resolve().parent.parent / "settings.toml"


@dataclass(frozen=True)
class Duckdb:
    memory_limit: str = "2GB"       # per connection (DuckDB spills to temp_directory beyond it)
    threads: int = 2
    temp_directory: str = ""        # "" = the system's temporary directory


def read_toml(path: Path | str | None = None) -> tuple[Path, dict[str, Any]]:
    """The settings file in force and its raw contents."""
    path = Path(path or os.environ.get("WHISTLE_SETTINGS") or SETTINGS_PATH)
    return path, tomllib.loads(path.read_text(encoding="utf-8"))


def duckdb_settings() -> Duckdb:
    """The [duckdb] section of the settings file in force."""
    path, raw = read_toml()
    given = raw.get("duckdb", {})
    unknown = set(given) - set(Duckdb.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{path}: [duckdb] 中有无法识别的设置项 {sorted(unknown)}，可用项为 {sorted(Duckdb.__dataclass_fields__)}")
    return Duckdb(**given)
