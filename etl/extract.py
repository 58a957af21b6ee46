"""Read a CSV / TSV / XLSX export into a frame of strings, whatever its encoding, with the row numbers a person
sees when opening the file.

A clean UTF-8 file goes straight through DuckDB's strict parser (the fast path). Anything else — another
encoding, a row in another encoding, a broken quote, a row of the wrong width, an oversize row — goes through
the careful path: each physical line is decoded on its own (UTF-8, else GB18030, never text that reads as
garbled), records are split here, and a record that cannot be read becomes a reject with its reason while the
rest of the file loads. Every failure is an ExtractError with a Chinese message naming the file as the user
named it, never an engine's text.
"""
from __future__ import annotations

import codecs
import csv
import io
import mmap
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import polars as pl

from core.store import connect

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 65536          # enough to find the header and the delimiter
HEADER_SCAN = 20            # title lines above the header are looked for in this many first rows
SAMPLE_ROWS = 500           # fast path: rows checked for garbled text (a garbled sample sends the file the careful way)
MAX_ROW_KB = 1024           # a record longer than this is quarantined (a broken quote or a runaway field)
BAD_LINE_SHARE = 0.2        # more undecodable lines than this (of the lines with non-ASCII text): refuse the file

# Codec -> what the import page's "文件编码" selector calls it (None: automatic).
ENCODING_CHOICES: dict[str, str | None] = {
    "自动识别": None, "UTF-8": "utf-8", "UTF-8 带 BOM": "utf-8-sig", "GBK / GB18030": "gb18030",
    "Big5（繁体中文）": "big5", "UTF-16": "utf-16", "Windows-1252（西文）": "cp1252",
}
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 BOM", "gb18030": "GBK/GB18030", "gbk": "GBK/GB18030",
           "big5": "Big5", "big5hkscs": "Big5", "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16",
           "cp1252": "Windows-1252", "latin-1": "Windows-1252", "iso8859-1": "Windows-1252"}
REJECT_SCHEMA = {"line": pl.Int64, "error": pl.String, "raw": pl.List(pl.String)}


class ExtractError(ValueError):
    """The file cannot be read at all; the message is Chinese and says what to do."""


@dataclass
class Extracted:
    """frame: one String column per header, values as exported (untrimmed; the transform trims what it
    reads), plus `_line` (the row number as Excel/WPS shows it: title lines and the header counted).
    rejects: records that could not be read (line, error in Chinese without the row number, raw fields)."""
    frame: pl.DataFrame
    encoding: str
    delimiter: str | None
    headers: list[str]
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REJECT_SCHEMA))
    header_line: int = 1
    # False when the row numbers assume the file has no blank lines (DuckDB skips them): exact_lines()
    # checks that, at a cost, only when a row number is about to be shown.
    exact: bool = True


def encoding_advice(codec: str) -> str:
    """How to choose `codec`, on the command line and on the import page."""
    choice = next((k for k, v in ENCODING_CHOICES.items() if v == codec), None)
    page = f"；导入页在“文件编码”中选“{choice}”" if choice else ""
    return f"请指定编码 {codec}（命令行加 --encoding {codec}{page}）"


# --- garbled text ----------------------------------------------------------------------------------------

def _charset(codec: str, leads: range, trails: list[int]) -> frozenset[str]:
    out = set()
    for a in leads:
        for b in trails:
            try:
                out.add(bytes([a, b]).decode(codec))
            except UnicodeDecodeError:
                pass
    return frozenset(out)


@lru_cache(maxsize=1)
def common_han() -> frozenset[str]:
    """The everyday Chinese characters: GB2312 level 1 (3,755, simplified) and Big5's frequent characters
    (5,401, traditional), read from the codecs themselves. Real text is almost all of these; text decoded
    with the wrong codec is largely rare characters, kana, Greek, Cyrillic or private-use code points."""
    return (_charset("gb2312", range(0xB0, 0xD8), list(range(0xA1, 0xFF)))
            | _charset("big5", range(0xA4, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]))


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
_ODD = re.compile(r"[\u3040-\u30ff\u0370-\u03ff\u0400-\u04ff\u2500-\u257f\ue000-\uf8ff\ufffd]")
_LATIN_MOJIBAKE = re.compile(
    "锟斤拷|\ufffd|[\u00c2\u00c3][\u0080-\u00bf]|[\u00e4-\u00e9][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178"
    "\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]{2}")
