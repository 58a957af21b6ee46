"""数据导入: upload an export, check how its headers map and what would be rejected, then load it."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import streamlit as st

import suggestions
from analytics import classify, quality
from analytics.filters import Filters
from etl import kinds
from etl.extract import ENCODING_CHOICES
from etl.load import LoadError, load_file, preview
from etl.hot import start as start_hot_issues
from etl.outlook import start as start_outlook
from etl.tokens import fill as fill_tokens
from etl.mapping import target_label, targets
from ui import auth, data, filters, upload
from ui.export import download_buttons
from ui.page import setup
from ui.safe import md
from ui.widgets import grid

setup()
uploader = auth.require_upload()

KIND_LABELS = {
    "work_orders": "工单（12345 工单导出）",
    "cases": "吹哨案件",
    "case_events": "吹哨过程记录（呼叫、响应、到场、办结）",
    "ratings": "街乡考核部门评分",
    "duties": "权责清单（分类 → 责任部门）",
}
# Share of the progress bar per loader stage: (start, width).
STAGES = {"read": (0.0, 0.15, "读取文件"), "transform": (0.15, 0.15, "转换与校验"),
          "write": (0.3, 0.15, "写入数据库"), "tokenize": (0.45, 0.55, "诉求内容分词（工单已可查看）")}
IGNORE = "（不导入）"
ENCODINGS = ENCODING_CHOICES


@st.cache_data(max_entries=8, show_spinner="正在读取并校验文件…")
def _preview(path: str, kind: str, mapping_json: str, encoding: str | None,
             name: str) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    return preview(path, kind, mapping=json.loads(mapping_json) or None, n=200, encoding=encoding, source_name=name)


def _option(kind: str, target: str) -> str:
    star = "＊" if target in kinds.get(kind).required else ""
    return f"{star}{target_label(kind, target)}（{target}）"


def _report(result: dict) -> None:
    st.success(md(result["message"]))
    cols = st.columns(5)
    for col, (key, name) in zip(cols, (("rows_read", "读取"), ("rows_inserted", "新增"), ("rows_updated", "更新"),
                                        ("rows_unchanged", "未变"), ("rows_quarantined", "隔离"))):
        col.metric(name, f"{result[key]:,}", border=True)
    st.caption(f"导入批次 {result['load_id']} · 文件 {md(result['source_file'])} · 编码 {result['encoding']}。"
               "读取 = 新增 + 更新 + 未变 + 隔离。其他用户在导入期间可照常浏览；新数据在各页面刷新后出现。")
    if result["rows_quarantined"]:
        rows = data.read(quality.quarantine_rows, Filters(), result["load_id"], None, None)
        st.markdown("**被隔离的行**（未入库，修正后可重新导入同一文件）")
        grid(rows.drop("load_id", "source_file"),
             column_config={"line_no": "行号", "reason": "原因", "raw": "原始行(JSON)"})
        download_buttons(rows, f"隔离行_{result['load_id']}", key="dl_import_quarantine")
    if st.session_state.pop("import_hot_started", False):
        st.info("工单量大的月份正在后台预先计算热点问题与重复诉求（每月约数分钟）；完成前，相关页面选这些月份时会当场计算，较慢。")
    filled = st.session_state.get("import_suggested")
    if filled and filled.get("error"):
        st.warning(f"未生成分类建议：{filled['error']}")
    elif filled:
        st.info(f"{filled['orders']:,} 条缺少分类或承办部门的工单中，{filled['suggested']:,} 条获得了建议，"
                + ("已填入工单并标为“建议”。" if filled["applied"] else "单独保存，未计入三率与排名。")
                + "其余的诉求内容为空或过短。")
    st.page_link("pages/overview.py", label="到“总览”查看", icon=":material/dashboard:")


settings = data.settings()
st.title("数据导入")

if "import_result" in st.session_state:
    st.subheader("导入结果")
    _report(st.session_state["import_result"])
    if st.button("导入另一个文件", icon=":material/upload_file:"):
        del st.session_state["import_result"]
        st.session_state.pop("import_suggested", None)
        st.rerun()
    st.stop()

kind = st.selectbox("数据类型", list(KIND_LABELS), format_func=KIND_LABELS.get, key="imp_kind")
limit = settings.etl.upload_max_mb
uploaded = st.file_uploader(
    f"上传 CSV / TSV / Excel 导出文件（单个文件不超过 {limit} MB；UTF-8、GBK、GB18030 编码均可）",
    type=["csv", "tsv", "txt", "xlsx", "xlsm", "xls"], key="imp_file",
)
if uploaded is None:
    st.caption("上传后先显示识别出的编码、表头映射和校验结果，确认无误再点击“开始导入”；在此之前不会写入任何数据。")
    st.stop()
if uploaded.size > limit * 1024 * 1024:
    st.error(f"文件 {md(uploaded.name)} 有 {uploaded.size / 1048576:.0f} MB，超过上限 {limit} MB。"
             "请按月份拆分后分别导入，或请管理员在设置文件中调大上传上限。")
    st.stop()

# One copy on disk per uploaded file; the loader reads from there.
if st.session_state.get("imp_file_id") != uploaded.file_id:
    old = st.session_state.get("imp_path")
    if old:
        Path(old).unlink(missing_ok=True)
    st.session_state["imp_path"] = str(upload.spool(uploaded, uploaded.name))
    st.session_state["imp_file_id"] = uploaded.file_id
path = st.session_state["imp_path"]

encoding = None
if Path(path).suffix not in (".xlsx", ".xlsm", ".xls"):
    choice = st.selectbox("文件编码", list(ENCODINGS), key="imp_encoding",
                          help="默认自动识别；如果预览中的表头或文字是乱码，请手动指定。")
    encoding = ENCODINGS[choice]
try:
    _, _, first = _preview(path, kind, "{}", encoding, uploaded.name)
except LoadError as e:
    st.error(md(e))  # names the file as uploaded, the row and the fix; never the temporary copy
    st.stop()
headers = first["headers"]
mapping_store = upload.mappings_dir(data.current_path())
saved = upload.load_mapping(mapping_store, kind, headers)
suggested = saved["mapping"] if saved else first["mapping"]

st.subheader("1. 编码与表头映射")
st.markdown(f"文件 **{md(uploaded.name)}** · 编码 **{first['encoding']}** · 共 **{first['rows_read']:,}** 行、"
            f"**{len(headers)}** 列。")
if saved:
    st.info(f"已套用上次为同样表头保存的映射（来源文件 {md(saved.get('source', '?'))}，保存于 {saved.get('saved_at', '?')}）。")
else:
    st.caption("映射为自动建议；请核对“对应标准列”，不需要的列选“（不导入）”。＊ 为必填列。")
options = [IGNORE, *(_option(kind, t) for t in targets(kind))]
by_option = {_option(kind, t): t for t in targets(kind)}
editor = st.data_editor(
    pl.DataFrame({"source": headers, "target": [_option(kind, suggested[h]) if suggested.get(h) else IGNORE
                                                for h in headers]}),
    hide_index=True, width="stretch", disabled=["source"], num_rows="fixed",
    key=f"imp_map_{upload.signature(kind, headers)}_{st.session_state['imp_file_id']}",
    column_config={"source": st.column_config.TextColumn("文件表头"),
                   "target": st.column_config.SelectboxColumn("对应标准列", options=options, required=True)},
)
chosen = {h: by_option.get(t, "") for h, t in zip(editor["source"], editor["target"])}
dupes = sorted({t for t in chosen.values() if t and list(chosen.values()).count(t) > 1})
if dupes:
    st.error("以下标准列被多个表头同时选中，请只保留一个：" + "、".join(_option(kind, t) for t in dupes))
    st.stop()

st.subheader("2. 预览与校验（尚未写入）")
try:
    mapped, quarantined, summary = _preview(path, kind, json.dumps(chosen, ensure_ascii=False, sort_keys=True), encoding,
                                            uploaded.name)
except LoadError as e:
    st.error(md(e))
    st.stop()
ok, bad = summary["rows_ok"], summary["rows_quarantined"]
c1, c2, c3 = st.columns(3)
c1.metric("读取行数", f"{summary['rows_read']:,}", border=True)
c2.metric("可导入", f"{ok:,}", border=True)
c3.metric("将被隔离", f"{bad:,}", border=True)
if summary.get("flagged"):
    st.warning(f"{summary['flagged']:,} 行含不合常理的值（如办结早于受理、未来的日期、坐标超出区域）：这些行照常导入，"
               "但这些值将置空、不计入任何指标，并在“数据质量”页计数（见设置文件 `settings.toml` 的 `[plausibility]`）。")
if summary.get("nulled"):
    st.warning("以下可选列有无法识别的值，导入时将置空："
               + "，".join(f"{target_label(kind, k)} {v} 个" for k, v in summary["nulled"].items()))
if bad:
    reasons = (quarantined.with_columns(pl.col("reason").str.replace(r"^第\s*\d+\s*行\s*", ""))
               .group_by("reason").len("rows").sort(["rows", "reason"], descending=[True, False]))
    st.markdown("**将被隔离的行及原因**")
    grid(reasons,
         column_config={"reason": "原因（同类合并）", "rows": st.column_config.NumberColumn("行数")})
    with st.expander(f"查看全部 {bad:,} 个将被隔离的行"):
        grid(quarantined,
             column_config={"line_no": "行号", "reason": "原因", "raw": "原始行(JSON)"})
        download_buttons(quarantined, "将被隔离的行", key="dl_preview_quarantine")
st.markdown(f"**映射后的前 {mapped.height} 行**")
grid(mapped,
     column_config={c: target_label(kind, c) for c in mapped.columns}
     | {"_line": st.column_config.NumberColumn("行号"), "caller_key": None})   # a hash means nothing to a reader

fill_blanks, apply_fill = False, False
if kind == "work_orders":
    st.subheader("智能分类建议")
    label_cols = {"category_l1", "dept"}
    blank = mapped.filter(pl.any_horizontal(pl.col(c).is_null() for c in label_cols if c in mapped.columns)) \
        if label_cols <= set(mapped.columns) else mapped
    missing = [target_label(kind, c) for c in sorted(label_cols - set(chosen.values()))]
    if missing:
        st.markdown(f"文件没有{'、'.join(missing)}列：导入后可由历史工单学习的模型给出建议。")
    else:
        st.markdown(f"预览的前 {mapped.height} 行中有 {blank.height} 行缺少一级分类或承办部门。")
    fill_blanks = st.checkbox("为缺少分类或承办部门的工单生成建议（单独保存并标为“建议”，可在派单质量页与导出中查看）",
                              value=bool(blank.height), key="imp_suggest")
    apply_fill = st.toggle("把建议填入这些工单的分类和承办部门（计入三率、排名等统计；默认不计入）", value=False,
                           key="imp_apply", disabled=not fill_blanks)
    st.caption("建议只填空白，不改动文件中已有的分类和部门；填入的值在数据库中标为“已填入”，"
               "重新训练时不作为学习样本。置信度与依据词见“派单质量”页的口径。")
    model = classify.load(classify.model_path(data.current_path()))
    if fill_blanks and model is not None and blank.height and "content" in blank.columns:
        sample = blank.head(20)
        preview_rows = classify.suggest(model, sample.select("content", *[c for c in classify.PLACES if c in sample.columns]),
                                        settings, use_known=False)
        shown = pl.concat([sample.select("order_id", "content"), preview_rows], how="horizontal")
        grid(shown.select([c for c in ("order_id", "content", "category_l1", "category_l1_conf", "category_l2", "dept",
                   "dept_conf", f"{model.finest}_words", "reason") if c in shown.columns]),
             column_config={"order_id": "工单编号", "content": "诉求内容", "category_l1": "建议一级分类",
                            "category_l1_conf": st.column_config.NumberColumn("置信度", format="percent"),
                            "category_l2": "建议二级分类", "dept": "建议承办部门",
                            "dept_conf": st.column_config.NumberColumn("部门置信度", format="percent"),
                            f"{model.finest}_words": "依据词", "reason": "未给出建议的原因"})

st.subheader("3. 导入")
remember = st.checkbox("保存此表头映射，下次上传同样表头的文件时自动套用", value=True, key="imp_remember")
if st.button(f"开始导入 {ok:,} 行", type="primary", icon=":material/upload:", disabled=not ok, key="imp_load"):
    bar = st.progress(0.0, text="准备导入…")
    st.session_state.pop("import_suggested", None)

    def progress(stage: str, fraction: float) -> None:
        start, width, name = STAGES.get(stage, (0.0, 1.0, stage))
        bar.progress(min(start + width * max(min(fraction, 1.0), 0.0), 1.0), text=f"正在导入 · {name}")

    try:
        result = load_file(path, data.current_path(), kind=kind, mapping=chosen, progress=progress,
                           source_name=uploaded.name, encoding=encoding, actor=f"看板：{uploader.name}（{uploader.role}）")
    except LoadError as e:
        bar.empty()
        st.error(md(e))
        st.stop()
    if kind == "work_orders":
        try:
            fill_tokens(data.current_path(), progress=progress)
        except Exception:
            st.warning("工单已导入，但分词索引未能建立：用到词语的页面会临时分词；稍后运行 `python -m etl tokens` 可补全。")
        try:
            if start_hot_issues(data.current_path()):
                st.session_state["import_hot_started"] = True
        except Exception:
            pass   # pages compute those months on request; `python -m etl hot-issues` stores them later
        bar.progress(1.0, text="正在导入 · 智能分类建议")
        try:
            suggestions.after_load(data.current_path(), settings)
            if fill_blanks:
                st.session_state["import_suggested"] = suggestions.fill(data.current_path(), result.load_id, apply_fill, settings) \
                    | {"applied": apply_fill}
        except classify.ClassifyError as e:
            st.session_state["import_suggested"] = {"error": str(e)}
        try:
            start_outlook(data.current_path())   # after the suggestions: filling blanks changes the counts
        except OSError:
            pass   # 预警与预测 computes on request; `python -m etl outlook` stores it later
    if remember:
        upload.save_mapping(mapping_store, kind, headers, chosen, uploaded.name)
    Path(path).unlink(missing_ok=True)
    for key in ("imp_path", "imp_file_id"):
        st.session_state.pop(key, None)
    st.session_state["import_result"] = result.as_dict()
    if kind == "work_orders" and result.rows_inserted + result.rows_updated:
        # Every page then opens on the months just imported, not on the period chosen before.
        first, last = data.read(quality.read_load_months, Filters(), result.load_id)
        if first:
            filters.jump_to(first, last)
    st.rerun()
