"""Ranks as a reader expects them: equal scores (as shown, rounded) share a rank — 1, 2, 2, 4 — whatever the order
the table lists them in."""
from __future__ import annotations

import polars as pl


def tied_rank(value: str | pl.Expr, decimals: int = 1) -> pl.Expr:
    """Rank by `value`, highest first; values equal once rounded to `decimals` (the precision shown on screen)
    get the same, best rank of the group ("min" ranking). Null values get no rank."""
    col = pl.col(value) if isinstance(value, str) else value
    return col.round(decimals).rank("min", descending=True).cast(pl.Int64)


def score_range(values: list[float | None], top: float = 100.0) -> list[float]:
    """An axis range around the values, so 96.1 and 97.8 look different (a 0–100 axis hides it)."""
    known = [v for v in values if v is not None]
    if not known:
        return [0.0, top]
    lo, hi = min(known), max(known)
    pad = max((hi - lo) * 0.15, 0.5)
    return [max(0.0, lo - pad), min(top + pad / 2, hi + pad)]


def worst(table: pl.DataFrame, n: int, rank: str = "rank") -> pl.DataFrame:
    """The n lowest-ranked rows, worst first, and every row tied with the last of them: a tie is never cut in two."""
    ranked = table.drop_nulls(rank)
    if ranked.is_empty() or n < 1:
        return ranked.clear()
    ordered = ranked.with_row_index("_i").sort([rank, "_i"], descending=[True, False]).drop("_i")
    cut = ordered[rank][min(n, ordered.height) - 1]
    return ordered.filter(pl.col(rank) >= cut)
