import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import table_counts, varchar_hits
from etl import load as load_mod, tokens as tokens_mod
from etl.load import LoadError, load_file, preview
from core.schema import CHANNELS, REQUEST_TYPES, RESOLUTIONS, SATISFACTIONS, STATUSES

ROOT = Path(__file__).resolve().parents[1]
PHONES = ["13812345678", "13900001111", "139-0000-2222", "13700003333", "13600004444", "15000005555",
          "13811112222", "13855556666", "13855557777", "13855558888", "13855559999"]


def rows(db, sql, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql, params=params or []).fetchall()
    finally:
        con.close()


def test_gbk_load_values(etl_fx, db):
    r = load_file(etl_fx / "orders_gbk.csv", db)
    assert (r.rows_read, r.rows_inserted, r.rows_updated, r.rows_unchanged, r.rows_quarantined) == (6, 6, 0, 0, 0)
    assert r.encoding == "GBK/GB18030"
    got = dict((k, v) for k, *v in rows(db, "SELECT order_id, received_at::VARCHAR, category_l1, category_l2, category_l3, "
                                           "district, street, channel, resolution, satisfaction FROM work_orders"))
    assert got["GB0001"] == ["2024-01-05 08:03:00", "住房", "物业管理", "收费", "朝阳区", "望京街道", "电话", "解决", "满意"]
    assert got["GB0003"][0] == "2024-01-05 08:03:00" and got["GB0003"][4:6] == ["西城区", "金融街街道"]
    assert got["GB0004"][0] == "2024-01-05 20:03:00"
    assert got["GB0005"][-1] is None  # 未评价 -> NULL
    assert got["GB0002"][1:4] == ["公共服务", "供暖", "不热"]
    same = rows(db, "SELECT count(DISTINCT caller_key) FROM work_orders WHERE order_id IN ('GB0001', 'GB0006')")
    assert same == [(1,)]
    assert rows(db, "SELECT count(*) FROM areas")[0][0] > 300
    # Orders are published first; the token index follows in its own publish.
    assert rows(db, f"SELECT count(*) FROM ({tokens_mod.PENDING_SQL})") == [(6,)]
    assert tokens_mod.fill(db).rows_tokenized == 6
    assert rows(db, "SELECT count(*) FROM order_tokens WHERE len(tokens) > 0") == [(6,)]
    assert rows(db, "SELECT tokens FROM order_tokens WHERE order_id = 'GB0001'")[0][0] == ["小区", "物业", "乱收", "停车费", "要求", "退还"]
    assert tokens_mod.fill(db).rows_tokenized == 0


def test_all_fixture_formats_and_phone_nowhere(etl_fx, db):
    for name in ("orders_gbk.csv", "orders_gb18030.tsv", "orders_bom_crlf.csv", "orders.xlsx", "orders_broken.csv"):
        load_file(etl_fx / name, db)
    assert rows(db, "SELECT count(*) FROM work_orders") == [(6 + 2 + 3 + 3 + 4,)]
    assert "work_orders.content" in varchar_hits(db, "物业")  # the scan does find what is there
    for phone in PHONES:
        assert varchar_hits(db, phone) == [], phone
    assert varchar_hits(db, "13855557777") == []  # the too-many-fields reject's phone was hashed in raw too
    x = dict(rows(db, "SELECT order_id, received_at::VARCHAR FROM work_orders WHERE order_id LIKE 'X%'"))
    assert x == {"X0001": "2024-01-05 08:03:00", "X0002": "2024-01-05 06:00:00", "X0003": "2024-01-05 08:03:00"}


def test_broken_file_quarantine(etl_fx, db):
    r = load_file(etl_fx / "orders_broken.csv", db)
    assert (r.rows_read, r.rows_inserted, r.rows_quarantined) == (9, 4, 5)
    assert r.nulled == {"办结时间": 1} and "办结时间 1 个" in r.message
    q = dict(rows(db, "SELECT line_no, reason FROM quarantine ORDER BY line_no"))
    assert sorted(q) == [3, 4, 5, 6, 7]
    assert "表头有 6 列，该行有 7 列" in q[3] and "该行有 3 列" in q[4]
    assert q[5].startswith("第 5 行『来电时间』(受理时间) 的值“2024-13-45”无法识别为日期") and "请修正" in q[5]
    assert "『工单编号』(工单编号) 为空" in q[6]
    assert "第 7 行与第 9 行" in q[7] and "K0006" in q[7]
    assert rows(db, "SELECT content, closed_at FROM work_orders WHERE order_id IN ('K0006', 'K0007') ORDER BY 1") == [
        ("办结时间错", None), ("第二次出现", None)]
    raw = json.loads(rows(db, "SELECT raw FROM quarantine WHERE line_no = 5")[0][0])
    assert raw["来电时间"] == "2024-13-45" and len(raw["来电号码"]) == 16


