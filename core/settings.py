"""The one settings file (settings.toml, or WHISTLE_SETTINGS): where it is, how it is read, and the [duckdb]
section that every database connection of the load and the dashboard is opened with."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

SETTINGS_PATH = Path(__file__).resolve().parent.parent / "settings.toml"


@dataclass(frozen=True)
class Rates:
    response_window_hours: float = 24
    partial_credit: float = 0.5
    basic_credit: float = 1.0
    default_deadline_days: float = 7
    exclude_invalid: bool = False
    response_window_hours_by_category: dict[str, float] = field(default_factory=dict)
    deadline_days_by_category: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Plausibility:
    action: str = "flag"
    earliest: str = "1990-01-01"
    future_days: float = 1
    region: tuple[float, ...] = ()
    region_radius_deg: float = 2.0


@dataclass(frozen=True)
class Duckdb:
    memory_limit: str = "2GB"       # per connection (DuckDB spills to temp_directory beyond it)
    threads: int = 2
    temp_directory: str = ""        # "" = the system's temporary directory


def read_toml(path: Path | str | None = None) -> tuple[Path, dict[str, Any]]:
    """The settings file in force and its raw contents."""
    path = Path(path or os.environ.get("WHISTLE_SETTINGS") or SETTINGS_PATH)
    return path, tomllib.loads(path.read_text(encoding="utf-8"))


def section(name: str, cls: type[T]) -> T:
    """One section of the settings file in force as its dataclass (unknown keys are an error)."""
    path, raw = read_toml()
    given = raw.get(name, {})
    unknown = set(given) - set(cls.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{path}: [{name}] 中有无法识别的设置项 {sorted(unknown)}，可用项为 {sorted(cls.__dataclass_fields__)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})


def duckdb_settings() -> Duckdb:
    return section("duckdb", Duckdb)


def plausibility_settings() -> Plausibility:
    return section("plausibility", Plausibility)


def rates_settings() -> Rates:
    return section("rates", Rates)
