import polars as pl

from etl.extract import read_table
from etl.transform import parse_datetime


def test_gbk_detected(etl_fx):
    ex = read_table(etl_fx / "orders_gbk.csv")
    assert ex.encoding == "GBK/GB18030"
    assert ex.headers[0] == "工单编号" and ex.frame.height == 6
    assert ex.frame["_line"].to_list() == [2, 3, 4, 5, 6, 7]


def test_gb18030_tsv(etl_fx):
    ex = read_table(etl_fx / "orders_gb18030.tsv")
    assert (ex.encoding, ex.delimiter) == ("GBK/GB18030", "\t")
    assert "王䶮" in ex.frame["诉求内容"][0]


def test_bom_crlf_embedded_newline(etl_fx):
    ex = read_table(etl_fx / "orders_bom_crlf.csv")
    assert ex.encoding == "UTF-8 BOM"
    assert ex.headers[0] == "工单编号"  # no BOM left in the first header
    assert ex.frame.height == 3 and "\n" in ex.frame["主要内容"][0]
    assert ex.frame["状态"].to_list() == ["已办结", "办理中", "办理中"]  # no stray \r


def test_xlsx_strings(etl_fx):
    ex = read_table(etl_fx / "orders.xlsx")
    assert ex.encoding == "XLSX" and ex.frame.height == 3
    assert all(dt == pl.String for c, dt in ex.frame.schema.items() if c != "_line")


def test_broken_rows_rejected_with_line_numbers(etl_fx):
    ex = read_table(etl_fx / "orders_broken.csv")
    assert ex.rejects["line"].to_list() == [3, 4]
    assert ex.frame["_line"].to_list() == [2, 5, 6, 7, 8, 9, 10]
    assert ex.rejects["raw"][0].to_list()[-1] == "多余"


def test_date_formats():
    values = ["2024-01-05 08:03:00", "2024/1/5 8:03", "2024年1月5日 8时3分", "01/05/2024 08:03:00 AM",
              "1/5/2024 8:03 PM", "2024-01-05", "2024/1/5", "2024年1月5日", "45296.3354166667",
              "2024-01-05T08:03:00.000", "20240105", "2024-13-45", "明天", None]
    got = pl.DataFrame({"v": values}).select(parse_datetime(pl.col("v"))).to_series().to_list()
    as_text = [g.strftime("%Y-%m-%d %H:%M") if g else None for g in got]
    assert as_text == ["2024-01-05 08:03"] * 4 + ["2024-01-05 20:03"] + ["2024-01-05 00:00"] * 3 + [
        "2024-01-05 08:03", "2024-01-05 08:03", "2024-01-05 00:00", None, None, None]


def test_gbk_after_a_utf8_looking_head_is_read_as_gbk(tmp_path):
    # The first 64 KB hold only ASCII (valid UTF-8); the Chinese rows further down are GBK.
    head = "order_id,received_at,content\n" + "".join(f"A{i:05d},2024-01-05 08:00,noise {i}\n" for i in range(3000))
    tail = "B00001,2024-01-06 09:00,望京西园三区暖气不热\nB00002,2024-01-06 10:00,占道停车\n"
    path = tmp_path / "late_gbk.csv"
    path.write_bytes(head.encode("ascii") + tail.encode("gbk"))
    assert len(head) > 65536
    ex = read_table(path)
    assert ex.encoding == "GBK/GB18030" and ex.frame.height == 3002 and not len(ex.rejects)
    assert ex.frame["content"].to_list()[-2:] == ["望京西园三区暖气不热", "占道停车"]
    assert ex.frame["_line"].to_list()[-1] == 3003
