"""Areas on any export: 311 area columns as area levels, and district/street from the address or the text
using the official divisions (issue #11 item 6)."""
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics.filters import Filters
from analytics.quality import coverage
from bench.synthcity import generate
from etl.load import load_file
from etl.reference import find_areas

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def _rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def _real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"真实数据不在 {path}")
    return path


def test_find_areas_rules():
    got = find_areas(pl.Series([
        "北京市朝阳区望京街道花家地西里3号", "朝阳区望京西园三区12号楼", "南独乐河镇北寨村", "海淀区中关村大街1号",
        "临湖区凤门街道学府一路18号", "", None,
    ])).rows()
    assert got == [("朝阳区", "望京街道"), ("朝阳区", "望京街道"), ("平谷区", "南独乐河镇"), ("海淀区", None),
                   (None, None), (None, None), (None, None)]


def test_la_has_areas_and_owner_is_the_department(tmp_path):
    db = tmp_path / "la.duckdb"
    load_file(_real(REAL / "la311" / "myla311_2018-01-01_to_01-04_10000rows.csv"), db)
    raw = pl.read_csv(REAL / "la311" / "myla311_2018-01-01_to_01-04_10000rows.csv", infer_schema=False)
    by_cd = dict(_rows(db, "SELECT district, count(*) FROM work_orders GROUP BY 1"))
    want = raw.group_by("CD").len()
    assert {f"CD {k}": v for k, v in zip(want["CD"], want["len"]) if k is not None} == {k: v for k, v in by_cd.items() if k}
    streets = dict(_rows(db, "SELECT street, count(*) FROM work_orders WHERE street IS NOT NULL GROUP BY 1"))
    assert streets == {k: v for k, v in zip(*raw.group_by("NCName").len().drop_nulls("NCName").to_dict().values())}
    depts = dict(_rows(db, "SELECT dept, count(*) FROM work_orders GROUP BY 1"))
    assert depts == dict(zip(*raw.group_by("Owner").len().to_dict().values()))


def test_nyc_community_board_is_the_street_level(tmp_path):
    path = _real(REAL / "nyc311" / "nyc311_2023-02-28_sample_4999rows.csv")
    db = tmp_path / "nyc.duckdb"
    load_file(path, db)
    raw = pl.read_csv(path, infer_schema=False)
    placeholder = raw.filter(pl.col("Community Board").str.contains("Unspecified")).height
    assert _rows(db, "SELECT count(*) FROM work_orders WHERE street IS NULL")[0][0] == placeholder
    assert _rows(db, "SELECT street, count(*) FROM work_orders WHERE street = '12 MANHATTAN' GROUP BY 1")[0][1] == \
        raw.filter(pl.col("Community Board") == "12 MANHATTAN").height
    assert _rows(db, "SELECT count(*) FROM work_orders WHERE district = 'Unspecified'")[0][0] == 0


def test_export_without_area_columns_gets_areas_from_address_and_text(tmp_path):
    city = generate(seed=5, orders=3000, area_columns=False, divisions="beijing")
    db = tmp_path / "bj.duckdb"
    load_file(city.write_csv(tmp_path / "bj.csv", encoding="gbk"), db)
    got = {o: (d, s) for o, d, s in _rows(db, "SELECT order_id, district, street FROM work_orders")}
    truth, named = city.truth.areas, city.truth.area_named
    found = [o for o, (d, s) in got.items() if s is not None]
    assert all(got[o] == truth[o] for o in found)  # precision 1
    assert sum(got[o] == truth[o] for o in named) / len(named) >= 0.95
    con = duckdb.connect(str(db), read_only=True)
    try:
        cov = dict(zip(*coverage(con, Filters()).select("check", "orders").to_dict().values()))
    finally:
        con.close()
    assert cov["street_from_text"] == len(found) and cov["district_from_text"] >= len(found)


def test_a_street_found_in_another_district_is_not_taken(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("工单编号,受理时间,区,地址,诉求内容\n"
                   "A1,2024-01-05 08:00,朝阳区,朝阳区望京西园三区,电梯坏了\n"
                   "A2,2024-01-05 09:00,海淀区,北京市朝阳区望京街道花家地,电梯坏了\n", encoding="utf-8")
    db = tmp_path / "d.duckdb"
    load_file(csv, db)
    assert _rows(db, "SELECT order_id, district, street FROM work_orders ORDER BY 1") == [
        ("A1", "朝阳区", "望京街道"), ("A2", "海淀区", None)]
    con = duckdb.connect(str(db), read_only=True)
    try:
        cov = dict(zip(*coverage(con, Filters()).select("check", "orders").to_dict().values()))
    finally:
        con.close()
    assert cov["street_from_text"] == 1 and cov["district_from_text"] == 0
