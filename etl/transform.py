"""Turn an extracted frame of strings into canonical rows plus quarantined rows with Chinese reasons.

Everything on the row path is a polars expression; Python only touches the (few) quarantined rows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from core.settings import Plausibility, plausibility_settings
from etl import kinds, pii, reference
from etl.extract import Extracted
from etl.kinds import DATE_FORMATS_HINT, KindSpec
from etl.mapping import score_header, target_label
from core.schema import CASE_EVENTS, TABLES

LINEAGE = ("source_file", "load_id")
# _per_distinct: columns with at most this many distinct values (or this share of rows) go through a lookup.
DISTINCT_MIN = 64
DISTINCT_SHARE = 0.05
DISTINCT_SAMPLE = 20_000
QUARANTINE_SCHEMA = {"line_no": pl.Int64, "reason": pl.String, "raw": pl.String}
FIX = "请修正该单元格后重新导入。"
CHECK_FIX = "请核对后修正该单元格并重新导入。"
# Later steps of an order or case that cannot come before its start.
ORDERED = {"work_orders": ("received_at", ("dispatched_at", "responded_at", "closed_at")),
           "cases": ("opened_at", ("closed_at",))}

_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p",
                "%Y%m%d%H%M%S", "%Y%m%d")


@dataclass
class Transformed:
    frame: pl.DataFrame                      # canonical columns (no lineage) + `_line`
    quarantine: pl.DataFrame                 # line_no, reason, raw (JSON, phone hashed, personal numbers masked)
    nulled: dict[str, int] = field(default_factory=dict)  # optional values that did not parse -> NULL, by label
    flagged: int = 0                         # rows loaded with an implausible value left out (noted in `implausible`)


def parse_datetime(e: pl.Expr) -> pl.Expr:
    """Every date form of DATA.md to TIMESTAMP; NULL when none fits."""
    s = (
        e.str.strip_chars()
        .str.replace_all(r"[年月]", "-")
        .str.replace_all(r"日", " ")
        .str.replace_all(r"[时點点]", ":")
        .str.replace(r"分$", "")
        .str.replace_all(r"[分]", ":")
        .str.replace_all(r"秒", "")
        .str.replace(r"(\d)T(\d)", "$1 $2")
        .str.replace(r"(:\d{1,2})\.\d+", "$1")
        .str.replace(r"(?i)Z$|[+-]\d{2}:?\d{2}$", "")
        .str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", "$1-$2-$3")
        .str.replace(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})", "$3-$1-$2")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" -:")
    )
    tries = [s.str.to_datetime(f, strict=False, time_unit="us") for f in _ISO_FORMATS]
    serial = e.str.strip_chars()
    serial_days = pl.when(serial.str.contains(r"^\d{5}(\.\d+)?$")).then(serial.cast(pl.Float64, strict=False))
    excel = pl.when(serial_days.is_between(20000, 80000)).then(
        pl.datetime(1899, 12, 30, time_unit="us") + pl.duration(microseconds=(serial_days * 86_400_000_000).round().cast(pl.Int64))
    )
    return pl.coalesce(*tries, excel)


_FAST_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M:%S %p",
                 "%Y-%m-%d", "%Y/%m/%d")


def parse_datetimes(frame: pl.DataFrame) -> pl.DataFrame:
    """parse_datetime over every column of `frame`, fast: each column's dominant format (guessed from a
    sample) parses in one pass, the columns side by side, and only the distinct values a column's format
    misses go through the full chain of forms."""
    def best(s: pl.Series) -> str:
        sample = s.drop_nulls().head(2000)
        return max(_FAST_FORMATS, key=lambda f: sample.str.to_datetime(f, strict=False, time_unit="us").is_not_null().sum())

    fast = frame.select(pl.col(c).str.to_datetime(best(frame[c]), strict=False, time_unit="us") for c in frame.columns)
    out = []
    for c in frame.columns:
        s, parsed = frame[c], fast[c]
        miss = s.filter(parsed.is_null() & s.is_not_null()).unique()
        if miss.len():
            slow = miss.to_frame("v").with_columns(parse_datetime(pl.col("v")).alias("d"))
            parsed = parsed.fill_null(s.to_frame("v").join(slow, on="v", how="left", maintain_order="left")["d"])
        out.append(parsed.alias(c))
    return pl.DataFrame(out)


def parse_month(e: pl.Expr) -> pl.Expr:
    """A month (2024-03, 2024年3月, 2024/3, 202403, or any full date) as the first day of that month; a
    value with a day that does not exist (2026-03-45) is no month."""
    g = e.str.strip_chars().str.extract_groups(r"^(\d{4})\D{0,2}?(\d{1,2})(?:\D{1,2}(\d{1,2})(?:\D|$)|\D*$)")
    y = g.struct.field("1").cast(pl.Int32, strict=False)
    m = g.struct.field("2").cast(pl.Int32, strict=False)
    d = g.struct.field("3").cast(pl.Int32, strict=False)
    day_ok = d.is_null() | pl.concat_str([y.cast(pl.String), m.cast(pl.String), d.cast(pl.String)], separator="-").str.to_date(
        "%Y-%m-%d", strict=False).is_not_null()
    return pl.when(m.is_between(1, 12) & day_ok).then(pl.date(y, m.clip(1, 12), 1))


def _lower(e: pl.Expr) -> pl.Expr:
    return e.str.strip_chars().str.to_lowercase()


def _classify(e: pl.Expr, rules: list[tuple[str, str]], default: str | None) -> pl.Expr:
    """First rule whose regex matches the lower-cased value; `default` for other non-blank values."""
    v = _lower(e)
    out = pl.when(v.is_null() | (v == "")).then(pl.lit(None, pl.String))
    for pattern, value in rules:
        out = out.when(v.str.contains(pattern)).then(pl.lit(value))
    return out.otherwise(pl.lit(default, pl.String))


CHANNEL_RULES = [
    (r"微信|wechat|weixin|小程序", "微信"),
    (r"app|mobile|手机|客户端|移动", "APP"),
    (r"电话|热线|12345|phone|call|voice|语音|来电", "电话"),
    (r"网|online|web|internet|email|e-mail|邮件|self service|portal|留言|信箱|微博", "网络"),
]
REQUEST_TYPE_RULES = [
    (r"投诉|complaint", "投诉"),
    (r"举报|report", "举报"),
    (r"求助|help|assist|request|service", "求助"),
    (r"咨询|询问|inquiry|enquiry|question|information|info", "咨询"),
    (r"建议|意见|suggest", "建议"),
    (r"表扬|感谢|praise|compliment|thank", "表扬"),
]
STATUS_RULES = [
    (r"退单|退回|rejected|returned", "退单"),
    (r"延期|extend|postpone", "延期"),
    (r"^未|未办结|未完成|办理中|处理中|进行中|待|open|assigned|in progress|pending|started|progress", "办理中"),
    (r"办结|结案|完成|已答复|已回复|closed|resolved|complete|done", "已办结"),
    (r"受理|new|received|submitted", "已受理"),
]
RESOLUTION_RULES = [
    (r"部分|基本解决|partial", "部分解决"),
    (r"未解决|没解决|不解决|^否$|^0$|^no$|^n$|^false$|unresolved|not resolved", "未解决"),
    (r"解决|^是$|^1$|^yes$|^y$|^true$|resolved", "解决"),
]
SATISFACTION_RULES = [
    (r"未评价|未回访|不评价|无法联系|未接通|^无$|not rated|unrated", "__null__"),
    (r"不满意|^否$|^0$|dissatisfied|unsatisfied|^no$", "不满意"),
    (r"基本满意|比较满意|一般|somewhat|fairly", "基本满意"),
    (r"满意|^是$|^1$|^yes$|satisfied", "满意"),
]
EVENT_RULES = [
    (r"未到|缺席|未报到|no.?show|absent|missed|did not", "未到"),
    (r"呼叫|吹哨|通知|发起|call|whistle|summon|notify", "呼叫"),
    (r"响应|应答|回应|签收|接收|respond|answer|ack", "响应"),
    (r"到场|到达|报到|arriv|on.?site|report", "到场"),
    (r"办结|完成|结束|解决|finish|close|resolv|done|complete", "办结"),
]
def _truthy(e: pl.Expr) -> pl.Expr:
    v = _lower(e)
    return v.str.contains(r"^(是|1|true|yes|y|无效)$")


def _src(mapping: dict[str, str]) -> dict[str, str]:
    return {t: h for h, t in mapping.items()}


def _blank_to_null(e: pl.Expr) -> pl.Expr:
    """Padding trimmed, blank as NULL. Extraction leaves values as exported: each column is trimmed by the
    expression that reads it (per distinct value where it can), not all columns up front."""
    return e.str.strip_chars().replace("", None)


def _text(e: pl.Expr) -> pl.Expr:
    """Trim padding (tabs, newlines, full-width spaces) and fold blank-line runs into one newline."""
    return (
        e.str.replace_all(r"[ \t\u3000\xa0]*\r?\n[\s\u3000]*", "\n")
        .str.strip_chars(" \t\r\n\u3000\xa0")
        .replace("", None)
    )


def transform(ex: Extracted, kind: str, mapping: dict[str, str], phone_key: str | None = None,
              checks: Plausibility | None = None, now: datetime | None = None) -> Transformed:
    """Canonical rows of `kind` from `ex` under `mapping` (source header -> target); implausible values are
    quarantined or flagged as `checks` (settings [plausibility]) says, judged against `now`."""
    spec = kinds.get(kind)
    src = _src(mapping)
    raw = ex.frame
    phone_col = src.get("caller_phone")
    # Every phone-like column is hashed, mapped or not, so no raw number reaches quarantine.raw either.
    phone_cols = [h for h in ex.headers if h == phone_col or (
        "caller_phone" in spec.synonyms and mapping.get(h) is None and dict(score_header(h, kind)).get("caller_phone"))]
    key = phone_key if phone_key is not None else pii.secret_key()
    raw = _protect(raw, spec, src, phone_cols, key)
    columns = [c for c in TABLES[spec.table] if c not in LINEAGE]
    date_cols = {t: src[t] for t in spec.dates if src.get(t) in raw.columns}
    dates = parse_datetimes(raw.select(pl.col(h).str.strip_chars().alias(f"__dt_{t}") for t, h in date_cols.items()))
    raw_dated, exprs = _per_distinct(raw.with_columns(dates.get_columns()), _column_exprs(spec, src, raw.columns))
    frame = (raw_dated.lazy()
             .select(pl.col("_line"), *[exprs.get(c, _default(spec, c)).alias(c) for c in columns]).collect())
    del raw_dated
    frame = _areas_from_text(_normalise_areas(_area_values(frame, src)), src)

    reasons, nulled = _checks(spec, src, raw, frame)
    frame, doubts, flagged = _plausible(spec, src, frame, checks or plausibility_settings(), now or datetime.now())
    reasons = pl.select(pl.concat_str([reasons, doubts], separator="；", ignore_nulls=True).replace("", None)).to_series()
    bad = reasons.is_not_null()
    q_rows = frame.select("_line").with_columns(reasons.alias("reason")).filter(bad)
    good = frame.filter(~bad)
    counts = nulled.filter(~bad).sum().row(0, named=True) if nulled.width else {}
    nulled_counts = {target_label(kind, c): int(n) for c, n in counts.items() if n}

    good, dup_q = _dedupe(spec, src, good)
    q = pl.concat([q_rows, dup_q]) if dup_q.height else q_rows
    quarantine = pl.concat([_reject_rows(ex, phone_cols, key), _with_raw(q, raw, ex.headers)]).sort("line_no")
    return Transformed(good, quarantine, nulled_counts, int(flagged.filter(~bad).sum()))


ID_TARGETS = ("order_id", "case_id", "related_order_id")


def _protect(raw: pl.DataFrame, spec: KindSpec, src: dict[str, str], phone_cols: list[str], key: str) -> pl.DataFrame:
    """Personal data out before anything else reads the file: phone columns become caller keys (HMAC), ids
    carrying a personal number a keyed pseudonym, and every other text has its numbers masked. Reasons,
    quarantine rows, tokens and stored values are all built from this frame."""
    ids = [src[t] for t in ID_TARGETS if src.get(t) in raw.columns and src[t] not in phone_cols]
    skip = ("_line", *phone_cols, *ids)
    return pii.mask_frame(raw, skip).with_columns(
        *(pii.caller_keys(raw[h], key) for h in phone_cols),
        *(pii.pseudonymise(raw[h], key) for h in ids),
    )


def _column_exprs(spec: KindSpec, src: dict[str, str], present: list[str]) -> dict[str, pl.Expr]:
    def col(t: str) -> pl.Expr | None:
        h = src.get(t)
        return pl.col(h) if h in present else None

    out: dict[str, pl.Expr] = {}
    for t in spec.synonyms:
        e = col(t)
        if e is None or t not in TABLES[spec.table]:
            continue
        if t in spec.dates:
            e = pl.col(f"__dt_{t}")
        elif t in spec.months:
            e = parse_month(e)
        elif t in spec.ints:
            e = e.str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False).round().cast(pl.Int32, strict=False)
        elif t in spec.floats:
            e = e.str.replace_all(r"[,\s]", "").cast(pl.Float64, strict=False)
        elif t in ("content", "description", "note", "comment"):
            e = _text(e)
        else:
            e = _blank_to_null(e)
        out[t] = e
    if spec.name == "work_orders":
        if col("title") is not None:
            title = _text(col("title"))
            body = out.get("content")
            out["content"] = title if body is None else pl.concat_str([title, body], separator="\n", ignore_nulls=True)
        if col("category_path") is not None:
            p = col("category_path").str.strip_chars()
            cjk = p.str.contains(r"[\u4e00-\u9fff]")
            sep = pl.when(cjk).then(p.str.replace_all(r"\s*(->|－>|—>|－|→|>|＞|/|／|\\)\s*", "\x1f")).otherwise(
                p.str.replace_all(r"\s*(->|→|>)\s*", "\x1f"))
            parts = sep.str.split("\x1f")
            for i, lvl in enumerate(("category_l1", "category_l2", "category_l3")):
                part = parts.list.get(i, null_on_oob=True).str.strip_chars().replace("", None)
                out[lvl] = pl.coalesce(out[lvl], part) if lvl in out else part
        if col("caller_phone") is not None:
            out["caller_key"] = col("caller_phone")
        for t, rules in (("channel", CHANNEL_RULES), ("request_type", REQUEST_TYPE_RULES), ("status", STATUS_RULES)):
            if t in out:
                out[t] = _classify(out[t], rules, "其他")
        if "resolution" in out:
            out["resolution"] = _classify(out["resolution"], RESOLUTION_RULES, None)
        if "satisfaction" in out:
            out["satisfaction"] = _classify(out["satisfaction"], SATISFACTION_RULES, None).replace("__null__", None)
        if "is_invalid" in out:
            out["is_invalid"] = _truthy(out["is_invalid"]).fill_null(False)
        elif col("is_valid") is not None:
            v = _lower(col("is_valid"))
            out["is_invalid"] = v.str.contains(r"^(否|0|false|no|n|无效)$").fill_null(False)
        if "redispatch_count" in out:
            out["redispatch_count"] = out["redispatch_count"].fill_null(0)
    if spec.name == "case_events" and "event" in out:
        out["event"] = _classify(out["event"], EVENT_RULES, None)
        out["event"] = pl.when(out["event"].is_in(list(CASE_EVENTS))).then(out["event"])
    if spec.name == "cases" and "status" in out:
        out["status"] = _classify(out["status"], STATUS_RULES, "其他")
    return out


def _per_distinct(raw: pl.DataFrame, exprs: dict[str, pl.Expr]) -> tuple[pl.DataFrame, dict[str, pl.Expr]]:
    """Expressions over one low-cardinality column (channel, status, category path…) run once per distinct
    value and are joined back: their regex chains then cost per value, not per row. Every expression here
    is elementwise, so the result is the same."""
    by_root: dict[str, list[str]] = {}
    for t, e in exprs.items():
        roots = set(e.meta.root_names())
        if len(roots) == 1 and not e.meta.is_column() and (h := roots.pop()) in raw.columns and raw.schema[h] == pl.String:
            if not e.meta.eq(_blank_to_null(pl.col(h))):  # a plain trim costs less per row than the lookup
                by_root.setdefault(h, []).append(t)
    if not by_root:
        return raw, exprs
    limit = max(DISTINCT_MIN, raw.height * DISTINCT_SHARE)
    # A sample rules out the near-unique columns (ids, texts, phones) before counting the rest in full.
    head = raw.head(DISTINCT_SAMPLE)
    sample = head.select(pl.col(list(by_root)).n_unique()).row(0, named=True)
    maybe = [h for h in by_root if sample[h] <= max(DISTINCT_MIN, head.height // 2)]
    distinct = raw.select(pl.col(maybe).n_unique()).row(0, named=True) if maybe else {}
    out, looked_up = dict(exprs), []
    for h, targets in by_root.items():
        if distinct.get(h, limit + 1) > limit:
            continue
        lut = raw.select(pl.col(h).unique()).with_columns(exprs[t].alias(f"__lut_{t}") for t in targets)
        known, blank = lut.filter(pl.col(h).is_not_null()), lut.filter(pl.col(h).is_null())
        for t in targets:
            name, dtype = f"__lut_{t}", lut.schema[f"__lut_{t}"]
            # A hash lookup per row (half the cost of a join); NULL is not a key, so its value is set apart.
            e = pl.col(h).replace_strict(known[h], known[name], default=None, return_dtype=dtype)
            if blank.height:
                e = pl.when(pl.col(h).is_null()).then(pl.lit(blank[name][0], dtype)).otherwise(e)
            looked_up.append(e.alias(name))
        out.update({t: pl.col(f"__lut_{t}") for t in targets})
    return raw.with_columns(looked_up), out


def _default(spec: KindSpec, column: str) -> pl.Expr:
    decl = TABLES[spec.table][column][0]
    if column == "redispatch_count":
        return pl.lit(0, pl.Int32)
    if column == "is_invalid":
        return pl.lit(False)
    dtype = {"TIMESTAMP": pl.Datetime("us"), "DOUBLE": pl.Float64, "INTEGER": pl.Int32, "DATE": pl.Date,
             "BOOLEAN": pl.Boolean, "VARCHAR[]": pl.List(pl.String)}.get(decl.split()[0], pl.String)
    return pl.lit(None, dtype)


# Area values that name no area (NYC's "Unspecified", "Unspecified QUEENS").
_NO_AREA = r"(?i)^(\d+\s+)?(unspecified|unknown|n/?a|none|null|未知|不详|无)(\s.*)?$"


def _area_values(frame: pl.DataFrame, src: dict[str, str]) -> pl.DataFrame:
    """Placeholders out of the area columns; a district or street given only as a number (LA's council
    district 1, neighbourhood council 52) is labelled with its header ("CD 1"), so it reads as an area."""
    out = []
    for c in ("district", "street", "community"):
        if c not in frame.columns or frame.schema[c] != pl.String:
            continue
        e = pl.when(pl.col(c).str.contains(_NO_AREA)).then(None).otherwise(pl.col(c))
        if c != "community" and src.get(c):
            e = pl.when(e.str.contains(r"^\d{1,4}$")).then(pl.lit(f"{src[c]} ") + e).otherwise(e)
        out.append(e.alias(c))
    return frame.with_columns(out) if out else frame


def _areas_from_text(frame: pl.DataFrame, src: dict[str, str]) -> pl.DataFrame:
    """Where the export has no district (or no street) column, the official division its address names,
    else the one its text names (etl.reference.find_areas); 数据质量 counts the orders found this way."""
    fill = [c for c in ("district", "street") if c in frame.columns and not src.get(c)]
    texts = [c for c in ("address", "content") if c in frame.columns]
    if not fill or not texts:
        return frame
    need = pl.any_horizontal([pl.col(c).is_null() for c in fill])
    rows = frame.select(pl.int_range(pl.len()).alias("_i"), need.alias("_need"), *texts).filter("_need")
    if rows.is_empty():
        return frame
    found = [reference.find_areas(rows[c]) for c in texts]
    # The address first; the text only where the address names nothing.
    use_first = found[0]["district"].is_not_null() | found[0]["street"].is_not_null()
    areas = found[0] if len(found) == 1 else pl.DataFrame({
        c: pl.select(pl.when(use_first).then(found[0][c]).otherwise(found[1][c])).to_series() for c in ("district", "street")})
    lut = pl.DataFrame({"_i": rows["_i"]}).hstack(areas.rename({c: f"__f_{c}" for c in areas.columns}))
    merged = frame.with_row_index("_i").join(lut.with_columns(pl.col("_i").cast(pl.UInt32)), on="_i", how="left",
                                             maintain_order="left")
    # A street found for a row whose district column names another district is not that row's street.
    fits = pl.col("district").is_null() | (pl.col("district") == pl.col("__f_district")) if "district" not in fill else pl.lit(True)
    filled = [pl.coalesce(c, pl.when(fits).then(f"__f_{c}") if c == "street" else f"__f_{c}").alias(c) for c in fill]
    return merged.with_columns(filled).drop(
        "_i", *(f"__f_{c}" for c in ("district", "street")))


def _normalise_areas(frame: pl.DataFrame) -> pl.DataFrame:
    """Official district/street names, worked out once per distinct (district, street) pair."""
    cols = [c for c in ("district", "street") if c in frame.columns]
    if not cols:
        return frame
    pairs = frame.select(cols).unique()
    official = _normalise_pairs(pairs).rename({c: f"__n_{c}" for c in cols})
    lut = pl.concat([pairs, official], how="horizontal")
    mapped = frame.select(cols).join(lut, on=cols, how="left", nulls_equal=True, maintain_order="left")
    return frame.with_columns(mapped[f"__n_{c}"].alias(c) for c in cols)


def _normalise_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    if "district" in frame.columns:
        frame = frame.with_columns(reference.normalise_district(frame["district"]))
    if "street" in frame.columns and frame["street"].null_count() < frame.height:
        d, s = reference.normalise_street(frame["district"] if "district" in frame.columns
                                          else pl.Series("district", [None] * frame.height, pl.String), frame["street"])
        frame = frame.with_columns(s) if "district" not in frame.columns else frame.with_columns(d, s)
    return frame


def _checks(spec: KindSpec, src: dict[str, str], raw: pl.DataFrame, frame: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Per row, the quarantine reason (NULL when the row is fine); and per optional typed column a flag
    for values that were present but did not parse (they become NULL)."""
    parts: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    typed = set(spec.dates) | set(spec.months) | set(spec.ints) | set(spec.floats)
    pairs = [(t, src[t]) for t in frame.columns
             if t != "_line" and src.get(t) in raw.columns and (t in spec.required or t in typed)]
    joined = pl.concat([frame, raw.select(_blank_to_null(pl.col(h)).alias(f"_raw_{t}") for t, h in pairs)],
                       how="horizontal")
    for t, h in pairs:
        rv, parsed = pl.col(f"_raw_{t}"), pl.col(t)
        head = f"『{h}』({target_label(spec.name, t)})"
        failed = rv.is_not_null() & parsed.is_null()
        if t in spec.required:
            parts.append(pl.when(rv.is_null()).then(pl.lit(f"{head} 为空，该列必填"))
                         .when(failed).then(_text_of(head, " 的值“", rv, f"”{_expected(spec, t)}")))
            if t == "score":
                parts.append(pl.when(~parsed.is_between(0, 100)).then(_text_of(head, " 的值“", rv, "”超出 0–100 的范围")))
        elif t in typed:
            flags.append(failed.alias(t))
    if parts:
        reason = pl.concat_str(parts, separator="；", ignore_nulls=True).replace("", None)
        reason = pl.when(reason.is_not_null()).then(
            _text_of("第 ", pl.col("_line").cast(pl.String), " 行", reason, f"。{FIX}"))
    else:
        reason = pl.lit(None, pl.String)
    out = joined.select(reason.alias("reason"), *flags)
    return out.to_series(0), out.drop("reason")


