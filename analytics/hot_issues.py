"""热点问题: clusters of orders about the same concrete problem at the same place, across callers.

Nothing is quadratic in the number of orders:
1. each order gets a specific place, its spot: the estate, road, school, shop or site its text is about, else
   the one its address names (a community or street is an area, not a place: a real export always has one);
   and a signature, its top_k problem tokens by TF-IDF (jieba tokens from the token index; generic and
   hotline boilerplate words, district/street names and the words of the order's own place dropped, so that
   亚运村 or 北路 never make two orders look alike);
2. blocking: orders sharing a signature token at the same spot (else the same area), or sharing a rare token
   anywhere, are sorted by time and each is paired with its `window` next neighbours in that block;
3. a candidate pair is kept when the cosine of the two signatures reaches settings.hot_issues.text_similarity
   and the two orders are not at two different places; two orders at the same spot get
   settings.hot_issues.place_bonus added to their similarity;
4. union-find over kept pairs; then groups at one place that are one issue told in different words are merged
   (similar centroids, or at one spot mostly filed under the same category and sharing a word); components of at least
   settings.hot_issues.min_size orders are candidates;
5. a candidate is a hot issue when most of its orders name one specific place in their text, or else when it is
   bound to one address/community, concentrated in time and not consultations (see _issues).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import cache
from datetime import datetime, time, timedelta

import numpy as np
import polars as pl
import rjieba

from analytics.db import orders as fetch_orders
from analytics.filters import from_args
from analytics.settings import HotIssues, Settings, load_settings
from analytics.text import place_terms, segment, stopwords

INPUT_COLUMNS = (
    "order_id", "received_at", "content", "tokens", "channel", "street", "community", "address",
    "lat", "lon", "caller_key", "likes", "category_l2", "category_l3", "request_type",
)

STOPWORDS = frozenset("""
问题 反映 投诉 举报 咨询 建议 请问 希望 要求 领导 部门 相关 政府 解决 处理 严重 影响 情况 现在 已经 没有 一个
我们 你们 他们 她们 小区 居民 业主 群众 市民 老百姓 谢谢 您好 你好 尊敬 恳请 请求 尽快 多次 一直 至今 目前 存在
导致 造成 进行 可以 能否 是否 为什么 什么 怎么 如何 何时 这个 这些 那些 而且 但是 因为 所以 如果 虽然 并且 以及
还是 或者 工作 工作人员 有关 相关部门 单位 附近 周边 街道 社区 地方 区域 本人 自己 大家 每天 晚上 时间 时候
之前 以后 今年 去年 同时 经常 非常 特别 根本 仍然 依然 不能 不是 就是 可能 应该 需要 能够 已经 还有 这样
这种 那么 其他 情况 帮助 帮忙 回复 答复 关注 重视 关心 来电 来电人 市民 表示 诉求 联系 电话 人员 方面 一下
一些 很多 许多 所有 任何 知道 看到 发现 出现 发生 生活 正常 工作日 日常 地区 我家 家里 我市 本市 全市 省市
网友 网络平台 通过 留言 诉求人 市民来电 来电人称 人称 核实 说法 给个 协调 处理结果 给予 解答 再次 来电反映
""".split())

ESTATE_SUFFIX = "小区|花园|家园|公寓|新城|新村|嘉园|家属院|宿舍|大院|号院|苑|园|城|湾|府|里|大厦|广场|村|庄|滩"
ROAD_SUFFIX = "[东西南北中]?(?:大街|大道|路|街)|胡同|巷"
FACILITY_SUFFIX = "小学|中学|幼儿园|学校|学院|大学|医院|保健院|卫生服务中心|市场|公园|工地|(?:垃圾|搅拌|地铁|公交|车|加油|充电)站|店|超市|商场|馆|车贷"
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
# Anonymised or administrative prefixes ("A市A5区", "西地省", "A7县") end a name.
_ADMIN_RE = re.compile(r"[A-Z]\d*[市区县省]|西地省|北京市|[\u4e00-\u9fa5]{2,4}(?:街道|镇|乡|地区)|(?:东城|西城|朝阳|海淀|丰台|石景山|门头沟|房山|通州|顺义|昌平|大兴|怀柔|平谷|密云|延庆)区|[，。！？、；：,.!?;:（）()“”\"'《》\s]")
_ADMIN_UNIT = re.compile(r"[\u4e00-\u9fa5]{2,4}(?:街道|镇|乡|地区)")
# Who speaks and how ("市民来电咨询", "反映") is not part of the place that follows.
_LEAD = r"^.*(?:投诉|举报|反映|关于|建议|咨询|请问|位于|地处|家住|住在|表示|来电人|来电|网友|市民)|^(?:小区|社区)"
_GENERIC_PLACE = (
    r"^(我们|咱们|你们|他们|本|该|这个|整个|周边|附近|所在|现在|目前|安置|老旧|其他|各个|一些|相关|多条|因|居民)"
    r"|(铁路|道路|马路|公路|城市|夜里|家里|这里|那里|哪里|心里|手里|屋里|楼里|跑路|出路|走路|上路)$"
    r"|旁边|附近|对面|门口|周边|楼下|卡里$"
    rf"|^(?:{ESTATE_SUFFIX}|{ROAD_SUFFIX}|{FACILITY_SUFFIX})$")
_SPECIFIC = re.compile(rf"({ESTATE_SUFFIX}|车贷|{_PART})$")
# 幼儿园, 公园, 保健院 end like an estate but are facilities: named in full, never folded into an estate.
_FACILITY_END = re.compile(rf"(?:{FACILITY_SUFFIX.replace('|车贷', '')})$")
_SUFFIXES = re.compile(rf"(?:{FACILITY_SUFFIX}|{ROAD_SUFFIX}|{ESTATE_SUFFIX}|{_PART})+$")
# Part-of-speech tags (jieba) of words that never belong to a place name: prepositions, conjunctions,
# particles, modal words, interjections; and verbs.
_FUNCTION_TAGS = frozenset({"p", "c", "u", "uj", "ul", "uv", "uz", "ud", "ug", "y", "e"})
_VERB_TAGS = frozenset({"v", "vd", "vi"})
_ROAD_END = rf"(?:{ROAD_SUFFIX})$"
_CJK2 = r"^[\u4e00-\u9fff]{2,}$"


def place_names(texts: pl.Series) -> pl.Series:
    """Per text, the named places in it, in order: estates, roads, schools, shops, sites … (admin prefixes,
    speakers and generic words removed). Vectorised: every order is read, so this must not loop in Python."""
    names = (
        pl.DataFrame({"t": texts.cast(pl.String)}).with_row_index("row")
        .select("row", name=pl.col("t").str.slice(0, 400).str.replace_all(_ADMIN_RE.pattern, " ")
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
    jb = _tagger()
    prefix = _SUFFIXES.sub("", name) or name
    tagged = jb.tag(prefix)
    words = [(w, t) for w, t in tagged if len(w) >= 2 and jb.has_word(w)]
    if any(t in _FUNCTION_TAGS for _, t in words):
        return False
    verbs = [w for w, t in words if t in _VERB_TAGS]
    if verbs and (prefix.startswith(verbs[0]) or len(tagged) >= 4):
        return False
    return not (name.endswith("里") and len(words) == 1 and words[0][0] == prefix and words[0][1] == "n")


@cache
def _tagger() -> rjieba.Jieba:
    return rjieba.Jieba()


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


def _address_place(address: pl.Expr) -> pl.Expr:
    """The place an export's address names, without admin prefixes and house numbers
    (北京市朝阳区望京西园三区212号楼3单元 → 望京西园三区, 亚运村北路12号附近 → 亚运村北路)."""
    stem = address.str.replace_all(_ADMIN_RE.pattern, " ").str.replace(r"(?:\d|与|附近|交叉口).*$", "") \
        .str.strip_chars().str.extract(r"(\S+)$", 1)
    return pl.when(stem.str.len_chars() >= 3).then(stem)


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
    """R road, E estate (or village, 车贷 …), F facility (school, shop, site …)."""
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
    places = place_names(text)
    docs = docs.with_columns(places, text_place=_main_place(places if (head == text).all() else place_names(head), places)).with_columns(
        spot=pl.coalesce("text_place", _address_place(pl.col("address"))),
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
    generic = list(STOPWORDS | stopwords())
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
    s = sig.select("i", "tok_id", "df").join(meta, on="i")
    keyed = pl.concat([
        s.filter(pl.col("block").is_not_null()).select("i", "received_at", key=pl.col("block") * vocab + pl.col("tok_id")),
        meta.filter(pl.col("block").is_not_null()).select("i", "received_at", key=pl.col("block") * vocab + vocab - 1),
        s.filter(pl.col("df") <= rare).select("i", "received_at", key=pl.col("tok_id").cast(pl.Int64)),
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
    ids = np.full((n, top_k), -1, dtype=np.int32)
    ws = np.zeros((n, top_k), dtype=np.float32)
    pos = sig.select("i", "tok_id", "w", p=pl.int_range(pl.len()).over("i"))
    ids[pos["i"].to_numpy(), pos["p"].to_numpy()] = pos["tok_id"].to_numpy()
    ws[pos["i"].to_numpy(), pos["p"].to_numpy()] = pos["w"].to_numpy()
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    out = np.empty(len(a), dtype=np.float32)
    chunk = 200_000
    for start in range(0, len(a), chunk):
        ia, ib = a[start:start + chunk], b[start:start + chunk]
        ta, tb = ids[ia], ids[ib]
        eq = (ta[:, :, None] == tb[:, None, :]) & (ta[:, :, None] >= 0)
        out[start:start + chunk] = np.einsum("pij,pi,pj->p", eq, ws[ia], ws[ib], optimize=True)
    return out


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


def cluster(orders: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The orders that belong to a hot issue, with `cluster` (the `i` of its first member)."""
    # Praise is not a problem to act on.
    h = settings.hot_issues
    docs = prepare(orders.filter(pl.col("request_type").ne_missing("表扬")) if "request_type" in orders.columns else orders, h)
    pairs = candidates(docs, sig := signatures(docs, h), h) if docs.height >= 2 else pl.DataFrame()
    if pairs.height:
        place = _place_match(docs, pairs)
        sim = cosines(sig, docs.height, pairs, h.top_k) + settings.hot_issues.place_bonus * (place == 1)
        kept = pairs.filter(pl.Series((sim >= settings.hot_issues.text_similarity) & (place >= 0)))
        labels = components(docs.height, kept["a"].to_numpy(), kept["b"].to_numpy())
        labels = _merge_at_place(docs, sig, labels, settings.hot_issues)
    else:
        labels = np.arange(docs.height)
    docs = docs.with_columns(cluster=pl.Series(labels.astype(np.uint32)))
    members = docs.filter(pl.len().over("cluster") >= settings.hot_issues.min_size)
    return members.filter(pl.col("cluster").is_in(_issues(members, settings.hot_issues).implode()))


