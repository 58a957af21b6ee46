"""热点问题: one concrete problem raised by several different callers in a short time.

Nothing is quadratic in the number of orders, and only the period shown is read:
1. each order gets a specific place, its spot: a place the export itself names (community column, the named
   part of an address) found in its text, else an estate, road, school, shop or site its text names (a name
   before a place suffix that reads as a name: no grammar word, no verb opening a clause, not a kind of place
   such as 建筑工地 or 市政府), else its address; and a signature, its top_k problem tokens by TF-IDF (no
   grammar or time words, no divisions, not the words of its own place; short or English texts use their
   category);
2. blocking: orders sharing a signature token at the same spot (else the same area), or sharing a rare token
   anywhere, are sorted by time and each is paired with its `window` next neighbours in that block;
3. a candidate pair is kept when the cosine of the two signatures reaches settings.hot_issues.text_similarity
   and the two orders are not at two different places; the same spot adds place_bonus, and without one, two
   titles sharing a rare word (a company, a policy) add head_bonus;
4. union-find over kept pairs; groups at one place told in different words are merged;
5. each group of at least min_size orders is judged on its burst (`judge`): callers in its busiest burst_days
   against its own rate outside them; hot groups that are one issue found twice are merged (`_merge_duplicates`,
   `settle`), and a group whose problem cannot be named is not one concrete problem.
recurring.repeats lists the same groups as root causes, so hot issues and repeats agree.
"""
from __future__ import annotations

import math
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, lru_cache
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from analytics.db import orders as fetch_orders
from analytics.filters import Filters, from_args
from analytics.settings import HotIssues, Settings, load_settings
from analytics.text import stopwords
from core.segment import place_terms, plain, segment

if TYPE_CHECKING:   # analytics.hot_months imports this module
    from analytics.hot_months import Plan

INPUT_COLUMNS = (
    "order_id", "received_at", "content", "tokens", "channel", "district", "street", "community", "address",
    "lat", "lon", "caller_key", "likes", "category_l1", "category_l2", "category_l3", "request_type", "dept",
)

ESTATE_SUFFIX = "小区|花园|家园|公寓|新城|新村|嘉园|家属院|宿舍|大院|号院|苑|园|城|湾|府|里|大厦|广场|村|庄|滩"
ROAD_SUFFIX = "[东西南北中]?(?:大街|大道|路|街)|胡同|巷"
FACILITY_SUFFIX = "小学|中学|幼儿园|学校|学院|大学|医院|保健院|卫生服务中心|市场|公园|工地|(?:垃圾|搅拌|地铁|公交|车|加油|充电)站|店|超市|商场|馆"
# A name: 2–10 characters that are not function words, then a place suffix. Estate parts chain (伊景园滨河苑,
# 望京西园三区), and a road or school named after an estate or area stays one name (亚运村北路, 亚运村实验小学):
# otherwise the area would pass for the place and the road for a problem word.
_NAME_CHAR = r"[^\s的了在与及对把被是从向于们我你他她它这那哪啥么每该此就都也还又再很更最不没无请要让给说问]"
_PART = r"(?:[东西南北中一二三四五六七八九十]区)"
_PLACE_RE = (
    rf"{_NAME_CHAR}{{2,10}}?(?:{ESTATE_SUFFIX})(?:{_NAME_CHAR}{{0,4}}?(?:{ESTATE_SUFFIX}))*{_PART}?"
    rf"(?:{ROAD_SUFFIX}|{_NAME_CHAR}{{0,2}}?(?:小学|中学|幼儿园|医院))?"
    rf"|{_NAME_CHAR}{{2,10}}?(?:{ROAD_SUFFIX})|{_NAME_CHAR}{{2,10}}?(?:{FACILITY_SUFFIX})"
)
_ADMIN = r"[A-Z]\d*[市区县省]|[\u4e00-\u9fa5]{2}省|[\u4e00-\u9fa5]{2,4}(?:街道|地区)|[，。！？、；：,.!?;:（）()“”\"'《》\s]"
_ADMIN_UNIT = re.compile(r"[\u4e00-\u9fa5]{2,4}(?:街道|镇|乡|地区)")
# Who speaks and how ("市民来电咨询", "反映") is not part of the place that follows.
_LEAD = r"^.*(?:投诉|举报|反映|关于|建议|咨询|请问|位于|地处|家住|住在|表示|来电人|来电|网友|市民)|^(?:小区|社区|[区市县省])"
_GENERIC_PLACE = (
    r"^(我们|咱们|你们|他们|本|该|这个|整个|周边|附近|所在|现在|目前|安置|老旧|其他|各个|一些|相关|多条|因|居民)"
    r"|(铁路|道路|马路|公路|城市|夜里|家里|这里|那里|哪里|心里|手里|屋里|楼里|跑路|出路|走路|上路)$"
    r"|旁边|附近|对面|门口|周边|楼下|卡里$"
    rf"|^(?:{ESTATE_SUFFIX}|{ROAD_SUFFIX}|{FACILITY_SUFFIX})$")
_SPECIFIC = re.compile(rf"({ESTATE_SUFFIX}|{_PART})$")
# 幼儿园, 公园, 保健院 end like an estate but are facilities: named in full, never folded into an estate.
_FACILITY_END = re.compile(rf"(?:{FACILITY_SUFFIX})$")
_SUFFIXES = re.compile(rf"(?:{FACILITY_SUFFIX}|{ROAD_SUFFIX}|{ESTATE_SUFFIX}|{_PART})+$")
# Part-of-speech tags (jieba) of words that never belong to a place name: prepositions, conjunctions,
# particles, modal words, interjections; and verbs.
_FUNCTION_TAGS = frozenset({"p", "c", "u", "uj", "ul", "uv", "uz", "ud", "ug", "y", "e"})
_VERB_TAGS = frozenset({"v", "vd", "vi"})
# Proper names (places, organisations, brands) and what only qualifies a kind of place (numbers, times, ranks).
_PROPER_TAGS = frozenset({"ns", "nt", "nz"})
# A count or a length (2个厕所里, 生活十几年里, 段长度2公里) is a stretch of sentence, not a name.
_COUNTED_RE = re.compile(r"[\d十百千几两多][个年月日天次段座栋层户元块米倍岁]|\d号[^院楼]")
_MODIFIER_TAGS = frozenset({"m", "mq", "q", "t", "f", "b", "r", "d"})
_ROAD_END = rf"(?:{ROAD_SUFFIX})$"
_CJK2 = r"^[\u4e00-\u9fff]{2,}$"


def place_names(texts: pl.Series, divisions: tuple[str, ...] = ()) -> pl.Series:
    """Per text, the named places in it, in order: estates, roads, schools, shops, sites … (admin prefixes,
    speakers and generic words removed). Vectorised: every order is read, so this must not loop in Python."""
    names = (
        pl.DataFrame({"t": texts.cast(pl.String)}).with_row_index("row")
        .select("row", name=pl.col("t").str.slice(0, 400).str.replace_all(_admin_pattern(divisions), " ")
                .str.extract_all(_PLACE_RE)).explode("name").drop_nulls("name")
        .with_columns(pl.col("name").str.replace(_LEAD, ""), k=pl.int_range(pl.len()).over("row"))
    )
    # A road in front of an estate is a second place (万家丽南路丽发新城).
    split = pl.col("name").str.extract(rf"^(.+?(?:路|大道|大街))(.{{3,}})$", 1)
    rest = pl.col("name").str.extract(rf"^(.+?(?:路|大道|大街))(.{{3,}})$", 2)
    estate = pl.col("name").str.contains(_SPECIFIC.pattern) & ~pl.col("name").str.contains(_FACILITY_END.pattern)
    parts = pl.concat([
        names.filter(estate & split.is_not_null()).select("row", "k", j=pl.lit(0), name=split),
        names.select("row", "k", j=pl.lit(1), name=pl.when(estate & split.is_not_null()).then(rest).otherwise("name")),
    ]).with_columns(name=pl.when((pl.col("name").str.len_chars() >= 5) & pl.col("name").str.ends_with("小区"))
                    .then(pl.col("name").str.slice(0, pl.col("name").str.len_chars() - 2)).otherwise("name"))
    kept = parts.filter((pl.col("name").str.len_chars() >= 3) & ~pl.col("name").str.contains(_GENERIC_PLACE))
    clauses = [n for n in kept["name"].unique().to_list() if not is_place_name(n)]
    kept = kept.filter(~pl.col("name").is_in(clauses))
    out = kept.sort("row", "k", "j").group_by("row", maintain_order=True).agg("name")
    full = pl.DataFrame({"row": pl.int_range(texts.len(), eager=True).cast(pl.UInt32)})
    return full.join(out, on="row", how="left")["name"].fill_null([]).alias("places")


