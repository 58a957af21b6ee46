"""Personal data: masked at load wherever text is stored, keyed caller hashes, no plaintext leftovers,
exports that never run as formulas."""
from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics import __main__ as analytics_cli, export
from etl import pii, store
from etl.load import load_file

ROOT = Path(__file__).resolve().parent.parent
MOBILES = [f"13{d}{n:08d}" for d, n in zip(range(3, 10), (12345678, 23456789, 34567890, 45678901, 56789012,
                                                             67890123, 78901234))]
ID_CARD = "11010519800101123X"
LANDLINE = "010-62345678"


@pytest.mark.parametrize("text, masked", [
    ("电话13912345678请回电", "电话139****5678请回电"),
    ("13912345678/13812345678,13712345678", "139****5678/138****5678,137****5678"),
    ("+86 139-1234-5678", "139****5678"),
    ("身份证11010519800101123X", "身份证110105********123X"),
    ("旧证110105800101123", "旧证110105******123"),
    ("座机010-62345678，分机", "座机010-****5678，分机"),
    ("联系电话：62345678", "联系电话：****5678"),
    ("卡号6222021234567890123", "卡号6222********0123"),
    ("邮箱 zhang.san@example.com", "邮箱 z***@example.com"),
    # Not personal: dates, coordinates, order numbers, house numbers stay.
    ("2024-01-05 08:03:00", "2024-01-05 08:03:00"),
    ("116.40739412345678", "116.40739412345678"),
    ("GD202401010001", "GD202401010001"),
    ("3号楼2单元501室", "3号楼2单元501室"),
])
def test_mask_text(text, masked):
    assert pii.mask_text(text) == masked


def test_hmac_matches_python_and_needs_the_key():
    values = pl.Series(["13912345678", None, "", "x" * 200])
    got = pii.hmac_values(values, "k" * 100).to_list()
    want = [hmac.new(hashlib.sha256(b"k" * 100).digest(), v.encode(), hashlib.sha256).hexdigest()[:16]
            for v in ("13912345678",)]
    assert got[0] == want[0] == pii.hmac_value("13912345678", "k" * 100)
    assert got[1] is None and got[2] is None
    spelled = pii.hmac_value("13912345678", "a").translate(str.maketrans("0123456789", "ghijklmnop"))
    assert pii.caller_keys(pl.Series(["+86 139-1234-5678"]), "a")[0] == spelled == pii.caller_key_value("13912345678", "a")
    assert pii.caller_keys(pl.Series(["13912345678"]), "a")[0] != pii.caller_keys(pl.Series(["13912345678"]), "b")[0]


def test_secret_key_lives_in_config_dir_not_data(monkeypatch, tmp_path):
    monkeypatch.delenv("WHISTLE_CALLER_KEY")
    monkeypatch.setenv("WHISTLE_CONFIG_DIR", str(tmp_path / "cfg"))
    key = pii.secret_key()
    path = tmp_path / "cfg" / "caller.key"
    assert path.read_text() == key and len(key) == 64 and oct(path.stat().st_mode & 0o777) == "0o600"
    assert pii.secret_key() == key


def _phone_file(path: Path, encoding: str = "utf-8") -> list[str]:
    """A work-order export with phone and ID numbers in every column and in the text, plus rows that are
    quarantined (bad date, duplicate id, too many fields). Returns every personal number in it."""
    headers = ["工单编号", "来电时间", "来电号码", "诉求内容", "区", "街道", "社区", "地址", "承办单位", "问题分类",
               "办结时间", "是否解决", "是否满意", "经度", "纬度", "备注"]
    numbers = []
    rows = []
    for i in range(12):
        m = [f"1{3 + i % 7}{(i * 7919 + k * 104729) % 10**9:09d}" for k in range(12)]
        numbers += m
        rows.append([
            f"GD{i:04d}" if i != 3 else m[0],                       # one id is itself a phone number
            "2024-01-05 08:00" if i != 4 else m[1],                 # a date that is a phone: quarantined
            m[2], f"来电人{m[3]}反映，身份证{ID_CARD}，座机{LANDLINE}，另一号码{m[4]}",
            "朝阳区", f"三里屯街道{m[5]}", f"社区{m[6]}", f"工体北路{m[7]}号", f"单位{m[8]}", f"住房->物业{m[9]}",
            m[10], "解决", "满意", m[11], "39.9", f"备注 {m[0]}",
        ])
    rows.append(rows[0][:])  # duplicate id: the earlier one is quarantined
    rows.insert(6, ["GD9999", "2024-01-05 08:00", "13900001111", f"多一个字段{MOBILES[0]}", *"abcdefghijkl", "多余"])
    numbers += [ID_CARD, "62345678", "13900001111", MOBILES[0]]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return numbers