def _issues(members: pl.DataFrame, h: HotIssues) -> pl.Series:
    """The groups that are hot issues: one specific place named in the text of most of their orders; or,
    without one, bound to one place (address / community), concentrated in time and not consultations.
    The same complaint spread over the city and the month (打车绕路) or policy questions from one community
    are issue types, not one concrete problem at one place: 反复出现的问题类型 and 每月一题 show them."""
    block = _block()
    cat = pl.coalesce("category_l3", "category_l2").fill_null("")
    burst = (members.sort("received_at").rolling("received_at", period=f"{h.burst_days}d", group_by="cluster")
             .agg(n=pl.len()).group_by("cluster").agg(burst=pl.col("n").max()))
    stats = members.with_columns(block=block, named=pl.col("text_place").is_not_null()).group_by("cluster").agg(
        size=pl.len(),
        named=(pl.col("named") & (pl.col("spot_key") == pl.col("spot_key").filter("named").mode().first())).sum(),
        bound=(pl.col("block") == pl.col("block").drop_nulls().mode().first()).sum(),
        consult=((pl.col("request_type") == "咨询") | cat.str.contains("政策|咨询")).sum(),
    ).join(burst, on="cluster")
    keep = (pl.col("named") >= h.named_place_share * pl.col("size")) | (
        (pl.col("bound") >= h.bound_place_share * pl.col("size"))
        & (pl.col("burst") >= h.min_burst_share * pl.col("size"))
        & (pl.col("consult") <= h.max_consult_share * pl.col("size")))
    return stats.filter(keep)["cluster"]


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
        .filter(~pl.col("tok").is_in(list(STOPWORDS | stopwords()))).unique()
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


