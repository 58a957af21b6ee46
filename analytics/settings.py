"""The one settings file (settings.toml): typed access and in-memory overrides for the UI."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.settings import Duckdb, HotIssues, Plausibility, Rates, Repeats, read_toml


@dataclass(frozen=True)
class Composite:
    w_response: float = 0.30
    w_resolution: float = 0.35
    w_satisfaction: float = 0.35


@dataclass(frozen=True)
class Departments:
    w_street_rating: float = 1 / 3


@dataclass(frozen=True)
class Rankings:
    top_n: int = 5
    min_orders: int = 20
    governance_top_share: float = 0.10
    governance_months_hit: int = 2
    governance_window_months: int = 3


@dataclass(frozen=True)
class Hotspots:
    min_count: int = 5
    surge_lift: float = 1.5
    surge_z: float = 3.0
    trailing_months: int = 3
    expected_floor: float = 1.0
    word_min_count: int = 3
    word_min_lift: float = 1.5
    word_min_baseline: int = 200
    coverage_share: float = 0.25


@dataclass(frozen=True)
class Topics:
    level: str = "category_l2"
    w_volume: float = 0.30
    w_breadth: float = 0.25
    w_persistence: float = 0.25
    w_difficulty: float = 0.20
    persistence_lift: float = 1.5
    min_streak_months: int = 3
    low_resolution_gap: float = 0.10


@dataclass(frozen=True)
class Cases:
    arrival_minutes: int = 30
    rank_confidence_z: float = 1.96


@dataclass(frozen=True)
class Forecast:
    horizon: int = 3
    min_history_months: int = 13
    backtest_months: int = 12
    interval: float = 0.8
    level_half_life_months: float = 4.0
    trend_limit: float = 0.03
    trend_damping: float = 0.9
    baseline_months: int = 3
    warn_ratio: float = 1.5
    warn_min_count: int = 10
    seasonal_ratio: float = 2.0
    seasonal_min_count: int = 30
    recent_days: int = 28
    recent_baseline_days: int = 84
    recent_ratio: float = 1.5
    recent_z: float = 3.0
    recent_min_count: int = 10
    rising_months: int = 3
    rising_yoy: float = 1.5
    rising_momentum: float = 1.2
    rising_min_count: int = 20
    rising_z: float = 3.0
    top_units: int = 12


@dataclass(frozen=True)
class Etl:
    upload_max_mb: int = 500


@dataclass(frozen=True)
class Classify:
    min_label_count: int = 20
    confident: float = 0.8
    max_train_orders: int = 50_000
    retrain_new_orders: int = 5_000
    ngram_max: int = 3
    word_max: int = 4
    max_features: int = 100_000
    min_df: int = 2
    svm_c: float = 1.0
    holdout_share: float = 0.1
    dept_backoff: float = 5.0
    place_backoff: float = 1.0
    explain_words: int = 3


@dataclass(frozen=True)
class Security:
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    remember_days: int = 7


@dataclass(frozen=True)
class Settings:
    rates: Rates = Rates()
    composite: Composite = Composite()
    departments: Departments = Departments()
    rankings: Rankings = Rankings()
    hotspots: Hotspots = Hotspots()
    repeats: Repeats = Repeats()
    hot_issues: HotIssues = HotIssues()
    topics: Topics = Topics()
    cases: Cases = Cases()
    forecast: Forecast = Forecast()
    etl: Etl = Etl()
    classify: Classify = Classify()
    plausibility: Plausibility = Plausibility()
    security: Security = Security()
    duckdb: Duckdb = Duckdb()

    def with_overrides(self, section: str, **values: Any) -> "Settings":
        """A copy with some values of one section changed (the UI's "try other weights")."""
        return replace(self, **{section: replace(getattr(self, section), **values)})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_settings(path: Path | str | None = None) -> Settings:
    """Read settings.toml (or WHISTLE_SETTINGS); unknown keys are an error so typos do not pass silently."""
    path, raw = read_toml(path)
    sections = {}
    for f in dataclasses.fields(Settings):
        cls = f.default.__class__
        known = {g.name for g in dataclasses.fields(cls)}
        given = raw.get(f.name, {})
        unknown = set(given) - known
        if unknown:
            raise ValueError(f"{path}: [{f.name}] 中有无法识别的设置项 {sorted(unknown)}，可用项为 {sorted(known)}")
        sections[f.name] = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
    return Settings(**sections)