def is_place_name(name: str) -> bool:
    """Whether a would-be place name (text before a place suffix) reads as a name, not a stretch of sentence:
    what precedes its suffix holds no function word, and no verb taking what follows as its object, at the
    start (导致小区, 增设路, 乘坐出租车时司机绕路) or anywhere in a long stretch (廉租房漏水导致电路); and 里 after a
    common noun is "inside" (楼道里, 冰箱里), not a 里 estate. Only dictionary words count: a name's own
    syllables (悦享, 百善) are unknown to the dictionary and tagged at random."""
    jb = plain()
    if is_generic_place(name) or _COUNTED_RE.search(name):
        return False
    prefix = _SUFFIXES.sub("", name) or name
    tagged = jb.tag(prefix)
    # A name does not open with a particle or a one-character verb (想住院…医院, 算进补课费里).
    opening = jb.tag(name)[0]
    if tagged and (tagged[0][1] in _FUNCTION_TAGS or (len(opening[0]) == 1 and opening[1] in _VERB_TAGS)):
        return False
    words = [(w, t) for w, t in tagged if len(w) >= 2 and jb.has_word(w)]
    if any(t in _FUNCTION_TAGS for _, t in words):
        return False
    verbs = [w for w, t in words if t in _VERB_TAGS]
    if verbs and (prefix.startswith(verbs[0]) or len(tagged) >= 4):
        return False
    return not (name.endswith("里") and len(words) == 1 and words[0][0] == prefix and words[0][1] == "n")


@lru_cache(maxsize=8)
def _admin_pattern(divisions: tuple[str, ...] = ()) -> str:
    """Prefixes that end a place name: anonymised or official divisions (A市A5区, the official districts,
    cities and towns in data/, the export's own district and street values, any 街道/地区, a province) and
    punctuation. A 镇 or 乡 counts only when it is a known division: 蓝湾小镇 is an estate."""
    known = {t for t in place_terms() if t.endswith(("区", "县", "市", "镇", "乡"))} | set(divisions)
    return "|".join([*map(re.escape, sorted(known, key=len, reverse=True)), _ADMIN])


@lru_cache(maxsize=1 << 16)
def is_generic_place(name: str) -> bool:
    """A kind of place, not a named one: one dictionary word that is not a proper name (建筑工地, 市政府,
    幼儿园, 停车场), or such a word after only numbers, times, ranks or a division (18年政府, 县级以上人民政府,
    市政府) or only common words (农田休耕政府)."""
    jb = plain()
    tagged = jb.tag(name)
    last, tag = tagged[-1]
    if len(tagged) == 1:
        return jb.has_word(name) and tag not in _PROPER_TAGS
    if len(last) < 2 or not jb.has_word(last):
        return False
    if all(w in "市县区省镇乡" or t in _MODIFIER_TAGS for w, t in tagged[:-1]):
        return tag not in ("ns", "nz")
    # A kind of place after common words only (农田休耕政府, 人民心目中政府): no syllable of a name in it.
    return is_generic_place(last) and sum(len(w) >= 2 for w, _ in tagged[:-1]) >= 2 and all(
        jb.has_word(w) and t not in _PROPER_TAGS and t not in ("nr", "nrt", "nrfg") for w, t in tagged[:-1])


def _main_place(head_names: pl.Series, names: pl.Series) -> pl.Series:
    """The place each order is about, from the places named in its head (first line) and in its whole text:
    the first estate-like name in the head, else any name there, else the first estate-like name in the
    rest of the text, else any."""
    specific = pl.element().str.contains(_SPECIFIC.pattern)
    frame = pl.DataFrame({"h": head_names, "w": names})
    return frame.select(pl.coalesce(
        pl.col("h").list.eval(pl.element().filter(specific)).list.first(), pl.col("h").list.first(),
        pl.col("w").list.eval(pl.element().filter(specific)).list.first(), pl.col("w").list.first(),
    ))["h"]


def _address_place(address: pl.Series, divisions: tuple[str, ...] = ()) -> pl.Series:
    """The place each export's address names, without admin prefixes and house numbers: the last named part
    (北京市朝阳区望京西园三区212号楼3单元 → 望京西园三区, 亚运村北路12号附近 → 亚运村北路,
    迎宾一路135号悦澜新都 → 悦澜新都). Worked out once per distinct address (the division pattern is long)."""
    a = pl.col("a")
    distinct = address.cast(pl.String).drop_nulls().unique().to_frame("a").with_columns(
        stem=a.str.replace_all(_admin_pattern(divisions), " ")
        .str.replace_all(r"[\d一二三四五六七八九十]*[\d]+(?:号楼|号院|号|栋|幢|楼|单元|室|层|弄)?|与|附近|交叉口|旁边|对面", " ")
        .str.strip_chars().str.split(" ").list.eval(pl.element().filter(pl.element().str.len_chars() >= 2)).list.last(),
        # An address without Chinese (311 exports: 659 CAULDWELL AVENUE) is the place as written.
        latin=a.str.to_uppercase().str.replace_all(r"\s+", " ").str.strip_chars(),
    ).select("a", p=pl.when(~a.str.contains(r"[\u4e00-\u9fff]") & (pl.col("latin").str.len_chars() >= 3)).then("latin")
             .when(pl.col("stem").str.len_chars() >= 3).then("stem"))
    return address.cast(pl.String).to_frame("a").join(distinct, on="a", how="left", maintain_order="left")["p"]


def _divisions(docs: pl.DataFrame) -> tuple[str, ...]:
    """The export's own district and street names (and their short forms for streets: 竹溪 of 竹溪街道)."""
    values = set(docs["district"].drop_nulls().unique().to_list()) if "district" in docs.columns else set()
    values |= set(docs["street"].drop_nulls().unique().to_list())
    return tuple(sorted(v for v in values if len(v) >= 2))


def _known_places(docs: pl.DataFrame, address: pl.Series | None = None) -> list[str]:
    """Places the export itself names (its community column without 社区/居委会/村委会, and the named part of its
    addresses), so that a text naming one is about it whatever its name ends with (悦澜新都, 望江Park): the
    data, not a list of suffixes, says what a place is. Divisions, generic words and names shorter than
    three characters are left out."""
    community = docs["community"].drop_nulls().str.replace(r"(?:社区居委会|居委会|村委会|社区)$", "")
    divisions = _divisions(docs)
    address = (address if address is not None else _address_place(docs["address"], divisions)).drop_nulls()
    names = pl.concat([community, address]).unique()
    names = names.filter((names.str.len_chars() >= 3) & names.str.contains(r"[\u4e00-\u9fff]")
                         & ~names.is_in(list(place_terms())))
    return sorted((n for n in names.to_list() if not is_generic_place(n) and n not in divisions),
                  key=lambda n: (-len(n), n))


def _place_stem(name: str | None) -> str | None:
    """A named place without its kind (丽发新城 → 丽发), so that 丽发小区 and 丽发新城 meet. Roads and
    facilities keep their full name (亚运村北路 and 亚运村东路 are two places)."""
    if not name:
        return None
    if not _SPECIFIC.search(name) or _FACILITY_END.search(name):
        return name
    stem = re.sub(rf"(?:{ESTATE_SUFFIX})+$", "", name)
    return stem if len(stem) >= 2 else name


