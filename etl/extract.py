"""Read a CSV / TSV / XLSX export into a frame of strings, whatever its encoding, with source line numbers."""
from __future__ import annotations

import codecs
import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from core.store import connect
from etl import store

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
BOM = b"\xef\xbb\xbf"
HEAD_BYTES = 65536  # enough to guess encoding and delimiter


@dataclass
class Extracted:
    """frame: one String column per header, values as exported (untrimmed; the transform trims what it
    reads), plus `_line` (the Excel-style row number, header = 1).
    rejects: rows the CSV parser could not split into the header's columns (line, error, raw)."""
    frame: pl.DataFrame
    encoding: str
    delimiter: str | None
    headers: list[str]
    rejects: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"line": pl.Int64, "error": pl.String, "raw": pl.List(pl.String)}))


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(python codec, label) — BOM → utf-8-sig; valid UTF-8 → utf-8; else gb18030 (a superset of GBK)."""
    if data.startswith(BOM):
        return "utf-8-sig", "UTF-8 BOM"
    try:
        data.decode("utf-8")
        return "utf-8", "UTF-8"
    except UnicodeDecodeError:
        return "gb18030", "GBK/GB18030"


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


def read_table(path: str | os.PathLike, kind: str = "work_orders", encoding: str | None = None) -> Extracted:
    """Read a whole export as strings. `kind` is accepted for symmetry with the loader; reading does not
    depend on it. `encoding` overrides detection (a Python codec name)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"文件不存在：{path}")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _read_excel(path)
    return _read_csv(path, encoding)


def _read_excel(path: Path) -> Extracted:
    try:
        frame = pl.read_excel(path, engine="calamine", infer_schema_length=0)
    except Exception as e:  # fastexcel raises its own types
        raise ValueError(f"无法读取 Excel 文件 {path.name}：{e}。请确认文件未损坏且第一个工作表第一行是表头。") from None
    frame = frame.with_columns(pl.all().cast(pl.String).str.strip_chars().replace("", None))
    # calamine drops fully blank rows at the end only; row i of the sheet body is Excel row i + 2.
    frame = frame.with_row_index("_line", offset=2).with_columns(pl.col("_line").cast(pl.Int64))
    headers = [c for c in frame.columns if c != "_line"]
    return Extracted(frame.select(*headers, "_line"), "XLSX", None, headers)


def _read_csv(path: Path, encoding: str | None) -> Extracted:
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    if encoding:
        try:
            codec, label = codecs.lookup(encoding).name, encoding.upper()
        except LookupError:
            raise ValueError(f"不认识的编码“{encoding}”。常用的有 utf-8、utf-8-sig（带 BOM）、gb18030（兼容 GBK）。") from None
        if codec.startswith("utf-8") and not _utf8_prefix(head):
            raise ValueError(f"{path.name} 不是 {label} 编码（开头部分就无法按 UTF-8 解码），请改选 gb18030，或不指定编码让系统自动识别。")
    else:
        # A head cut inside a character is still UTF-8; an incremental decoder allows for that.
        codec, label = detect_encoding(head)
        if codec == "gb18030" and _utf8_prefix(head):
            codec, label = "utf-8", "UTF-8"
    text_head = head.decode(codec, errors="ignore")
    delim = detect_delimiter(text_head.lstrip("\ufeff").split("\n", 1)[0], path.suffix.lower())
    if codec == "utf-8" and not encoding:
        # DuckDB validates UTF-8 as it parses: a non-UTF-8 byte past the head rejects its row as INVALID
        # ENCODING, and then the whole file is GBK after all and is read again transcoded.
        try:
            ex = _duck_read(path, label, delim)
        except _NotUtf8:
            codec, label = "gb18030", "GBK/GB18030"
        else:
            return ex
    if codec in ("utf-8", "utf-8-sig"):
        return _duck_read(path, label, delim)
    # A private scratch file, removed here or, after a killed load, by the next run (store.sweep_scratch).
    source = store.scratch_file(".csv", "utf8")
    try:
        source.write_text(path.read_bytes().decode(codec, errors="replace"), encoding="utf-8")
        return _duck_read(source, label, delim)
    finally:
        source.unlink(missing_ok=True)


class _NotUtf8(ValueError):
    """The file has bytes that are not UTF-8 (DuckDB rejected rows for their encoding)."""


CSV_OPTIONS = "all_varchar=true, header=true, delim=?, quote='\"', escape='\"', strict_mode=true, null_padding=false"
NO_REJECTS = pl.DataFrame(schema={"line": pl.Int64, "error": pl.String, "csv_line": pl.String})


def _duck_read(source: Path, label: str, delim: str) -> Extracted:
    con = connect()
    try:
        # Most exports parse cleanly, and keeping a rejects table slows DuckDB's parse by about a fifth: a
        # clean read goes first, and only a file it fails on is read again collecting the broken rows.
        frame = con.sql(f"SELECT * FROM read_csv(?, {CSV_OPTIONS})", params=[str(source), delim]).pl()
        rej = NO_REJECTS
    except duckdb.Error:
        frame = None
    try:
        if frame is None:
            frame = con.sql(f"SELECT * FROM read_csv(?, {CSV_OPTIONS}, store_rejects=true)",
                            params=[str(source), delim]).pl()
            rej = con.sql(
                "SELECT line::BIGINT AS line, any_value(error_type::VARCHAR) AS error, any_value(csv_line) AS csv_line "
                "FROM reject_errors GROUP BY line ORDER BY line"
            ).pl()
    except duckdb.Error as e:
        if "unicode" in str(e).lower() or "encoding" in str(e).lower():
            raise _NotUtf8(f"{source.name} 含有不是 UTF-8 编码的内容（{e}）。请改选 gb18030，或不指定编码让系统自动识别。") from None
        raise ValueError(f"无法解析 CSV 文件 {source.name}：{e}。请确认文件是逗号或制表符分隔、第一行是表头。") from None
    finally:
        con.close()
    if rej.height and rej["error"].str.contains("ENCODING|UNICODE").any():
        line = rej.filter(rej["error"].str.contains("ENCODING|UNICODE"))["line"][0]
        raise _NotUtf8(f"{source.name} 第 {line} 行含有不是 UTF-8 编码的字节。请改选 gb18030，或不指定编码让系统自动识别。")
    headers = list(frame.columns)
    rej_lines = rej["line"].to_numpy()
    total = frame.height + len(rej_lines)
    lines = np.arange(2, total + 2, dtype=np.int64)
    if len(rej_lines):
        lines = lines[~np.isin(lines, rej_lines)]
        if len(lines) != frame.height:  # reject numbering we did not expect: fall back to counting
            lines = np.arange(2, frame.height + 2, dtype=np.int64)
    frame = frame.with_columns(pl.Series("_line", lines, dtype=pl.Int64))
    raw = [_split_line(s, delim) for s in rej["csv_line"].to_list()]
    rejects = pl.DataFrame(
        {"line": rej["line"], "error": rej["error"], "raw": raw},
        schema={"line": pl.Int64, "error": pl.String, "raw": pl.List(pl.String)},
    )
    return Extracted(frame, label, delim, headers, rejects)


def _split_line(line: str | None, delim: str) -> list[str]:
    if line is None:
        return []
    try:
        return next(csv.reader(io.StringIO(line), delimiter=delim), [])
    except csv.Error:
        return [line]