_SANDWICH = re.compile(r"[A-Za-z]([\u3400-\u9fff])[A-Za-z]")
GARBLED_SHARE = 0.25        # real text: ≤ 0.18 rare characters per Chinese character (泰迪杯 files, 18,582 cells)


def garbled(text: str) -> bool:
    """True when `text` reads as mojibake: UTF-8 decoded as GBK (or Big5 as GBK), UTF-8 as Latin-1, the
    replacement character. Short texts are judged only on unmistakable signs."""
    if text.isascii():
        return False
    if _LATIN_MOJIBAKE.search(text):
        return True
    common = common_han()
    han = _HAN.findall(text)
    odd = len(_ODD.findall(text))
    rare = sum(1 for c in han if c not in common)
    if any(c not in common for c in _SANDWICH.findall(text)):
        return True  # a rare character between Latin letters: a single-byte text read as GBK ("Cr閙e")
    n = len(han) + odd
    return n >= 4 and (rare + odd) / n > GARBLED_SHARE


# --- reading ---------------------------------------------------------------------------------------------

def read_table(path: str | Path, kind: str = "work_orders", encoding: str | None = None,
               name: str | None = None) -> Extracted:
    """Read a whole export as strings. `kind` is accepted for symmetry with the loader; reading does not
    depend on it. `encoding` overrides detection (a Python codec name). `name` is how the user named the
    file (messages use it; default: the file name)."""
    path = Path(path)
    name = name or path.name
    if not path.exists():
        raise ExtractError(f"找不到文件 {name}。请检查文件名和路径。")
    if path.is_dir():
        raise ExtractError(f"{name} 是一个文件夹，不是文件。请选择文件夹中的 CSV / TSV / Excel 文件导入。")
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    if not head.strip(b" \t\r\n\x00" + BOM):
        raise ExtractError(f"{name} 是空文件，没有表头也没有数据。请重新导出后再导入。")
    if path.suffix.lower() in EXCEL_SUFFIXES or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        if head.lstrip().lower().startswith((b"<", b"\xef\xbb\xbf<")):
            raise _html(name)
        return _read_excel(path, name)
    if re.match(rb"\s*(\xef\xbb\xbf)?\s*<(!doctype|html|table|\?xml)", head[:512], re.I):
        raise _html(name)
    codec = _codec(encoding) if encoding else None
    if codec in (None, "utf-8", "utf-8-sig") and _utf8_prefix(head):
        ex = _fast(path, name, head, "UTF-8 BOM" if head.startswith(BOM) else "UTF-8")
        if ex is not None:
            return ex
    return _careful(path.read_bytes(), name, codec, path.suffix.lower())


def _html(name: str) -> ExtractError:
    return ExtractError(f"{name} 其实是网页（HTML）格式，不是真正的表格文件（有的系统导出的 .xls 就是这样）。"
                        "请用 Excel 或 WPS 打开后“另存为” .xlsx 或 CSV，再导入。")


