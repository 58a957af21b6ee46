"""The token index: jieba tokens of every order's content, in `order_tokens`, built once per order.

A load publishes the orders first and the index right after, in a second atomic publish: counting, 三率
and rankings do not wait for segmentation, which costs several times the read itself (bench/RESULTS-load.md).
An order without tokens yet is "pending"; analytics.db tokenises pending orders on the fly, so no page
ever misses them, and `python -m etl tokens` (or the next load) finishes an interrupted index.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import duckdb
import polars as pl

from core.segment import data_terms, segment
from etl import store
from core.schema import needs_upgrade

Progress = Callable[[str, float], None]
CHUNK = 100_000  # rows tokenised while the previous chunk is being inserted
SEP = "\x1f"  # joins a row's tokens: one string per row builds the list column far faster than lists do
PENDING_SQL = ("SELECT order_id, date_trunc('month', received_at)::DATE AS month, content, community, address FROM work_orders "
               "WHERE order_id NOT IN (SELECT order_id FROM order_tokens)")


@dataclass
class TokenResult:
    rows_tokenized: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def pending_count(con: duckdb.DuckDBPyConnection) -> int:
    """Orders whose content has not been tokenised yet."""
    return con.execute(f"SELECT count(*) FROM ({PENDING_SQL})").fetchall()[0][0]


def tokenize(texts: list[str | None], extra_words: tuple[str, ...] = ()) -> pl.Series:
    """core.segment.segment as a List[String] column, in this thread: rjieba holds the GIL, and a process
    pool lost to one thread whenever the second CPU was busy (bench/RESULTS-load.md)."""
    tokens = segment(texts, extra_words)
    if any(SEP in t for t in texts if t):
        return pl.Series("tokens", tokens, pl.List(pl.String))
    s = pl.Series("tokens", [SEP.join(t) for t in tokens], pl.String)
    return pl.select(pl.when(s == "").then(pl.lit([], pl.List(pl.String))).otherwise(s.str.split(SEP))).to_series().alias("tokens")


def fill(db: str | os.PathLike | None = None, progress: Progress | None = None) -> TokenResult:
    """Tokenise every pending order of `db` and publish the index atomically; nothing to do writes nothing."""
    progress = progress or (lambda stage, fraction: None)
    started = time.perf_counter()
    path = store.db_path(db)
    if not path.exists():
        return TokenResult()
    reader = store.connect_read(path)
    try:
        waiting = 1 if needs_upgrade(reader, "hotline") else pending_count(reader)
    finally:
        reader.close()
    if not waiting:
        return TokenResult()
    progress("tokenize", 0.0)
    with store.writing(path) as con:
        todo = con.sql(PENDING_SQL).pl()
        _tokenize_and_insert(con, todo, progress)
    progress("tokenize", 1.0)
    return TokenResult(todo.height, round(time.perf_counter() - started, 3))


def _insert(con: duckdb.DuckDBPyConnection, part: pl.DataFrame) -> None:
    con.register("_tokens", part.to_arrow())
    con.execute("INSERT INTO order_tokens (order_id, month, tokens) SELECT order_id, month, tokens FROM _tokens")
    con.unregister("_tokens")


def _tokenize_and_insert(con: duckdb.DuckDBPyConnection, todo: pl.DataFrame, progress: Progress) -> None:
    """Chunk k is inserted by a writer thread (its own cursor; DuckDB releases the GIL) while chunk k+1 is
    tokenised. The user dictionary adds the estates and communities these orders name."""
    extra = tuple(data_terms(todo.select("community", "address").unique()))
    cur = con.cursor()
    try:
        with ThreadPoolExecutor(1) as writer:
            pending = []
            for start in range(0, todo.height, CHUNK):
                part = todo.slice(start, CHUNK)
                part = part.select("order_id", "month", tokenize(part["content"].to_list(), extra))
                pending.append(writer.submit(_insert, cur, part))
                progress("tokenize", min(start + CHUNK, todo.height) / todo.height)
                while pending and pending[0].done():  # a failed insert stops now, not at the end
                    pending.pop(0).result()
            for f in pending:
                f.result()
    finally:
        cur.close()
