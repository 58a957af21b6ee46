"""The bad-input suite's files: small exports as they really go wrong, each with the outcome it must have.

`CASES` lists them; `write(case, directory)` writes one. Every case is checked by test_badinput.py for: no
traceback, a Chinese message naming the file (as the user named it) when refused, rows conserved, the
database unchanged when refused (but for the refusal's record in `loads`), no garbled text stored, no
phone number stored or echoed.
"""
from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


PHONE = "13912345678"
HEAD = ["工单编号", "来电时间", "诉求内容", "被反映区", "来电号码", "办结时间"]
TEXTS = ["望京西园三区暖气不热", "小区门口占道停车严重", "楼下餐馆油烟扰民", "夜间施工噪音很大", "路灯不亮存在安全隐患"]
DISTRICTS = ["朝阳区", "海淀区", "丰台区", "西城区", "东城区"]


def row(i: int, **over: str) -> list[str]:
    base = {"工单编号": f"BJ{i:04d}", "来电时间": f"2024-03-0{i % 9 + 1} 08:00:00", "诉求内容": TEXTS[i % 5],
            "被反映区": DISTRICTS[i % 5], "来电号码": PHONE, "办结时间": f"2024-03-1{i % 9} 09:00:00"}
    base.update(over)
    return [base[h] for h in HEAD]


def csv_text(rows: list[list[str]], head: list[str] = HEAD, sep: str = ",", eol: str = "\n") -> str:
    def cell(v: str) -> str:
        return f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in (sep, '"', "\n", "\r")) else v
    return "".join(sep.join(cell(v) for v in r) + eol for r in [head, *rows])


def good(n: int = 5, **over: str) -> list[list[str]]:
    return [row(i, **over) for i in range(1, n + 1)]


def xlsx(rows: list[list[str]], head: list[str] = HEAD, title: str | None = None) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    sheet = book.add_worksheet()
    r0 = 0
    if title:
        sheet.write_string(0, 0, title)
        r0 = 2
    for j, h in enumerate(head):
        sheet.write_string(r0, j, h)
    for i, r in enumerate(rows, start=r0 + 1):
        for j, v in enumerate(r):
            sheet.write_string(i, j, v)
    book.close()
    return buf.getvalue()


@dataclass
class Case:
    """One file and its expected outcome: `refused` (substrings of the message) or the loaded counts.
    `lines`: the quarantined rows' numbers as Excel shows them; `stored`: texts that must be stored as such."""
    name: str
    data: Callable[[], bytes] | None           # None: `make` builds the path itself
    suffix: str = ".csv"
    kind: str = "work_orders"
    encoding: str | None = None
    refused: tuple[str, ...] = ()
    inserted: int | None = None
    quarantined: int = 0
    flagged: int = 0
    lines: tuple[int, ...] | None = None
    stored: tuple[str, ...] = ()
    reason: str | None = None                  # a substring every quarantine reason of this load has
    action: str = "flag"                       # settings [plausibility] action for this load
    make: Callable[[Path], Path] | None = field(default=None, repr=False)

    @property
    def filename(self) -> str:
        return f"导出_{self.name}{self.suffix}"


def write(case: Case, directory: Path) -> Path:
    if case.make:
        return case.make(directory / case.filename)
    path = directory / case.filename
    path.write_bytes(case.data())
    return path


def _u(text: str) -> Callable[[], bytes]:
    return lambda: text.encode("utf-8")


def _mixed(enc_rows: list[str]) -> Callable[[], bytes]:
    """Rows of `good(len(enc_rows))`, each in its own encoding (the header in the first one's)."""
    def build() -> bytes:
        lines = csv_text(good(len(enc_rows))).splitlines(keepends=True)
        return b"".join(ln.encode(enc_rows[max(i - 1, 0)]) for i, ln in enumerate(lines))
    return build


def _folder(path: Path) -> Path:
    path.mkdir()
    (path / "inside.csv").write_text(csv_text(good()), encoding="utf-8")
    return path


def _missing(path: Path) -> Path:
    return path


