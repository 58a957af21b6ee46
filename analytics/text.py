"""Text analytics over the stored tokens: the keyword filter (stopwords, single characters, numbers) and its
polars form. Segmentation itself (`segment`, `cut`, the user dictionary) is core.segment, shared with the load."""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import polars as pl

from core.segment import DATA, read_list

STOPWORDS = DATA / "stopwords.txt"
_NUMBER = re.compile(r"^[\d０-９.,%．，％\-~]+$|^[a-zA-Z0-9]$")


@cache
def stopwords() -> frozenset[str]:
    return frozenset(read_list(STOPWORDS))


def is_keyword(token: str, stop: frozenset[str] | None = None) -> bool:
    """A token worth counting: not a stopword, at least two characters, not a number or code."""
    return len(token) >= 2 and token not in (stop if stop is not None else stopwords()) and not _NUMBER.match(token)


def keywords(tokens: Sequence[str], stop: frozenset[str] | None = None) -> list[str]:
    """The analytic filter over stored tokens (stopwords, single characters, numbers out)."""
    stop = stop if stop is not None else stopwords()
    return [t for t in tokens if is_keyword(t, stop)]


def keyword_expr(column: str = "tokens", stop: frozenset[str] | None = None) -> pl.Expr:
    """keywords() as a polars expression over a list[str] column, for whole frames."""
    stop = stop if stop is not None else stopwords()
    el = pl.element()
    return pl.col(column).list.eval(
        el.filter((el.str.len_chars() >= 2) & ~el.is_in(list(stop)) & ~el.str.contains(_NUMBER.pattern))
    )