def _text_of(*parts: str | pl.Expr) -> pl.Expr:
    """Text from literal pieces and expressions (pl.format would read braces in a header name as placeholders)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def _plausible(spec: KindSpec, src: dict[str, str], frame: pl.DataFrame, p: Plausibility,
               now: datetime) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """Values no real record can have: dates before `earliest` or in the future, later steps before the
    start, negative counts, coordinates off the globe or outside the region. Returns the frame (flagged
    values left empty, `implausible` noting what they were), the quarantine reason per row (NULL when none)
    and whether the row was flagged. A required column's implausible value always quarantines its row."""
    earliest = datetime.fromisoformat(p.earliest)
    latest = now + timedelta(days=p.future_days)

    def head(t: str) -> str:
        return f"『{src.get(t, t)}』({target_label(spec.name, t)})"

    def shown(t: str) -> pl.Expr:
        v = pl.col(t)
        return v.dt.strftime("%Y-%m-%d %H:%M") if frame.schema[t] == pl.Datetime("us") else v.cast(pl.String)

    checks: list[tuple[tuple[str, ...], pl.Expr, pl.Expr]] = []
    for t in spec.dates:
        if t not in frame.columns or frame[t].null_count() == frame.height:
            continue
        v = pl.col(t)
        checks.append(((t,), v < earliest, _text_of(head(t), " 的值“", shown(t), f"”早于 {earliest:%Y-%m-%d}，不可信")))
        if t != "due_at":
            checks.append(((t,), v > latest, _text_of(head(t), " 的值“", shown(t), "”晚于导入当天，是未来的时间")))
    start, steps = ORDERED.get(spec.name, (None, ()))
    for t in steps:
        if start in frame.columns and t in frame.columns and frame[t].null_count() < frame.height:
            checks.append(((t,), pl.col(t) < pl.col(start), _text_of(
                head(t), " 的值“", shown(t), f"”早于{target_label(spec.name, start)}“", shown(start), "”")))
    for t in spec.ints:
        if t in frame.columns:
            checks.append(((t,), pl.col(t) < 0, _text_of(head(t), " 的值“", shown(t), "”为负数")))
    if {"lon", "lat"} <= set(frame.columns) and frame["lon"].null_count() < frame.height:
        lon, lat = pl.col("lon"), pl.col("lat")
        off = (~lon.is_finite() | ~lat.is_finite() | (lon.abs() > 180) | (lat.abs() > 90)
               | ((lon == 0) & (lat == 0)) | lon.is_null() | lat.is_null())
        bounds = p.region
        if not bounds:
            ok = frame.filter(~off.fill_null(True))
            if ok.height:
                mx, my, r = ok["lon"].median(), ok["lat"].median(), p.region_radius_deg
                bounds = (mx - r, my - r, mx + r, my + r)
        if bounds:
            off = off | ~lon.is_between(bounds[0], bounds[2]) | ~lat.is_between(bounds[1], bounds[3])
        off = off & (lon.is_not_null() | lat.is_not_null())
        where = (f"[{bounds[0]:g}, {bounds[2]:g}]、[{bounds[1]:g}, {bounds[3]:g}]" if bounds else "地球上的有效范围")
        checks.append((("lon", "lat"), off, _text_of(
            "经纬度“", shown("lon").fill_null("空"), ", ", shown("lat").fill_null("空"),
            f"”超出区域（经度、纬度应分别在 {where} 内）")))
    if not checks:
        none = pl.Series([None] * frame.height, dtype=pl.String)
        return frame.with_columns(pl.lit(None, pl.String).alias("implausible")), none, pl.Series([False] * frame.height)
    hold, flag, nulls = [], [], {}
    for cols, cond, text in checks:
        cond = cond.fill_null(False)
        if p.action == "quarantine" or any(c in spec.required for c in cols):
            hold.append(pl.when(cond).then(text))
        else:
            flag.append(pl.when(cond).then(text))
            for c in cols:
                nulls[c] = nulls[c] | cond if c in nulls else cond

    def joined(parts: list[pl.Expr]) -> pl.Expr:
        return pl.concat_str(parts, separator="；", ignore_nulls=True).replace("", None) if parts else pl.lit(None, pl.String)

    out = frame.select(joined(hold).alias("_hold"), joined(flag).alias("implausible"),
                       *[pl.when(m).then(None).otherwise(pl.col(c)).alias(c) for c, m in nulls.items()])
    frame = frame.with_columns(out.drop("_hold"))
    if "redispatch_count" in nulls:  # NOT NULL: an impossible count reads as none, the note keeps the value
        frame = frame.with_columns(pl.col("redispatch_count").fill_null(0))
    reason = pl.DataFrame([frame["_line"].cast(pl.String).alias("l"), out["_hold"].alias("h")]).select(
        pl.when(pl.col("h").is_not_null()).then(_text_of("第 ", pl.col("l"), " 行", pl.col("h"), f"。{CHECK_FIX}"))).to_series()
    return frame, reason, out["implausible"].is_not_null()