BIG5_TEXTS = ["臺北市大安區路燈不亮", "社區門口違規停車嚴重", "樓下餐廳油煙擾民", "夜間施工噪音很大", "公園垃圾無人清理"]
LATIN = [["SR1", "2024-03-01 08:00", "Café au lait stand blocks the sidewalk", "Manhattan", "", ""],
         ["SR2", "2024-03-01 09:00", "Crème brûlée shop noise, très fort", "Brooklyn", "", ""],
         ["SR3", "2024-03-01 10:00", "Façade débris on the street", "Queens", "", ""],
         ["SR4", "2024-03-01 11:00", "Niño playground broken, señor called", "Bronx", "", ""]]
EN_HEAD = ["Unique Key", "Created Date", "Descriptor", "Borough", "Phone", "Closed Date"]


def _big5() -> bytes:
    rows = [[f"TW{i}", "2024-03-01 08:00", t, "大安區", "", ""] for i, t in enumerate(BIG5_TEXTS, 1)]
    return csv_text(rows, EN_HEAD).encode("big5")
CASES_HEAD = "案件编号,街道,社区,区,发起时间,问题类别,案件标题,案件描述,吹哨主体,办结时间,状态"
CASES_ROWS = ["C001,望京,望京西园社区,朝阳,2024-01-10 09:00,违法建设,楼顶违建,居民楼顶加盖,望京街道城管科,2024-01-20 17:00,已办结",
              "C002,中关村,,海淀区,2024/1/11 10:00,环境整治,垃圾堆放,小区垃圾长期堆放,中关村街道办,,办理中"]
EVENTS = "案件编号,部门,事件,时间,备注\nC001,朝阳区城管委,呼叫,2024-01-10 09:00,\nC001,朝阳区城管委,到场,2024-01-10 09:25,\n"
RATINGS_HEAD = "考核月份,街乡,区,被考核部门,得分,评语\n"


