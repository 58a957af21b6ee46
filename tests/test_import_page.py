"""数据导入: upload limit in config, uploads spooled to disk, mappings remembered per layout, the page itself."""
from __future__ import annotations

from datetime import date

import io
import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from analytics.settings import load_settings
from tests.test_scores import build_db
from ui import upload
from ui.safe import md

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = str(ROOT / "dashboard.py")


def test_streamlit_upload_limit_matches_settings():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == load_settings().etl.upload_max_mb


def test_spool_copies_in_chunks_and_keeps_suffix(tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "CHUNK", 7)
    body = "工单编号,受理时间\nA1,2026-10-01\n".encode("gb18030") * 50
    src = io.BytesIO(body)
    src.read(5)                                    # a partly read upload is copied from its start
    monkeypatch.setenv("WHISTLE_SCRATCH", str(tmp_path))
    path = upload.spool(src, "导出.CSV")
    assert path.suffix == ".csv" and path.parent == tmp_path and path.read_bytes() == body


def test_signature_ignores_order_and_spelling():
    a = upload.signature("work_orders", ["工单编号", "受理时间", "Created Date"])
    assert a == upload.signature("work_orders", ["created date", "受理时间 ", "工单编号"])
    assert a != upload.signature("cases", ["工单编号", "受理时间", "Created Date"])
    assert a != upload.signature("work_orders", ["工单编号", "受理时间"])


def test_mapping_saved_and_reused(tmp_path):
    store = upload.mappings_dir(tmp_path / "hotline.duckdb")
    assert store == (tmp_path / "mappings").resolve()
    headers = ["编号X", "时间X", "备注"]
    assert upload.load_mapping(store, "work_orders", headers) is None
    upload.save_mapping(store, "work_orders", headers, {"编号X": "order_id", "时间X": "received_at"}, "a.csv")
    saved = upload.load_mapping(store, "work_orders", list(reversed(headers)))
    assert saved["mapping"] == {"编号X": "order_id", "时间X": "received_at", "备注": ""}
    assert saved["source"] == "a.csv"
    assert upload.load_mapping(store, "cases", headers) is None


def test_import_page_before_upload(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(build_db(tmp_path / "hotline.duckdb")))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.switch_page("pages/data_import.py").run()
    assert not at.exception, at.exception
    kind = at.selectbox(key="imp_kind")
    assert kind.options == ["工单（12345 工单导出）", "吹哨案件", "吹哨过程记录（呼叫、响应、到场、办结）",
                            "街乡考核部门评分", "权责清单（分类 → 责任部门）"]
    assert any("不会写入任何数据" in c.value for c in at.caption)


def test_upload_gbk_export_pick_encoding_preview_and_load(tmp_path, monkeypatch):
    """The analyst's path through the page: upload a GBK export, see the detected encoding, force a wrong
    one and get told, go back to automatic, load, and see the load report."""
    db = build_db(tmp_path / "hotline.duckdb")
    monkeypatch.setenv("HOTLINE_DB", str(db))
    body = (ROOT / "tests" / "fixtures" / "etl" / "orders_gbk.csv").read_bytes()
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.switch_page("pages/data_import.py").run()
    at.file_uploader[0].upload("十月导出.csv", body, "text/csv")
    at.run()
    assert not at.exception, at.exception
    assert any("GBK/GB18030" in m.value for m in at.markdown)
    at.selectbox(key="imp_encoding").select("UTF-8").run()
    assert any(md("不是 UTF-8 编码") in e.value for e in at.error)   # messages are shown escaped (ui.safe)
    at.selectbox(key="imp_encoding").select("自动识别").run()
    assert not at.error
    at.button(key="imp_load").click().run()
    assert not at.exception, at.exception
    counts = {m.label: m.value for m in at.metric}
    assert counts.get("新增") == "6", counts
    # The period moves to the imported months (January 2024), away from the database's latest month.
    assert (at.session_state["f_from"], at.session_state["f_to"]) == (date(2024, 1, 1), date(2024, 1, 1))
    assert at.query_params["from"] == "2024-01"
