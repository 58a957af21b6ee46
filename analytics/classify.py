"""智能分类与派单: learn 分类 (every level the history has) and 承办部门 from the loaded orders, and suggest
them for any text with calibrated confidence and the words behind them.

Text features: character 1–3-grams of the text and its words (the token index), TF-IDF with sublinear tf,
each block L2-normalised. Categories: one linear SVM per level (one-vs-rest); its scores become
probabilities through a softmax whose temperature is fitted on held-out orders; the levels are decoded
together over the category paths history has seen, so a suggested 二级分类 always lies under its 一级分类.
Department: where an order goes follows from the issue and the place (权责清单 × 属地), so
P(dept | text, place) = Σ_c P(c | text) · P(dept | c, place), the second factor counted from all labelled
history with Dirichlet backoff street → district → whole city.

The model is stored next to the database with the load it learned from (`model_path`); it never learns from
suggestions an analyst applied (order_suggestions.applied).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import normalize

from analytics.db import LOADED, orders_sql, query, with_tokens
from analytics.filters import Filters
from analytics.settings import Settings, load_settings
from analytics.text import keyword_lists
from core.schema import ORDER_SUGGESTION_COLUMNS
from core.segment import segment

LEVELS = ("category_l1", "category_l2", "category_l3")
LEVEL_NAMES = {"category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类", "dept": "承办部门"}
PLACES = ("street", "district")
NO_HISTORY = "历史工单中没有分类，无法学习"
TOP = 3           # suggestions shown per level
DEPT_PATHS = 5    # categories per order carried into the department mixture
SUGGEST_CHUNK = 50_000
SGD_EPOCHS = 5


class ClassifyError(ValueError):
    """Nothing can be learned or suggested; the message says why, in Chinese."""


# Features

def _clean(texts: pl.Expr) -> pl.Expr:
    """Case folded, digits as 0 (a house number is not evidence), whitespace out."""
    return texts.fill_null("").str.to_lowercase().str.replace_all(r"\d", "0").str.replace_all(r"\s+", "")


def _char_pairs(texts: pl.Series) -> pl.DataFrame:
    """(row, gram) for every character 1-, 2- and 3-gram of each text (overlapping; taken n at a time from
    each of n offsets, all in polars)."""
    t = _clean(pl.col("t"))
    parts = [t.str.split("")]
    for n in (2, 3):
        parts += [t.str.slice(o).str.extract_all(f"(?s).{{{n}}}") for o in range(n)]
    return (pl.DataFrame({"t": texts}).select(pl.concat_list(parts).alias("gram")).with_row_index("row")
            .explode("gram").filter(pl.col("gram").is_not_null() & (pl.col("gram") != "")))


def _word_pairs(tokens: pl.Series) -> pl.DataFrame:
    """(row, gram) for every word worth counting (analytics.text.keywords) of each order."""
    words = keyword_lists(tokens).alias("gram")
    return pl.DataFrame(words).with_row_index("row").explode("gram").filter(pl.col("gram").is_not_null())


@dataclass
class Block:
    """One TF-IDF block: its vocabulary in column order and the idf of each column."""
    grams: np.ndarray
    idf: np.ndarray

    @classmethod
    def fit(cls, pairs: pl.DataFrame, n_docs: int, max_features: int, min_df: int) -> "Block":
        df = (pairs.unique().group_by("gram").len("df").filter(pl.col("df") >= min_df)
              .sort(["df", "gram"], descending=[True, False]).head(max_features))
        idf = np.log((1 + n_docs) / (1 + df["df"].to_numpy())) + 1
        return cls(df["gram"].to_numpy().astype(str), idf.astype(np.float32))

    def matrix(self, pairs: pl.DataFrame, n_docs: int) -> sp.csr_matrix:
        vocab = pl.DataFrame({"gram": self.grams, "col": np.arange(len(self.grams), dtype=np.uint32)})
        hit = pairs.join(vocab, on="gram", how="inner")
        x = sp.csr_matrix((np.ones(hit.height, np.float32), (hit["row"].to_numpy(), hit["col"].to_numpy())),
                          shape=(n_docs, len(self.grams)), dtype=np.float32)
        x.data = 1 + np.log(x.data)
        x = x @ sp.diags(self.idf)
        return normalize(x.tocsr(), copy=False)


@dataclass
class Features:
    chars: Block
    words: Block

    @classmethod
    def fit(cls, texts: pl.Series, tokens: pl.Series, s: Settings) -> "Features":
        n = len(texts)
        c = s.classify
        return cls(Block.fit(_char_pairs(texts), n, c.max_features, c.min_df),
                   Block.fit(_word_pairs(tokens), n, c.max_features, c.min_df))

    def transform(self, texts: pl.Series, tokens: pl.Series) -> tuple[sp.csr_matrix, pl.DataFrame]:
        """The feature matrix [chars | words] and the (row, gram, col) of the words, for explanations."""
        n = len(texts)
        words = _word_pairs(tokens)
        x = sp.hstack([self.chars.matrix(_char_pairs(texts), n), self.words.matrix(words, n)], format="csr")
        return x, words.unique(maintain_order=True)

    @property
    def width(self) -> int:
        return len(self.chars.grams) + len(self.words.grams)


# Category levels

@dataclass
class Level:
    """A linear model for one category level; probabilities = softmax(scores / temperature)."""
    labels: np.ndarray
    coef: np.ndarray        # (labels, features) float32
    intercept: np.ndarray
    temperature: float

    def scores(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef.T) + self.intercept

    def proba(self, x: sp.csr_matrix) -> np.ndarray:
        return _softmax(self.scores(x) / self.temperature)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _svm(x: sp.csr_matrix, y: np.ndarray, labels: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """A linear SVM (hinge loss, C as in LinearSVC) by averaged stochastic gradient descent: as accurate
    here as liblinear and several times faster with many labels. Coefficients per label (two labels give
    one hyperplane in sklearn; made into two rows here)."""
    m = SGDClassifier(loss="hinge", alpha=1 / (c * x.shape[0]), average=True, max_iter=SGD_EPOCHS, tol=None,
                      random_state=0, n_jobs=2).fit(x, y)
    coef, icpt = m.coef_.astype(np.float32), m.intercept_.astype(np.float32)
    if len(labels) == 2:
        coef, icpt = np.vstack([-coef, coef]) / 2, np.array([-icpt[0], icpt[0]], np.float32) / 2
    order = np.searchsorted(m.classes_, labels)
    return coef[order], icpt[order]


def _temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """The softmax temperature that minimises the log loss of held-out orders (bounded, in log space)."""
    def nll(log_t: float) -> float:
        p = _softmax(scores / np.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(truth)), truth], 1e-12, None)).mean())
    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.01), np.log(50)), method="bounded").x))


def fit_level(x: sp.csr_matrix, y: np.ndarray, s: Settings, seed: int = 0) -> Level:
    """Labels in `y` (None: unlabelled, left out) that occur at least min_label_count times; the model learns
    from all but a stratified held-out share, on which its softmax temperature is fitted (no refit: training
    once keeps 1,000,000 orders within a minute)."""
    keep = np.array([v is not None for v in y])
    labels, counts = np.unique(y[keep].astype(str), return_counts=True)
    labels = labels[counts >= max(2, s.classify.min_label_count)]
    rows = np.flatnonzero(keep & np.isin(y.astype(str), labels))
    yy = y[rows].astype(str)
    tr, ho = train_test_split(np.arange(len(rows)), test_size=s.classify.holdout_share, stratify=yy, random_state=seed)
    coef, icpt = _svm(x[rows[tr]], yy[tr], labels, s.classify.svm_c)
    held = np.asarray(x[rows[ho]] @ coef.T) + icpt
    return Level(labels, coef, icpt, _temperature(held, np.searchsorted(labels, yy[ho])))


# The whole model

@dataclass
class Model:
    features: Features
    levels: dict[str, Level]
    paths: np.ndarray                      # (paths, levels) label indices seen together in history
    dept: dict[str, pl.DataFrame]          # "street" / "district" / "city" -> key columns, dept, p
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def finest(self) -> str:
        return list(self.levels)[-1]

    @property
    def version(self) -> str:
        return f"{self.meta.get('load_id') or '—'} · {self.meta.get('trained_at', '')}"


def model_path(db: str | os.PathLike) -> Path:
    """The model lives next to its database (data/hotline.duckdb → data/hotline.duckdb.classify.npz)."""
    db = Path(db)
    return db.with_name(db.name + ".classify.npz")


def save(model: Model, path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "chars.grams": model.features.chars.grams, "chars.idf": model.features.chars.idf,
        "words.grams": model.features.words.grams, "words.idf": model.features.words.idf,
        "paths": model.paths, "meta": np.array(json.dumps({**model.meta, "levels": list(model.levels)}, ensure_ascii=False)),
    }
    for name, lv in model.levels.items():
        arrays |= {f"{name}.labels": lv.labels, f"{name}.coef": lv.coef, f"{name}.intercept": lv.intercept,
                   f"{name}.temperature": np.array(lv.temperature)}
    for scope, table in model.dept.items():
        for col in table.columns:
            values = table[col].to_numpy()
            arrays[f"dept.{scope}.{col}"] = values.astype(str) if table.schema[col] == pl.String else values
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load(path: Path) -> Model | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        features = Features(Block(z["chars.grams"], z["chars.idf"]), Block(z["words.grams"], z["words.idf"]))
        levels = {n: Level(z[f"{n}.labels"], z[f"{n}.coef"], z[f"{n}.intercept"], float(z[f"{n}.temperature"]))
                  for n in meta["levels"]}
        dept: dict[str, dict[str, np.ndarray]] = {}
        for key in z.files:
            if key.startswith("dept."):
                _, scope, col = key.split(".", 2)
                dept.setdefault(scope, {})[col] = z[key]
        return Model(features, levels, z["paths"], {k: pl.DataFrame(v) for k, v in dept.items()}, meta)


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
    """The most recent `limit` orders with the office's own category, with text, tokens and place."""
    cols = ["order_id", "content", *LEVELS, "dept", *PLACES, "tokens"]
    inner, params = orders_sql(Filters(), cols)
    sql = (f"SELECT * FROM ({inner}) WHERE category_l1 IS NOT NULL AND {_own(con)} "
           "ORDER BY order_id DESC LIMIT ?")
    return with_tokens(query(con, sql, [*params, limit]))


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