def test_reload_changes_nothing_and_is_recorded(etl_fx, db):
    a = load_file(etl_fx / "orders_broken.csv", db)
    before = rows(db, "SELECT * FROM work_orders ORDER BY order_id")
    b = load_file(etl_fx / "orders_broken.csv", db)
    assert (b.rows_inserted, b.rows_updated, b.rows_unchanged, b.rows_quarantined) == (0, 0, 4, 5)
    assert rows(db, "SELECT * FROM work_orders ORDER BY order_id") == before  # lineage kept
    assert {r[0] for r in before} and all(r[-1] == a.load_id for r in before)
    assert rows(db, "SELECT load_id, count(*) FROM quarantine GROUP BY 1 ORDER BY 1") == sorted(
        [(a.load_id, 5), (b.load_id, 5)])


def test_modified_export_updates_exactly_changed_rows(etl_fx, db):
    a = load_file(etl_fx / "orders_bom_crlf.csv", db)
    b = load_file(etl_fx / "orders_bom_crlf_v2.csv", db)
    assert (b.rows_read, b.rows_inserted, b.rows_updated, b.rows_unchanged) == (4, 1, 1, 2)
    got = dict((k, (s, c, lid)) for k, s, c, lid in rows(db, "SELECT order_id, status, closed_at::VARCHAR, load_id FROM work_orders"))
    assert got["U0002"] == ("已办结", "2024-03-03 12:00:00", b.load_id)
    assert got["U0001"][2] == got["U0003"][2] == a.load_id
    assert got["U0004"][2] == b.load_id


def test_failure_midway_leaves_database_untouched(etl_fx, db, monkeypatch):
    load_file(etl_fx / "orders_gbk.csv", db)
    before = table_counts(db)

    def boom(*args):
        raise RuntimeError("insert crashed")

    monkeypatch.setattr(load_mod, "_insert", boom)
    with pytest.raises(LoadError) as e:
        load_file(etl_fx / "orders_bom_crlf.csv", db)
    assert "orders_bom_crlf.csv" in str(e.value) and "insert crashed" not in str(e.value)
    # Nothing but the record of the refused attempt was written.
    assert table_counts(db) == {**before, "loads": before["loads"] + 1, "audit_log": before["audit_log"] + 1}
    assert rows(db, "SELECT status FROM loads WHERE source_file = 'orders_bom_crlf.csv'") == [("refused",)]
    assert not list(db.parent.glob(".*.tmp"))


def test_failed_token_index_keeps_orders_and_is_finished_later(etl_fx, db, monkeypatch):
    load_file(etl_fx / "orders_gbk.csv", db)
    before_bytes = db.read_bytes()

    def boom(texts, extra=()):
        raise RuntimeError("tokenizer crashed")

    monkeypatch.setattr(tokens_mod, "tokenize", boom)
    with pytest.raises(RuntimeError):
        tokens_mod.fill(db)
    assert db.read_bytes() == before_bytes  # orders stay published, the index stays as it was
    assert rows(db, "SELECT count(*) FROM work_orders") == [(6,)]
    monkeypatch.undo()
    assert tokens_mod.fill(db).rows_tokenized == 6
    assert rows(db, f"SELECT count(*) FROM ({tokens_mod.PENDING_SQL})") == [(0,)]


def test_updated_order_is_tokenised_again(etl_fx, db):
    load_file(etl_fx / "orders_bom_crlf.csv", db)
    assert tokens_mod.fill(db).rows_tokenized == 3
    stale = rows(db, "SELECT tokens FROM order_tokens WHERE order_id = 'U0002'")
    load_file(etl_fx / "orders_bom_crlf_v2.csv", db)  # U0002 updated, U0004 new
    assert rows(db, f"SELECT order_id FROM ({tokens_mod.PENDING_SQL}) ORDER BY 1") == [("U0002",), ("U0004",)]
    assert tokens_mod.fill(db).rows_tokenized == 2
    assert rows(db, "SELECT count(*), count(DISTINCT order_id) FROM order_tokens") == [(4, 4)]
    assert rows(db, "SELECT tokens FROM order_tokens WHERE order_id = 'U0002'") == stale  # same content


