"""The bad-input suite: every file of generate.CASES loads with its expected outcome and never a traceback."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import table_counts
from etl.extract import garbled
from etl.load import LoadError, load_file
from tests.badinput.generate import CASES, HEAD, PHONE, csv_text, good, row, write

ROOT = Path(__file__).resolve().parents[2]
HEAD_WITH_COORDS = HEAD + ["经度", "纬度"]
# English words an engine would put in a message (Python, DuckDB, polars, fastexcel); file and codec names
# and the CLI's own options are allowed.
ENGINE = re.compile(r"Traceback|Error|error|Exception|line \d|column\d|sniff|strict_mode|polars|duckdb|/tmp/|whistle-")


def counts(db: Path) -> dict[str, int]:
    """Table sizes but for the records of attempts (loads, audit_log), which a refusal adds to."""
    return {t: n for t, n in table_counts(db).items() if t not in ("loads", "audit_log")}


def texts(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.sql("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' AND "
                       "data_type = 'VARCHAR' AND table_name IN ('work_orders', 'cases', 'case_events', 'dept_ratings', "
                       "'quarantine')").fetchall()
        out = []
        for t, c in cols:
            out += [v for (v,) in con.execute(f"SELECT {c} FROM {t} WHERE {c} IS NOT NULL").fetchall()]
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A database with some orders already in it: what a refused load must leave exactly as it was."""
    d = tmp_path_factory.mktemp("template")
    src = d / "已有.csv"
    src.write_text(csv_text([row(i, 工单编号=f"OLD{i}") for i in range(1, 4)]), encoding="utf-8")
    db = d / "hotline.duckdb"
    load_file(src, db)
    return db


@pytest.fixture
def settings_for(tmp_path, monkeypatch):
    def use(action: str) -> None:
        if action != "flag":
            path = tmp_path / "settings.toml"
            base = (ROOT / "settings.toml").read_text(encoding="utf-8")
            path.write_text(base.replace('action = "flag"', f'action = "{action}"'), encoding="utf-8")
            monkeypatch.setenv("WHISTLE_SETTINGS", str(path))
    return use


def test_the_suite_is_large_enough():
    assert len(CASES) >= 80 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, template, tmp_path, settings_for):
    settings_for(case.action)
    db = tmp_path / "hotline.duckdb"
    shutil.copyfile(template, db)
    before, before_loads = counts(db), table_counts(db)["loads"]
    path = write(case, tmp_path)
    shown = f"收件箱/{case.filename}"  # the name as the user gave it (the page passes the upload's name)
    try:
        r = load_file(path, db, kind=case.kind, encoding=case.encoding, source_name=shown)
    except LoadError as e:
        message = str(e)
        assert case.refused, f"refused unexpectedly: {message}"
        assert shown in message and str(tmp_path) not in message and PHONE not in message
        assert not ENGINE.search(message), message
        for part in case.refused:
            assert part in message, (part, message)
        assert counts(db) == before  # nothing but the record of the attempt
        con = duckdb.connect(str(db), read_only=True)
        got = con.execute("SELECT status, message, rows_read FROM loads WHERE source_file = ?", [shown]).fetchall()
        con.close()
        assert got == [("refused", message, 0)]
        return
    assert not case.refused, f"loaded, expected refusal: {r.message}"
    assert r.rows_read == r.rows_inserted + r.rows_updated + r.rows_unchanged + r.rows_quarantined
    assert (r.rows_inserted, r.rows_quarantined, r.flagged) == (case.inserted, case.quarantined, case.flagged), r.message
    assert table_counts(db)["loads"] == before_loads + 1
    con = duckdb.connect(str(db), read_only=True)
    q = con.execute("SELECT line_no, reason, raw FROM quarantine WHERE load_id = ? ORDER BY line_no", [r.load_id]).fetchall()
    con.close()
    assert len(q) == r.rows_quarantined
    if case.lines is not None:
        assert tuple(n for n, _, _ in q) == case.lines, q
    for n, reason, raw in q:
        assert reason.startswith(f"第 {n} 行") and PHONE not in reason and not ENGINE.search(reason), reason
        if case.reason:
            assert case.reason in reason, reason
        assert PHONE not in (raw or "")
    stored = texts(db)
    assert not [t for t in stored if garbled(t)], [t for t in stored if garbled(t)][:3]
    assert not [t for t in stored if PHONE in t]
    for text in case.stored:
        assert any(text in t for t in stored), text


