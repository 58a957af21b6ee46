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


@dataclass(frozen=True)
class Repeats:
    window_days: int = 30
    alert_count: int = 3
    text_similarity: float = 0.6
    place_limit: int = 50


@dataclass(frozen=True)
class HotIssues:
    text_similarity: float = 0.5
    min_size: int = 3
    alert_callers: int = 5
    place_bonus: float = 0.3
    head_bonus: float = 0.2
    head_rare_df: int = 20
    merge_category_share: float = 0.6
    named_place_share: float = 0.5
    bound_place_share: float = 0.8
    burst_days: int = 14
    min_callers: int = 2
    min_lift: float = 3.0
    expected_floor: float = 1.0
    max_consult_share: float = 0.8
    w_callers: float = 2.0
    w_likes: float = 0.5
    top_k: int = 12
    window: int = 4
    max_df_share: float = 0.15
    rare_df_share: float = 0.01
    rare_df_min: int = 60
    head_boost: float = 3.0
    head_chars: int = 40
    grid_deg: float = 0.005
    label_sample: int = 40
    label_specificity: float = 0.1
    recent_days: int = 14
    precompute_orders: int = 20_000
    max_request_orders: int = 250_000
    max_stored_rows: int = 4_000_000


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


def hot_settings() -> tuple[HotIssues, Repeats]:
    return section("hot_issues", HotIssues), section("repeats", Repeats)
