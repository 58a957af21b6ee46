"""智能分类与派单: learn 分类 (every level the history has) and 承办部门 from the loaded orders, and suggest
them for any text with calibrated confidence and the words behind them.

Text features: character 1–n-grams of the text and, as a block of its own, of its title line (the loader puts
an export's 标题/留言主题 on the first line), TF-IDF with sublinear tf, each block L2-normalised. Characters
are numbered by the alphabet learned and a gram is the base-B number of its characters, so counting and
looking up grams are array operations with no Python per order. Categories: one linear SVM over the category
paths history has seen (一级/二级/三级 together, a rare label cut off where it becomes rare); its scores become
probabilities through a softmax whose temperature is fitted on held-out orders; a level's probability is the
sum of its paths', and the levels are chosen top down, so a suggested 二级分类 always lies under its 一级分类.
Department: where an order goes follows from the issue and the place (权责清单 × 属地), so
P(dept | text, place) = Σ_c P(c | text) · P(dept | c, place), the second factor counted from all labelled
history with Dirichlet backoff community → street → district → whole city.

The model is stored next to the database with the load it learned from (`model_path`); it never learns from
suggestions an analyst applied (order_suggestions.applied).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import cache, cached_property
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sp

from analytics.db import LOADED, orders_sql, query
from analytics.filters import Filters
from analytics.settings import Settings, load_settings
from core.schema import ORDER_SUGGESTION_COLUMNS
from core.segment import dictionary_words, segment, user_terms

LEVELS = ("category_l1", "category_l2", "category_l3")
LEVEL_NAMES = {"category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类", "dept": "承办部门"}
PLACES = ("district", "street", "community")
NO_HISTORY = "历史工单中没有分类，无法学习"
TOP = 3           # suggestions shown per level
DEPT_PATHS = 5    # categories per order carried into the department mixture
SUGGEST_CHUNK = 50_000
SGD_EPOCHS = 5
SHORT = 16        # texts this short are segmented to tell a one-word text (a longer one is never one word)
FORMAT = 2        # stored model layout; a model in another layout is retrained
BLOCKS = ("chars", "words", "title")


class ClassifyError(ValueError):
    """Nothing can be learned or suggested; the message says why, in Chinese."""


# Features

@cache
def _fold() -> np.ndarray:
    """Per code point, the character it is read as: digits as 0 (a house number is not evidence), letters
    case folded, whitespace -1 (left out)."""
    table = np.arange(0x110000, dtype=np.int32)
    for i in range(0x10000):
        c = chr(i)
        if c.isspace():
            table[i] = -1
        elif c.isdigit():
            table[i] = ord("0")
        elif len(c.lower()) == 1 and c.lower() != c:
            table[i] = ord(c.lower())
    return table


def _title(texts: pl.Expr) -> pl.Expr:
    """The first line of a text of several lines (an export's title), else nothing."""
    t = texts.fill_null("").str.strip_chars()
    return pl.when(t.str.contains("\n", literal=True)).then(t.str.split("\n").list.first()).otherwise(pl.lit(""))


def _code_points(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Every text's characters, folded (`_fold`, whitespace left out), as one array of code points, and each
    text's length."""
    lengths = texts.str.len_chars().fill_null(0).to_numpy().astype(np.int64)
    cp = _fold()[np.frombuffer("".join(texts.fill_null("").to_list()).encode("utf-32-le"), dtype=np.uint32)]
    keep = cp >= 0
    if keep.all():
        return cp, lengths
    doc = np.repeat(np.arange(len(lengths)), lengths)
    return cp[keep], np.bincount(doc[keep], minlength=len(lengths)).astype(np.int64)


_MULT = np.uint64(0x9E3779B97F4A7C15)   # odd: the gram hash's multiplier


def _grams(cp: np.ndarray, lengths: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, gram number, length) of every 1- … longest-character gram within each text. A gram's number is
    a polynomial hash of its code points modulo 2**64 (collisions among the few million grams a history has
    are vanishingly rare), so grams are counted and looked up as integers."""
    total = len(cp)
    doc = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    room = np.repeat(np.cumsum(lengths), lengths) - np.arange(total)   # characters left in the text from here
    padded = np.concatenate([cp.astype(np.uint64) + np.uint64(1), np.zeros(longest, np.uint64)])
    number = np.zeros(total, np.uint64)
    docs, ids, sizes = [], [], []
    for k in range(longest):
        number = number * _MULT + padded[k: k + total]
        ok = room > k
        docs.append(doc[ok])
        ids.append(number[ok].view(np.int64))
        sizes.append(np.full(int(ok.sum()), k + 1, np.int8))
    return np.concatenate(docs), np.concatenate(ids), np.concatenate(sizes)



@cache
def _dictionary(longest: int) -> pl.DataFrame:
    """(id, word) of every word of two to `longest` characters in jieba's dictionary and the user dictionary
    (places, governance terms): general Chinese, not any one data set's words."""
    words = pl.concat([dictionary_words(), pl.Series("word", user_terms())]).unique()
    cp, lengths = _code_points(words)
    doc, ids, sizes = _grams(cp, lengths, longest)
    whole = np.flatnonzero((sizes == lengths[doc]) & (sizes >= 2))    # each word's own number
    return pl.DataFrame({"id": ids[whole], "word": words.gather(doc[whole])}).unique("id", keep="first")


@dataclass
class Block:
    """One TF-IDF block: the gram numbers that are its columns, their idf, and (for the words block) the
    words themselves."""
    ids: np.ndarray
    idf: np.ndarray
    words: np.ndarray

    @classmethod
    def fit(cls, df: pl.DataFrame, n_docs: int, max_features: int, min_df: int) -> "Block":
        top = df.filter(pl.col("df") >= min_df).sort(["df", "id"], descending=[True, False]).head(max_features)
        idf = (np.log((1 + n_docs) / (1 + top["df"].to_numpy())) + 1).astype(np.float32)
        words = top["word"].to_numpy().astype(str) if "word" in top.columns else np.zeros(0, str)
        return cls(top["id"].to_numpy().astype(np.int64), idf, words)

    def matrix(self, doc: np.ndarray, col: np.ndarray, n_docs: int) -> sp.csr_matrix:
        x = sp.csr_matrix((np.ones(len(doc), np.float32), (doc, col)), shape=(n_docs, len(self.ids)), dtype=np.float32)
        x.data = 1 + np.log(x.data)
        x.data *= self.idf[x.indices]
        from sklearn.preprocessing import normalize   # here: importing sklearn costs the pages a second

        return normalize(x, copy=False) if len(self.ids) else x


def _counts(texts: pl.Series, longest: int) -> tuple[pl.DataFrame, int]:
    """Per gram: the number of texts it occurs in (df) and its length."""
    cp, lengths = _code_points(texts)
    doc, ids, sizes = _grams(cp, lengths, longest)
    df = (pl.DataFrame({"doc": doc, "id": ids, "size": sizes}).unique(["doc", "id"])
          .group_by("id").agg(pl.len().alias("df"), pl.col("size").first()))
    return df, len(lengths)


@dataclass
class Features:
    """Three blocks side by side: the text's character 1–n-grams, the dictionary words in the text (every
    place a word of 2–word_max characters occurs, overlapping, no segmentation needed), and the character
    1–n-grams of its title line."""
    chars: Block
    words: Block
    title: Block
    ngram_max: int
    word_max: int

    @staticmethod
    def _parts(texts: pl.Series) -> pl.DataFrame:
        return pl.DataFrame({"t": texts}).select(pl.col("t").fill_null("").alias("text"), _title(pl.col("t")).alias("title"))

    @classmethod
    def fit(cls, texts: pl.Series, s: Settings) -> "Features":
        c, parts = s.classify, cls._parts(texts)
        n, w = c.ngram_max, c.word_max
        df, n_docs = _counts(parts["text"], max(n, w))
        chars = Block.fit(df.filter(pl.col("size") <= n), n_docs, c.max_features, c.min_df)
        words = Block.fit(df.join(_dictionary(w), on="id"), n_docs, c.max_features, c.min_df)
        title_df, _ = _counts(parts["title"], n)
        return cls(chars, words, Block.fit(title_df, n_docs, c.max_features, c.min_df), n, w)

    @cached_property
    def _columns(self) -> pl.DataFrame:
        """Gram number → (block, column) for the text's two blocks (a short word is in both)."""
        return pl.concat([pl.DataFrame({"id": b.ids, "block": np.full(len(b.ids), i, np.int8),
                                        "col": np.arange(len(b.ids), dtype=np.int64)})
                          for i, b in enumerate((self.chars, self.words))])

    @cached_property
    def _title_columns(self) -> pl.DataFrame:
        return pl.DataFrame({"id": self.title.ids, "col": np.arange(len(self.title.ids), dtype=np.int64)})

    @cached_property
    def inside(self) -> sp.csr_matrix:
        """C[i, j] = 1 when dictionary word i occurs inside the longer word j (人行 in 人行道); built once per
        model from the words' own substrings."""
        words = self.words.words
        index = {w: i for i, w in enumerate(words)}
        pairs = [(index[w[a:a + n]], j) for j, w in enumerate(words) for n in range(2, len(w))
                 for a in range(len(w) - n + 1) if w[a:a + n] in index]
        i, j = (np.array(v, dtype=np.int64) for v in zip(*pairs)) if pairs else (np.zeros(0, np.int64),) * 2
        return sp.csr_matrix((np.ones(len(i), np.float32), (i, j)), shape=(len(words), len(words)))

    @property
    def word_offset(self) -> int:
        return len(self.chars.ids)

    def transform(self, texts: pl.Series) -> sp.csr_matrix:
        """[chars | words | title] for each text; the lookups are hash joins (the fastest way here)."""
        parts = self._parts(texts)
        cp, lengths = _code_points(parts["text"])
        doc, ids, _ = _grams(cp, lengths, max(self.ngram_max, self.word_max))
        hit = pl.DataFrame({"doc": doc, "id": ids}).join(self._columns, on="id", how="inner")
        blocks = []
        for i, b in enumerate((self.chars, self.words)):
            part = hit.filter(pl.col("block") == i)
            blocks.append(b.matrix(part["doc"].to_numpy(), part["col"].to_numpy(), len(lengths)))
        cp, lengths = _code_points(parts["title"])
        doc, ids, _ = _grams(cp, lengths, self.ngram_max)
        hit = pl.DataFrame({"doc": doc, "id": ids}).join(self._title_columns, on="id", how="inner")
        blocks.append(self.title.matrix(hit["doc"].to_numpy(), hit["col"].to_numpy(), len(lengths)))
        return sp.hstack(blocks, format="csr")


# Categories

@dataclass
class Level:
    """One category level: its labels (sorted) and, for each category path, its label here (-1 where the
    path stops above this level)."""
    labels: np.ndarray
    member: np.ndarray

    def indicator(self) -> sp.csr_matrix:
        """(paths × labels) 0/1: summing path probabilities into this level's."""
        rows = np.flatnonzero(self.member >= 0)
        return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, self.member[rows])),
                             shape=(len(self.member), len(self.labels)))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _svm(x: sp.csr_matrix, y: np.ndarray, classes: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """A linear SVM (hinge loss, C as in LinearSVC; classes weighted by their inverse frequency, so a small
    category counts as much as a large one) by averaged stochastic gradient descent, one-vs-rest. Weights as
    (features × classes), the layout a sparse row × weights product reads fastest."""
    from sklearn.linear_model import SGDClassifier

    m = SGDClassifier(loss="hinge", alpha=1 / (c * x.shape[0]), average=True, max_iter=SGD_EPOCHS, tol=None,
                      class_weight="balanced", random_state=0, n_jobs=2).fit(x, y)
    coef, icpt = m.coef_.astype(np.float32), m.intercept_.astype(np.float32)
    if classes == 2:   # sklearn gives one hyperplane for two classes; made into one row each
        coef, icpt = np.vstack([-coef, coef]) / 2, np.array([-icpt[0], icpt[0]], np.float32) / 2
    return np.ascontiguousarray(coef.T), icpt


def _temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that minimises the log loss of held-out orders (bounded, in log space)."""
    def nll(log_t: float) -> float:
        p = _softmax(scores / np.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, None)).mean())
    from scipy.optimize import minimize_scalar

    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.01), np.log(50)), method="bounded").x))


def _levels_present(frame: pl.DataFrame, n: int) -> list[str]:
    """Levels the history has, top down, as long as each has at least two labels seen n times."""
    out = []
    for lv in LEVELS:
        if lv not in frame.columns:
            break
        counts = frame[lv].drop_nulls().value_counts()
        if counts.filter(pl.col("count") >= n).height < 2:
            break
        out.append(lv)
    return out


def _paths(frame: pl.DataFrame, levels: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The category paths seen at least n times, each cut where a label first is rare (seen fewer than n
    times) or missing, as (paths × levels) labels ("" below the cut), and each order's path (-1: none)."""
    cut, whole = [], pl.lit(True)
    for lv in levels:
        common = frame[lv].drop_nulls().value_counts().filter(pl.col("count") >= n)[lv]
        kept = pl.when(whole & pl.col(lv).is_in(common.implode())).then(pl.col(lv))
        cut.append(kept.alias(lv))
        whole = whole & kept.is_not_null()
    rows = frame.select(cut).with_row_index("row").filter(pl.col(levels[0]).is_not_null())
    counts = rows.group_by(levels).len().filter(pl.col("len") >= n).sort(levels, nulls_last=True)
    paths = counts.select(pl.col(levels).fill_null("")).with_row_index("path")
    joined = rows.with_columns(pl.col(levels).fill_null("")).join(paths, on=levels, how="inner")
    y = np.full(frame.height, -1, np.int64)
    y[joined["row"].to_numpy()] = joined["path"].to_numpy()
    return paths.select(levels).to_numpy().astype(str).reshape(-1, len(levels)), y


def _level_table(paths: np.ndarray, names: list[str]) -> dict[str, Level]:
    out = {}
    for i, lv in enumerate(names):
        labels = np.unique(paths[paths[:, i] != "", i])
        member = np.where(paths[:, i] != "", np.searchsorted(labels, paths[:, i]), -1)
        out[lv] = Level(labels, member.astype(np.int64))
    return out


# The whole model

@dataclass
class Model:
    features: Features
    paths: np.ndarray                      # (paths, levels) category paths seen in history, "" below a cut
    names: list[str]                       # the levels, top down
    weights: np.ndarray                    # (features, paths) linear SVM
    intercept: np.ndarray
    temperature: float
    dept: dict[str, pl.DataFrame]          # "community" / "street" / "district" / "city" -> keys, dept, p
    meta: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, Level] = field(init=False)

    def __post_init__(self) -> None:
        self.levels = _level_table(self.paths, self.names)

    @property
    def finest(self) -> str:
        return self.names[-1]

    @property
    def version(self) -> str:
        return f"{self.meta.get('load_id') or '—'} · {self.meta.get('trained_at', '')}"

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        """P(path | text) for each row of x."""
        return _softmax((np.asarray(x @ self.weights) + self.intercept) / self.temperature)


