"""Chinese segmentation shared by the load (the token index, etl.tokens) and the analytics: jieba's dictionary
through rjieba (jieba-rs), same tokens.

`cut` gives exactly what `jieba.lcut` gives (rjieba plus two fixes where jieba-rs differs: runs of ASCII
with '.', '-', '_' … and a few rare CJK code points). `segment` is what the token index stores
(order_tokens): the same cut with a user dictionary of Beijing places, governance terms and (when given)
estate names from the data, minus whitespace and punctuation. `plain()` is jieba with its own dictionary only
(for cut and part-of-speech tagging).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import rjieba

from core.divisions import DISTRICT_SUFFIX, STREET_SUFFIX, districts, streets

DATA = Path(__file__).resolve().parent.parent / "data"
GOVERNANCE_TERMS = DATA / "governance_terms.txt"

# jieba (Python) 0.42.1 splits text into blocks with these; jieba-rs's Han block also takes a few more
# code points, and its HMM step keeps ASCII runs such as "baidu.com" or "1-2-301" whole where jieba splits
# them with RE_SKIP.
_PY_HAN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
_PY_SKIP = re.compile(r"(\r\n|\s)")
_HMM_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_RS_ONLY_HAN = re.compile("[\u9FD6-\u9FFF\uF900-\uFAFF\U00020000-\U0002FFFF]")
_ASCII_PUNCT = re.compile(r"[A-Za-z0-9][._%+#&\-]|[._%+#&\-][A-Za-z0-9]")
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9+#&._%\-]*[._%+#&\-][A-Za-z0-9+#&._%\-]*")
# Tokens that are only punctuation/whitespace are not stored (a set lookup keeps segment fast).
_DROP = frozenset(
    " \t\r\n\u3000\r\n，。、；：？！“”‘’（）【】《》〈〉「」『』…—～·,.;:?!\"'()[]{}<>/\\|~`@^*=+-_"
) | {"\r\n", "……", "——", "...", "--", "？？", "！！", "。。"}


def _fix_ascii(tokens: list[str], jb: rjieba.Jieba) -> list[str]:
    out: list[str] = []
    for t in tokens:
        if len(t) > 1 and _ASCII_TOKEN.fullmatch(t) and not jb.has_word(t):
            out.extend(x for x in _HMM_SKIP.split(t) if x)
        else:
            out.append(t)
    return out


def _cut_blocks(text: str, jb: rjieba.Jieba) -> list[str]:
    """jieba's own block loop, with rjieba cutting the Han/alnum blocks (only for rare code points)."""
    out: list[str] = []
    for blk in _PY_HAN.split(text):
        if not blk:
            continue
        if _PY_HAN.fullmatch(blk):
            out.extend(_fix_ascii(jb.cut(blk), jb))
        else:
            for x in _PY_SKIP.split(blk):
                if _PY_SKIP.fullmatch(x):
                    out.append(x)
                else:
                    out.extend(x)
    return out


def _cut_with(text: str, jb: rjieba.Jieba) -> list[str]:
    if _RS_ONLY_HAN.search(text):
        return _cut_blocks(text, jb)
    tokens = jb.cut(text)
    return _fix_ascii(tokens, jb) if _ASCII_PUNCT.search(text) else tokens


@cache
def plain() -> rjieba.Jieba:
    import rjieba   # here: loading its dictionary costs every process that never segments a quarter second

    return rjieba.Jieba()


def cut(text: str) -> list[str]:
    """Raw tokens, identical to jieba.lcut(text) with jieba's default dictionary and HMM."""
    return _cut_with(text, plain()) if text else []