def _dept_tables(con: duckdb.DuckDBPyConnection, finest: str, s: Settings) -> dict[str, pl.DataFrame]:
    """P(dept | category, place) with Dirichlet backoff street → district → city, from all labelled orders
    (counted in DuckDB); departments seen fewer than min_label_count times are left out."""
    n, alpha, keep = s.classify.min_label_count, s.classify.dept_backoff, DEPT_PATHS
    counts = query(con, f"SELECT {finest} AS cat, district, street, dept, count(*)::DOUBLE AS n FROM work_orders "
                        f"WHERE {finest} IS NOT NULL AND dept IS NOT NULL AND {_own(con)} GROUP BY ALL")
    if not counts.height:
        return {}
    big = counts.group_by("dept").agg(pl.col("n").sum()).filter(pl.col("n") >= n)["dept"]
    counts = counts.filter(pl.col("dept").is_in(big.implode()))
    if not counts.height:
        return {}
    city = (counts.group_by("cat", "dept").agg(pl.col("n").sum())
            .with_columns(p=pl.col("n") / pl.col("n").sum().over("cat")))

    def backoff(fine: pl.DataFrame, coarse: pl.DataFrame, key: list[str], parent: list[str]) -> pl.DataFrame:
        # Every department of the coarser scope is a candidate here too, at its smoothed share.
        total = fine.group_by(key).agg(pl.col("n").sum().alias("total"))
        cand = total.join(coarse.select(*parent, "dept", pl.col("p").alias("prior")), on=parent, how="inner")
        cand = cand.join(fine.select(*key, "dept", "n"), on=[*key, "dept"], how="left").with_columns(pl.col("n").fill_null(0))
        return cand.with_columns(p=(pl.col("n") + alpha * pl.col("prior")) / (pl.col("total") + alpha)).drop("prior", "total")

    district = backoff(counts.filter(pl.col("district").is_not_null()).group_by("cat", "district", "dept").agg(pl.col("n").sum()),
                       city, ["cat", "district"], ["cat"])
    street = backoff(counts.filter(pl.col("street").is_not_null() & pl.col("district").is_not_null()),
                     district, ["cat", "district", "street"], ["cat", "district"])

    def top(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
        return (frame.sort("p", descending=True).group_by(key, maintain_order=True).head(keep)
                .select(*key, "dept", pl.col("p").cast(pl.Float32)))

    return {"street": top(street, ["cat", "district", "street"]), "district": top(district, ["cat", "district"]),
            "city": top(city, ["cat"])}


def fit(frame: pl.DataFrame, s: Settings) -> Model:
    """The text model from labelled orders (content, tokens, the category levels); no department tables.
    Raises ClassifyError when there is nothing to learn from."""
    if not frame.height:
        raise ClassifyError(NO_HISTORY + "：请先导入带“问题分类”列的工单。")
    n = max(2, s.classify.min_label_count)
    levels = _levels_present(frame, n)
    if not levels:
        raise ClassifyError(f"{NO_HISTORY}：历史工单中出现至少 {n} 次的一级分类不足两个"
                            "（设置文件 `settings.toml` 的 `[classify]` `min_label_count`）。")
    if "tokens" not in frame.columns:
        frame = frame.with_columns(pl.Series("tokens", segment(frame["content"].to_list()), pl.List(pl.String)))
    features = Features.fit(frame["content"], frame["tokens"], s)
    x, _ = features.transform(frame["content"], frame["tokens"])
    models = {lv: fit_level(x, frame[lv].to_numpy(), s) for lv in levels}
    seen = frame.select(levels).drop_nulls().unique()
    for lv in levels:
        seen = seen.filter(pl.col(lv).is_in(list(models[lv].labels)))
    paths = np.column_stack([np.searchsorted(models[lv].labels, seen[lv].to_numpy().astype(str)) for lv in levels]) \
        if seen.height else np.zeros((0, len(levels)), np.int64)
    return Model(features, models, paths.astype(np.int64), {}, {"trained_orders": frame.height, "min_label_count": n})


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

def _reason(tokens: pl.Series, texts: pl.Series) -> pl.Series:
    """Why an order gets no suggestion: empty text, or a single word (nothing to tell types apart by)."""
    n_tokens = tokens.list.len().fill_null(0)
    blank = texts.fill_null("").str.strip_chars() == ""
    return (pl.select(pl.when(blank).then(pl.lit("诉求内容为空，无法给出建议"))
                      .when(n_tokens <= 1).then(pl.lit("诉求内容只有一个词，信息不足，无法给出建议"))
                      .otherwise(pl.lit(None, pl.String))).to_series().alias("reason"))


def _decode(model: Model, probs: dict[str, np.ndarray]) -> np.ndarray:
    """Per order, the index into model.paths of the most likely seen path (sum of log-probabilities)."""
    if not len(model.paths):
        return np.zeros(next(iter(probs.values())).shape[0], np.int64)
    total = sum(np.log(np.clip(probs[lv][:, model.paths[:, i]], 1e-9, None)) for i, lv in enumerate(model.levels))
    return np.asarray(total).argmax(axis=1)


def _top(labels: np.ndarray, p: np.ndarray, k: int = TOP) -> list[str]:
    idx = np.argsort(-p, axis=1)[:, :k]
    return ["；".join(f"{labels[j]} {p[i, j]:.0%}" for j in row) for i, row in enumerate(idx)]


def _explain(level: Level, x: sp.csr_matrix, offset: int, vocab: np.ndarray, chosen: np.ndarray, k: int) -> list[str]:
    """The words that pushed each order towards its chosen label most: tf-idf weight × the label's coefficient
    (the word block starts at column `offset`)."""
    coo = x[:, offset:].tocoo()
    contrib = coo.data * level.coef[chosen[coo.row], offset + coo.col]
    top = (pl.DataFrame({"row": coo.row.astype(np.int64), "col": coo.col.astype(np.int64), "w": contrib})
           .filter(pl.col("w") > 0).sort(["row", "w"], descending=[False, True]).group_by("row", maintain_order=True).head(k))
    out = [""] * x.shape[0]
    for row, cols in top.group_by("row", maintain_order=True).agg("col").iter_rows():
        out[row] = "、".join(vocab[cols])
    return out


def _dept_mixture(model: Model, p: np.ndarray, places: pl.DataFrame, known: pl.Series | None) -> pl.DataFrame:
    """(row, dept, conf, basis) for the top departments of each order: Σ over its likely categories of
    P(category) × P(dept | category, place), the place being the street if history has the category there,
    else the district, else the whole city. An order's own category, where given, is taken as certain."""
    if not model.dept:
        return pl.DataFrame(schema={"row": pl.UInt32, "dept": pl.String, "conf": pl.Float64, "basis": pl.String})
    labels = model.levels[model.finest].labels
    idx = np.argsort(-p, axis=1)[:, :DEPT_PATHS]
    n, k = idx.shape
    rows = np.repeat(np.arange(n, dtype=np.uint32), k)
    long = pl.DataFrame({"row": rows, "cat": labels[idx.ravel()], "pc": p[rows, idx.ravel()]}).filter(pl.col("pc") >= 0.01)
    if known is not None:
        given = (pl.DataFrame({"cat": known}).with_row_index("row")
                 .filter(pl.col("cat").is_in(model.dept["city"]["cat"].implode())).with_columns(pc=pl.lit(1.0)))
        long = pl.concat([given.select(long.columns), long.join(given.select("row"), on="row", how="anti")], how="vertical_relaxed")
    long = long.join(places.with_row_index("row"), on="row", how="left")
    parts, rest = [], long
    for scope, key, where in (("street", ["cat", "district", "street"], pl.col("street")),
                              ("district", ["cat", "district"], pl.col("district")), ("city", ["cat"], pl.lit("全市"))):
        hit = rest.join(model.dept[scope], on=key, how="inner")
        parts.append(hit.select("row", "dept", (pl.col("pc") * pl.col("p")).alias("w"),
                                pl.format("{}·{}", pl.col("cat"), where).alias("basis")))
        rest = rest.join(hit.select("row", "cat").unique(), on=["row", "cat"], how="anti")
    mixed = pl.concat(parts).sort("w", descending=True)
    return (mixed.group_by("row", "dept", maintain_order=True).agg(pl.col("w").sum().alias("conf"), pl.col("basis").first())
            .sort(["row", "conf"], descending=[False, True]))


def _suggest_chunk(model: Model, chunk: pl.DataFrame, s: Settings, use_known: bool) -> pl.DataFrame:
    texts = chunk["content"]
    tokens = chunk["tokens"] if "tokens" in chunk.columns else pl.Series("tokens", segment(texts.to_list()), pl.List(pl.String))
    n = chunk.height
    reason = _reason(tokens, texts)
    x, _ = model.features.transform(texts, tokens)
    offset, vocab, k = len(model.features.chars.grams), model.features.words.grams, s.classify.explain_words
    probs = {lv: m.proba(x) for lv, m in model.levels.items()}
    best = _decode(model, probs)
    out: dict[str, Any] = {}
    for i, (lv, m) in enumerate(model.levels.items()):
        chosen = model.paths[best, i] if len(model.paths) else probs[lv].argmax(axis=1)
        out[lv] = m.labels[chosen]
        out[f"{lv}_conf"] = probs[lv][np.arange(n), chosen].astype(np.float64).round(4)
        out[f"{lv}_top3"] = _top(m.labels, probs[lv])
        out[f"{lv}_words"] = _explain(m, x, offset, vocab, chosen, k)
    frame = pl.DataFrame(out)
    places = chunk.select(*(pl.col(c) if c in chunk.columns else pl.lit(None, pl.String).alias(c) for c in ("district", "street")))
    known = chunk[model.finest] if use_known and model.finest in chunk.columns else None
    depts = _dept_mixture(model, probs[model.finest], places, known)
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
    """Suggestions for each row of `frame` (content; tokens, district, street where known), in its order:
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
    """Every loaded order suggested again from its text alone (the office's labels unseen), for 派单质量."""
    s = s or load_settings()
    frame = query(con, *orders_sql(Filters(), ["order_id", "content", *PLACES, "tokens"]))
    out = []
    for i in range(0, frame.height, SUGGEST_CHUNK):
        chunk = with_tokens(frame.slice(i, SUGGEST_CHUNK))
        out.append(pl.concat([chunk.select("order_id"), suggest(model, chunk, s)], how="horizontal"))
    return pl.concat(out, how="diagonal_relaxed") if out else pl.DataFrame()


def unlabelled_orders(con: duckdb.DuckDBPyConnection, load_id: str) -> pl.DataFrame:
    """Orders of one load without 一级分类 or 承办部门 (what an upload may get suggestions for)."""
    cols = ["order_id", "content", *LEVELS, "dept", *PLACES, "tokens"]
    inner, params = orders_sql(Filters(), cols)
    return with_tokens(query(con, f"SELECT * FROM ({inner}) WHERE order_id IN (SELECT order_id FROM work_orders "
                                  "WHERE load_id = ? AND (category_l1 IS NULL OR dept IS NULL)) ORDER BY order_id",
                             [*params, load_id]))


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