def _codec(encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise ExtractError(f"不认识的编码“{encoding}”。常用的有 utf-8、utf-8-sig（带 BOM）、gb18030（兼容 GBK）、"
                           "big5（繁体）、utf-16、cp1252（西文）。") from None
    return {"gbk": "gb18030", "gb2312": "gb18030", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(codec, codec)


def _utf8_prefix(data: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def detect_delimiter(first_line: str, suffix: str) -> str:
    if suffix in {".tsv", ".tab"}:
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _split(line: str, delim: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delim), [])
    except csv.Error:
        return line.split(delim)


def _find_header(rows: list[list[str]]) -> int:
    """Index of the header among the first rows: the first with at least two cells and at least half as
    many filled cells as the widest of them (a title line above it fills one)."""
    width = max((sum(1 for c in r if c and c.strip()) for r in rows), default=0)
    for i, r in enumerate(rows):
        filled = sum(1 for c in r if c and c.strip())
        if filled >= 2 and filled * 2 >= width:
            return i
    return 0


def clean_headers(cells: list[str | None]) -> list[str]:
    """Header names as shown: trimmed, invisible marks removed, blanks named by position, repeats numbered."""
    out: list[str] = []
    for i, c in enumerate(cells):
        h = re.sub(r"[\ufeff\u200b\u200c\u200d\u2060\x00]", "", c or "").strip()
        h = re.sub(r"\s+", " ", h) or f"第{i + 1}列"
        if h == "*" or (h.startswith("^") and h.endswith("$")):
            h = h.replace("*", "＊").replace("^", "＾").replace("$", "＄")  # polars reads these as column patterns
        base, k = h, 2
        while h in out:
            h, k = f"{base}({k})", k + 1
        out.append(h)
    return out


def _head_lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").split("\n")[:HEADER_SCAN]


CSV_OPTIONS = ("all_varchar=true, header=true, delim=?, quote='\"', escape='\"', strict_mode=true, "
               "null_padding=false, skip=?, max_line_size=?")


def _fast(path: Path, name: str, head: bytes, label: str) -> Extracted | None:
    """DuckDB's strict parse of a clean UTF-8 file; None when the file needs the careful path."""
    text = head.decode("utf-8", errors="ignore")
    if "\n" not in text:
        return None  # old Mac line ends (CR only), or one line longer than the head
    lines = _head_lines(text)
    delim = detect_delimiter(next((ln for ln in lines if ln.strip()), ""), path.suffix.lower())
    skip = _find_header([_split(ln.rstrip("\r"), delim) for ln in lines])
    if any('"' in ln for ln in lines[:skip]):
        return None  # a quoted title line may span lines; let the careful path count them
    headers = clean_headers(_split(lines[skip].rstrip("\r"), delim)) if skip < len(lines) else []
    con = connect()
    try:
        frame = con.sql(f"SELECT * FROM read_csv(?, {CSV_OPTIONS})",
                        params=[str(path), delim, skip, MAX_ROW_KB * 1024]).pl()
    except duckdb.Error:
        return None
    finally:
        con.close()
    if frame.width != len(headers) or not headers:
        return None
    frame.columns = headers
    sample = frame.head(SAMPLE_ROWS)
    for h in headers:
        values = sample[h].drop_nulls()
        if garbled(h) or any(garbled(v) for v in values.filter(~values.str.contains(r"^[\x00-\x7f]*$")).to_list()):
            return None
    header_line = skip + 1
    frame = frame.with_columns(pl.int_range(header_line + 1, header_line + 1 + frame.height, dtype=pl.Int64).alias("_line"))
    return Extracted(frame, label, delim, headers, header_line=header_line, exact=False)


def exact_lines(path: str | Path, ex: Extracted, name: str | None = None) -> Extracted:
    """`ex` with row numbers that count blank lines: read again the careful way if the file has any."""
    path = Path(path)
    if ex.exact:
        return ex
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    if not _blank_line(path, b"\n\r\n" if b"\r\n" in head else b"\n\n"):
        ex.exact = True
        return ex
    return _careful(path.read_bytes(), name or path.name, None, path.suffix.lower())


def _blank_line(path: Path, pattern: bytes) -> bool:
    """Whether a blank line comes before the file's trailing blank lines (one scan of the mapped file)."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        end = len(mm)
        while end and mm[end - 1] in b" \t\r\n":
            end -= 1
        return mm.find(pattern, 0, end) != -1


def _utf16(data: bytes) -> str | None:
    """The text of a UTF-16 file (with a BOM, or without one but with the NUL bytes of ASCII in UTF-16)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    else:
        sample = data[:4000]
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if max(even, odd) < len(sample) // 4:
            return None
        codec = "utf-16-be" if even > odd else "utf-16-le"
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _decode_line(raw: bytes, codecs_: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(text, codec) for the first codec that decodes the line into text that does not read as garbled."""
    for c in codecs_:
        try:
            t = raw.decode(c)
        except UnicodeDecodeError:
            continue
        if not garbled(t):
            return t, c
    return None, None


def _guess(lines: list[bytes], candidates: tuple[str, ...] = ("big5", "cp1252", "utf-16")) -> str | None:
    """The codec that reads these (undecodable) lines best, to name in the message."""
    scores = {}
    for c in candidates:
        ok = 0
        for raw in lines[:200]:
            try:
                ok += not garbled(raw.decode(c))
            except UnicodeDecodeError:
                pass
        scores[c] = ok
    best = max(scores, key=scores.get)
    return best if scores[best] * 2 > min(len(lines), 200) else None


def _decode(data: bytes, name: str, codec: str | None) -> tuple[list[str], dict[int, str], str]:
    """(lines, {line index: problem}, label). Each physical line is decoded on its own: neither UTF-8 nor
    GB18030 uses the newline byte inside a character, so a line break is always a line break."""
    if codec in ("utf-16", "utf-32") or (codec is None and (text16 := _utf16(data)) is not None):
        text = text16 if codec is None else _strict(data, codec, name)
        if "\n" not in text:
            text = text.replace("\r", "\n")
        return text.lstrip("\ufeff").split("\n"), {}, "UTF-16"
    if data.startswith(BOM):
        data = data[3:]
    if b"\n" not in data:
        data = data.replace(b"\r", b"\n")  # old Mac line ends
    raw_lines = data.split(b"\n")
    order = (codec,) if codec else ("utf-8", "gb18030")
    lines: list[str] = []
    bad: dict[int, str] = {}
    used: set[str] = set()
    bad_raw: list[bytes] = []
    non_ascii = 0
    for i, raw in enumerate(raw_lines):
        if raw.isascii():
            lines.append(raw.decode("ascii"))
            continue
        non_ascii += 1
        t, c = _decode_line(raw, order)
        if t is None:
            bad[i] = raw
            bad_raw.append(raw)
            lines.append("")
        else:
            used.add(c)
            lines.append(t)
    if bad and len(bad) > max(2, BAD_LINE_SHARE * non_ascii):
        if codec:
            guess = _guess(bad_raw, tuple(c for c in ("gb18030", "utf-8", "big5", "cp1252") if c != codec))
            advice = encoding_advice(guess) if guess else "请改选其他编码"
            raise ExtractError(f"{name} 不是 {_LABELS.get(codec, codec)} 编码（有 {len(bad)} 行按它读出来是乱码或无法解码）。"
                               f"{advice}，或选“自动识别”（不指定编码）。")
        guess = _guess(bad_raw)
        if guess:
            raise ExtractError(f"{name} 看起来是 {_LABELS[guess]} 编码，不是 UTF-8 或 GBK。{encoding_advice(guess)}后重新导入。")
        raise ExtractError(f"{name} 有 {len(bad)} 行文字既不是 UTF-8 也不是 GBK/GB18030 编码，读出来是乱码。"
                           "请用 Excel 或 WPS 打开后另存为“CSV UTF-8”再导入，或指定正确的编码（--encoding）。")
    if codec:
        label = _LABELS.get(codec, codec.upper())
    elif used == {"utf-8", "gb18030"}:
        label = "UTF-8 与 GBK 混合（逐行识别）"
    else:
        label = "GBK/GB18030" if used == {"gb18030"} else "UTF-8"
    problems = {i: (f"这一行的文字无法按 {label} 正确解码（读出来是乱码），未导入。请检查该行是否来自其他编码的文件，"
                    "修正后重新导入。") for i in bad}
    return lines, problems, label


def _strict(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise ExtractError(f"{name} 不是 {_LABELS.get(codec, codec)} 编码。请改选其他编码，或选“自动识别”。") from None


def _careful(data: bytes, name: str, codec: str | None, suffix: str) -> Extracted:
    if b"\x00" in data[:HEAD_BYTES] and codec not in ("utf-16", "utf-32") and _utf16(data) is None:
        raise ExtractError(f"{name} 含有二进制内容，不是文本表格。请确认选对了文件；Excel 文件请保持 .xlsx 扩展名。")
    lines, problems, label = _decode(data, name, codec)
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    while lines and not lines[-1].strip():
        lines.pop()
    first = next((ln for ln in lines[:HEADER_SCAN] if ln.strip()), "")
    delim = detect_delimiter(first.lstrip("\ufeff"), suffix)
    records = _records(lines, delim, problems)
    scan = [fields for _, fields, _ in records[:HEADER_SCAN] if fields is not None]
    h = _find_header(scan)
    if not scan:
        raise ExtractError(f"{name} 没有可读的表头行。请确认第一行（或标题行下面一行）是表头后重新导入。")
    header_rec = [r for r in records if r[1] is not None][h]
    headers = clean_headers(header_rec[1])
    header_pos = records.index(header_rec)
    n = len(headers)
    rows: list[list[str | None]] = []
    line_nos: list[int] = []
    rej_lines, rej_errors, rej_raw = [], [], []
    for row_no, (line_no, fields, problem) in enumerate(records[header_pos + 1:], start=header_pos + 2):
        # row_no counts records as Excel shows them; line_no is the physical line (a text editor's count).
        where = f"（文本编辑器中第 {line_no} 行）" if line_no != row_no else ""
        if fields is not None and not problem and len(fields) != n:
            if not any(f.strip() for f in fields):
                continue  # a blank line is no row
            what = "多出" if len(fields) > n else "缺少"
            problem = (f"字段数与表头不符：表头有 {n} 列，该行有 {len(fields)} 列（{what}字段，常见原因是多余的分隔符、"
                       "内容中的逗号或换行未加引号）。请修正该行后重新导入。")
        if problem:
            rej_lines.append(row_no)
            rej_errors.append(where + problem)
            rej_raw.append(list(fields or []))
            continue
        rows.append(fields)
        line_nos.append(row_no)
    frame = pl.DataFrame(rows, schema=[(c, pl.String) for c in headers], orient="row") if rows else \
        pl.DataFrame(schema={c: pl.String for c in headers})
    frame = frame.with_columns(pl.Series("_line", line_nos, dtype=pl.Int64))
    rejects = pl.DataFrame({"line": rej_lines, "error": rej_errors, "raw": rej_raw}, schema=REJECT_SCHEMA)
    return Extracted(frame, label, delim, headers, rejects, header_line=header_pos + 1)


def _records(lines: list[str], delim: str, problems: dict[int, str]) -> list[tuple[int, list[str] | None, str | None]]:
    """(1-based physical line, fields, problem) per record. A record runs on over line breaks while a quote
    is open; a quote still open at the end of the file (or past MAX_ROW_KB) is a broken quote: that line
    alone is a bad row, and reading resumes at the next line."""
    out = []
    limit = MAX_ROW_KB * 1024
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if i in problems:
            out.append((i + 1, None, problems[i]))
            i += 1
            continue
        if len(line) > limit // 4 and len(line.encode("utf-8")) > limit:
            out.append((i + 1, None, f"这一行长度超过 {MAX_ROW_KB} KB，可能是内容异常或引号未闭合，未导入。请检查并修正该行后重新导入。"))
            i += 1
            continue
        if line.count('"') % 2 == 0:
            if line.strip():
                out.append((i + 1, _split(line, delim), None))
            else:
                out.append((i + 1, [""], None))
            i += 1
            continue
        j, quotes, size = i, line.count('"'), len(line)
        while quotes % 2 and j + 1 < n and size <= limit and (j + 1) not in problems:
            j += 1
            quotes += lines[j].count('"')
            size += len(lines[j]) + 1
        fields = None
        if quotes % 2 == 0 and size <= limit:
            try:
                fields = next(csv.reader(io.StringIO("\n".join(lines[i:j + 1])), delimiter=delim, strict=True))
            except csv.Error:
                fields = None
        if fields is not None:
            out.append((i + 1, fields, None))
            i = j + 1
            continue
        alone = _split(line, delim)
        if not re.search(rf'(^|{re.escape(delim)})\s*"', line):
            out.append((i + 1, alone, None))  # a stray quote inside an unquoted value is just a character
        else:
            out.append((i + 1, alone, "这一行有未闭合的引号（引号只有开头没有结尾），未导入；其后的行照常导入。"
                                      "请补上引号或删去多余的引号后重新导入该行。"))
        i += 1
    return out


def _read_excel(path: Path, name: str) -> Extracted:
    try:
        frame = pl.read_excel(path, engine="calamine", has_header=False, infer_schema_length=0)
    except Exception:  # fastexcel raises its own types; its text is English and names the temporary path
        raise ExtractError(f"无法读取 Excel 文件 {name}：文件可能已损坏、加了密码，或不是真正的 Excel 文件。"
                           "请用 Excel 或 WPS 打开确认后另存为 .xlsx 再导入。") from None
    frame = frame.with_columns(pl.all().cast(pl.String))
    if not frame.height:
        raise ExtractError(f"{name} 的第一个工作表是空的。请把数据放在第一个工作表，第一行为表头。")
    top = [list(r) for r in frame.head(HEADER_SCAN).iter_rows()]
    h = _find_header(top)
    headers = clean_headers(top[h])
    body = frame.slice(h + 1)
    body.columns = headers
    # calamine starts at the first used row; row i of the sheet body is Excel row h + 2 + i.
    body = body.with_columns(pl.int_range(h + 2, h + 2 + body.height, dtype=pl.Int64).alias("_line"))
    blank = pl.all_horizontal(pl.col(headers).str.strip_chars().replace("", None).is_null())
    return Extracted(body.filter(~blank), "XLSX", None, headers, header_line=h + 1)
