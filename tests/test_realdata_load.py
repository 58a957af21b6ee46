"""The real public exports in ../shared/realdata load with no mapping file and exact counts."""
import duckdb
import pytest

from conftest import REALDATA, varchar_hits
from etl.load import load_file

pytestmark = pytest.mark.skipif(not REALDATA.exists(), reason=f"real data not found at {REALDATA}")

FILES = {
    "nyc2023": ("nyc311/nyc311_2023-02-28_sample_4999rows.csv", 4999, 4999, 0),
    "nyc1419": ("nyc311/nyc311_2014-2019_sample_1000rows.csv", 1000, 1000, 0),
    "la": ("la311/myla311_2018-01-01_to_01-04_10000rows.csv", 10000, 10000, 0),
    "att2": ("cn_gov_messages/tipdm2020_c_att2_labeled_messages_sample.csv", 495, 494, 1),
    "att3": ("cn_gov_messages/tipdm2020_c_att3_messages_with_votes.csv", 4326, 4326, 0),
    "att4": ("cn_gov_messages/tipdm2020_c_att4_messages_with_replies.csv", 2816, 2816, 0),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Each file in its own database (the 泰迪杯 files share 留言编号 ranges)."""
    out = {}
    for name, (rel, *_counts) in FILES.items():
        db = tmp_path_factory.mktemp(name) / "hotline.duckdb"
        out[name] = (load_file(REALDATA / rel, db), db)
    return out


def q(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("name", list(FILES))
def test_counts(loaded, name):
    r, db = loaded[name]
    _, read, inserted, quarantined = FILES[name]
    assert (r.rows_read, r.rows_inserted, r.rows_quarantined) == (read, inserted, quarantined)
    assert q(db, "SELECT count(*) FROM work_orders") == [(inserted,)]


def test_nyc_values(loaded):
    _, db = loaded["nyc2023"]
    assert q(db, "SELECT min(received_at)::DATE::VARCHAR, max(received_at)::DATE::VARCHAR FROM work_orders") == [
        ("2023-02-28", "2023-02-28")]
    assert dict(q(db, "SELECT status, count(*) FROM work_orders GROUP BY 1")) == {"已办结": 4419, "办理中": 580}
    # Two orders closed before they were received: loaded, their 办结时间 left out of every rate and noted.
    assert q(db, "SELECT count(*) FROM work_orders WHERE closed_at IS NULL") == [(547,)]
    assert q(db, "SELECT count(*) FROM work_orders WHERE implausible LIKE '%早于受理时间%'") == [(2,)]
    assert q(db, "SELECT count(*) FROM work_orders WHERE lat IS NULL") == [(87,)]
    assert q(db, "SELECT dept, count(*) FROM work_orders GROUP BY 1 ORDER BY 2 DESC LIMIT 2") == [("HPD", 1801), ("NYPD", 1569)]
    _, db2 = loaded["nyc1419"]
    assert dict(q(db2, "SELECT year(received_at), count(*) FROM work_orders GROUP BY 1")) == {
        2014: 14, 2017: 24, 2018: 602, 2019: 360}


def test_la_values(loaded):
    _, db = loaded["la"]
    assert q(db, "SELECT category_l1, count(*) FROM work_orders GROUP BY 1 ORDER BY 2 DESC LIMIT 1") == [("Bulky Items", 4918)]
    assert dict(q(db, "SELECT status, count(*) FROM work_orders GROUP BY 1")) == {"已办结": 9711, "其他": 289}
    assert q(db, "SELECT count(*) FROM work_orders WHERE lat IS NOT NULL AND lat <> 0") == [(8898,)]


def test_teddy_cup_values(loaded):
    _, db2 = loaded["att2"]
    assert q(db2, "SELECT category_l1 FROM work_orders WHERE order_id = '37042'") == [("劳动和社会保障",)]
    reason = q(db2, "SELECT reason FROM quarantine")[0][0]
    assert "37042" in reason and "『留言编号』" in reason
    assert varchar_hits(db2, "A00074011") == []  # 留言用户 is hashed
    _, db3 = loaded["att3"]
    assert q(db3, "SELECT max(likes) FROM work_orders") == [(2097,)]
    assert q(db3, "SELECT sum(likes) FROM work_orders") == [(12512,)]
    _, db4 = loaded["att4"]
    assert q(db4, "SELECT closed_at::VARCHAR FROM work_orders WHERE order_id = '27610'") == [("2018-04-24 00:00:00",)]
    assert q(db4, "SELECT count(*) FROM work_orders WHERE closed_at IS NULL OR received_at IS NULL") == [(0,)]
    content = q(db4, "SELECT content FROM work_orders WHERE order_id = '2549'")[0][0]
    assert content.startswith("A2区景蓉华苑物业管理有问题\n2019年4月以来") and not content.endswith(("\t", "\n"))
