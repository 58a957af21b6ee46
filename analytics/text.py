"""Text analytics over the stored tokens: the keyword filter and its whole-column form. Segmentation itself
(`segment`, `cut`, the user dictionary) is core.segment, shared with the load.

Keywords are content words only: no stopwords (letters' and calls' boilerplate included), no function words
by jieba's dictionary part of speech, no single characters, numbers, anonymisation codes (A7) or placeholder
province names; English case-folded, without English stopwords.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import polars as pl

from core.segment import DATA, function_words, read_list

STOPWORDS = DATA / "stopwords.txt"
STOPWORDS_EN = DATA / "stopwords_en.txt"
PROVINCES = DATA / "china_provinces.txt"
# Codes an export puts where it hides or numbers something (A7, K3, B12), after case folding.
_CODE = r"^[a-z]{1,2}\d{1,4}[a-z]?$"

_NUMBER = re.compile(r"^[\d０-９.,%．，％\-~]+$|^[a-zA-Z0-9]$")


@cache
def stopwords() -> frozenset[str]:
    return frozenset(read_list(STOPWORDS))


@cache
def english_stopwords() -> frozenset[str]:
    return frozenset(w.lower() for w in read_list(STOPWORDS_EN))


@cache
def provinces() -> frozenset[str]:
    return frozenset(read_list(PROVINCES))


@cache
def _excluded() -> tuple[str, ...]:
    return tuple(sorted(stopwords() | english_stopwords() | function_words()))


def _default_excluded(stop: frozenset[str] | None) -> list[str]:
    return list(_excluded() if stop is None else sorted(stop | english_stopwords() | function_words()))


def is_keyword(token: str, stop: frozenset[str] | None = None) -> bool:
    """A content word worth counting (after case folding): see keyword_lists for the rules."""
    t = token.lower()
    if len(t) < 2 or _NUMBER.match(t) or re.match(_CODE, t):
        return False
    if t in (stop if stop is not None else stopwords()) or t in english_stopwords() or t in function_words():
        return False
    return not (t.endswith("省") and t not in provinces())


def keywords(tokens: Sequence[str], stop: frozenset[str] | None = None) -> list[str]:
    """The analytic filter over stored tokens: content words, case-folded."""
    return [t.lower() for t in tokens if is_keyword(t, stop)]


def keyword_lists(tokens: pl.Series, stop: frozenset[str] | None = None) -> pl.Series:
    """keywords() of every row of a list[str] Series. `stop` replaces the Chinese stopword list
    (data/stopwords.txt); English stopwords, function words (by part of speech), numbers, codes such as A7
    and province names that are not real provinces (西地省: an anonymised data set's placeholder) are always
    left out. The rules run once per distinct token, not per occurrence."""
    tokens = tokens.cast(pl.List(pl.String))
    kept = (pl.DataFrame({"tok": tokens.explode().drop_nulls().unique()})
            .with_columns(word=pl.col("tok").str.to_lowercase()).filter(_is_keyword(pl.col("word"), stop)))
    el = pl.element()
    out = tokens.list.eval(el.filter(el.is_in(kept["tok"].to_list())))
    fold = kept.filter(pl.col("word") != pl.col("tok"))
    if fold.height:
        out = out.list.eval(el.replace(fold["tok"].to_list(), fold["word"].to_list()))
    return out


def _is_keyword(word: pl.Expr, stop: frozenset[str] | None) -> pl.Expr:
    """is_keyword over a column of case-folded words."""
    excluded, official = _default_excluded(stop), sorted(provinces())
    return ((word.str.len_chars() >= 2) & ~word.is_in(excluded) & ~word.str.contains(_NUMBER.pattern)
            & ~word.str.contains(_CODE) & ~(word.str.ends_with("省") & ~word.is_in(official)))


def keyword_rows(frame: pl.DataFrame, column: str = "word", stop: frozenset[str] | None = None) -> pl.DataFrame:
    """The rows of `frame` whose `column` (case-folded words, e.g. counted in DuckDB) is a keyword by the
    rules of keyword_lists."""
    return frame.filter(pl.col(column).is_not_null() & _is_keyword(pl.col(column), stop))


def keyword_expr(column: str = "tokens", stop: frozenset[str] | None = None) -> pl.Expr:
    """keyword_lists as a polars expression (kept for callers that need an expression; keyword_lists is
    faster on large frames, as it applies the rules once per distinct token)."""
    excluded, official = _default_excluded(stop), sorted(provinces())
    el = pl.element()
    return pl.col(column).list.eval(el.str.to_lowercase()).list.eval(el.filter(
        (el.str.len_chars() >= 2) & ~el.is_in(excluded) & ~el.str.contains(_NUMBER.pattern)
        & ~el.str.contains(_CODE) & ~(el.str.ends_with("省") & ~el.is_in(official))))
