"""数据导入's preview grids (canvas tables) show no column names and no hashed caller keys: _line is 行号, the
caller key is hidden (it is a salted hash, meaningless to a reader)."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.test_clicks import headers, raw_identifiers
from tests.test_scores import build_db

ROOT = Path(__file__).resolve().parents[1]


def test_preview_has_chinese_headers_only(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(build_db(tmp_path / "hotline.duckdb")))
    body = "工单编号,受理时间,来电号码,诉求内容,所属区\n" + "\n".join(
        f"P{i},2026-10-0{i} 09:00,1380013800{i},楼道灯坏了{i},朝阳区" for i in range(1, 6)) + "\n"
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/data_import.py").run()
    at.file_uploader[0].upload("导出.csv", body.encode("utf-8"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    preview = next(d for d in at.dataframe if "_line" in d.value.columns)
    shown = headers(preview)
    assert shown["_line"] == "行号" and shown["order_id"] == "工单编号"
    assert shown["caller_key"] is None                    # 来电号码 arrives as a salted hash
    assert len(preview.value) == 5
    assert not raw_identifiers(at), raw_identifiers(at)