def read_list(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


@cache
def governance_terms() -> tuple[str, ...]:
    return tuple(read_list(GOVERNANCE_TERMS))


@cache
def place_terms() -> tuple[str, ...]:
    """Official district and street/township names, and their short forms (朝阳, 望京)."""
    names = set(districts()["district"]) | set(streets()["street"])
    names |= {re.sub(DISTRICT_SUFFIX, "", n) for n in districts()["district"]}
    names |= {re.sub(STREET_SUFFIX, "", n) for n in streets()["street"]}
    return tuple(sorted(n for n in names if len(n) >= 2))


# An address prefix naming an estate: "望京西园三区12号楼…" → "望京西园三区"; "…小区/家园/花园/公寓…".
_ESTATE = re.compile(
    r"^(?:北京市?)?(?:[\u4e00-\u9fa5]{1,4}区)?(?:[\u4e00-\u9fa5]{1,6}(?:街道|镇|乡|地区))?"
    r"([\u4e00-\u9fa5]{1,12}(?:区|小区|家园|花园|公寓|社区|村|苑|园|里|城|府|庭|居|院))"
    r"(?:[\d一二三四五六七八九十]+(?:号楼|号院|号|栋|幢|楼|单元|期)|[^\u4e00-\u9fa5]|$)"
)


def data_terms(frame: pl.DataFrame) -> list[str]:
    """Estate and community names found in the data: distinct `community` values and estate-like
    prefixes of `address` (望京西园三区, 天通苑北一区, 某某家园), for the user dictionary."""
    terms: set[str] = set()
    if "community" in frame.columns:
        terms |= {c.strip() for c in frame["community"].drop_nulls().unique().to_list() if 2 <= len(c.strip()) <= 12}
    if "address" in frame.columns:
        prefixes = frame.select(pl.col("address").str.extract(_ESTATE.pattern, 1).alias("p"))["p"].drop_nulls()
        terms |= {p for p in prefixes.unique().to_list() if 3 <= len(p) <= 12}
    return sorted(terms)


def user_terms(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The user dictionary: places, governance terms, and any extra words (e.g. data_terms(frame))."""
    return tuple(sorted({*place_terms(), *governance_terms(), *(w.strip() for w in extra if w and w.strip())}))


@lru_cache(maxsize=4)
def tokenizer(words: tuple[str, ...]) -> rjieba.Jieba:
    """An rjieba instance with jieba's dictionary plus `words`, each given the frequency jieba's
    suggest_freq proposes so it stays whole (jieba.add_word(word, freq) with the same freq cuts alike)."""
    import rjieba

    jb = rjieba.Jieba()
    for w in words:
        if " " not in w:
            jb.add_word(w, jb.suggest_freq(w), None)
    return jb


def user_tokenizer(extra: Iterable[str] = ()) -> rjieba.Jieba:
    return tokenizer(user_terms(extra))


def segment(texts: Sequence[str | None], extra_words: Iterable[str] = ()) -> list[list[str]]:
    """Tokens per text, in order, with the user dictionary; whitespace and punctuation dropped.
    None or empty text gives an empty list. `extra_words`: e.g. data_terms(frame) for estate names."""
    jb = user_tokenizer(tuple(extra_words))
    drop = _DROP
    return [[t for t in _cut_with(s, jb) if t not in drop] if s else [] for s in texts]


@cache
def dictionary_words() -> pl.Series:
    """Every word of jieba's dictionary (the same file rjieba's dictionary is built from)."""
    import jieba  # only its dictionary file is read

    path = Path(jieba.__file__).resolve().parent / "dict.txt"
    return pl.read_csv(path, separator=" ", has_header=False, new_columns=["word", "freq", "pos"], quote_char=None,
                       schema_overrides={"word": pl.String, "freq": pl.String, "pos": pl.String})["word"]


# Parts of speech (jieba's dictionary) that carry no matter: conjunctions, adverbs, prepositions, particles,
# pronouns, numerals, measure words, modal particles, interjections, onomatopoeia, direction and time words,
# affixes, adverbial adjectives, state and distinguishing words.
FUNCTION_POS = frozenset({
    "c", "d", "dg", "df", "p", "u", "uj", "ul", "uv", "ud", "uz", "ug", "r", "rr", "rz", "rg", "m", "mq", "mg",
    "q", "y", "e", "o", "f", "t", "tg", "k", "h", "x", "ad", "z", "zg", "b",
})


@cache
def function_words() -> frozenset[str]:
    """Words of two or more characters that jieba's dictionary tags with a FUNCTION_POS part of speech
    (况且, 由此, 居然, 一个, 今天, 附近 …): general Chinese, not tied to any data set."""
    import jieba  # only its dictionary file is read

    path = Path(jieba.__file__).resolve().parent / "dict.txt"
    out = set()
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and len(parts[0]) >= 2 and parts[2] in FUNCTION_POS:
                out.add(parts[0])
    return frozenset(out)
