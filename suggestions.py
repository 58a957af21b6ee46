"""Where 智能分类 (analytics.classify, pure) meets the database and the exports (etl): training and publishing
the history's suggestions, reading an export the way the loader does, filling an upload's blank 分类 / 承办部门,
and the `suggest` / `train` commands. It sits above both packages, like the pages: etl never imports
analytics, and analytics never writes the database, so retraining is triggered from here (the command line
and the import page) and whenever a stale model is asked for, never from inside a load.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import polars as pl

from analytics import classify
from analytics.classify import ClassifyError, Model
from analytics.settings import Settings, load_settings
from core import summary
from core.store import connect_read, db_path
from etl.extract import ExtractError, read_table
from etl.load import LoadError, preview
from etl.mapping import read_mapping_file, resolve
from etl.transform import transform
from etl.store import writing


def _publish(db: Path, rows: pl.DataFrame, source: str, load_id: str | None = None, apply: bool = False) -> None:
    """Replace the suggestions of `source` (for one load's orders when given) in one atomic write; with
    `apply`, fill the orders' blank 分类 and 承办部门 from them (never overwriting the office's own)."""
    with writing(db) as con:
        con.register("_s", rows.to_arrow())
        if load_id is None:
            con.execute("DELETE FROM order_suggestions WHERE source = ?", [source])
        else:
            con.execute("DELETE FROM order_suggestions WHERE source = ? AND order_id IN (SELECT order_id FROM _s)", [source])
        # Each suggestion carries its order's month (派单质量 reads only the window's).
        picked = ", ".join("date_trunc('month', w.received_at)::DATE" if c == "month" else f"s.{c}" for c in rows.columns)
        con.execute(f"INSERT INTO order_suggestions ({', '.join(rows.columns)}) SELECT {picked} FROM _s s "
                    "LEFT JOIN work_orders w USING (order_id)")
        if apply:
            touched = con.execute("SELECT DISTINCT date_trunc('month', w.received_at)::DATE FROM work_orders w "
                                  "JOIN _s s USING (order_id) WHERE s.applied").fetchall()
            summary.forget(con, [m for (m,) in touched])
            con.execute(
                "UPDATE work_orders w SET category_l1 = coalesce(w.category_l1, s.category_l1), "
                "category_l2 = CASE WHEN w.category_l1 IS NULL THEN s.category_l2 ELSE w.category_l2 END, "
                "category_l3 = CASE WHEN w.category_l1 IS NULL THEN s.category_l3 ELSE w.category_l3 END, "
                "dept = coalesce(w.dept, s.dept) FROM _s s WHERE s.order_id = w.order_id AND s.applied")
        con.unregister("_s")


def retrain(db: str | os.PathLike, s: Settings | None = None) -> Model:
    """Train on the published database, store the model next to it, and publish every order's suggestion
    from its text (order_suggestions, source "history", for 派单质量)."""
    s = s or load_settings()
    db = Path(db)
    reader = connect_read(db)
    try:
        model = classify.train(reader, s)
        rows = classify.suggestion_rows(classify.history_suggestions(reader, model, s), "history", model)
    finally:
        reader.close()
    _publish(db, rows, "history")
    classify.save(model, classify.model_path(db))
    return model


def current_model(db: str | os.PathLike, s: Settings | None = None) -> tuple[Model, bool]:
    """The model for this database, retrained first when there is none, it learned from another database,
    or retrain_new_orders labelled orders have arrived since; (model, retrained)."""
    s = s or load_settings()
    reader = connect_read(db)
    try:
        st = classify.status(reader, db, s)
    finally:
        reader.close()
    if st["model"] is not None and not st["stale"]:
        return st["model"], False
    return retrain(db, s), True


def after_load(db: str | os.PathLike, s: Settings | None = None) -> bool:
    """Retrain when a load has brought at least retrain_new_orders labelled orders since the model (or
    that many in all and no usable model); True when it did."""
    s = s or load_settings()
    reader = connect_read(db)
    try:
        st = classify.status(reader, db, s)
    finally:
        reader.close()
    if st["new_labelled"] < s.classify.retrain_new_orders:
        return False
    retrain(db, s)
    return True


def blanks(db: str | os.PathLike, load_id: str) -> pl.DataFrame:
    """Orders of one load without 一级分类 or 承办部门, with what the model needs."""
    reader = connect_read(db)
    try:
        return classify.unlabelled_orders(reader, load_id)
    finally:
        reader.close()


def fill(db: str | os.PathLike, load_id: str, apply: bool, s: Settings | None = None) -> dict[str, int]:
    """Suggest 分类 and 承办部门 for the orders of `load_id` that lack them (source "import"). With `apply`,
    an order's blank columns are filled from its suggestion, and the suggestion is marked applied so it can
    always be told from the office's own labels and is never learned from."""
    s = s or load_settings()
    model, _ = current_model(db, s)
    todo = blanks(db, load_id)
    if not todo.height:
        return {"orders": 0, "suggested": 0}
    out = classify.suggest(model, todo, s, use_known=True)
    rows = classify.suggestion_rows(pl.concat([todo.select("order_id"), out], how="horizontal"), "import", model,
                                    applied=apply)
    rows = rows.with_columns(applied=pl.lit(apply) & pl.col("reason").is_null())
    _publish(Path(db), rows, "import", load_id=load_id, apply=apply)
    return {"orders": todo.height, "suggested": int(out["reason"].is_null().sum())}