def _span(texts: list[str], first: str, second: str | None) -> str:
    """The problem in words: the commonest short stretch of text holding the two top tokens, else the tokens."""
    if not second:
        return first
    spans = Counter()
    for t in texts:
        i, j = t.find(first), t.find(second)
        if i >= 0 and j >= 0:
            lo, hi = min(i, j), max(i + len(first), j + len(second))
            if hi - lo <= 8 and not re.search(r"[\s，。！？、；：,.!?;:（）()《》“”]", t[lo:hi]):
                spans[t[lo:hi]] += 1
    return spans.most_common(1)[0][0] if spans else f"{first}、{second}"


def label(group: pl.DataFrame, idf: dict[str, float], h: HotIssues) -> tuple[str, str]:
    """(place, problem) naming a cluster."""
    texts = [t or "" for t in group["content"].to_list()[:h.label_sample]]
    named_in = [set(p) for p in group["places"].to_list()[:h.label_sample]]
    place = None
    structured = group["community"].drop_nulls()
    if structured.len() == 0:
        structured = group["address"].drop_nulls()
    if structured.len() >= group.height / 2:
        # The specific place where most orders name one, else the export's area.
        spots = group["spot"].drop_nulls() if "spot" in group.columns else pl.Series([], dtype=pl.String)
        top = spots.value_counts(sort=True)
        if top.height and top["count"][0] >= group.height / 2:
            place = top.filter(pl.col("count") == top["count"][0])["spot"].sort()[0]
        else:
            place = structured.mode().sort()[0]
    if place is None:
        counts = Counter()
        for names in named_in:
            counts.update(names)
        common = [(c, len(p), p) for p, c in counts.items() if c >= max(2, len(texts) * 0.25)]
        if common:
            best = max(c for c, _, _ in common)
            near = [x for x in common if x[0] >= best * 0.6]
            place = max(near, key=lambda x: (x[0], bool(_SPECIFIC.search(x[2])), x[1], x[2]))[2]
    for col in ("category_l3", "category_l2"):
        values = group[col].drop_nulls()
        if values.len() >= group.height * 0.6:
            top = values.value_counts(sort=True)
            if top["count"][0] >= group.height * 0.6:
                return place or "", top[col][0]
    seen = Counter(p for t, names in zip(texts, named_in) for p in names | set(_ADMIN_UNIT.findall(t)))
    named = "|".join([p for p, c in seen.items() if c >= max(2, len(texts) * 0.2)] + [place or ""])
    heads = [t.split("\n", 1)[0][:h.head_chars * 2] if "\n" in t else t[:h.head_chars] for t in texts]
    counts = Counter()
    for toks, head in zip(group["tokens"].to_list()[:h.label_sample], heads):
        counts.update({t for t in (toks or []) if t in idf and t in head and not _overlaps(t, named)})
    ranked = sorted(counts, key=lambda t: (-counts[t] * idf[t], t))
    problem = _span(heads, ranked[0], ranked[1] if len(ranked) > 1 else None) if ranked else ""
    return place or "", problem


