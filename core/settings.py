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


@dataclass(frozen=True)
class Plausibility:
    """[plausibility]: what the loader does with values no real record can have (etl/transform.py)."""
    action: str = "flag"
    earliest: str = "1990-01-01"
    future_days: float = 1
    region: tuple[float, ...] = ()
    region_radius_deg: float = 2.0


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


def plausibility_settings() -> Plausibility:
    """The [plausibility] section of the settings file in force."""
    path, raw = read_toml()
    given = raw.get("plausibility", {})
    unknown = set(given) - set(Plausibility.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{path}: [plausibility] 中有无法识别的设置项 {sorted(unknown)}，"
                         f"可用项为 {sorted(Plausibility.__dataclass_fields__)}")
    return Plausibility(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