def _undated(path: str | os.PathLike, mapping: dict[str, str] | None,
             encoding: str | None) -> tuple[pl.DataFrame, pl.DataFrame, dict] | None:
    """An export without 受理时间, read and mapped as the loader would (it cannot load it, but a suggestion
    needs only the text): (rows, rejected, summary), or None when something else is missing or wrong."""
    try:
        ex = read_table(path, "work_orders", encoding, name=Path(path).name)
        resolved = resolve(ex.headers, "work_orders", mapping)
    except (ExtractError, ValueError):
        return None
    if {"order_id", "content"} - set(resolved.values()) or "received_at" in resolved.values():
        return None
    tr = transform(ex, "work_orders", resolved)
    return tr.frame, tr.quarantine, {"mapping": resolved, "headers": ex.headers}


def read_export(path: str | os.PathLike, mapping: dict[str, str] | None = None, encoding: str | None = None) -> pl.DataFrame:
    """An export read and mapped exactly as the loader would (etl.load.preview: same reader, header mapping
    and checks), with its Excel-style line number; rows the loader would reject keep their line and reason."""
    try:
        rows, rejected, summary = preview(path, "work_orders", mapping=mapping, n=sys.maxsize, encoding=encoding)
    except FileNotFoundError as e:
        raise ClassifyError(str(e)) from None
    except LoadError as e:
        undated = _undated(path, mapping, encoding)
        if undated is None:
            raise ClassifyError(str(e)) from None
        rows, rejected, summary = undated
    if "content" not in summary["mapping"].values():
        raise ClassifyError(f"{Path(path).name} 中没有诉求内容列（如“诉求内容”“主要内容”“留言详情”），无法给出建议；"
                            f"文件表头为：{'、'.join(summary['headers'])}。可用 --mapping 指定，例如 {{\"某列\": \"content\"}}。")
    if not rows.width:   # required columns missing: suggestions need only the text
        raise ClassifyError(summary.get("message", "文件缺少必填列"))
    good = rows.rename({"_line": "line_no"}).with_columns(reason=pl.lit(None, pl.String))
    return pl.concat([good, rejected.select("line_no", "reason")], how="diagonal_relaxed").sort("line_no")


def run_suggest(con: Any, args: Any) -> pl.DataFrame:
    """`python -m analytics suggest --db DB FILE`: one row per order of FILE."""
    s = load_settings()
    model, retrained = current_model(db_path(args.db), s)
    print(("已按新导入的工单重新训练。" if retrained else "") + classify.describe(model), file=sys.stderr)
    try:
        mapping = read_mapping_file(args.mapping) if args.mapping else None
    except (OSError, ValueError) as e:
        raise ClassifyError(f"映射文件无法读取：{e}") from None
    frame = read_export(args.file, mapping, args.encoding)
    ok = frame.filter(pl.col("reason").is_null())
    out = pl.concat([ok.select("order_id", "line_no"), classify.suggest(model, ok.select("content", *classify.PLACES), s)],
                    how="horizontal")
    out = pl.concat([out, frame.filter(pl.col("reason").is_not_null()).select("order_id", "line_no", "reason")],
                    how="diagonal_relaxed").sort("line_no")
    cols = ["order_id", "line_no"] + [c for lv in (*model.levels, "dept") for c in
                                      (lv, f"{lv}_conf", f"{lv}_top3", "dept_basis" if lv == "dept" else f"{lv}_words")
                                      if c in out.columns] + ["reason"]
    return out.select(cols)   # csv output is neutralised by the command line's renderer (analytics.export.cells)


def run_train(con: Any, args: Any) -> pl.DataFrame:
    """`python -m analytics train --db DB`: retrain now and report what was learned."""
    model = retrain(db_path(args.db), load_settings())
    rows = [{"level": classify.LEVEL_NAMES[lv], "labels": len(m.labels), "trained_orders": model.meta["trained_orders"],
             "temperature": round(model.temperature, 4)} for lv, m in model.levels.items()]
    if model.dept:
        rows.append({"level": classify.LEVEL_NAMES["dept"], "labels": model.dept["city"]["dept"].n_unique(),
                     "trained_orders": model.meta["labelled"], "temperature": None})
    return pl.DataFrame(rows).with_columns(model=pl.lit(classify.describe(model)))