def model_path(db: str | os.PathLike) -> Path:
    """The model lives next to its database (data/hotline.duckdb → data/hotline.duckdb.classify.npz)."""
    db = Path(db)
    return db.with_name(db.name + ".classify.npz")


def save(model: Model, path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "paths": model.paths, "weights": model.weights, "intercept": model.intercept,
        "temperature": np.array(model.temperature),
        "meta": np.array(json.dumps({**model.meta, "levels": model.names, "format": FORMAT}, ensure_ascii=False)),
    }
    f = model.features
    for name in BLOCKS:
        b = getattr(f, name)
        arrays |= {f"{name}.ids": b.ids, f"{name}.idf": b.idf, f"{name}.words": b.words}
    arrays["grams"] = np.array([f.ngram_max, f.word_max])
    for scope, table in model.dept.items():
        for col in table.columns:
            values = table[col].to_numpy()
            arrays[f"dept.{scope}.{col}"] = values.astype(str) if table.schema[col] == pl.String else values
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load(path: Path) -> Model | None:
    """The stored model, or None when there is none or it is in an older layout (it is then retrained)."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if meta.get("format") != FORMAT:
            return None
        blocks = [Block(z[f"{b}.ids"], z[f"{b}.idf"], z[f"{b}.words"]) for b in BLOCKS]
        dept: dict[str, dict[str, np.ndarray]] = {}
        for key in z.files:
            if key.startswith("dept."):
                _, scope, col = key.split(".", 2)
                dept.setdefault(scope, {})[col] = z[key]
        return Model(Features(*blocks, *map(int, z["grams"])), z["paths"], meta["levels"], z["weights"], z["intercept"], float(z["temperature"]),
                     {k: pl.DataFrame(v) for k, v in dept.items()}, meta)


# Training

def last_load(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest load that wrote work orders: the history version a model learns from."""
    row = query(con, "SELECT load_id FROM loads WHERE list_contains(?, status) AND kind IN ('work_orders', 'demo') "
                     "ORDER BY finished_at DESC NULLS LAST, load_id DESC LIMIT 1", [list(LOADED)])
    return row["load_id"][0] if row.height else None