def _place_kind(name: str) -> str:
    """R road, E estate (or village …), F facility (school, shop, site …)."""
    return "R" if re.search(_ROAD_END, name) else "F" if _FACILITY_END.search(name) else "E" if _SPECIFIC.search(name) else "F"


def spot_keys(spots: pl.Series) -> pl.Series:
    """Per order, a key for its specific place: kind and stem, so that one place written in several ways
    gets one key (丽发新城小区, 丽发小区 → E:丽发; an estate is mapped to the commonest estate stem it holds:
    商品房伊景园滨河苑 → 伊景园滨河) while two roads, or a road and the estate it is named after, never share
    one (亚运村北路 ≠ 亚运村东路 ≠ 亚运村). Linear in distinct names: only each stem's substrings are looked up."""
    counts = dict(spots.drop_nulls().value_counts().iter_rows())
    key = {n: f"{_place_kind(n)}:{_place_stem(n)}" for n in counts}
    estates = Counter()
    for n, c in counts.items():
        if key[n][0] == "E":
            estates[key[n][2:]] += c
    target = {}
    for stem in estates:
        inside = (stem[i:j] for i in range(len(stem)) for j in range(i + 2, len(stem) + 1))
        target[stem] = max((x for x in inside if x in estates), key=lambda x: (estates[x], len(x), x))
    for stem in target:
        while target[target[stem]] != target[stem]:
            target[stem] = target[target[stem]]
    canonical = {n: f"E:{target[k[2:]]}" if k[0] == "E" else k for n, k in key.items()}
    return spots.replace_strict(canonical, default=None, return_dtype=pl.String)


def prepare(orders: pl.DataFrame, h: HotIssues) -> pl.DataFrame:
    """The columns clustering needs (defaults for those the source lacks), row index `i`, and the places:
    place_key, the area the export gives (street + community / address / lat-lon cell), and spot, the specific
    place the order is about (the estate, road, school, shop … its text names, else its address), with
    spot_key to compare and block on."""
    defaults = {"tokens": pl.List(pl.String), "likes": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
                "received_at": pl.Datetime("us")}
    frame = orders.with_columns(
        [pl.lit(None, dtype=defaults.get(c, pl.String)).alias(c) for c in INPUT_COLUMNS if c not in orders.columns]
    )
    if frame.height and frame["tokens"].null_count() == frame.height:
        frame = frame.with_columns(pl.Series("tokens", segment(frame["content"].to_list()), pl.List(pl.String)))
    # `i` (and so every group's number and every tie broken by it) follows the orders, not the order they
    # were read in: the same orders always give the same groups.
    frame = frame.sort("received_at", "order_id", nulls_last=True)
    structured = pl.coalesce(
        pl.concat_str([pl.col("street").fill_null(""), pl.col("community")], separator="|"),
        pl.concat_str([pl.col("street").fill_null(""), pl.col("address")], separator="|"),
        pl.when(pl.col("lat").is_not_null() & pl.col("lon").is_not_null()).then(pl.format(
            "grid|{}|{}", (pl.col("lat") / h.grid_deg).floor().cast(pl.Int64), (pl.col("lon") / h.grid_deg).floor().cast(pl.Int64))),
    )
    docs = frame.select(*INPUT_COLUMNS).with_row_index("i").with_columns(
        pl.col("content", "street", "community", "address").cast(pl.String)).with_columns(place_key=structured)
    text = docs["content"].fill_null("")
    head = text.str.split("\n").list.first().str.slice(0, h.head_chars * 2)
    divisions = _divisions(docs)
    places = place_names(text, divisions)
    addressed = _address_place(docs["address"], divisions)
    known = _known_places(docs, addressed)
    named = text.str.slice(0, 400).str.extract_many(known, leftmost=True) if known else pl.Series([[]] * docs.height)
    named_head = head.str.extract_many(known, leftmost=True) if known else named
    docs = docs.with_columns(places, text_place=pl.Series(pl.DataFrame({"k": named_head, "K": named, "r": _main_place(
        places if (head == text).all() else place_names(head, divisions), places)}).select(
        pl.coalesce(pl.col("k").list.first(), "r", pl.col("K").list.first()))["k"])).with_columns(
        spot=pl.coalesce("text_place", addressed),
        place_name=pl.coalesce("community", "address", pl.col("places").list.join("|").replace("", None)),
        # The words of the place an order is about say where, not what (亚运村, 北路, 实验小学).
        place_words=pl.concat_str([pl.col(c).fill_null("") for c in ("community", "address", "text_place")],
                                  separator="|"),
    )
    return docs.with_columns(spot_key=spot_keys(docs["spot"]))


def signatures(docs: pl.DataFrame, h: HotIssues) -> pl.DataFrame:
    """(i, tok, tok_id, df, w) rows: each order's top_k problem tokens by TF-IDF, L2-normalised.
    Tokens that are part of the order's own place name are left out: the place is matched separately."""
    n = docs.height
    # The head of a text (its first line when it has a title, else its first head_chars characters) says
    # what it is about; the rest is circumstance.
    head = pl.when(pl.col("content").str.contains("\n")).then(
        pl.col("content").str.split("\n").list.first().str.len_chars()).otherwise(h.head_chars)
    place = pl.col("place_words")
    generic = list(stopwords())
    rows = (
        docs.select("i", "place_words", head=head, tok=pl.col("tokens")).explode("tok").drop_nulls("tok")
        .with_columns(start=pl.col("tok").str.len_chars().cum_sum().over("i") - pl.col("tok").str.len_chars())
        .filter(pl.col("tok").str.contains(_CJK2) & ~pl.col("tok").is_in(generic)
                # Districts, streets and their short forms (朝阳, 亚运村, 双井) say where, not what.
                & ~pl.col("tok").is_in(list(place_terms()))
                & ~place.str.contains(pl.col("tok").str.slice(0, 2), literal=True)
                & ~place.str.contains(pl.col("tok").str.slice(-2, 2), literal=True))
        .group_by("i", "tok").agg(tf=pl.len(), in_head=(pl.col("start") < pl.col("head")).any())
    )
    # Grammar and time words (晚上, 一直, 我们) say nothing about the problem.
    vocab = rows["tok"].unique()
    grammar = [t for t in vocab.to_list() if _is_grammar(t)]
    rows = rows.filter(~pl.col("tok").is_in(grammar))
    # Short or English texts (311 descriptors) say little: their category is their matter.
    words = rows.group_by("i").agg(n=pl.len())
    category = pl.concat_str([pl.lit("类:"), pl.coalesce("category_l3", "category_l2", "category_l1")])
    filed = (docs.join(words, on="i", how="left").filter(pl.col("n").fill_null(0) < 2)
             .select("i", tok=category).drop_nulls("tok").with_columns(tf=pl.lit(1, pl.UInt32), in_head=pl.lit(True)))
    rows = pl.concat([rows, filed.cast(rows.schema)])
    df = rows.group_by("tok").agg(df=pl.len())
    max_df = max(h.max_df_share * n, 3)
    weighted = (
        rows.join(df.filter((pl.col("df") >= 2) & (pl.col("df") <= max_df)), on="tok")
        .with_columns(w=(1 + pl.col("tf").cast(pl.Float64).log()) * (n / pl.col("df")).log()
                      * pl.when(pl.col("in_head")).then(h.head_boost).otherwise(1.0))
        .sort(["i", "w", "tok"], descending=[False, True, False])
        .group_by("i", maintain_order=True).head(h.top_k)
        .with_columns(w=pl.col("w") / (pl.col("w") ** 2).sum().over("i").sqrt())
    )
    vocab = weighted.select(pl.col("tok").unique().sort()).with_row_index("tok_id")
    return weighted.join(vocab, on="tok")