def _analytics(argv: list[str]) -> str:
    """`python -m analytics ...` in this process: its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert analytics_cli.main(argv) == 0, err.getvalue()
    return out.getvalue() + err.getvalue()


def _dump(db: Path) -> str:
    """Every value of every table, as text."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT internal").fetchall()]
        return "\n".join(str(r) for t in tables for r in con.execute(f"FROM {t}").fetchall())
    finally:
        con.close()


def _scan(path: Path, numbers: list[str]) -> list[str]:
    data = path.read_bytes()
    texts = [data.decode("utf-8", "ignore"), data.decode("gb18030", "ignore")]
    return [n for n in numbers if any(n in t for t in texts)]


def test_no_raw_number_anywhere_after_loading(tmp_path):
    src = tmp_path / "导出.csv"
    numbers = _phone_file(src, "gb18030")   # GBK goes through a decoded scratch copy
    db = tmp_path / "hotline.duckdb"
    env = {**os.environ, "HOTLINE_DB": str(db)}
    load = subprocess.run([sys.executable, "-m", "etl", "load", str(src), "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert load.returncode == 0, load.stderr
    result = json.loads(load.stdout.splitlines()[0])
    assert result["rows_read"] == 14 and result["rows_quarantined"] == 3 and result["rows_inserted"] == 11
    logs = tmp_path / "logs.txt"
    logs.write_text(load.stdout + load.stderr)
    outputs = [logs]
    for fmt in ("csv", "json", "table"):
        for command in ("overview", "hot-issues", "repeats"):
            f = tmp_path / f"{command}.{fmt}"
            f.write_text(_analytics([command, "--db", str(db), "--format", fmt]))
            outputs.append(f)
    con = store.connect_read(db)
    try:
        meta = export.ExportMeta("工单", "全部", "测试", datetime.now())
        for table in ("work_orders", "quarantine", "loads", "order_tokens"):
            frame = con.sql(f"SELECT * FROM {table}").pl()
            for name, body in ((f"{table}.csv", export.to_csv(frame, meta)), (f"{table}.xlsx", export.to_xlsx(frame, meta))):
                (tmp_path / name).write_bytes(body)
                outputs.append(tmp_path / name)
        # A masked id stays unique and the same on a re-load, so updates still match.
        ids = [r[0] for r in con.sql("SELECT order_id FROM work_orders WHERE order_id LIKE 'PII-%'").fetchall()]
        assert len(ids) == 1
        content = con.execute("SELECT content FROM work_orders WHERE order_id = 'GD0000'").fetchall()[0][0]
        assert "110105********123X" in content and "010-****5678" in content
        reasons = [r[0] for r in con.sql("SELECT reason FROM quarantine ORDER BY line_no").fetchall()]
        assert "****" in reasons[1] and len(reasons) == 3
    finally:
        con.close()
    assert [n for n in numbers if n in _dump(db)] == []
    assert _scan(db, numbers) == []
    for f in outputs:
        assert _scan(f, numbers) == [], f.name
    assert list(store.scratch_dir().iterdir()) == []


def test_killed_load_leaves_no_plaintext_for_long(tmp_path):
    """A load killed while its decoded scratch copy exists: the next load removes that copy."""
    scratch = store.scratch_dir()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    leftover = scratch / f"utf8-{child.pid}-abc.csv"
    leftover.write_text("13912345678")
    mine = store.scratch_file(".csv", "upload")   # a live process's file stays
    assert store.sweep_scratch() == []
    child.send_signal(signal.SIGKILL)
    child.wait()
    src = tmp_path / "a.csv"
    src.write_text("工单编号,来电时间\nA1,2024-01-05 08:00\n", encoding="utf-8")
    load_file(src, tmp_path / "h.duckdb")
    assert not leftover.exists() and mine.exists()
    old = time.time() - store.SCRATCH_STALE_SECONDS - 60
    os.utime(mine, (old, old))
    assert store.sweep_scratch() == [mine]


def test_cli_csv_has_no_formula_cell(tmp_path):
    src = tmp_path / "evil.csv"
    src.write_text(
        "工单编号,来电时间,诉求内容,区,街道,承办单位,问题分类\n"
        "E1,2024-01-05 08:00,=cmd|' /C calc'!A0,朝阳区,=HYPERLINK(\"http://x\"),@SUM(1),+1-2->-x\n"
        "E2,2024-01-05 09:00,正常,朝阳区,三里屯街道,-2+3,\t=1\n", encoding="utf-8")
    db = tmp_path / "h.duckdb"
    load_file(src, db)
    for command, extra in (("overview", []), ("scores", ["--by", "dept"]), ("scores", ["--by", "street"]),
                           ("hot-issues", []), ("hotspots", [])):
        out = _analytics([command, "--db", str(db), "--format", "csv", *extra])
        for row in csv.reader(io.StringIO(out)):
            for cell in row:
                assert not cell.startswith(export.FORMULA_PREFIXES), (command, cell)
    frame = pl.DataFrame({"=x": ["=1+1", "@a", "ok"], "n": [-1, 2, 3]})
    assert export.cells(frame).to_dicts()[0] == {"'=x": "'=1+1", "n": -1}


def test_sheet_names_excel_accepts(tmp_path):
    import fastexcel

    meta = export.ExportMeta("t", "f", "s", datetime.now())
    for name in ("街乡/部门[上半年]:排名*?\\", "'引号'", "History", "很长的名字" * 10, ""):
        body = export.to_xlsx(pl.DataFrame({"a": [1]}), meta, sheet=name)
        (tmp_path / "x.xlsx").write_bytes(body)
        sheet = fastexcel.read_excel(str(tmp_path / "x.xlsx")).sheet_names[0]
        assert sheet == export.sheet_name(name) and not set(sheet) & set("/\\?*:[]") and 0 < len(sheet) <= 31


def test_every_stored_value_is_masked(tmp_path):
    """In-process load of the same file: no table holds a number, read back value by value."""
    src = tmp_path / "a.csv"
    numbers = _phone_file(src)
    db = tmp_path / "h.duckdb"
    load_file(src, db)
    assert [n for n in numbers if n in _dump(db)] == []


def test_caller_keys_never_look_like_numbers_and_old_keys_are_upgraded(tmp_path):
    """Hex keys held 11-digit runs (≈ 1 key in 400 matched 1[3-9]\\d{9}); keys are letters now, and a database
    written with hex keys is upgraded at its next write, so its callers still link to new loads."""
    phones = pl.Series([f"139{n:08d}" for n in range(20_000)])
    keys = pii.caller_keys(phones, "k")
    assert keys.str.contains(r"\d").sum() == 0 and keys.n_unique() == 20_000
    hex_keys = pii.hmac_values(phones, "k")
    assert hex_keys.str.contains(r"1[3-9]\d{9}").sum() > 0   # what a scan found before
    from core.schema import create_all, needs_upgrade

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    create_all(con)
    con.execute("INSERT INTO work_orders (order_id, received_at, caller_key) SELECT 'o' || i, TIMESTAMP '2026-01-01', k "
                "FROM (SELECT unnest(?) AS k, generate_subscripts(?, 1) AS i)", [hex_keys.to_list(), hex_keys.to_list()])
    assert needs_upgrade(con)
    create_all(con)
    assert con.execute("SELECT list(caller_key ORDER BY i) FROM (SELECT caller_key, "
                       "CAST(substr(order_id, 2) AS INT) i FROM work_orders)").fetchall()[0][0] == keys.to_list()
    con.close()