def has_suggestions(con: duckdb.DuckDBPyConnection) -> bool:
    """Databases written before suggestions existed get the table on their next write."""
    return bool(query(con, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'order_suggestions'")["n"][0])


def _own(con: duckdb.DuckDBPyConnection) -> str:
    """Predicate over work_orders: the office's own labels, not suggestions an analyst applied."""
    return "order_id NOT IN (SELECT order_id FROM order_suggestions WHERE applied)" if has_suggestions(con) else "TRUE"


def labelled_count(con: duckdb.DuckDBPyConnection) -> int:
    """Orders with the office's own 一级分类 (suggestions an analyst applied do not count)."""
    return int(query(con, f"SELECT count(*) AS n FROM work_orders WHERE category_l1 IS NOT NULL AND {_own(con)}")["n"][0])


def training_orders(con: duckdb.DuckDBPyConnection, limit: int) -> pl.DataFrame:
    """The most recent `limit` orders with the office's own category, with text and place."""
    inner, params = orders_sql(Filters(), ["order_id", "content", *LEVELS, "dept", *PLACES])
    sql = f"SELECT * FROM ({inner}) WHERE category_l1 IS NOT NULL AND {_own(con)} ORDER BY order_id DESC LIMIT ?"
    return query(con, sql, [*params, limit])


SCOPES = {"community": ["district", "street", "community"], "street": ["district", "street"], "district": ["district"],
          "city": []}


def _dept_tables(con: duckdb.DuckDBPyConnection, finest: str, s: Settings) -> dict[str, pl.DataFrame]:
    """P(dept | category, place) from all labelled orders (counted in DuckDB), each place leaning on the one
    above it with Dirichlet pseudo-orders: community on street (place_backoff), street on district and
    district on city (dept_backoff). Departments seen fewer than min_label_count times are left out."""
    c = s.classify
    counts = query(con, f"SELECT {finest} AS cat, district, street, community, dept, count(*)::DOUBLE AS n "
                        f"FROM work_orders WHERE {finest} IS NOT NULL AND dept IS NOT NULL AND {_own(con)} GROUP BY ALL")
    big = counts.group_by("dept").agg(pl.col("n").sum()).filter(pl.col("n") >= c.min_label_count)["dept"]
    counts = counts.filter(pl.col("dept").is_in(big.implode()))
    if not counts.height:
        return {}
    def top(frame: pl.DataFrame, scope: str) -> pl.DataFrame:
        return (frame.sort("p", descending=True).group_by(["cat", *SCOPES[scope]], maintain_order=True).head(DEPT_PATHS)
                .select("cat", *SCOPES[scope], "dept", pl.col("p").cast(pl.Float32)))

    tables = {"city": top(counts.group_by("cat", "dept").agg(pl.col("n").sum())
                          .with_columns(p=pl.col("n") / pl.col("n").sum().over("cat")), "city")}
    coarse = "city"
    for scope, alpha in (("district", c.dept_backoff), ("street", c.dept_backoff), ("community", c.place_backoff)):
        key, parent = ["cat", *SCOPES[scope]], ["cat", *SCOPES[coarse]]
        fine = counts.filter(pl.all_horizontal(pl.col(SCOPES[scope]).is_not_null())).group_by(key + ["dept"]).agg(pl.col("n").sum())
        # The coarser place's leading departments are candidates here too, at their smoothed shares.
        total = fine.group_by(key).agg(pl.col("n").sum().alias("total"))
        cand = total.join(tables[coarse].select(*parent, "dept", pl.col("p").alias("prior")), on=parent, how="inner")
        cand = pl.concat([cand, fine.join(cand.select(*key, "dept"), on=[*key, "dept"], how="anti")
                          .join(total, on=key).with_columns(prior=pl.lit(0.0, pl.Float32))
                          .select(cand.columns)], how="vertical_relaxed")
        cand = cand.join(fine, on=[*key, "dept"], how="left").with_columns(pl.col("n").fill_null(0))
        tables[scope] = top(cand.with_columns(p=(pl.col("n") + alpha * pl.col("prior")) / (pl.col("total") + alpha)), scope)
        coarse = scope
    return tables


def fit(frame: pl.DataFrame, s: Settings) -> Model:
    """The text model from labelled orders (content and the category levels); no department tables.
    Raises ClassifyError when there is nothing to learn from."""
    if not frame.height:
        raise ClassifyError(NO_HISTORY + "：请先导入带“问题分类”列的工单。")
    n = max(2, s.classify.min_label_count)
    names = _levels_present(frame, n)
    if not names:
        raise ClassifyError(f"{NO_HISTORY}：历史工单中出现至少 {n} 次的一级分类不足两个"
                            "（设置文件 `settings.toml` 的 `[classify]` `min_label_count`）。")
    paths, y = _paths(frame, names, n)
    rows = np.flatnonzero(y >= 0)
    texts = frame["content"].gather(rows)
    features = Features.fit(texts, s)
    x, y = features.transform(texts), y[rows]
    from sklearn.model_selection import train_test_split

    tr, ho = train_test_split(np.arange(len(y)), test_size=s.classify.holdout_share, stratify=y, random_state=0)
    weights, icpt = _svm(x[tr], y[tr], len(paths), s.classify.svm_c)
    temperature = _temperature(np.asarray(x[ho] @ weights) + icpt, y[ho])
    return Model(features, paths, names, weights, icpt, temperature, {}, {"trained_orders": len(y), "min_label_count": n})


def train(con: duckdb.DuckDBPyConnection, settings: Settings | None = None, load_id: str | None = None) -> Model:
    """Learn from the loaded history (the text model from the most recent max_train_orders labelled orders,
    the department shares from all). Raises ClassifyError when there is nothing to learn from."""
    s = settings or load_settings()
    started = time.perf_counter()
    model = fit(training_orders(con, s.classify.max_train_orders), s)
    model.dept = _dept_tables(con, model.finest, s)
    model.meta |= {"load_id": load_id if load_id is not None else last_load(con), "labelled": labelled_count(con),
                   "trained_at": datetime.now().isoformat(timespec="seconds"),
                   "seconds": round(time.perf_counter() - started, 2)}
    return model


# Suggestions

def _reason(texts: pl.Series, tokens: pl.Series | None) -> pl.Series:
    """Why an order gets no suggestion: empty text, or a single word (nothing to tell types apart by). Only
    short texts are segmented for that (tokens from the index where given)."""
    t = texts.fill_null("").str.strip_chars()
    short = np.flatnonzero(((t.str.len_chars() <= SHORT) & (t != "")).to_numpy())
    words = np.full(len(t), 2)
    if len(short):
        cut = tokens.gather(short).to_list() if tokens is not None else segment(t.gather(short).to_list())
        words[short] = [len(w or []) for w in cut]
    return (pl.select(pl.when(t == "").then(pl.lit("诉求内容为空，无法给出建议"))
                      .when(pl.Series(words) <= 1).then(pl.lit("诉求内容只有一个词，信息不足，无法给出建议"))
                      .otherwise(pl.lit(None, pl.String))).to_series().alias("reason"))


def _top(labels: np.ndarray, p: np.ndarray, k: int = TOP) -> pl.Series:
    """'label 97%；label 2%；…' of each row's k most likely labels."""
    k = min(k, p.shape[1])
    idx = np.argsort(-p, axis=1)[:, :k]
    pct = np.rint(np.take_along_axis(p, idx, axis=1) * 100).astype(np.int64)
    names = pl.Series(labels.tolist(), dtype=pl.String)
    parts = {f"l{j}": names.gather(idx[:, j]) for j in range(k)} | {f"p{j}": pct[:, j] for j in range(k)}
    return pl.DataFrame(parts).select(pl.concat_str(
        [e for j in range(k) for e in ((pl.lit("；") if j else pl.lit("")), pl.col(f"l{j}"), pl.lit(" "),
                                       pl.col(f"p{j}").cast(pl.String), pl.lit("%"))]).alias("top3")).to_series()


def _explain(model: Model, x: sp.csr_matrix, path: np.ndarray, k: int) -> pl.Series:
    """The dictionary words in each text that pushed it towards its chosen path most: tf-idf weight × the
    path's weight over the words block (gathers over the sparse rows and one sort, no loop over orders)."""
    f = model.features
    start, width = f.word_offset, len(f.words.ids)
    rows = np.repeat(np.arange(x.shape[0], dtype=np.int64), np.diff(x.indptr))
    inside = np.flatnonzero((x.indices >= start) & (x.indices < start + width))    # the words block's entries
    rows, cols = rows[inside], x.indices[inside].astype(np.int64) - start
    contrib = x.data[inside] * model.weights[cols + start, path[rows]]
    keep = contrib > 0
    rows, cols, contrib = rows[keep], cols[keep], contrib[keep]
    order = np.lexsort((-contrib, rows))                                   # by row, strongest first
    rows, cols = rows[order], cols[order]

    def leading(r: np.ndarray, n: int) -> np.ndarray:
        return np.arange(len(r)) - np.searchsorted(r, r) < n                 # the first n of each row's run

    first = leading(rows, 2 * k)
    rows, cols = rows[first], cols[first]
    # A word inside another of the row's candidates (人行 in 人行道) says nothing more: shown once, the longer.
    # (candidates × inside-of)ᵀ is nonzero exactly at the (row, word) pairs another candidate contains.
    cand = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(x.shape[0], width))
    inner = (cand @ f.inside.T).tocoo()
    kept = ~np.isin(rows * width + cols, inner.row.astype(np.int64) * width + inner.col)
    rows, cols = rows[kept], cols[kept]
    shown = leading(rows, k)
    words = (pl.DataFrame({"row": rows[shown], "word": pl.Series(f.words.words[cols[shown]], dtype=pl.String)})
             .group_by("row", maintain_order=True).agg(pl.col("word").str.join("、")))
    return (pl.DataFrame({"row": np.arange(x.shape[0], dtype=np.int64)})
            .join(words, on="row", how="left", maintain_order="left")["word"].fill_null(""))


def _dept_mixture(model: Model, p: np.ndarray, places: pl.DataFrame, known: pl.Series | None) -> pl.DataFrame:
    """(row, dept, conf, basis) for the top departments of each order: Σ over its likely categories of
    P(category) × P(dept | category, place), the place being the community if history has the category
    there, else the street, the district, the whole city. An order's own category, where given, is certain."""
    if not model.dept:
        return pl.DataFrame(schema={"row": pl.UInt32, "dept": pl.String, "conf": pl.Float64, "basis": pl.String})
    labels = model.levels[model.finest].labels
    k = min(DEPT_PATHS, p.shape[1])
    idx = np.argsort(-p, axis=1)[:, :k]
    rows = np.repeat(np.arange(p.shape[0], dtype=np.uint32), k)
    long = pl.DataFrame({"row": rows, "cat": labels[idx.ravel()], "pc": p[rows, idx.ravel()]}).filter(pl.col("pc") >= 0.01)
    if known is not None:
        given = (pl.DataFrame({"cat": known}).with_row_index("row")
                 .filter(pl.col("cat").is_in(model.dept["city"]["cat"].implode())).with_columns(pc=pl.lit(1.0)))
        long = pl.concat([given.select(long.columns), long.join(given.select("row"), on="row", how="anti")], how="vertical_relaxed")
    long = long.join(places.with_row_index("row"), on="row", how="left")
    parts, rest = [], long
    for scope, cols in SCOPES.items():
        if scope not in model.dept:
            continue
        hit = rest.join(model.dept[scope], on=["cat", *cols], how="inner")
        where = pl.col(cols[-1]) if cols else pl.lit("全市")
        parts.append(hit.select("row", "dept", (pl.col("pc") * pl.col("p")).alias("w"),
                                pl.format("{}·{}", pl.col("cat"), where).alias("basis")))
        rest = rest.join(hit.select("row", "cat").unique(), on=["row", "cat"], how="anti")
    mixed = pl.concat(parts).sort("w", descending=True)
    return (mixed.group_by("row", "dept", maintain_order=True).agg(pl.col("w").sum().alias("conf"), pl.col("basis").first())
            .sort(["row", "conf"], descending=[False, True]))


def _suggest_chunk(model: Model, chunk: pl.DataFrame, s: Settings, use_known: bool) -> pl.DataFrame:
    texts, n = chunk["content"], chunk.height
    reason = _reason(texts, chunk["tokens"] if "tokens" in chunk.columns else None)
    x = model.features.transform(texts)
    pp = model.proba(x)
    allowed = np.ones(pp.shape, bool)
    out: dict[str, Any] = {}
    marginal: dict[str, np.ndarray] = {}
    for lv, level in model.levels.items():
        m = level.indicator()
        marginal[lv] = np.asarray(m.T @ pp.T).T                    # P(label) at this level
        under = np.asarray(m.T @ (pp * allowed).T).T               # ... among paths under the labels chosen above
        chosen = under.argmax(axis=1)
        stop = under[np.arange(n), chosen] <= 0                    # every path left stops above this level
        allowed &= (level.member[None, :] == chosen[:, None]) | stop[:, None]
        label = pl.Series(lv, level.labels.tolist(), dtype=pl.String).gather(chosen)
        out[lv] = label.scatter(np.flatnonzero(stop), None) if stop.any() else label
        out[f"{lv}_conf"] = np.where(stop, np.nan, marginal[lv][np.arange(n), chosen]).astype(np.float64).round(4)
        out[f"{lv}_top3"] = _top(level.labels, marginal[lv])
    path = np.where(allowed, pp, -1).argmax(axis=1)
    words = _explain(model, x, path, s.classify.explain_words)
    for lv in model.levels:
        out[f"{lv}_words"] = words
    frame = pl.DataFrame(out).with_columns(pl.col(f"{lv}_conf").fill_nan(None) for lv in model.levels)
    places = chunk.select(*(pl.col(c).cast(pl.String) if c in chunk.columns else pl.lit(None, pl.String).alias(c) for c in PLACES))
    known = chunk[model.finest] if use_known and model.finest in chunk.columns else None
    depts = _dept_mixture(model, marginal[model.finest], places, known)
    if depts.height:
        first = depts.group_by("row", maintain_order=True).first()
        top3 = depts.group_by("row", maintain_order=True).head(TOP).group_by("row", maintain_order=True).agg(
            pl.format("{} {}%", pl.col("dept"), (pl.col("conf") * 100).round(0).cast(pl.Int64)).str.join("；").alias("dept_top3"))
        dept = (pl.DataFrame({"row": np.arange(n, dtype=np.uint32)})
                .join(first.select("row", "dept", pl.col("conf").round(4).alias("dept_conf"), pl.col("basis").alias("dept_basis")),
                      on="row", how="left").join(top3, on="row", how="left").drop("row"))
        frame = pl.concat([frame, dept], how="horizontal")
    frame = frame.with_columns(reason)
    suggested = [c for c in frame.columns if c != "reason"]
    return frame.with_columns(pl.when(pl.col("reason").is_null()).then(pl.col(c)).alias(c) for c in suggested)


def suggest(model: Model, frame: pl.DataFrame, settings: Settings | None = None, use_known: bool = False) -> pl.DataFrame:
    """Suggestions for each row of `frame` (content; district, street, community where known), in its order:
    per level the label, its confidence (0–1), the top 3 and the words behind it; the department likewise
    with the category and place it follows from (dept_basis); `reason` where there is no suggestion.
    `use_known`: an order's own finest category, where given, decides its department."""
    s = settings or load_settings()
    if not frame.height:
        return _suggest_chunk(model, pl.DataFrame({"content": ["占位 文本"]}), s, False).clear()
    parts = [_suggest_chunk(model, frame.slice(i, SUGGEST_CHUNK), s, use_known) for i in range(0, frame.height, SUGGEST_CHUNK)]
    return pl.concat(parts, how="diagonal_relaxed")


# Keeping the model current

def status(con: duckdb.DuckDBPyConnection, db: str | os.PathLike, s: Settings | None = None) -> dict[str, Any]:
    """The stored model and how far history has moved since: {model, labelled_now, new_labelled, stale, why}.
    A model whose load is not in this database learned from another history and is never used."""
    s = s or load_settings()
    model = load(model_path(db))
    now = labelled_count(con)
    if model is None:
        return {"model": None, "labelled_now": now, "new_labelled": now, "stale": True, "why": "尚未训练分类模型"}
    known = query(con, "SELECT count(*) AS n FROM loads WHERE load_id = ?", [model.meta.get("load_id")])["n"][0]
    if not known:
        return {"model": None, "labelled_now": now, "new_labelled": now, "stale": True,
                "why": "已存的分类模型学习自另一份数据（其导入批次不在本数据库中）"}
    new = max(0, now - int(model.meta.get("labelled", 0)))
    stale = new >= s.classify.retrain_new_orders
    return {"model": model, "labelled_now": now, "new_labelled": new, "stale": stale,
            "why": f"模型训练后新增 {new:,} 条已分类工单" if stale else ""}


def history_suggestions(con: duckdb.DuckDBPyConnection, model: Model, s: Settings | None = None) -> pl.DataFrame:
    """Every loaded order suggested again from its text and place alone (the office's labels unseen), for 派单质量."""
    s = s or load_settings()
    frame = query(con, *orders_sql(Filters(), ["order_id", "content", *PLACES]))
    if not frame.height:
        return pl.DataFrame()
    return pl.concat([frame.select("order_id"), suggest(model, frame.drop("order_id"), s)], how="horizontal")


def unlabelled_orders(con: duckdb.DuckDBPyConnection, load_id: str) -> pl.DataFrame:
    """Orders of one load without 一级分类 or 承办部门 (what an upload may get suggestions for)."""
    inner, params = orders_sql(Filters(), ["order_id", "content", *LEVELS, "dept", *PLACES])
    return query(con, f"SELECT * FROM ({inner}) WHERE order_id IN (SELECT order_id FROM work_orders "
                      "WHERE load_id = ? AND (category_l1 IS NULL OR dept IS NULL)) ORDER BY order_id", [*params, load_id])


def suggestion_rows(frame: pl.DataFrame, source: str, model: Model, applied: bool = False) -> pl.DataFrame:
    """Suggestions (with order_id) in the shape of the order_suggestions table."""
    finest_words = f"{model.finest}_words"
    rows = frame.with_columns(source=pl.lit(source), model=pl.lit(model.meta.get("load_id")), applied=pl.lit(applied),
                              words=pl.col(finest_words) if finest_words in frame.columns else pl.lit(None, pl.String))
    return rows.select(pl.col(c) if c in rows.columns else pl.lit(None).alias(c) for c in ORDER_SUGGESTION_COLUMNS)


def describe(model: Model) -> str:
    m = model.meta
    return (f"分类模型学习自导入批次 {m.get('load_id') or '—'}（{m.get('labelled', 0):,} 条已分类工单，"
            f"其中最近的 {m.get('trained_orders', 0):,} 条用于学习文本），训练于 {m.get('trained_at', '—')}")