def candidates(docs: pl.DataFrame, sig: pl.DataFrame, h: HotIssues) -> pl.DataFrame:
    """Pairs (a, b), a < b, of orders next to each other in time inside a blocking key: same place and
    token, same place (any token), or the same rare token anywhere."""
    n = docs.height
    rare = max(h.rare_df_share * n, h.rare_df_min)
    vocab = int(sig["tok_id"].max()) + 2 if sig.height else 2
    # Integer keys: (block, token), (block, none) and (no block, rare token) never collide.
    meta = docs.select("i", "received_at", block=_block().rank("dense").cast(pl.Int64))
    # A category says what, never where: it brings orders together only at one place.
    s = sig.select("i", "tok_id", "df", filed=pl.col("tok").str.starts_with("类:")).join(meta, on="i")
    keyed = pl.concat([
        s.filter(pl.col("block").is_not_null()).select("i", "received_at", key=pl.col("block") * vocab + pl.col("tok_id")),
        meta.filter(pl.col("block").is_not_null()).select("i", "received_at", key=pl.col("block") * vocab + vocab - 1),
        s.filter((pl.col("df") <= rare) & ~pl.col("filed")).select("i", "received_at", key=pl.col("tok_id").cast(pl.Int64)),
    ])
    return _window_pairs(keyed, h.window)


def _block() -> pl.Expr:
    """Where an order is compared with others: its specific place, else the export's area."""
    return pl.coalesce(pl.format("S|{}", "spot_key"), pl.format("P|{}", "place_key"))