def _rand_bytes(n: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def _wide() -> bytes:
    head = HEAD + [f"备用{i}" for i in range(300)]
    return csv_text([r + ["x"] * 300 for r in good()], head).encode()


def _big() -> bytes:
    return csv_text(good(5000)).encode()


def _orders_xlsx_renamed() -> bytes:
    return xlsx(good())


def _html_table() -> bytes:
    return ("<html><head><meta charset='utf-8'></head><body><table><tr><td>工单编号</td><td>来电时间</td></tr>"
            "<tr><td>BJ1</td><td>2024-03-01</td></tr></table></body></html>").encode()


def _frame_xlsx_title() -> bytes:
    return xlsx(good(4), title="2024年3月工单明细（导出）")


CASES: list[Case] = [
    # --- encodings ----------------------------------------------------------------------------------
    Case("utf8", _u(csv_text(good())), inserted=5, stored=("望京西园三区暖气不热",)),
    Case("utf8_bom", lambda: b"\xef\xbb\xbf" + csv_text(good()).encode(), inserted=5),
    Case("gbk", lambda: csv_text(good()).encode("gbk"), inserted=5, stored=("小区门口占道停车严重",)),
    Case("gb18030_rare", lambda: csv_text(good(3, 诉求内容="王䶮反映楼道堆物")).encode("gb18030"), inserted=3,
         stored=("王䶮反映楼道堆物",)),
    Case("mixed_one_gbk_row", _mixed(["utf-8"] * 5 + ["gbk"] + ["utf-8"] * 4), inserted=10,
         stored=TEXTS),
    Case("mixed_one_utf8_row", _mixed(["gbk"] * 6 + ["utf-8"] + ["gbk"] * 3), inserted=10, stored=TEXTS),
    Case("mixed_alternating", _mixed(["utf-8", "gbk"] * 5), inserted=10, stored=TEXTS),
    Case("mixed_gbk_header", _mixed(["gbk", "utf-8", "utf-8", "utf-8"]), inserted=4, stored=TEXTS[1:4]),
    Case("utf16_le_bom", lambda: csv_text(good()).encode("utf-16"), inserted=5, stored=TEXTS),
    Case("utf16_be_bom", lambda: b"\xfe\xff" + csv_text(good()).encode("utf-16-be"), inserted=5, stored=TEXTS),
    Case("utf16_le_nobom", lambda: csv_text(good()).encode("utf-16-le"), inserted=5, stored=TEXTS),
    Case("big5", _big5, refused=("Big5", "--encoding big5", "Big5（繁体中文）")),
    Case("big5_forced", _big5, encoding="big5", inserted=5, stored=("臺北市大安區路燈不亮",)),
    Case("cp1252", lambda: csv_text(LATIN, EN_HEAD).encode("cp1252"), refused=("Windows-1252", "--encoding cp1252")),
    Case("cp1252_forced", lambda: csv_text(LATIN, EN_HEAD).encode("cp1252"), encoding="cp1252", inserted=4,
         stored=("Café au lait stand blocks the sidewalk",)),
    Case("utf8_forced_on_gbk", lambda: csv_text(good()).encode("gbk"), encoding="utf-8",
         refused=("不是 UTF-8 编码", "gb18030")),
    Case("gbk_forced", lambda: csv_text(good()).encode("gbk"), encoding="gb18030", inserted=5),
    Case("one_undecodable_row", lambda: csv_text(good(6)).encode().replace("夜间施工噪音很大".encode(), b"\xff\xfe\x80\xff\xfe"),
         inserted=5, quarantined=1, lines=(4,), reason="乱码"),
    Case("double_encoded_utf8", lambda: csv_text(good()).encode().decode("gb18030", errors="replace").encode("utf-8"),
         refused=("乱码",)),
    Case("latin1_mojibake_utf8", lambda: csv_text(LATIN, EN_HEAD).encode("utf-8").decode("cp1252", errors="replace").encode("utf-8"),
         refused=("乱码",)),
    Case("ascii_english", _u(csv_text(LATIN[:0] + [["SR9", "02/28/2023 10:00:00 AM", "Noise - Street", "QUEENS", "", ""]], EN_HEAD)),
         inserted=1),
    # --- line ends ----------------------------------------------------------------------------------
    Case("crlf", _u(csv_text(good(), eol="\r\n")), inserted=5),
    Case("cr_only", _u(csv_text(good(), eol="\r")), inserted=5),
    Case("mixed_eol", _u(csv_text(good(3), eol="\r\n") + csv_text(good(5)[3:], eol="\n").split("\n", 1)[1]), inserted=5),
    Case("no_final_newline", _u(csv_text(good()).rstrip("\n")), inserted=5),
    Case("blank_line_inside", _u(csv_text(good(3)) + "\n" + "BJ0009,不是日期,占道,朝阳区,,\n"), inserted=3, quarantined=1,
         lines=(6,)),
    Case("trailing_blank_lines", _u(csv_text(good()) + "\n\n\r\n\n"), inserted=5),
    Case("multiline_content", _u(csv_text([row(1, 诉求内容="第一段\n第二段\n\n第三段"), row(2), row(3, 来电时间="坏日期")])),
         inserted=2, quarantined=1, lines=(4,)),
    # --- quotes -------------------------------------------------------------------------------------
    Case("unclosed_quote_middle", _u(csv_text(good(2)) + 'BJ0003,2024-03-03 08:00,"暖气不热,朝阳区,,\n'
                                     + csv_text(good(6)[3:]).split("\n", 1)[1]),
         inserted=5, quarantined=1, lines=(4,), reason="引号"),
    Case("unclosed_quote_last", _u(csv_text(good(4)) + 'BJ0005,2024-03-03 08:00,"暖气不热,朝阳区,,\n'),
         inserted=4, quarantined=1, lines=(6,), reason="引号"),
    Case("two_unclosed_quotes", _u(csv_text(good(1)) + 'BJ0002,2024-03-03,"甲,朝阳区,,\n' + csv_text(good(4)[2:3]).split("\n", 1)[1]
                                   + 'BJ0004,2024-03-04,"乙,朝阳区,,\n' + csv_text(good(5)[4:]).split("\n", 1)[1]),
         inserted=3, quarantined=2, lines=(3, 5)),
    Case("stray_quote_in_value", _u(csv_text(good(2)) + 'BJ0003,2024-03-03 08:00,屏幕尺寸5"以上,朝阳区,,\n'), inserted=3,
         stored=('屏幕尺寸5"以上',)),
    Case("doubled_quotes", _u(csv_text(good(2, 诉求内容='他说"暖气不热",请处理'))), inserted=2, stored=('他说"暖气不热",请处理',)),
    Case("quoted_delimiter", _u(csv_text(good(2, 诉求内容="路灯,不亮"))), inserted=2, stored=("路灯,不亮",)),
    Case("text_after_closing_quote", _u(csv_text(good(2)) + 'BJ0003,2024-03-03 08:00,"暖气"不热,朝阳区,,\n'), inserted=3),
    Case("apostrophes", _u(csv_text(good(2, 诉求内容="it's 'cold'"))), inserted=2, stored=("it's 'cold'",)),
    # --- sizes --------------------------------------------------------------------------------------
    Case("field_2mb", _u(csv_text(good(2) + [row(3, 诉求内容="长" * 700_000)] + good(5)[3:])), inserted=4, quarantined=1,
         lines=(4,), reason="KB"),
    Case("field_500kb", _u(csv_text(good(2, 诉求内容="长" * 170_000))), inserted=2),
    Case("wide_300_columns", _wide, inserted=5),
    Case("rows_5000", _big, inserted=5000),
    Case("empty_0_bytes", lambda: b"", refused=("空文件",)),
    Case("whitespace_only", lambda: b"  \r\n\n \n", refused=("空文件",)),
    Case("bom_only", lambda: b"\xef\xbb\xbf", refused=("空文件",)),
    Case("header_only", _u(csv_text([])), refused=("只有表头",)),
    Case("header_and_blank_lines", _u(csv_text([]) + "\n\n\n"), refused=("只有表头",)),
    Case("one_column", _u("工单编号\nBJ1\nBJ2\n"), refused=("缺少必填列",)),
    # --- headers ------------------------------------------------------------------------------------
    Case("braces_in_header", _u(csv_text(good(3) + [row(4, 来电时间="坏")], ["工单编号{}", "来电时间{0}", "诉求内容", "被反映区", "来电号码", "办结时间"])),
         inserted=3, quarantined=1, lines=(5,), reason="『来电时间{0}』"),
    Case("braces_in_mapped_header", _u(csv_text(good(3) + [row(4, 来电时间="坏")], HEAD[:5] + ["备注{}"])),
         inserted=3, quarantined=1, lines=(5,)),
    Case("format_specifiers_header", _u(csv_text(good(2), HEAD[:5] + ["%s{1}{name}"])), inserted=2),
    Case("regex_like_headers", _u(csv_text([r + ["a", "b"] for r in good(2)], HEAD + ["*", "^x$"])), inserted=2),
    Case("duplicate_headers", _u(csv_text([r + ["甲"] for r in good(3)], HEAD + ["诉求内容"])), inserted=3),
    Case("blank_header_cell", _u(csv_text([r + ["x"] for r in good(3)], HEAD + [""])), inserted=3),
    Case("title_line_above", _u("2024年3月工单明细\n" + csv_text(good(3) + [row(4, 来电时间="坏")])), inserted=3, quarantined=1,
         lines=(6,)),
    Case("two_titles_and_blank", _u("12345热线工单导出,,,,,\n导出时间：2024-04-01,,,,,\n\n" + csv_text(good(2) + [row(3, 来电时间="坏")])),
         inserted=2, quarantined=1, lines=(7,)),
    Case("padded_headers", _u(csv_text(good(3), [f" {h}\u3000" for h in HEAD])), inserted=3),
    Case("invisible_marks_in_headers", _u(csv_text(good(3), ["\u200b" + h + "\ufeff" for h in HEAD])), inserted=3),
    Case("english_headers", _u(csv_text([["SR1", "2024-03-01 08:00", "Noise", "QUEENS", "", ""]], EN_HEAD)), inserted=1),
    Case("missing_received", _u(csv_text([r[:1] + r[2:] for r in good(2)], HEAD[:1] + HEAD[2:])),
         refused=("缺少必填列", "受理时间", "--mapping")),
    Case("semicolon", _u(csv_text(good(3), sep=";")), inserted=3),
    Case("tab_in_csv", _u(csv_text(good(3), sep="\t")), inserted=3),
    Case("pipe", _u(csv_text(good(3), sep="|")), inserted=3),
    Case("tsv", _u(csv_text(good(3), sep="\t")), suffix=".tsv", inserted=3),
    Case("newline_in_header", _u(csv_text(good(2), HEAD[:5] + ["办结\n时间"])), inserted=2),
    # --- types --------------------------------------------------------------------------------------
    Case("coords_text", _u(csv_text([r + ["东经116", "北纬39"] for r in good(3)], HEAD + ["经度", "纬度"])), inserted=3),
    Case("coords_999", _u(csv_text([r + ["116.4", "39.9"] for r in good(4)] + [row(5) + ["999", "39.9"]], HEAD + ["经度", "纬度"])),
         inserted=5, flagged=1),
    Case("coords_inf_neg", _u(csv_text([r + ["116.4", "39.9"] for r in good(4)] + [row(5) + ["inf", "-999"], row(6) + ["nan", "39"]],
                                       HEAD + ["经度", "纬度"])), inserted=6, flagged=2),
    Case("coords_null_island", _u(csv_text([r + ["116.4", "39.9"] for r in good(3)] + [row(4) + ["0", "0"]], HEAD + ["经度", "纬度"])),
         inserted=4, flagged=1),
    Case("coords_outside_region", _u(csv_text([r + ["116.4", "39.9"] for r in good(4)] + [row(5) + ["121.47", "31.23"]],
                                              HEAD + ["经度", "纬度"])), inserted=5, flagged=1),
    Case("negative_redispatch", _u(csv_text([r + ["1"] for r in good(3)] + [row(4) + ["-2"]], HEAD + ["改派次数"])),
         inserted=4, flagged=1),
    Case("thousands_separators", _u(csv_text([r + ["1,234"] for r in good(2)], HEAD + ["点赞数"])), inserted=2),
    Case("odd_satisfaction", _u(csv_text([r + [v] for r, v in zip(good(4), ["满意", "未回访", "一般", "？？"])], HEAD + ["满意度"])),
         inserted=4),
    # --- dates --------------------------------------------------------------------------------------
    Case("received_2099", _u(csv_text(good(3) + [row(4, 来电时间="2099-01-01 08:00:00")])), inserted=3, quarantined=1,
         lines=(5,), reason="未来"),
    Case("received_1980", _u(csv_text(good(3) + [row(4, 来电时间="1980-05-01 08:00:00")])), inserted=3, quarantined=1,
         reason="1990-01-01"),
    Case("closed_before_received", _u(csv_text(good(3) + [row(4, 办结时间="2024-02-01 08:00:00")])), inserted=4, flagged=1),
    Case("closed_before_received_quarantine", _u(csv_text(good(3) + [row(4, 办结时间="2024-02-01 08:00:00")])), inserted=3,
         quarantined=1, lines=(5,), reason="早于受理时间", action="quarantine"),
    Case("closed_in_future", _u(csv_text(good(3) + [row(4, 办结时间="2098-01-01 08:00:00")])), inserted=4, flagged=1),
    Case("date_formats", _u(csv_text([row(1, 来电时间="2024/1/5 8:03"), row(2, 来电时间="2024年1月5日 8时3分"),
                                      row(3, 来电时间="01/05/2024 08:03:00 AM"), row(4, 来电时间="45296.3354166667"),
                                      row(5, 来电时间="2024-01-05T08:03:00.000")])), inserted=5),
    Case("impossible_date", _u(csv_text(good(3) + [row(4, 来电时间="2024-13-45")])), inserted=3, quarantined=1, lines=(5,),
         reason="无法识别为日期"),
    Case("empty_received", _u(csv_text(good(3) + [row(4, 来电时间="")])), inserted=3, quarantined=1, reason="为空"),
    # --- duplicates ---------------------------------------------------------------------------------
    Case("duplicate_ids", _u(csv_text(good(3) + [row(2, 诉求内容="第二次")])), inserted=3, quarantined=1, lines=(3,),
         reason="重复"),
    Case("identical_rows", _u(csv_text(good(3) + good(3))), inserted=3, quarantined=3),
    Case("missing_id", _u(csv_text(good(3) + [row(4, 工单编号="")])), inserted=3, quarantined=1, reason="为空"),
    # --- formulas and HTML ------------------------------------------------------------------------------
    Case("formulas", _u(csv_text([row(1, 诉求内容='=HYPERLINK("http://x","点我")'), row(2, 诉求内容="=cmd|' /C calc'!A0"),
                                  row(3, 诉求内容="+1+1"), row(4, 诉求内容="@SUM(A1)"), row(5, 诉求内容="-2+3")])),
         inserted=5, stored=('=HYPERLINK("http://x","点我")', "@SUM(A1)")),
    Case("html_in_cells", _u(csv_text(good(2, 诉求内容="<script>alert(1)</script><b>粗</b>"))), inserted=2,
         stored=("<script>alert(1)</script><b>粗</b>",)),
    Case("markdown_in_cells", _u(csv_text(good(2, 诉求内容="# 标题 **粗** [链接](http://x)"))), inserted=2),
    Case("html_named_xls", _html_table, suffix=".xls", refused=("HTML",)),
    Case("html_named_csv", _html_table, refused=("HTML",)),
    # --- kinds --------------------------------------------------------------------------------------
    Case("cases_as_orders", _u(CASES_HEAD.replace("发起时间", "创建时间") + "\n" + "\n".join(CASES_ROWS) + "\n"),
         refused=("--kind cases", "吹哨案件")),
    Case("cases_fixture_as_orders", _u(CASES_HEAD + "\n" + "\n".join(CASES_ROWS) + "\n"), refused=("--kind cases",)),
    Case("events_as_orders", _u(EVENTS), refused=("--kind case_events",)),
    Case("ratings_as_orders", _u(RATINGS_HEAD + "2024-01,望京,朝阳,城管委,92,\n"), refused=("--kind ratings",)),
    Case("cases_as_cases", _u(CASES_HEAD + "\n" + "\n".join(CASES_ROWS) + "\n"), kind="cases", inserted=2),
    Case("events_unknown_case", _u(EVENTS), kind="case_events", inserted=2),
    Case("events_unknown_case_quarantine", _u(EVENTS), kind="case_events", inserted=0, quarantined=2, reason="不存在",
         action="quarantine"),
    Case("rating_bad_period", _u(RATINGS_HEAD + "2026-03-45,望京,朝阳,城管委,92,\n2024-01,望京,朝阳,城管委,90,\n"),
         kind="ratings", inserted=1, quarantined=1, lines=(2,), reason="月份"),
    Case("rating_score_120", _u(RATINGS_HEAD + "2024-01,望京,朝阳,城管委,120,\n2024-01,中关村,海淀,城管委,90,\n"),
         kind="ratings", inserted=1, quarantined=1, reason="0–100"),
    # --- not a table ----------------------------------------------------------------------------------
    Case("folder_named_csv", None, refused=("文件夹",), make=_folder),
    Case("does_not_exist", None, refused=("找不到文件",), make=_missing),
    Case("binary_junk", lambda: b"\x00\x01\x02" + _rand_bytes(3000), refused=("二进制",)),
    Case("xlsx_renamed_csv", _orders_xlsx_renamed, inserted=5, stored=TEXTS),
    Case("xlsx_truncated", lambda: _orders_xlsx_renamed()[:400], suffix=".xlsx", refused=("Excel",)),
    Case("xlsx_title_row", _frame_xlsx_title, suffix=".xlsx", inserted=4),
    Case("too_many_and_too_few_fields", _u(csv_text(good(2)) + "BJ0003,2024-03-03,多,朝阳区,,,多余\nBJ0004,2024-03-03\n"),
         inserted=2, quarantined=2, lines=(4, 5), reason="字段数"),
    Case("all_rows_bad", _u(csv_text([row(i, 来电时间="坏") for i in range(1, 4)])), inserted=0, quarantined=3),
]