def test_missing_required_column_fails_and_writes_nothing(etl_fx, db):
    with pytest.raises(LoadError) as e:
        load_file(etl_fx / "orders_odd_headers.csv", db)
    msg = str(e.value)
    assert "工单编号" in msg and "流水号、时间戳、说的话" in msg and "--mapping" in msg
    assert {t: n for t, n in table_counts(db).items() if n and t != "areas"} == {"loads": 1, "audit_log": 1}
    r = load_file(etl_fx / "orders_odd_headers.csv", db,
                  mapping={"流水号": "order_id", "时间戳": "received_at", "说的话": "content"})
    assert r.rows_inserted == 2


def test_preview_writes_nothing(etl_fx, db):
    frame, quarantine, summary = preview(etl_fx / "orders_broken.csv", "work_orders", n=2)
    assert frame.height == 2 and quarantine.height == 5 and summary["rows_read"] == 9
    assert not db.exists()


def test_other_kinds(etl_fx, db):
    got = {k: load_file(etl_fx / f, db, kind=k) for k, f in [
        ("cases", "cases.csv"), ("case_events", "case_events.csv"), ("ratings", "ratings.csv"), ("duties", "duties.csv")]}
    assert {k: (r.rows_inserted, r.rows_quarantined) for k, r in got.items()} == {
        "cases": (2, 1), "case_events": (5, 1), "ratings": (2, 1), "duties": (3, 1)}
    assert dict(rows(db, "SELECT event, count(*) FROM case_events GROUP BY 1")) == {
        "办结": 1, "到场": 1, "呼叫": 2, "未到": 1}
    assert rows(db, "SELECT period::VARCHAR, street, score FROM dept_ratings ORDER BY score") == [
        ("2024-01-01", "中关村街道", 85.5), ("2024-01-01", "望京街道", 92.0)]
    assert rows(db, "SELECT title FROM cases WHERE case_id = 'C001'") == [("楼顶违建",)]
    again = load_file(etl_fx / "duties.csv", db, kind="duties")  # NULL category_l2 is still one key
    assert (again.rows_inserted, again.rows_unchanged) == (0, 3)


def test_contracts_hold_after_every_fixture(etl_fx, db):
    for name in ("orders_gbk.csv", "orders_gb18030.tsv", "orders_bom_crlf.csv", "orders.xlsx", "orders_broken.csv",
                 "orders_bom_crlf_v2.csv", "orders_gbk.csv"):
        load_file(etl_fx / name, db)
    assert rows(db, "SELECT count(*) - count(DISTINCT order_id) FROM work_orders") == [(0,)]
    for col, accepted in (("channel", CHANNELS), ("request_type", REQUEST_TYPES), ("status", STATUSES),
                          ("resolution", RESOLUTIONS), ("satisfaction", SATISFACTIONS)):
        values = {v for (v,) in rows(db, f"SELECT DISTINCT {col} FROM work_orders WHERE {col} IS NOT NULL")}
        assert values <= set(accepted), col
    assert rows(db, "SELECT count(*) FROM loads WHERE rows_read <> rows_inserted + rows_updated + rows_unchanged "
                    "+ rows_quarantined") == [(0,)]
    assert rows(db, "SELECT count(*) FROM loads l WHERE rows_quarantined <> "
                    "(SELECT count(*) FROM quarantine q WHERE q.load_id = l.load_id)") == [(0,)]
    assert rows(db, "SELECT count(*) FROM loads") == [(7,)]