def _window_pairs(keyed: pl.DataFrame, window: int) -> pl.DataFrame:
    """(i, received_at, key) rows → pairs of orders at most `window` apart in time order within a key."""
    keyed = keyed.sort("key", "received_at", "i")
    pairs = []
    for step in range(1, window + 1):
        pairs.append(keyed.select(
            a=pl.col("i"), b=pl.col("i").shift(-step), same=pl.col("key") == pl.col("key").shift(-step),
        ).filter(pl.col("same")).select("a", "b"))
    both = pl.concat(pairs).filter(pl.col("a") != pl.col("b"))
    code = pl.min_horizontal("a", "b").cast(pl.Int64) * 2**32 + pl.max_horizontal("a", "b").cast(pl.Int64)
    return both.select(code=code.unique()).select(
        a=(pl.col("code") // 2**32).cast(pl.UInt32), b=(pl.col("code") % 2**32).cast(pl.UInt32))


def text_components(docs: pl.DataFrame, sig: pl.DataFrame, block: str, threshold: float, h: HotIssues) -> np.ndarray:
    """Per order, a component id: orders of one block (e.g. one caller) linked by signature cosine ≥ threshold."""
    meta = docs.select("i", "received_at", blk=pl.col(block)).filter(pl.col("blk").is_not_null())
    keyed = pl.concat([
        sig.join(meta, on="i").select("i", "received_at", key=pl.struct("blk", "tok_id").hash()),
        meta.select("i", "received_at", key=pl.col("blk").hash()),
    ])
    pairs = _window_pairs(keyed, h.window) if keyed.height else pl.DataFrame({"a": [], "b": []}, schema={"a": pl.UInt32, "b": pl.UInt32})
    if not pairs.height:
        return np.arange(docs.height)
    kept = pairs.filter(pl.Series(cosines(sig, docs.height, pairs, h.top_k) >= threshold))
    return components(docs.height, kept["a"].to_numpy(), kept["b"].to_numpy())


def cosines(sig: pl.DataFrame, n: int, pairs: pl.DataFrame, top_k: int) -> np.ndarray:
    """Cosine of the signatures of each pair (exact over the top_k tokens), in chunks."""
    return cosine_parts(sig, n, pairs, top_k)[0]


def cosine_parts(sig: pl.DataFrame, n: int, pairs: pl.DataFrame, top_k: int,
                 rare_head: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Per pair, the cosine of the signatures (float32) and, given rare_head, whether both heads hold the
    same word found in at most rare_head orders (else None): one pass over the pairs serves both."""
    ids = np.full((n, top_k), -1, dtype=np.int32)
    ws = np.zeros((n, top_k), dtype=np.float32)
    rh = np.zeros((n, top_k), dtype=bool)
    pos = sig.select("i", "tok_id", "w", rare=pl.col("in_head") & (pl.col("df") <= (rare_head or 0.0)),
                     p=pl.int_range(pl.len()).over("i"))
    at = pos["i"].to_numpy(), pos["p"].to_numpy()
    ids[at], ws[at], rh[at] = pos["tok_id"].to_numpy(), pos["w"].to_numpy(), pos["rare"].to_numpy()
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    out = np.empty(len(a), dtype=np.float32)
    shared = np.zeros(len(a), dtype=bool) if rare_head is not None else None
    chunk = 200_000
    for start in range(0, len(a), chunk):
        ia, ib = a[start:start + chunk], b[start:start + chunk]
        ta, tb = ids[ia], ids[ib]
        eq = (ta[:, :, None] == tb[:, None, :]) & (ta[:, :, None] >= 0)
        out[start:start + chunk] = np.einsum("pij,pi,pj->p", eq, ws[ia], ws[ib], optimize=True)
        if shared is not None:
            shared[start:start + chunk] = (eq & rh[ia][:, :, None] & rh[ib][:, None, :]).any(axis=(1, 2))
    return out, shared


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over edges (a, b): each node's component, labelled by its smallest member."""
    parent = np.arange(n)
    while True:
        ra, rb = parent[a], parent[b]
        lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
        moving = lo != hi
        if not moving.any():
            return parent
        np.minimum.at(parent, hi[moving], lo[moving])
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def cluster(orders: pl.DataFrame, settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every order (praise left out: not a problem to act on) prepared, with `cluster` (the `i` of its group's
    first member); and the signatures."""
    h = settings.hot_issues
    docs = prepare(orders.filter(pl.col("request_type").ne_missing("表扬")) if "request_type" in orders.columns else orders, h)
    sig = signatures(docs, h)
    pairs = candidates(docs, sig, h) if docs.height >= 2 else pl.DataFrame()
    if pairs.height:
        place = _place_match(docs, pairs)
        # The head bonus is for orders with no place in common to go by (a policy, a company).
        cos, shared = cosine_parts(sig, docs.height, pairs, h.top_k, h.head_rare_df)
        with_head = cos + h.head_bonus * shared   # float64, stored as float32 (as `cosines` adds it in place)
        sim = np.where(place == 1, cos + h.place_bonus, with_head.astype(np.float32))
        kept = pairs.filter(pl.Series((sim >= h.text_similarity) & (place >= 0)))
        labels = components(docs.height, kept["a"].to_numpy(), kept["b"].to_numpy())
        labels = _merge_at_place(docs, sig, labels, h)
    else:
        labels = np.arange(docs.height)
    return docs.with_columns(cluster=pl.Series(labels.astype(np.uint32))), sig


@dataclass(frozen=True)
class Groups:
    """The groups of one period: `members` (orders of groups of at least min_size orders, with `cluster`),
    `stats` (one row per group: size, callers, burst, verdict `hot`), the signatures, the period's days and
    every prepared order (`docs`)."""
    members: pl.DataFrame
    stats: pl.DataFrame
    sig: pl.DataFrame
    days: float
    docs: pl.DataFrame
    memo: dict = field(default_factory=dict, compare=False, repr=False)   # the vocabulary, worked out once

    def vocabulary(self, max_df_share: float) -> "Vocabulary":
        """term_idf of the period's orders (labelling groups and runs reads it several times)."""
        if max_df_share not in self.memo:
            self.memo[max_df_share] = term_idf(self.docs, max_df_share)
        return self.memo[max_df_share]


def group_orders(orders: pl.DataFrame, settings: Settings, period_start: datetime | None = None,
                 period_end: datetime | None = None) -> Groups:
    """Cluster the orders of one period and judge each group (see `judge`); duplicate hot groups (the same
    place and matter found twice) are merged into one."""
    h = settings.hot_issues
    docs, sig = cluster(orders, settings)
    # The days the period's data covers (a day with at least one order): stray old orders do not stretch a
    # baseline over months with no data.
    times = orders["received_at"].drop_nulls() if orders.height else pl.Series([], dtype=pl.Datetime("us"))
    if period_start is not None:
        times = times.filter(times >= period_start)
    if period_end is not None:
        times = times.filter(times < period_end)
    days = float(max(times.dt.date().n_unique(), h.burst_days))
    members = docs.filter(pl.len().over("cluster") >= h.min_size)
    stats = judge(members, h, days)
    merged = _merge_duplicates(members, sig, stats, h)
    if merged is not None:
        members = members.with_columns(cluster=pl.col("cluster").replace_strict(merged, default=pl.col("cluster")))
        stats = judge(members, h, days)
    return Groups(members, stats, sig, days, docs)


def judge(members: pl.DataFrame, h: HotIssues, days: float) -> pl.DataFrame:
    """Per group: size, callers (an order without a caller counts as its own), its burst (most distinct
    callers within any burst_days days), the expected count in such a window from the group's own orders
    outside it (spread over the rest of the period; at least expected_floor), lift, heat, and the verdict:
    hot when at least min_callers callers, its burst at least min_callers callers and min_lift times the
    expected, and at most max_consult_share consultations. A steady trickle is a root cause, not a hot issue;
    one caller's group is a repeat."""
    if members.is_empty():
        return pl.DataFrame(schema=_STATS_SCHEMA)
    w = timedelta(days=h.burst_days)
    # Only the columns judged: sorting and joining the members' texts and tokens would copy them (a big month's
    # peak memory was here).
    m = members.select("cluster", "received_at", "i", "request_type", "likes", "text_place", "spot_key",
                       who=pl.coalesce("caller_key", "order_id")).sort("cluster", "received_at", "i")
    first = m.unique(["cluster", "who"], keep="first", maintain_order=True)
    burst = (first.rolling("received_at", period=f"{h.burst_days}d", group_by="cluster")
             .agg(burst=pl.len(), burst_to=pl.col("received_at").max())
             .sort(["cluster", "burst", "burst_to"], descending=[False, True, False])
             .group_by("cluster", maintain_order=True).first())
    inside = (m.join(burst, on="cluster")
              .filter((pl.col("received_at") > pl.col("burst_to") - w) & (pl.col("received_at") <= pl.col("burst_to")))
              .group_by("cluster").agg(inside=pl.len()))
    stats = m.group_by("cluster").agg(
        size=pl.len(), callers=pl.col("who").n_unique(),
        consult=(pl.col("request_type") == "咨询").sum(),
        likes=pl.col("likes").fill_null(0).sum().cast(pl.Int64),
        named=(pl.col("text_place").is_not_null()
               & (pl.col("spot_key") == pl.col("spot_key").filter(pl.col("text_place").is_not_null()).mode().first())).sum(),
    ).join(burst, on="cluster").join(inside, on="cluster")
    rest = max(days - h.burst_days, h.burst_days)
    return stats.with_columns(
        burst_from=pl.col("burst_to") - w,
        expected=((pl.col("size") - pl.col("inside")) * h.burst_days / rest).clip(lower_bound=h.expected_floor),
    ).with_columns(lift=pl.col("burst") / pl.col("expected")).with_columns(
        heat=pl.col("burst") * (1 + pl.col("lift")).log() + h.w_callers * (1 + pl.col("callers")).log()
        + h.w_likes * (1 + pl.col("likes")).log(),
        hot=(pl.col("callers") >= h.min_callers) & (pl.col("burst") >= h.min_callers) & (pl.col("lift") >= h.min_lift)
        # Questions about a policy are answered, not acted on, unless they name one place (a school's enrolment).
        & ((pl.col("consult") <= h.max_consult_share * pl.col("size")) | (pl.col("named") >= h.named_place_share * pl.col("size"))),
    ).select(list(_STATS_SCHEMA)).cast(_STATS_SCHEMA)


_STATS_SCHEMA = {"cluster": pl.UInt32, "size": pl.UInt32, "callers": pl.UInt32, "consult": pl.UInt32,
                 "likes": pl.Int64, "burst": pl.UInt32, "burst_from": pl.Datetime("us"), "burst_to": pl.Datetime("us"),
                 "expected": pl.Float64, "lift": pl.Float64, "heat": pl.Float64, "hot": pl.Boolean}


def _merge_duplicates(members: pl.DataFrame, sig: pl.DataFrame, stats: pl.DataFrame, h: HotIssues) -> dict | None:
    """Hot groups that are one issue found twice: at the same place (the spot or area most of each is at) with bursts within burst_days of each other or a top word in common; or, without a place, the same top
    word. Returns cluster → merged cluster, or None when nothing merges."""
    hot = stats.filter("hot").select("cluster", "burst_from", "burst_to")
    if hot.height < 2:
        return None
    m = members.filter(pl.col("cluster").is_in(hot["cluster"].implode()))
    at = m.with_columns(block=_block()).filter(pl.col("block").is_not_null())
    spot = at.group_by("cluster").agg(spot=pl.col("block").mode().first(), named=pl.len())
    top = (sig.join(m.select("i", "cluster"), on="i").group_by("cluster", "tok").agg(w=pl.col("w").sum())
           .sort(["cluster", "w", "tok"], descending=[False, True, False]).group_by("cluster", maintain_order=True)
           .head(3).with_columns(rank=pl.int_range(pl.len()).over("cluster")))
    g = (hot.join(m.group_by("cluster").agg(size=pl.len()), on="cluster").join(spot, on="cluster", how="left")
         .with_columns(spot=pl.when(pl.col("named") >= h.named_place_share * pl.col("size")).then("spot")))
    same_spot = g.filter(pl.col("spot").is_not_null()).join(g, on="spot", suffix="_b").filter(pl.col("cluster") < pl.col("cluster_b"))
    shared = top.join(top, on="tok", suffix="_b").filter(pl.col("cluster") < pl.col("cluster_b")).select(
        "cluster", "cluster_b", "rank", "rank_b").unique(["cluster", "cluster_b"])
    w = timedelta(days=h.burst_days)
    near = (pl.col("burst_from") <= pl.col("burst_to_b") + w) & (pl.col("burst_from_b") <= pl.col("burst_to") + w)
    at_place = same_spot.join(shared.select("cluster", "cluster_b", word=pl.lit(True)), on=["cluster", "cluster_b"], how="left") \
        .filter(near & pl.col("word").fill_null(False)).select("cluster", "cluster_b")
    # One place written shorter (滨河苑 / 伊景园滨河苑) with a word in common.
    stems = g.filter(pl.col("spot").is_not_null()).select("cluster", stem=pl.col("spot").str.replace(r"^S\|[A-Z]:|^P\|", ""))
    nested = (shared.join(stems, on="cluster").join(stems.rename({"cluster": "cluster_b", "stem": "stem_b"}), on="cluster_b")
              .filter((pl.col("stem").str.len_chars() >= 2) & (pl.col("stem_b").str.len_chars() >= 2)
                      & (pl.col("stem").str.contains(pl.col("stem_b"), literal=True)
                         | pl.col("stem_b").str.contains(pl.col("stem"), literal=True)))
              .select("cluster", "cluster_b"))
    placeless = g.filter(pl.col("spot").is_null())["cluster"].implode()
    by_word = shared.filter((pl.col("rank") == 0) & (pl.col("rank_b") == 0) & pl.col("cluster").is_in(placeless)
                            & pl.col("cluster_b").is_in(placeless)).select("cluster", "cluster_b")
    edges = pl.concat([at_place, nested, by_word])
    if edges.is_empty():
        return None
    ids = g["cluster"].to_numpy().astype(np.int64)
    index = {c: k for k, c in enumerate(ids)}
    roots = components(len(ids), np.array([index[c] for c in edges["cluster"]]), np.array([index[c] for c in edges["cluster_b"]]))
    return {int(c): int(ids[r]) for c, r in zip(ids, roots) if ids[r] != c}


def _merge_at_place(docs: pl.DataFrame, sig: pl.DataFrame, labels: np.ndarray, h: HotIssues) -> np.ndarray:
    """Second pass: groups (≥ 2 orders) at the same place that are one issue told in different words (pairs
    of single orders only meet their time neighbours in the first pass): their centroids are similar, or, at
    one specific place, the export files most of both under the same category (暖气不热)."""
    lab = pl.Series("c", labels)
    sizes = lab.value_counts().filter(pl.col("count") >= 2)
    members = docs.select("i", block=_block(), cat=pl.coalesce("category_l3", "category_l2")).with_columns(c=lab).filter(
        pl.col("c").is_in(sizes["c"].implode()) & pl.col("block").is_not_null())
    if members.is_empty():
        return labels
    cblock = members.group_by("c").agg(
        block=pl.col("block").mode().first(), cat=pl.col("cat").drop_nulls().mode().first(),
        cat_share=(pl.col("cat") == pl.col("cat").drop_nulls().mode().first()).sum() / pl.len())
    same_cat = (cblock.filter(pl.col("block").str.starts_with("S|") & (pl.col("cat_share") >= h.merge_category_share))
                .select("c", "block", "cat"))
    by_cat = same_cat.join(same_cat, on=["block", "cat"], suffix="_b").filter(pl.col("c") < pl.col("c_b")) \
        .select(a="c", b="c_b")
    # …and they share a word, or half of a four-character one (施工扰民 / 噪音扰民): one category at one place
    # can still hold different complaints (挂号难 / 药房缺药 at one hospital).
    toks = sig.join(members.select("i", "c"), on="i").select("c", "tok").unique()
    four = toks.filter(pl.col("tok").str.contains(r"^[\u4e00-\u9fff]{4}$"))
    words = pl.concat([toks, four.with_columns(pl.col("tok").str.slice(0, 2)), four.with_columns(pl.col("tok").str.slice(2, 2))]) \
        .filter(~pl.col("tok").is_in(list(stopwords()))).unique()
    by_cat = (by_cat.join(words.rename({"c": "a"}), on="a").join(words.rename({"c": "b"}), on=["b", "tok"])
              .select("a", "b").unique())
    cent = (sig.join(members.select("i", "c"), on="i").group_by("c", "tok_id").agg(w=pl.col("w").sum())
            .with_columns(w=pl.col("w") / (pl.col("w") ** 2).sum().over("c").sqrt()))
    pairs = cblock.join(cblock, on="block", suffix="_b").filter(pl.col("c") < pl.col("c_b")).select(a="c", b="c_b")
    if pairs.is_empty():
        return labels
    dots = (pairs.join(cent.rename({"c": "a", "w": "wa"}), on="a")
            .join(cent.rename({"c": "b", "w": "wb"}), on=["b", "tok_id"])
            .group_by("a", "b").agg(cos=(pl.col("wa") * pl.col("wb")).sum()))
    # Only a specific place earns the bonus; groups that share just an area must say the same thing.
    bonus = cblock.select(a="c", bonus=pl.when(pl.col("block").str.starts_with("S|")).then(h.place_bonus).otherwise(0.0))
    merge = pl.concat([dots.join(bonus, on="a").filter(pl.col("cos") + pl.col("bonus") >= h.text_similarity)
                       .select("a", "b"), by_cat.cast(dots.select("a", "b").schema)])
    if merge.is_empty():
        return labels
    roots = components(len(labels), merge["a"].to_numpy().astype(np.int64), merge["b"].to_numpy().astype(np.int64))
    return roots[labels]


def _place_match(docs: pl.DataFrame, pairs: pl.DataFrame) -> np.ndarray:
    """Per pair: 1 same specific place, 0 unknown (a specific place is missing; same or unknown area),
    -1 two different places (two specific places, or without them two different areas)."""
    a, b = pairs["a"], pairs["b"]
    out = np.zeros(pairs.height, dtype=np.int8)
    for col, same_value in (("place_key", 0), ("spot_key", 1)):
        x, y = docs[col].gather(a), docs[col].gather(b)
        both = (x.is_not_null() & y.is_not_null()).to_numpy()
        same = (x == y).fill_null(False).to_numpy()
        out[both & same] = same_value
        out[both & ~same] = -1
    return out


# Parts of speech that carry content in a label (nouns, verbs, adjectives, idioms, abbreviations, English);
# everything else (prepositions, particles, pronouns, adverbs, numbers, measure words …) is grammar.
_CONTENT_TAGS = ("n", "v", "a", "j", "l", "i", "eng")


@cache
def _is_grammar(token: str) -> bool:
    tagged = plain().tag(token)
    return len(tagged) == 1 and tagged[0][1] in _GRAMMAR_TAGS


_GRAMMAR_TAGS = frozenset({"p", "c", "u", "uj", "ul", "uv", "uz", "ud", "ug", "y", "e", "o", "r", "rr", "rz", "d",
                           "t", "tg", "m", "mq", "q", "f"})


@cache
def _is_content(token: str) -> bool:
    if len(token) < 2 or _NUMBER_RE.match(token) or token in stopwords() or _MIXED_RE.search(token):
        return False
    # A division glued to a name (区润, 市楚行) is a segmentation accident.
    if token[0] in "市区县省" and not plain().has_word(token):
        return False
    tagged = plain().tag(token)
    if len(tagged) == 1:
        return tagged[0][1].startswith(_CONTENT_TAGS) and tagged[0][1] not in ("vshi", "vyou")
    # A word the dictionary does not know whole (伊景, 丽发): its pieces must not be grammar.
    return not any(t in _FUNCTION_TAGS or t in ("r", "d", "m", "q") for _, t in tagged)


_NUMBER_RE = re.compile(r"^[\d.%-]+$")
# Codes glued to words (A市, A5区) and a division glued to a name (市融创) are not a problem's words.
_MIXED_RE = re.compile(r"[A-Za-z0-9][\u4e00-\u9fff]|[\u4e00-\u9fff][A-Za-z0-9]|^[A-Za-z]+\d|^\d+[A-Za-z]")


def _head_tokens(text: str, tokens: list[str], head_chars: int) -> list[str]:
    """The tokens of a text's head: its first line when it has a title, else its first head_chars characters."""
    limit = len(text.split("\n", 1)[0]) if "\n" in text else head_chars
    out, at = [], 0
    for t in tokens:
        if at >= limit:
            break
        out.append(t)
        at += len(t)
    return out


def problem_phrase(texts: list[str], tokens: list[list[str]], vocab: "Vocabulary", place: str,
                   head_chars: int, names: tuple[str, ...] = (), scale: float = 1.0, specificity: float = 0.0) -> str:
    """The problem in words: the run of one to three adjacent content words (a number such as 58 may lead)
    in the heads of the most orders, weighed by rarity (idf). Left out: words in more than max_df_share of all
    orders, the place's words and other named places, divisions, a word glued to the place (栖霞湾|畔), and
    runs whose rarest word is not used mostly here: the group (`scale` × the texts given) must hold at least
    `specificity` of all orders using it (恳请政府 is in every kind of letter)."""
    counts: Counter = Counter()
    for text, toks in zip(texts, tokens):
        head = _head_tokens(text or "", toks or [], head_chars)
        seen = set()
        for a in range(len(head)):
            lead = head[a].isdigit()
            if not (_is_content(head[a]) or (lead and a + 1 < len(head) and _is_content(head[a + 1]))):
                continue
            for b in range(a + 1, min(a + 3, len(head)) + 1):
                if b > a + 1 and not _is_content(head[b - 1]):
                    break
                run = tuple(head[a:b])
                if lead and len(run) == 1:
                    continue
                seen.add(run)
        counts.update(seen)
    need = max(2, len(texts) * 0.2)
    best, score = "", 0.0
    for run, c in counts.items():
        phrase = "".join(run)
        words = [t for t in run if not t.isdigit()]
        if c < need or not words or not all(t in vocab.df for t in words) \
                or (place and (_overlaps(phrase, place) or phrase in place)) or _ADMIN_UNIT.fullmatch(phrase) \
                or phrase in place_terms() or any(phrase in n or n in phrase for n in names) \
                or c * scale < specificity * min(vocab.df[t] for t in words) \
                or (place and sum(place + phrase in t for t in texts) * 2 >= c):
            continue
        s = c * sum(vocab.idf(t) for t in words)
        if s > score or (s == score and phrase < best):
            best, score = phrase, s
    return best


def label(group: pl.DataFrame, vocab: Vocabulary, h: HotIssues) -> tuple[str, str]:
    """(place, problem) naming a group: the specific place most of its orders name (else the address or
    community most share), and the problem: the category most of them are filed under, else the phrase of
    content words most of them use (problem_phrase)."""
    sample = group.head(h.label_sample)
    place = ""
    named = group.filter(pl.col("text_place").is_not_null()) if "text_place" in group.columns else group.clear()
    if named.height >= h.named_place_share * group.height:
        key = named["spot_key"].mode().sort()[0]
        place = named.filter(pl.col("spot_key") == key)["spot"].mode().sort()[0]
    else:
        for col in ("community", "address"):
            values = group[col].drop_nulls()
            if values.len() >= h.bound_place_share * group.height:
                top = values.value_counts(sort=True)
                if top["count"][0] >= h.bound_place_share * group.height:
                    place = group["spot"].drop_nulls().mode().sort()[0] if group["spot"].drop_nulls().len() >= values.len() \
                        else top.filter(pl.col("count") == top["count"][0])[col].sort()[0]
                    break
    for col in ("category_l3", "category_l2", "category_l1"):
        values = group[col].drop_nulls()
        if values.len() >= group.height * 0.6:
            top = values.value_counts(sort=True)
            if top["count"][0] >= group.height * 0.6:
                return place, top[col][0]
    # Other places the texts name (劳动东路 beside 魅力之城) say where, not what.
    # (Named in two orders or more, and not the group's own place with words glued on: 搅拌站丽发新城.)
    seen = Counter(n for ns in sample["places"].to_list() if ns for n in set(ns)) if "places" in sample.columns else Counter()
    names = {n for n, c in seen.items() if c >= 2 and _place_kind(n) in "RE" and not (place and place in n)}
    # The export's own divisions, short forms too (竹溪 of 竹溪街道).
    for col in ("street", "district"):
        if col in sample.columns:
            values = sample[col].drop_nulls().unique().to_list()
            names |= set(values) | {re.sub(r"(?:街道|地区|镇|乡|区|县)$", "", v) for v in values}
    names = tuple(sorted(n for n in names if len(n) >= 2))
    problem = problem_phrase(sample["content"].to_list(), sample["tokens"].to_list(), vocab, place, h.head_chars, names,
                             group.height / max(sample.height, 1), h.label_specificity)
    return place, problem


def _overlaps(token: str, place: str) -> bool:
    return any(token[k:k + 2] in place for k in range(len(token) - 1))


_TABLE_SCHEMA = {"label": pl.String, "place": pl.String, "problem": pl.String, "size": pl.UInt32, "callers": pl.UInt32,
                 "channels": pl.UInt32, "first_at": pl.Datetime("us"), "last_at": pl.Datetime("us"), "likes": pl.Int64,
                 "burst": pl.UInt32, "burst_from": pl.Datetime("us"), "burst_to": pl.Datetime("us"),
                 "expected": pl.Float64, "lift": pl.Float64, "peak_share": pl.Float64, "growth": pl.Float64,
                 "heat": pl.Float64, "hot": pl.Boolean, "cluster": pl.UInt32, "order_ids": pl.List(pl.String)}


def describe(groups: Groups, clusters: pl.Series, settings: Settings, period_end: datetime | None = None) -> pl.DataFrame:
    """One labelled row per group in `clusters`, hottest first: label (place · problem), place, problem, size,
    callers, channels, first_at, last_at, likes, burst (callers in the busiest burst_days), burst_from/to,
    expected, lift, peak_share (busiest week's share), growth, heat, hot, cluster, order_ids."""
    stats = group_table(groups.members, groups.stats.filter(pl.col("cluster").is_in(clusters.implode())),
                        settings.hot_issues, period_end)
    if stats.is_empty():
        return pl.DataFrame(schema=_TABLE_SCHEMA)
    return with_labels(stats, label_groups(groups, stats["cluster"], settings))


def group_table(members: pl.DataFrame, stats: pl.DataFrame, h: HotIssues, period_end: datetime | None = None) -> pl.DataFrame:
    """The groups of `stats` (from `judge`) with what their members add: channels, first_at, last_at, recent
    and prior counts, peak_share, growth and order_ids (in time order), hottest first."""
    members = members.join(stats.select("cluster"), on="cluster", how="semi").sort("received_at", "order_id")
    if members.is_empty():
        return pl.DataFrame(schema={**_STATS_SCHEMA, "channels": pl.UInt32, "first_at": pl.Datetime("us"),
                                    "last_at": pl.Datetime("us"), "peak_share": pl.Float64, "growth": pl.Float64,
                                    "order_ids": pl.List(pl.String)})
    end = period_end or members["received_at"].max()
    recent_from = end - timedelta(days=h.recent_days)
    prior_from = recent_from - timedelta(days=h.recent_days)
    out = members.group_by("cluster").agg(
        # NULL, not 0, when the export says nothing about channels (message boards).
        channels=pl.when(pl.col("channel").is_not_null().any()).then(pl.col("channel").drop_nulls().n_unique()).cast(pl.UInt32),
        first_at=pl.col("received_at").min(), last_at=pl.col("received_at").max(),
        recent=(pl.col("received_at") > recent_from).sum(),
        prior=((pl.col("received_at") > prior_from) & (pl.col("received_at") <= recent_from)).sum(),
        order_ids=pl.col("order_id"),
    ).join(stats, on="cluster")
    peak = (members.group_by("cluster", pl.col("received_at").dt.truncate("1w").alias("wk")).len("n")
            .group_by("cluster").agg(peak=pl.col("n").max()))
    return out.join(peak, on="cluster").with_columns(
        peak_share=pl.col("peak") / pl.col("size"),
        growth=((pl.col("recent") + 1) / (pl.col("prior") + 1)).log().clip(lower_bound=0.0),
    ).sort(["heat", "size", "first_at", "cluster"], descending=[True, True, False, False])


def label_groups(groups: Groups, clusters: pl.Series, settings: Settings) -> pl.DataFrame:
    """(cluster, place, problem, label) of the given groups (see `label`), against the words of all the
    period's orders."""
    h = settings.hot_issues
    # `label` reads texts, tokens and places of a group's first label_sample orders only: the others' are not
    # copied (sorting and splitting every member with them was a big month's peak memory).
    heavy = [c for c in ("content", "tokens", "places") if c in groups.members.columns]
    members = groups.members.filter(pl.col("cluster").is_in(clusters.implode())).drop(heavy).sort("received_at", "order_id")
    sample = members.filter(pl.int_range(pl.len()).over("cluster") < h.label_sample).select("i")
    members = members.join(groups.members.select("i", *heavy).join(sample, on="i", how="semi"), on="i", how="left",
                           maintain_order="left")
    vocab = groups.vocabulary(h.max_df_share)
    parts = members.partition_by("cluster", as_dict=True)
    ids = [c for c in clusters.to_list() if (c,) in parts]
    names = [label(parts[(c,)], vocab, h) for c in ids]
    return pl.DataFrame({
        "cluster": pl.Series(ids, dtype=pl.UInt32),
        "place": pl.Series([p for p, _ in names], dtype=pl.String),
        "problem": pl.Series([q for _, q in names], dtype=pl.String),
        "label": pl.Series([f"{p} · {q}" if p and q else p or q or "（未命名）" for p, q in names], dtype=pl.String),
    })


def with_labels(table: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """group_table rows with their names, in the hot-issue table's columns and order."""
    table = table.drop("place", "problem", "label", strict=False)
    return (table.join(labels.select("cluster", "place", "problem", "label"), on="cluster", how="left", maintain_order="left")
            .select(list(_TABLE_SCHEMA)).cast(_TABLE_SCHEMA))


def hot_issues(orders: pl.DataFrame, settings: Settings, period_end: datetime | None = None,
               period_start: datetime | None = None) -> pl.DataFrame:
    """One row per hot issue, hottest first (see `describe` for the columns). The period (default: the first
    to the last order) is what the burst is measured against."""
    return settle(group_orders(orders, settings, period_start, period_end), settings, period_end)[1]


def settle(groups: Groups, settings: Settings, period_end: datetime | None = None) -> tuple[Groups, pl.DataFrame]:
    """The final verdicts and the hot-issue table. Two hot groups that read alike (same place and problem)
    are one issue. A hot group whose problem cannot be named (no category most share, no phrase most use:
    mixed complaints at one place), or without a place and named by one common word (驾校, 补课), is not
    one concrete problem, and is not hot."""
    table = describe(groups, groups.stats.filter("hot")["cluster"], settings, period_end)
    twins = table.filter(pl.col("label").is_duplicated())
    if twins.height:
        first = twins.group_by("label").agg(to=pl.col("cluster").min(), cluster=pl.col("cluster"))
        merged = dict(first.explode("cluster").select("cluster", "to").iter_rows())
        members = groups.members.with_columns(cluster=pl.col("cluster").replace_strict(merged, default=pl.col("cluster")))
        groups = Groups(members, judge(members, settings.hot_issues, groups.days), groups.sig, groups.days, groups.docs,
                        groups.memo)
        table = describe(groups, groups.stats.filter("hot")["cluster"], settings, period_end)
    vague = table.filter(is_vague())
    if vague.height:
        stats = groups.stats.with_columns(hot=pl.col("hot") & ~pl.col("cluster").is_in(vague["cluster"].implode()))
        groups = Groups(groups.members, stats, groups.sig, groups.days, groups.docs, groups.memo)
        table = table.filter(~pl.col("cluster").is_in(vague["cluster"].implode()))
    return groups, table


def is_vague() -> pl.Expr:
    """A labelled group that is not one concrete problem (see `settle`)."""
    return (pl.col("problem") == "") | (pl.col("place") == "") & pl.col("problem").map_elements(
        _one_common_word, return_dtype=pl.Boolean)


def _one_common_word(phrase: str) -> bool:
    jb = plain()
    tagged = jb.tag(phrase) if phrase else [("", "")]
    return not phrase or (len(tagged) == 1 and jb.has_word(phrase) and tagged[0][1] not in _PROPER_TAGS)


@dataclass(frozen=True)
class Vocabulary:
    """Document frequencies of label-worthy words among `n` orders."""
    n: int
    df: dict[str, int]

    def idf(self, token: str) -> float:
        return math.log(1 + self.n / self.df[token])


def term_idf(docs: pl.DataFrame, max_df_share: float = 1.0) -> Vocabulary:
    """The label-worthy words of the given orders, leaving out those in more than max_df_share of them
    (投诉, 反映: in most orders, they name no problem)."""
    n = docs.height
    df = (docs.select("i", tok=pl.col("tokens")).explode("tok")
          .filter(pl.col("tok").str.contains(_CJK2) & ~pl.col("tok").is_in(list(stopwords())))
          .unique().group_by("tok").len("df").filter(pl.col("df") <= max(max_df_share * n, 3)))
    return Vocabulary(n, dict(df.iter_rows()))


def explain(settings: Settings) -> str:
    h = settings.hot_issues
    return (
        "**热点问题**：不同来电人在短时间内集中反映的同一个具体问题。做法：每条工单先确定具体地点"
        "（诉求内容点名的小区、道路、学校、商铺等，没有则取地址；“建筑工地”“市政府”这类泛称和从句子里截下的片段不算地点），"
        f"再取“词频 × 逆文档频率”（本条工单里多、其他工单里少）最高的 {h.top_k} 个问题词作为特征（英文或很短的诉求用其分类）；同一地点内、或共享少见词的工单按时间相邻比较，"
        f"余弦相似度 ≥ {h.text_similarity:g} 的连成一组（同一具体地点另加 {h.place_bonus:g}；没有共同地点时，"
        f"标题共享一个只在 {h.head_rare_df} 条以内工单出现的词另加 {h.head_bonus:g}，如公司名、政策名）。"
        f"至少 {h.min_size} 条的组中，来电人 ≥ {h.min_callers} 位、最忙的 {h.burst_days} 天内来电人数（爆发量）≥ {h.min_callers} "
        f"且 ≥ {h.min_lift:g} 倍预期的才是热点问题；预期 = 该组在高峰窗口以外的工单按所选时段有数据的天数平摊到 {h.burst_days} 天"
        f"（至少 {h.expected_floor:g}）。全年零散的同类诉求达不到倍数，是源头治理的对象（见重复诉求）；只有一位来电人的是重复诉求；"
        f"咨询（诉求类型为咨询）超过 {h.max_consult_share:.0%} 且没有点名地点的不算；没有地点、问题又只是一个常用词（如驾校）的是问题类型，不算。"
        "同一地点、同一问题被分成两组的合并为一条。\n\n"
        f"**热度** = 爆发量 × 对数(1 + 倍数) + {h.w_callers:g} × 对数(1 + 来电人数) + {h.w_likes:g} × 对数(1 + 点赞数)；"
        "对数为自然对数，无点赞数据的来源该项为 0。\n\n"
        f"**大数据量的月份**：工单 ≥ {h.precompute_orders:,} 件的月份在导入后按全市整月分组一次并保存；所选时段为整月时直接读取，"
        "结果与当场计算相同。选了区、街乡或分类时，取各组落在所选范围内的工单重新判定（爆发量、倍数、是否热点、件数），"
        "名称沿用整月的；选了多个月时，相邻月份中地点与问题都相同的组视为同一问题（跨月的集中反映不会被月底切断），"
        "同一来电人的反复来电也跨月连续计算。其他时段当场计算。\n\n"
        f"**上限**：当场计算最多读取 {h.max_request_orders:,} 件工单，合并已保存的月份最多读取 {h.max_stored_rows:,} 行"
        "（设置文件 `settings.toml` 的 `[hot_issues]` `max_request_orders`、`max_stored_rows`），内存因此有界。所选时段超出时，只取其中最近的、"
        "能在上限内一起读取的若干个月（连续的已保存月份，或当场计算的月份），表格上方写明未计入的月份和可以怎么做。"
    )


def period(filters: Filters) -> tuple[datetime | None, datetime | None]:
    """The filters' date range as [start, end) datetimes (None where open): what a burst is measured against."""
    start = datetime.combine(filters.date_from, time()) if filters.date_from else None
    end = datetime.combine(filters.date_to + timedelta(days=1), time()) if filters.date_to else None
    return start, end


def read_hot_issues(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings,
                    plan: Plan | None = None) -> pl.DataFrame:
    """hot_issues among the filtered orders (only the period shown is read and clustered), measured against
    that period; whole months stored after their load are read back instead (analytics.hot_months). A window
    beyond the ceilings shows its latest months that fit (the plan's `note` says which). `plan`: hot_months.plan of
    these filters, when the caller has it already (a page reading hot issues and repeats plans once)."""
    from analytics import hot_months

    p = plan or hot_months.plan(con, filters, settings)
    if p.filters is None:
        return pl.DataFrame(schema=_TABLE_SCHEMA)
    if p.stored:
        return hot_months.read(con, p.filters, settings, p.stored)
    start, end = period(p.filters)
    return hot_issues(fetch_orders(con, p.filters, INPUT_COLUMNS), settings, period_end=end, period_start=start)


def noted(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> Filters:
    """For the CLI: the plan's note on stderr; a ValueError (exit 1, the note) when nothing can be shown."""
    from analytics import hot_months

    p = hot_months.plan(con, filters, settings)
    if p.filters is None:
        raise ValueError(p.note)
    if p.note:
        print(p.note, file=sys.stderr)
    return filters


def run(con, args) -> pl.DataFrame:
    """CLI: hot issues, hottest first."""
    settings = load_settings()
    table = read_hot_issues(con, noted(con, from_args(args), settings), settings)
    return table.select("label", "place", "problem", "size", "callers", "channels", "first_at", "last_at", "likes",
                        "burst", "lift", "heat", "order_ids")