def _overlaps(token: str, place: str) -> bool:
    return any(token[k:k + 2] in place for k in range(len(token) - 1))


def hot_issues(orders: pl.DataFrame, settings: Settings, period_end: datetime | None = None) -> pl.DataFrame:
    """One row per hot issue, hottest first: label, place, problem, size, callers, channels, first_at, last_at,
    likes, peak_share, growth, heat, order_ids. `period_end` (default: the last order) anchors growth."""
    h = settings.hot_issues
    members = cluster(orders, settings)
    schema = {"label": pl.String, "place": pl.String, "problem": pl.String, "size": pl.UInt32, "callers": pl.UInt32,
              "channels": pl.UInt32, "first_at": pl.Datetime("us"), "last_at": pl.Datetime("us"), "likes": pl.Int64,
              "peak_share": pl.Float64, "growth": pl.Float64, "heat": pl.Float64, "order_ids": pl.List(pl.String)}
    if members.is_empty():
        return pl.DataFrame(schema=schema)
    end = period_end or orders["received_at"].max()
    recent_from = end - timedelta(days=h.recent_days)
    prior_from = recent_from - timedelta(days=h.recent_days)
    members = members.sort("received_at", "order_id")
    stats = members.group_by("cluster").agg(
        size=pl.len().cast(pl.UInt32),
        callers=pl.coalesce("caller_key", "order_id").n_unique().cast(pl.UInt32),
        # NULL, not 0, when the export says nothing about channels (message boards).
        channels=pl.when(pl.col("channel").is_not_null().any()).then(pl.col("channel").drop_nulls().n_unique()).cast(pl.UInt32),
        first_at=pl.col("received_at").min(), last_at=pl.col("received_at").max(),
        likes=pl.col("likes").fill_null(0).sum().cast(pl.Int64),
        recent=(pl.col("received_at") > recent_from).sum(),
        prior=((pl.col("received_at") > prior_from) & (pl.col("received_at") <= recent_from)).sum(),
        order_ids=pl.col("order_id"),
    )
    weekly = members.group_by("cluster", pl.col("received_at").dt.truncate("1w").alias("wk")).len("n")
    peak = weekly.group_by("cluster").agg(peak=pl.col("n").max())
    stats = stats.join(peak, on="cluster").with_columns(
        peak_share=pl.col("peak") / pl.col("size"),
        growth=((pl.col("recent") + 1) / (pl.col("prior") + 1)).log().clip(lower_bound=0.0),
    ).with_columns(
        heat=h.w_callers * (1 + pl.col("callers").cast(pl.Float64)).log() + h.w_likes * (1 + pl.col("likes")).log()
        + h.w_peak * pl.col("peak_share") + h.w_growth * pl.col("growth"),
    ).sort(["heat", "size", "first_at"], descending=[True, True, False])
    idf = term_idf(members)
    labels = []
    groups = members.partition_by("cluster", as_dict=True)
    for cid in stats["cluster"].to_list():
        place, problem = label(groups[(cid,)], idf, h)
        labels.append((place, problem, f"{place} · {problem}" if place and problem else place or problem or "（未命名）"))
    return stats.with_columns(
        place=pl.Series([p for p, _, _ in labels], dtype=pl.String),
        problem=pl.Series([q for _, q, _ in labels], dtype=pl.String),
        label=pl.Series([lab for _, _, lab in labels], dtype=pl.String),
    ).select(list(schema)).cast(schema)