def test_cli_json_and_exit_codes(etl_fx, db):
    env = {"HOTLINE_DB": str(db), "WHISTLE_CALLER_KEY": "x", "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "etl", "load", str(etl_fx / "orders_gbk.csv"),
                         str(etl_fx / "cases.csv"), "--json"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert ok.returncode == 1  # cases.csv is not a work-order file
    first, _, index, hot, outlook = (json.loads(line) for line in ok.stdout.splitlines())
    assert first["rows_inserted"] == 6 and first["encoding"] == "GBK/GB18030" and first["kind"] == "work_orders"
    assert index["step"] == "tokens" and index["rows_tokenized"] == 6
    assert hot["step"] == "hot-issues" and hot["months"] == []   # six orders: no month big enough to store
    assert outlook["step"] == "outlook" and outlook["stored"]
    assert "--kind cases" in ok.stderr and "Traceback" not in ok.stderr
    mapped = subprocess.run([sys.executable, "-m", "etl", "load", str(etl_fx / "orders_odd_headers.csv"),
                             "--mapping", str(etl_fx / "odd_mapping.json"), "--db", str(db)],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert mapped.returncode == 0, mapped.stderr
    assert "新增 2" in mapped.stdout
    assert rows(db, "SELECT status, count(*) FROM loads GROUP BY 1 ORDER BY 1") == [("ok", 2), ("refused", 1)]


def test_second_phone_column_is_hashed_too(tmp_path, db):
    f = tmp_path / "two_phones.csv"
    f.write_text("工单编号,来电时间,来电号码,联系电话,诉求内容\n"
                 "P1,2024-01-01 08:00,13122223333,13244445555,正常\n"
                 "P2,不是日期,13166667777,13288889999,隔离\n", encoding="utf-8")
    r = load_file(f, db)
    assert (r.rows_inserted, r.rows_quarantined) == (1, 1)
    for phone in ("13122223333", "13244445555", "13166667777", "13288889999"):
        assert varchar_hits(db, phone) == [], phone


def test_a_file_of_another_kind_says_which_kind_it_is(etl_fx, db):
    with pytest.raises(LoadError) as err:
        load_file(etl_fx / "ratings.csv", db)
    assert "街乡考核部门评分（命令行 --kind ratings" in str(err.value)
    assert rows(db, "SELECT status, kind FROM loads") == [("refused", "work_orders")]
    result = load_file(etl_fx / "ratings.csv", db, kind="ratings")
    assert result.rows_read == result.rows_inserted + result.rows_quarantined > 0


def test_encoding_can_be_forced_and_a_wrong_choice_is_explained(etl_fx, db):
    with pytest.raises(LoadError) as err:
        load_file(etl_fx / "orders_gbk.csv", db, encoding="utf-8")
    assert "不是 UTF-8 编码" in str(err.value) and "gb18030" in str(err.value)
    assert rows(db, "SELECT status, rows_read FROM loads") == [("refused", 0)]
    with pytest.raises(LoadError) as err:
        load_file(etl_fx / "orders_gbk.csv", db, encoding="big-five-ish")
    assert "不认识的编码" in str(err.value)
    result = load_file(etl_fx / "orders_gbk.csv", db, encoding="gb18030")
    assert (result.encoding, result.rows_inserted) == ("GBK/GB18030", 6)


def test_padded_values_load_like_clean_ones(tmp_path, db):
    header = "工单编号,来电时间,来源渠道,问题分类,诉求内容,被反映区,被反映街乡镇,来电号码,主办单位,是否满意\n"
    clean = ("P1,2024-01-05 08:03:00,电话,住房->物业管理,暖气不热,朝阳,望京,13812345678,朝阳区住建委,满意\n"
             "P2,2024-01-06 09:00:00,微信,交通管理,占道停车,海淀区,中关村,,海淀区交通委,\n")
    padded = ("  P1 , 2024-01-05 08:03:00 ,\u3000电话 , 住房->物业管理 ,\"  暖气不热 \n \",  朝阳 ,望京  , 138 1234 5678 ,"
              "朝阳区住建委 , 满意\n"
              "P2\t,2024-01-06 09:00:00,微信,交通管理,占道停车,海淀区,中关村,  ,海淀区交通委,   \n"
              "P3,   ,电话,住房,空白时间,朝阳,望京,,,\n")
    (tmp_path / "clean.csv").write_text(header + clean, encoding="utf-8")
    (tmp_path / "padded.csv").write_text(header + padded, encoding="utf-8")
    other = tmp_path / "other.duckdb"
    load_file(tmp_path / "clean.csv", other)
    r = load_file(tmp_path / "padded.csv", db)
    assert (r.rows_inserted, r.rows_quarantined) == (2, 1)
    cols = "* EXCLUDE (source_file, load_id)"
    assert rows(db, f"SELECT {cols} FROM work_orders ORDER BY 1") == rows(other, f"SELECT {cols} FROM work_orders ORDER BY 1")
    reason, raw = rows(db, "SELECT reason, raw FROM quarantine")[0]
    assert "『来电时间』(受理时间) 为空，该列必填" in reason
    assert json.loads(raw)["来电时间"] is None and json.loads(raw)["工单编号"] == "P3"


def test_failed_hot_issue_clustering_says_why_in_chinese(db, monkeypatch, capsys):
    """A month whose clustering ran out of memory: the command names the month and what to change, no traceback."""
    import etl.__main__ as cli
    import etl.hot

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("2026-01: Traceback ...\n_duckdb.OutOfMemoryException: Out of Memory Error: failed to pin block")

    monkeypatch.setattr(etl.hot, "fill", out_of_memory)
    assert cli.main(["hot-issues", "--db", str(db)]) == 1
    said = capsys.readouterr().err
    assert "2026-01 月份，内存不足" in said and "memory_limit" in said and "Traceback" not in said