def test_a_mixed_utf8_gbk_file_reads_every_row(tmp_path, db):
    lines = csv_text(good(10)).splitlines(keepends=True)
    path = tmp_path / "混合.csv"
    path.write_bytes(b"".join(ln.encode("gbk" if i in (3, 7) else "utf-8") for i, ln in enumerate(lines)))
    r = load_file(path, db)
    assert (r.rows_inserted, r.rows_quarantined, r.encoding) == (10, 0, "UTF-8 与 GBK 混合（逐行识别）")
    con = duckdb.connect(str(db), read_only=True)
    got = dict(con.sql("SELECT order_id, content FROM work_orders").fetchall())
    con.close()
    assert got == {f"BJ{i:04d}": row(i)[2] for i in range(1, 11)}


def test_cli_goes_on_after_bad_files(tmp_path):
    """One `etl load` of good and bad files: the good ones load, each bad one gets its message, no traceback."""
    names = {"folder_named_csv", "braces_in_mapped_header", "big5", "empty_0_bytes", "gbk", "binary_junk", "utf8"}
    paths = [write(c, tmp_path) for c in CASES if c.name in names]
    db = tmp_path / "cli.duckdb"
    env = {"HOTLINE_DB": str(db), "WHISTLE_SALT": "x", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "etl", "load", *map(str, paths), "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    by_status = {}
    for x in lines:
        by_status.setdefault(x.get("status", x.get("step")), []).append(x)
    assert len(by_status["refused"]) == 4 and len(by_status["ok"]) + len(by_status.get("partial", [])) == 3
    assert sum(x["rows_read"] for x in by_status["ok"] + by_status.get("partial", [])) == 5 + 5 + 4
    assert table_counts(db)["work_orders"] == 5  # the three files share their order ids
    for x in by_status["refused"]:
        assert x["source_file"] in x["message"] and not ENGINE.search(x["message"].replace(str(tmp_path), "")), x
    assert out.stderr.count("导入失败") == 4


PAGE_CASES = ["big5", "braces_in_mapped_header", "html_named_xls", "cases_as_orders", "unclosed_quote_middle",
              "empty_0_bytes", "xlsx_truncated", "title_line_above"]


def test_import_page_shows_the_loaders_messages_and_never_a_traceback(tmp_path, monkeypatch):
    """The same files through 数据导入: a refusal is the loader's Chinese message naming the uploaded file (never
    the temporary copy), a partly bad file previews its quarantined rows, and nothing raises."""
    from streamlit.testing.v1 import AppTest

    from tests.test_scores import build_db

    monkeypatch.setenv("HOTLINE_DB", str(build_db(tmp_path / "hotline.duckdb")))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.run()
    at.switch_page("pages/data_import.py").run()
    for case in [c for c in CASES if c.name in PAGE_CASES]:
        at.file_uploader[0].upload(case.filename, write(case, tmp_path).read_bytes(), "application/octet-stream")
        at.run()
        assert not at.exception, (case.name, at.exception)
        errors = [e.value for e in at.error]
        if case.refused:
            assert errors and case.filename in errors[0].replace("\\", "") and "whistle-upload" not in errors[0], (case.name, errors)  # shown escaped (ui.safe.md)
            assert all(part in errors[0].replace("\\", "") for part in case.refused if part != "--encoding big5"), (case.name, errors)
        else:
            assert not errors, (case.name, errors)
            shown = {m.label: m.value for m in at.metric}
            assert shown.get("将被隔离") == str(case.quarantined), (case.name, shown)


def test_flagged_values_count_nowhere_and_show_on_quality(tmp_path, db):
    """A closed-before-received order loads but is not closed on time (nor closed at all) in the rates; the
    counts of 数据质量 name it; its note keeps what the export said."""
    from analytics import quality
    from analytics.rates import rate_table
    from analytics.settings import load_settings
    from etl.store import connect_read

    path = tmp_path / "存疑.csv"
    path.write_text(csv_text([r + ["116.4", "39.9"] for r in good(3)]
                             + [row(4, 办结时间="2024-02-01 08:00:00") + ["116.4", "39.9"], row(5) + ["999", "39.9"]],
                             HEAD_WITH_COORDS), encoding="utf-8")
    r = load_file(path, db)
    assert (r.rows_inserted, r.flagged) == (5, 2)
    con = connect_read(db)
    try:
        orders = con.sql("SELECT * FROM work_orders").pl()
        doubt = {r["check_key"]: r["rows"] for r in quality.plausibility(con).iter_rows(named=True) if r["what"] == "工单"}
    finally:
        con.close()
    rates = rate_table(orders, [], load_settings()).row(0, named=True)
    # The others closed 9 days after receipt (deadline 7): none on time. Order 4, "closed" before it was
    # received, would have been the one on-time order; flagged, it is not among the closed at all.
    assert (rates["closed"], rates["closed_on_time"]) == (4, 0)
    note = orders.filter(orders["order_id"] == "BJ0004")["implausible"][0]
    assert "2024-02-01 08:00" in note and "早于受理时间" in note
    assert (doubt["before_start"], doubt["region"], doubt["future"]) == (1, 1, 0), doubt
