"""Personal data in free text: phone numbers, ID-card and bank-card numbers and e-mail addresses are masked
(139****5678) before anything is stored; caller phone numbers become an HMAC whose key is kept apart from
the database; ids that carry such a number are replaced by a keyed pseudonym.

The rules run on every text column of an import at load time (etl.transform), so content, addresses, the
token index, quarantine rows, error messages and exports only ever see the masked form.
"""
from __future__ import annotations

import hmac
import os
from hashlib import sha256

import polars as pl

from core.schema import CALLER_KEY_DIGITS
from core.store import connect, secret_file

# Rust regex has no look-around: a number's edges are captured and written back. Two numbers sharing one
# separator are caught by the second pass. Digits after a decimal point (40.712345678901) are no number.
_EDGE_L, _EDGE_R = r"(^|^\.|[^0-9.]|[^0-9]\.)", r"([^0-9]|$)"
RULES: tuple[tuple[str, str], ...] = (
    # ID card, 18 characters (last may be X): keep the region code and the last four.
    (_EDGE_L + r"(\d{6})\d{8}(\d{3}[0-9Xx])" + _EDGE_R, "${1}${2}********${3}${4}"),
    # Old 15-digit ID card (6 region + yymmdd + 3).
    (_EDGE_L + r"(\d{6})\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(\d{3})" + _EDGE_R, "${1}${2}******${3}${4}"),
    # Bank cards: 16–19 digits, or groups of four separated by spaces or dashes.
    (_EDGE_L + r"(\d{4})\d{8,11}(\d{4})" + _EDGE_R, "${1}${2}********${3}${4}"),
    (_EDGE_L + r"(\d{4})(?:[ -]\d{4}){2,3}[ -](\d{3,4})" + _EDGE_R, "${1}${2} **** **** ${3}${4}"),
    # Mobile numbers, with or without +86 and separators: 139****5678.
    (_EDGE_L + r"(?:\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})" + _EDGE_R, "${1}${2}****${3}${4}"),
    # Landlines with an area code: 010-****5678.
    (_EDGE_L + r"(0(?:10|2\d|[3-9]\d{2}))[ -]?\d{3,4}(\d{4})" + _EDGE_R, "${1}${2}-****${3}${4}"),
    # Local numbers named as such ("电话 62345678").
    (r"(?i)(电话|手机|座机|联系方式|号码|tel|phone)([:：\s是为]*)\d{3,4}(\d{4})" + _EDGE_R, "${1}${2}****${3}${4}"),
    # E-mail: first character and the domain.
    (r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})", "${1}***@${2}"),
)
# Only values with seven digits in a row, 3-4-4 or 4-4-4 digit groups, or an @ can hold any of the above:
# the rules run on those alone.
_CANDIDATE = r"\d{7}|\d{3}[ -]\d{4}[ -]\d{4}|\d{4}[ -]\d{4}[ -]\d{4}|@"
KEY_ENV = "WHISTLE_CALLER_KEY"
KEY_FILE = "caller.key"
PSEUDONYM_PREFIX = "PII-"


def mask(series: pl.Series) -> pl.Series:
    """The series with every phone, ID, bank-card number and e-mail address masked; other values untouched."""
    if series.dtype != pl.String or series.is_empty():
        return series
    idx = series.str.contains(_CANDIDATE).fill_null(False).arg_true()
    if idx.is_empty():
        return series
    part = series.gather(idx)
    for pattern, replacement in RULES:
        part = part.str.replace_all(pattern, replacement).str.replace_all(pattern, replacement)
    out = series.clone()
    out.scatter(idx, part)
    return out


def mask_text(text: str | None) -> str | None:
    """`mask` for one string (messages, file names)."""
    if not text:
        return text
    return mask(pl.Series([text], dtype=pl.String))[0]


def mask_frame(frame: pl.DataFrame, skip: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every text column of `frame` masked except those in `skip`."""
    cols = [c for c, t in frame.schema.items() if t == pl.String and c not in skip]
    return frame.with_columns(mask(frame[c]) for c in cols) if cols else frame


def pseudonymise(series: pl.Series, key: str) -> pl.Series:
    """Ids (order, case numbers) that carry a personal number are replaced by PII-<keyed hash>: unique and
    the same on every load, so updates and links still match, without the number."""
    masked = mask(series)
    changed = (masked != series).fill_null(False)
    if not changed.any():
        return series
    idx = changed.arg_true()
    keys = hmac_values(series.gather(idx), key)
    out = series.clone()
    out.scatter(idx, PSEUDONYM_PREFIX + keys)
    return out


def normalise_phone(e: pl.Expr) -> pl.Expr:
    digits = e.str.replace_all(r"[\s\-()（）]", "")
    return digits.str.replace(r"^(\+86|0086)(\d{11})$", "$2")


def hmac_values(series: pl.Series, key: str, length: int = 16) -> pl.Series:
    """HMAC-SHA256(key, value), hex, first `length` characters; NULL and "" stay NULL. Vectorised in DuckDB
    (RFC 2104 spelled out over BLOBs; equal to Python's hmac, checked in tests)."""
    k = key.encode()
    if len(k) > 64:
        k = sha256(k).digest()
    k = k.ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in k), bytes(b ^ 0x5C for b in k)
    con = connect()
    try:
        con.register("_v", series.alias("v").to_frame().to_arrow())
        out = con.sql(
            "SELECT CASE WHEN v IS NULL OR v = '' THEN NULL "
            "ELSE left(sha256(?::BLOB || unhex(sha256(?::BLOB || encode(v)))), ?) END AS h FROM _v",
            params=[opad, ipad, length],
        ).pl()
    finally:
        con.close()
    return out.to_series().alias(series.name)


def hmac_value(value: str, key: str, length: int = 16) -> str:
    return hmac.new(key.encode(), value.encode(), sha256).hexdigest()[:length]


def caller_keys(series: pl.Series, key: str) -> pl.Series:
    """The caller key of each phone number: HMAC of the normalised number, its hex digits written as letters
    (CALLER_KEY_DIGITS) so no key holds a run of digits that a scan for phone numbers would take for one."""
    normalised = series.to_frame("p").select(normalise_phone(pl.col("p"))).to_series()
    return hmac_values(normalised, key).str.replace_many(list(CALLER_KEY_DIGITS[0]), list(CALLER_KEY_DIGITS[1])).alias(series.name)


def caller_key_value(value: str | None, key: str) -> str | None:
    """Python twin of `caller_keys` for one value (rows the CSV parser rejected)."""
    normalised = pl.select(normalise_phone(pl.lit(value, pl.String))).item()
    return hmac_value(normalised, key).translate(str.maketrans(*CALLER_KEY_DIGITS)) if normalised else None


def secret_key() -> str:
    """The caller-key secret: WHISTLE_CALLER_KEY, else <config dir>/caller.key (created with mode 0600 on
    first use). Never stored next to the database, so a copy of the data folder cannot reverse the keys."""
    return os.environ.get(KEY_ENV) or secret_file(KEY_FILE)
