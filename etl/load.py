"""Load an export into the database: read, map, transform, diff against what is there, write atomically.

Re-loading a file is recorded as its own `loads` row; rows that did not change are counted as unchanged
and keep their old lineage; rows the file still gets wrong are quarantined again under the new load_id,
so every load's quarantine explains its own rows_quarantined.
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from core.settings import plausibility_settings
from etl import kinds, mapping as mapping_mod, pii, reference, store
from etl.extract import ExtractError, Extracted, exact_lines, read_table
from etl.mapping import target_label
from core.schema import TABLES
from etl.transform import Transformed, transform

Progress = Callable[[str, float], None]


class LoadError(Exception):
    """A load that wrote nothing; the message is Chinese and says what to do (personal numbers masked)."""

    def __init__(self, message: str) -> None:
        super().__init__(pii.mask_text(message))


@dataclass
class LoadResult:
    load_id: str
    source_file: str
    kind: str
    encoding: str
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    status: str = "ok"
    message: str = ""
    sha256: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    nulled: dict[str, int] = field(default_factory=dict)
    flagged: int = 0
    unknown_cases: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _noop(stage: str, fraction: float) -> None:
    pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _prepare(path: Path, kind: str, overrides: dict[str, str] | None, encoding: str | None,
             name: str) -> tuple[Extracted, dict[str, str], list[str]]:
    """Read and map; LoadError (with the Chinese reason) when the file cannot be loaded as `kind` at all."""
    spec = kinds.get(kind)
    try:
        ex = read_table(path, kind, encoding, name=name)
    except ExtractError as e:
        raise LoadError(str(e)) from None
    try:
        mapping = mapping_mod.resolve(ex.headers, kind, overrides)
    except ValueError as e:
        raise LoadError(f"{name}：{e}") from None
    missing = [c for c in spec.required if c not in mapping.values()]
    if missing:
        raise LoadError(_missing_message(name, kind, ex, missing))
    if overrides is None and (other := kinds.better_kinds(ex.headers, kind)):
        raise LoadError(f"{name} 的表头（{'、'.join(ex.headers)}）不像{kinds.KIND_NAMES[kind]}，本次未写入任何数据。"
                        + kinds.kind_advice(other))
    if not ex.frame.height and not len(ex.rejects):
        raise LoadError(f"{name} 只有表头（第 {ex.header_line} 行），没有数据行，本次未写入任何数据。请确认导出时选择了数据范围。")
    return ex, mapping, missing


KIND_NAMES = kinds.KIND_NAMES
likely_kinds = kinds.likely_kinds


def _missing_message(name: str, kind: str, ex: Extracted, missing: list[str]) -> str:
    need = "、".join(f"{target_label(kind, c)}（{c}）" for c in missing)
    message = (f"{name} 缺少必填列：{need}。文件中的表头（第 {ex.header_line} 行）为：{'、'.join(ex.headers) or '（无）'}。"
               f"本次未写入任何数据。")
    other = likely_kinds(ex.headers, kind)
    if other:
        return message + kinds.kind_advice(other)
    return message + ("请在导出时加上这些列，或在导入页的表头映射中指定对应关系（命令行用 --mapping 映射文件，"
                      f"例如 {{\"{ex.headers[0] if ex.headers else '源表头'}\": \"{missing[0]}\"}}）。")


def _unexpected(name: str) -> str:
    return (f"{name}：导入时发生了意外的内部错误，本文件未写入任何数据，其他文件不受影响。"
            "请把该文件和导入时间告知系统管理员。")


def preview(path: str | os.PathLike, kind: str = "work_orders", mapping: dict[str, str] | None = None,
            n: int = 200, encoding: str | None = None,
            source_name: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """What a load would do, writing nothing: (first n mapped rows, quarantined rows, summary). Raises
    LoadError (a Chinese message) when the file cannot be loaded. `encoding` (a Python codec such as
    "gb18030") overrides detection for CSV/TSV."""
    path = Path(path)
    name = source_name or path.name
    try:
        ex, resolved, missing = _prepare(path, kind, mapping, encoding, name)
        summary = {"source_file": name, "kind": kind, "encoding": ex.encoding, "headers": ex.headers,
                   "mapping": resolved, "unmapped": mapping_mod.unmapped(ex.headers, resolved),
                   "missing_required": missing, "rows_read": ex.frame.height + len(ex.rejects),
                   "header_line": ex.header_line}
        tr = transform(ex, kind, resolved)
        if tr.quarantine.height and (again := exact_lines(path, ex, name)) is not ex:
            ex, tr = again, transform(again, kind, resolved)
            summary["rows_read"] = ex.frame.height + len(ex.rejects)
    except LoadError:
        raise
    except Exception:
        raise LoadError(_unexpected(name)) from None
    summary.update(rows_ok=tr.frame.height, rows_quarantined=tr.quarantine.height, nulled=tr.nulled,
                   flagged=tr.flagged)
    return tr.frame.head(n), tr.quarantine, summary


def load_file(path: str | os.PathLike, db: str | os.PathLike | None = None, kind: str = "work_orders",
              mapping: dict[str, str] | None = None, progress: Progress | None = None,
              source_name: str | None = None, encoding: str | None = None, actor: str | None = None) -> LoadResult:
    """Load one file into `db` atomically. Raises LoadError (its Chinese message names the file, the row
    and the fix) when it cannot; the attempt is then recorded in `loads` (and audit_log) as refused and
    nothing else is written. `actor` (the logged-in user; default the OS account) goes into audit_log.
    Work orders are published without tokens; etl.tokens.fill builds them next (the CLI and the import page
    call it after their loads)."""
    path = Path(path)
    started = datetime.now()
    source = source_name or path.name
    store.sweep_scratch()
    result = LoadResult(load_id=started.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8], source_file=source,
                        kind=kind, encoding="")
    try:
        return _load(path, db, kind, mapping, progress or _noop, encoding, result, started, actor)
    except LoadError as e:
        message = str(e)
    except Exception:
        message = _unexpected(source)
    result.status, result.message = "refused", message
    result.rows_read = result.rows_inserted = result.rows_updated = result.rows_unchanged = result.rows_quarantined = 0
    try:
        result.sha256 = _sha256(path) if path.is_file() else ""
        with store.writing(store.db_path(db)) as con:
            _record(con, result, started)
            _audit(con, actor, result)
    except Exception:
        pass  # the refusal itself is what the user must see; a database that cannot take its record changes nothing
    raise LoadError(message)


def _load(path: Path, db, kind: str, mapping: dict[str, str] | None, progress: Progress, encoding: str | None,
          result: LoadResult, started: datetime, actor: str | None) -> LoadResult:
    spec = kinds.get(kind)
    progress("read", 0.0)
    ex, resolved, _ = _prepare(path, kind, mapping, encoding, result.source_file)
    result.encoding, result.mapping = ex.encoding, resolved
    result.unmapped = mapping_mod.unmapped(ex.headers, resolved)
    result.rows_read = ex.frame.height + len(ex.rejects)
    progress("read", 1.0)
    # The file's fingerprint is hashed while it is transformed and written (hashlib releases the GIL): the
    # read keeps both CPUs busy, the later stages leave some room.
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(_sha256, path)
        progress("transform", 0.0)
        checks = plausibility_settings()
        tr = transform(ex, kind, resolved, checks=checks, now=started)
        # Row numbers are about to be shown: make them count blank lines.
        if tr.quarantine.height and (again := exact_lines(path, ex, result.source_file)) is not ex:
            ex, tr = again, transform(again, kind, resolved, checks=checks, now=started)
            result.rows_read = ex.frame.height + len(ex.rejects)
        del ex
        result.nulled, result.flagged = tr.nulled, tr.flagged
        progress("transform", 1.0)
        with store.writing(store.db_path(db)) as con:
            reference.seed_areas(con)
            if spec.name == "case_events":
                tr = _unknown_cases(con, tr, checks.action, result)
            _write(con, spec, tr, result, progress)
            result.status = "ok" if not result.rows_quarantined else "partial"
            result.message = _message(result)
            if result.rows_read != result.rows_inserted + result.rows_updated + result.rows_unchanged + result.rows_quarantined:
                raise AssertionError("rows not conserved")
            result.sha256 = digest.result()
            _record(con, result, started)
            _audit(con, actor, result)
    progress("write", 1.0)
    return result


def _unknown_cases(con, tr: Transformed, action: str, result: LoadResult) -> Transformed:
    """Events of cases that neither the database nor this load has: counted, and held back when the
    settings say quarantine (they are counted on 数据质量 either way)."""
    con.register("_ev", tr.frame.select("case_id", "_line").to_arrow())
    unknown = con.sql("SELECT _line, case_id FROM _ev WHERE case_id NOT IN (SELECT case_id FROM cases)").pl()
    con.unregister("_ev")
    result.unknown_cases = unknown.height
    if not unknown.height or action != "quarantine":
        return tr
    reasons = unknown.select(pl.col("_line").alias("line_no"), pl.concat_str([
        pl.lit("第 "), pl.col("_line").cast(pl.String), pl.lit(" 行的案件编号“"), pl.col("case_id"),
        pl.lit("”在已导入的吹哨案件中不存在。请先导入该案件（--kind cases），或核对编号后重新导入。")]).alias("reason"))
    held = tr.frame.join(unknown.select("_line"), on="_line", how="semi")
    raw = held.drop("_line").select(pl.struct(pl.all()).struct.json_encode().alias("raw"))
    q = pl.concat([reasons, raw], how="horizontal").select(tr.quarantine.columns)
    return Transformed(tr.frame.join(unknown.select("_line"), on="_line", how="anti"),
                       pl.concat([tr.quarantine, q]).sort("line_no"), tr.nulled, tr.flagged)


def _message(r: LoadResult) -> str:
    msg = (f"读取 {r.rows_read} 行：新增 {r.rows_inserted}，更新 {r.rows_updated}，未变 {r.rows_unchanged}，"
           f"隔离 {r.rows_quarantined}。")
    if r.nulled:
        msg += "以下可选列的值无法识别、已置空：" + "，".join(f"{k} {v} 个" for k, v in r.nulled.items()) + "。"
    if r.flagged:
        msg += f"{r.flagged} 行含不合常理的值（如办结早于受理、坐标超出区域），已导入但这些值已置空、不计入任何指标，见“数据质量”页。"
    if r.unknown_cases:
        msg += f"{r.unknown_cases} 条事件的案件编号在已导入的吹哨案件中找不到，请补导这些案件。"
    if r.rows_quarantined:
        msg += "被隔离的行及原因见 quarantine 表。"
    return msg


def _write(con, spec: kinds.KindSpec, tr: Transformed, result: LoadResult, progress: Progress) -> None:
    table = spec.table
    cols = [c for c in TABLES[table] if c in tr.frame.columns]
    key = list(spec.key)
    compare = [c for c in cols if c not in key]
    new = tr.frame.select(cols)
    result.rows_quarantined = tr.quarantine.height
    if con.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]:
        todo = new  # into an empty table every row is new: no diff to run
        result.rows_inserted = new.height
    else:
        todo = _changes(con, table, key, compare, new, result)
    if todo.height:
        todo = todo.with_columns(pl.lit(result.source_file).alias("source_file"), pl.lit(result.load_id).alias("load_id"))
        if result.rows_updated:
            con.register("_keys", todo.select(key).to_arrow())
            on_t = " AND ".join(f"{table}.{k} IS NOT DISTINCT FROM n.{k}" for k in key)
            con.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM _keys n WHERE {on_t})")
            if table == "work_orders":  # the content may have changed: its tokens are rebuilt by etl.tokens
                con.execute("DELETE FROM order_tokens WHERE order_id IN (SELECT order_id FROM _keys)")
            con.unregister("_keys")
        progress("write", 0.0)
        _insert(con, table, todo)
    if tr.quarantine.height:
        q = tr.quarantine.with_columns(pl.lit(result.load_id).alias("load_id"), pl.lit(result.source_file).alias("source_file"))
        con.register("_q", q.to_arrow())
        con.execute("INSERT INTO quarantine (load_id, source_file, line_no, reason, raw) "
                    "SELECT load_id, source_file, line_no, reason, raw FROM _q")
        con.unregister("_q")


def _insert(con, table: str, rows: pl.DataFrame) -> None:
    con.register("_todo", rows.to_arrow())
    names = ", ".join(rows.columns)
    con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _todo")
    con.unregister("_todo")


def _changes(con, table: str, key: list[str], compare: list[str], new: pl.DataFrame, result: LoadResult) -> pl.DataFrame:
    """The rows of `new` to insert or update; counts them into `result`. Only those rows come back."""
    con.register("_new", new.with_row_index("_i").to_arrow())
    if all("NOT NULL" in TABLES[table][k][0] or "PRIMARY" in TABLES[table][k][0] for k in key) and not con.execute(
            f"SELECT count(*) FROM _new n SEMI JOIN {table} o ON {' AND '.join(f'o.{k} = n.{k}' for k in key)}"
    ).fetchall()[0][0]:
        # No key is there yet (a new month's export): every row is new. An equality join on the keys alone
        # skips most of the table; comparing every column would read all of it.
        con.unregister("_new")
        result.rows_inserted, result.rows_updated, result.rows_unchanged = new.height, 0, 0
        return new
    on = " AND ".join(f"o.{k} IS NOT DISTINCT FROM n.{k}" for k in key)
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in compare) or "false"
    flags = con.sql(
        f"SELECT _i, _op FROM (SELECT n._i, CASE WHEN o._present IS NULL THEN 'i' WHEN {changed} THEN 'u' ELSE 's' END AS _op "
        f"FROM _new n LEFT JOIN (SELECT *, true AS _present FROM {table}) o ON {on}) WHERE _op <> 's' ORDER BY _i"
    ).pl()
    con.unregister("_new")
    result.rows_inserted = int((flags["_op"] == "i").sum())
    result.rows_updated = int((flags["_op"] == "u").sum())
    result.rows_unchanged = new.height - flags.height
    return new.select(pl.all().gather(flags["_i"]))


def _audit(con, actor: str | None, r: LoadResult) -> None:
    try:
        account = getpass.getuser()
    except (KeyError, OSError):   # no name for this uid (containers)
        account = f"uid {os.getuid()}"
    who = actor or f"命令行：{account}"
    detail = pii.mask_text(f"{r.source_file}（{KIND_NAMES.get(r.kind, r.kind)}）：{r.message}")
    con.execute("INSERT INTO audit_log (logged_at, actor, action, detail, load_id) VALUES (?, ?, '导入', ?, ?)",
                [datetime.now(), who, detail, r.load_id])


def _record(con, r: LoadResult, started: datetime) -> None:
    con.execute(
        "INSERT INTO loads (load_id, source_file, sha256, kind, encoding, mapping, rows_read, rows_inserted, "
        "rows_updated, rows_unchanged, rows_quarantined, started_at, finished_at, status, message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [r.load_id, r.source_file, r.sha256, r.kind, r.encoding, json.dumps(r.mapping, ensure_ascii=False),
         r.rows_read, r.rows_inserted, r.rows_updated, r.rows_unchanged, r.rows_quarantined, started,
         datetime.now(), r.status, r.message],
    )