def _expected(spec: KindSpec, t: str) -> str:
    if t in spec.dates:
        return f"无法识别为日期；支持的格式：{DATE_FORMATS_HINT}"
    if t in spec.months:
        return "无法识别为月份；支持的格式：2024-03、2024年3月、2024/3/1"
    if t in spec.floats or t in spec.ints:
        return "不是数字"
    if t == "event":
        return f"无法识别为事件；可用的值：{'、'.join(CASE_EVENTS)}"
    return "无法识别"


def _dedupe(spec: KindSpec, src: dict[str, str], good: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Within one file the last occurrence of a key wins; earlier ones are quarantined, naming both lines."""
    key = list(spec.key)
    last = pl.col("_line").max().over(key, mapping_strategy="group_to_rows")
    flagged = good.with_columns(last.alias("_last"))
    dup = flagged.filter(pl.col("_line") != pl.col("_last"))
    if not dup.height:
        return good, pl.DataFrame(schema={"_line": pl.Int64, "reason": pl.String})
    names = "、".join(f"『{src.get(k, k)}』({target_label(spec.name, k)})" for k in key)
    keyval = pl.concat_str([pl.col(k).cast(pl.String).fill_null("") for k in key], separator=" / ")
    last = pl.col("_last").cast(pl.String)
    reason = _text_of("第 ", pl.col("_line").cast(pl.String), " 行与第 ", last, f" 行的{names}“", keyval, "”重复；保留较后的第 ",
                      last, " 行，本行未导入。如两行都应保留，请改正其中一行的编号后重新导入。")
    return (flagged.filter(pl.col("_line") == pl.col("_last")).drop("_last"),
            dup.select("_line", reason.alias("reason")))


def _with_raw(q: pl.DataFrame, raw: pl.DataFrame, headers: list[str]) -> pl.DataFrame:
    if not q.height:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    rows = raw.join(q, on="_line", how="inner").sort("_line").with_columns(_blank_to_null(pl.col(headers)))
    return rows.select(
        pl.col("_line").alias("line_no"),
        pl.col("reason"),
        pl.struct(*headers).struct.json_encode().alias("raw") if headers else pl.lit("{}").alias("raw"),
    )


def _reject_rows(ex: Extracted, phone_cols: list[str], key: str) -> pl.DataFrame:
    """Rows the CSV parser could not split: the reason names the counts; raw keeps the fields it found."""
    if not len(ex.rejects):
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    n = len(ex.headers)
    idxs = [ex.headers.index(h) for h in phone_cols]
    lines, reasons, raws = [], [], []
    for line, error, fields in ex.rejects.iter_rows():
        fields = list(fields or [])
        for i, value in enumerate(fields):
            fields[i] = pii.caller_key_value(value, key) if i in idxs else pii.mask_text(value)
        obj = {h: (fields[i] if i < len(fields) else None) for i, h in enumerate(ex.headers)}
        obj.update({f"_多余字段{i - n + 1}": fields[i] for i in range(n, len(fields))})
        reasons.append(f"第 {line} 行{error}")
        lines.append(line)
        raws.append(json.dumps(obj, ensure_ascii=False))
    return pl.DataFrame({"line_no": lines, "reason": reasons, "raw": raws}, schema=QUARANTINE_SCHEMA)