def term_idf(members: pl.DataFrame) -> dict[str, float]:
    """IDF of label-worthy tokens among clustered orders (so a cluster's own words stand out)."""
    n = members.height
    df = (members.select("i", tok=pl.col("tokens")).explode("tok")
          .filter(pl.col("tok").str.contains(_CJK2) & ~pl.col("tok").is_in(list(STOPWORDS)))
          .unique().group_by("tok").len("df"))
    return {t: math.log(1 + n / d) for t, d in df.iter_rows()}


def explain(settings: Settings) -> str:
    h = settings.hot_issues
    return (
        "**热点问题**：同一具体地点、同一具体问题、来自不同来电人的一组工单。做法：每条工单先确定具体地点"
        "（诉求内容点名的小区、道路、学校、商铺、工地等，没有则取地址；社区、街道只是片区，不算同一地点），"
        f"再取 TF-IDF 最高的 {h.top_k} 个问题词（去掉通用词、话务套话、区街名称和地点本身的字）作为特征；"
        f"同一地点内共享特征词、或共享少见词的工单按时间相邻比较，余弦相似度 ≥ {h.text_similarity:g} 且不在两个"
        f"不同地点的连成一组（并查集；同一具体地点的两条工单相似度另加 {h.place_bonus:g}）；同一地点中心相近、"
        f"或同一具体地点、各有 {h.merge_category_share:.0%} 以上属同一三级分类且有共同问题词的组再合并，"
        f"至少 {h.min_size} 条的组中，只有这样的才是热点问题：{h.named_place_share:.0%} 以上工单的诉求内容点名同一具体地点；"
        f"或者没有点名地点时，{h.bound_place_share:.0%} 以上在同一地址或社区、{h.min_burst_share:.0%} 以上集中在最忙的 "
        f"{h.burst_days} 天内、咨询类（诉求类型为咨询，或分类含政策、咨询）不超过 {h.max_consult_share:.0%}。"
        "同一类诉求在全市、整月分散出现（如打车绕路）或同一社区的政策咨询是问题类型，见“反复出现的问题类型”和“每月一题候选”；"
        "地点须像地名：地名后缀前的部分含虚词、或以动词开头带宾语（如“导致小区”“乘坐出租车时司机绕路”）的不算地点；表扬不计入。\n\n"
        f"**热度** = {h.w_callers:g}×ln(1+来电人数) + {h.w_likes:g}×ln(1+点赞数) + {h.w_peak:g}×高峰周占比 + "
        f"{h.w_growth:g}×增长，其中高峰周占比 = 工单最多的一周的工单数 ÷ 总数（时间越集中越高），"
        f"增长 = max(0, ln((近 {h.recent_days} 天工单+1) ÷ (此前 {h.recent_days} 天工单+1)))，以所选时段末为准。"
        "无点赞数据的来源该项为 0。"
    )


def run(con, args) -> pl.DataFrame:
    """CLI: hot issues, hottest first."""
    filters = from_args(args)
    orders = fetch_orders(con, filters, INPUT_COLUMNS)
    end = datetime.combine(filters.date_to + timedelta(days=1), time()) if filters.date_to else None
    table = hot_issues(orders, load_settings(), period_end=end)
    return table.select("label", "place", "problem", "size", "callers", "channels", "first_at", "last_at", "likes",
                        "heat", "order_ids")
