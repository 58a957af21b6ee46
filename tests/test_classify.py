"""智能分类与派单: training, suggestions, storage, the suggest/train commands and their bad inputs."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

import suggestions
from analytics import classify
from analytics.__main__ import main as analytics_main
from analytics.settings import load_settings
from core.store import connect_read
from etl.store import writing
from tests.dbfactory import orders_frame, write_orders

# An invented city's issue types (not the demo's lexicon): words per type, the type's path, and which unit
# handles it: "{D}" is the district's own unit, None the street office.
TYPES = {
    ("住房", "物业", "电梯"): (["电梯", "停运", "困在", "维保", "轿厢", "楼层"], "{D}房管局"),
    ("住房", "物业", "漏水"): (["漏水", "楼上", "渗水", "天花板", "防水", "卫生间"], "{D}房管局"),
    ("环境", "噪声", "施工"): (["施工", "夜间", "打桩", "噪音", "工地", "机器"], "{D}生态环境局"),
    ("环境", "垃圾", "清运"): (["垃圾", "清运", "堆放", "臭味", "垃圾桶", "苍蝇"], None),
    ("交通", "停车", "占道"): (["停车", "占道", "车位", "挡住", "违停", "车辆"], "{D}交通支队"),
    ("教育", "学校", "收费"): (["学校", "收费", "学费", "补课", "老师", "家长"], "{D}教委"),
}
PLACES = [("朝阳区", "望京街道"), ("海淀区", "中关村街道"), ("延庆区", "儒林街道")]
FILLER = ["来电人反映", "市民称", "希望尽快处理", "多次反映无果", "请相关部门解决", "已经持续一周"]


def _dept(template: str | None, district: str, street: str) -> str:
    return f"{street}办事处" if template is None else template.format(D=district)


def history(n_per_type: int = 60, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    rows, i = [], 0
    start = datetime(2026, 1, 1, 9)
    for (l1, l2, l3), (words, unit) in TYPES.items():
        for k in range(n_per_type):
            district, street = PLACES[k % len(PLACES)]
            text = "".join([rng.choice(FILLER), *rng.sample(words, 3), rng.choice(FILLER)])
            rows.append({"order_id": f"H{i:05d}", "received_at": start + timedelta(hours=i),
                         "category_l1": l1, "category_l2": l2, "category_l3": l3, "content": text,
                         "district": district, "street": street, "dept": _dept(unit, district, street)})
            i += 1
    return orders_frame(rows)


@pytest.fixture
def trained_db(tmp_path) -> Path:
    return write_orders(tmp_path / "hotline.duckdb", history())


def test_train_learns_every_level_and_the_dispatch(trained_db):
    model = suggestions.retrain(trained_db)
    assert list(model.levels) == ["category_l1", "category_l2", "category_l3"]
    assert len(model.levels["category_l3"].labels) == len(TYPES)
    assert model.meta["load_id"] == "test" and model.meta["labelled"] == 60 * len(TYPES)
    assert classify.model_path(trained_db).exists()
    again = classify.load(classify.model_path(trained_db))
    frame = pl.DataFrame({"content": ["楼上卫生间漏水，天花板一直渗水", "晚上工地打桩施工噪音太大"],
                          "district": ["海淀区", "延庆区"], "street": ["中关村街道", "儒林街道"]})
    out = classify.suggest(again, frame)
    assert out["category_l3"].to_list() == ["漏水", "施工"]
    assert out["category_l1"].to_list() == ["住房", "环境"]   # decoded together: always a path history has seen
    assert out["dept"].to_list() == ["海淀区房管局", "延庆区生态环境局"]
    assert (out["category_l3_conf"] > 0.5).all() and (out["category_l3_conf"] <= 1).all()
    assert "漏水" in out["category_l3_words"][0] or "渗水" in out["category_l3_words"][0]
    assert out["category_l1_top3"][0].startswith("住房")
    # The street office handles rubbish: which one follows the place, not the text.
    rubbish = classify.suggest(again, pl.DataFrame({"content": ["小区垃圾堆放没人清运，臭味很大"] * 2,
                                                    "district": ["朝阳区", "延庆区"], "street": ["望京街道", "儒林街道"]}))
    assert rubbish["dept"].to_list() == ["望京街道办事处", "儒林街道办事处"]


def test_history_suggestions_are_published_apart_from_the_orders(trained_db):
    suggestions.retrain(trained_db)
    con = connect_read(trained_db)
    try:
        n, agree = con.execute("SELECT count(*), count(*) FILTER (WHERE s.dept = w.dept) FROM order_suggestions s "
                               "JOIN work_orders w USING (order_id) WHERE s.source = 'history'").fetchall()[0]
        own = con.execute("SELECT count(*) FROM work_orders WHERE category_l1 IS NULL").fetchall()[0][0]
    finally:
        con.close()
    assert n == 60 * len(TYPES)
    assert agree / n > 0.9
    assert own == 0


def test_rare_labels_are_never_suggested(tmp_path):
    frame = history()
    rare = orders_frame([{"order_id": f"R{i}", "received_at": datetime(2026, 3, 1), "category_l1": "稀有",
                          "category_l2": "稀有", "category_l3": "稀有", "content": "稀有事项麻烦处理一下谢谢",
                          "district": "朝阳区", "street": "望京街道", "dept": "稀有部门"} for i in range(5)])
    db = write_orders(tmp_path / "h.duckdb", pl.concat([frame, rare], how="diagonal_relaxed"))
    model = suggestions.retrain(db, load_settings().with_overrides("classify", min_label_count=10))
    assert "稀有" not in model.levels["category_l1"].labels
    out = classify.suggest(model, pl.DataFrame({"content": ["稀有事项麻烦处理一下谢谢"]}))
    assert out["category_l1"][0] != "稀有" and out["dept"][0] != "稀有部门"


def test_empty_and_one_word_texts_get_a_reason_not_a_guess(trained_db):
    model = suggestions.retrain(trained_db)
    out = classify.suggest(model, pl.DataFrame({"content": ["", None, "漏水", "楼上漏水渗到我家天花板"]}))
    assert out["category_l1"].to_list()[:3] == [None, None, None]
    assert out["reason"].to_list()[:2] == ["诉求内容为空，无法给出建议"] * 2
    assert "只有一个词" in out["reason"][2]
    assert out["reason"][3] is None and out["category_l3"][3] == "漏水"


def test_no_labelled_history_says_so(tmp_path):
    frame = history().with_columns(pl.lit(None, pl.String).alias(c) for c in ("category_l1", "category_l2", "category_l3"))
    db = write_orders(tmp_path / "h.duckdb", frame)
    with pytest.raises(classify.ClassifyError, match="历史工单中没有分类，无法学习"):
        suggestions.retrain(db)


def test_suggest_command_reads_an_export_like_the_loader(trained_db, tmp_path, capsys):
    export = tmp_path / "待分类.csv"
    pl.DataFrame({"工单编号": ["N1", "N2", "N3"], "受理时间": ["2026-05-01 09:00"] * 3,
                  "诉求内容": ["=HYPERLINK(\"x\") 楼上卫生间漏水渗水", "学校补课乱收费，家长很不满", ""],
                  "区": ["朝阳", "海淀", "朝阳"], "街道": ["望京", "中关村", "望京"]}).write_csv(export)
    export.write_bytes(export.read_text(encoding="utf-8").encode("gb18030"))
    assert analytics_main(["suggest", "--db", str(trained_db), str(export), "--format", "json"]) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert "学习自导入批次 test" in captured.err
    assert [r["order_id"] for r in rows] == ["N1", "N2", "N3"]
    assert rows[0]["category_l3"] == "漏水" and rows[0]["dept"] == "朝阳区房管局"
    assert rows[1]["category_l3"] == "收费" and rows[1]["dept"] == "海淀区教委"
    assert rows[2]["category_l1"] is None and rows[2]["reason"]
    assert analytics_main(["suggest", "--db", str(trained_db), str(export), "--format", "csv"]) == 0
    csv = pl.read_csv(capsys.readouterr().out.encode())
    assert csv["category_l1"][0] == "住房"
    assert all(not str(v).startswith("=") for v in csv.row(0))


def test_train_command_and_missing_content_column(trained_db, tmp_path, capsys):
    assert analytics_main(["train", "--db", str(trained_db), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["level"] for r in rows] == ["一级分类", "二级分类", "三级分类", "承办部门"]
    assert rows[2]["labels"] == len(TYPES)
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"工单编号": ["A"], "受理时间": ["2026-05-01 09:00"], "备注": ["x"]}).write_csv(bad)
    assert analytics_main(["suggest", "--db", str(trained_db), str(bad)]) == 1
    assert "没有诉求内容列" in capsys.readouterr().err


def test_a_model_from_another_database_is_not_used(trained_db, tmp_path):
    from etl.store import writing

    suggestions.retrain(trained_db)
    other = write_orders(tmp_path / "other.duckdb", history(seed=2))
    with writing(other) as con:
        con.execute("UPDATE loads SET load_id = 'other'")
    classify.model_path(trained_db).rename(classify.model_path(other))
    con = connect_read(other)
    try:
        st = classify.status(con, other)
    finally:
        con.close()
    assert st["model"] is None and st["stale"] and "另一份数据" in st["why"]


def test_an_orders_own_category_decides_its_department_when_asked(trained_db):
    model = suggestions.retrain(trained_db)
    frame = pl.DataFrame({"content": ["晚上工地打桩施工噪音很大"] * 2, "category_l3": ["漏水", None],
                          "district": ["朝阳区"] * 2, "street": ["望京街道"] * 2})
    out = classify.suggest(model, frame, use_known=True)
    assert out["dept"].to_list() == ["朝阳区房管局", "朝阳区生态环境局"]
    assert out["dept_basis"][0] == "漏水·望京街道"


def test_suggest_reads_an_export_without_received_time(trained_db, tmp_path, capsys):
    export = tmp_path / "无受理时间.csv"
    pl.DataFrame({"工单编号": ["M1", "M2"], "诉求内容": ["楼上卫生间漏水，天花板渗水", "小区垃圾堆放没人清运"],
                  "区": ["海淀区", "延庆区"], "街道": ["中关村街道", "儒林街道"]}).write_csv(export)
    assert analytics_main(["suggest", "--db", str(trained_db), str(export), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["order_id"], r["line_no"], r["category_l3"], r["dept"]) for r in rows] == [
        ("M1", 2, "漏水", "海淀区房管局"), ("M2", 3, "清运", "儒林街道办事处")]


def test_the_department_follows_the_community_where_history_has_it(tmp_path):
    # In 望京 one community's rubbish is collected by the street office, another's by a district unit.
    rng = random.Random(3)
    words = TYPES[("环境", "垃圾", "清运")][0]
    extra = orders_frame([{"order_id": f"C{i:03d}", "received_at": datetime(2026, 4, 1, 9) + timedelta(hours=i),
                           "category_l1": "环境", "category_l2": "垃圾", "category_l3": "清运",
                           "content": "".join([rng.choice(FILLER), *rng.sample(words, 3)]), "district": "朝阳区",
                           "street": "望京街道", "community": community, "dept": dept}
                          for i, (community, dept) in enumerate([("花家地社区", "望京街道办事处"),
                                                                 ("南湖东园社区", "朝阳区环境卫生中心")] * 25)])
    db = write_orders(tmp_path / "h.duckdb", pl.concat([history(), extra], how="diagonal_relaxed"))
    model = suggestions.retrain(db)
    text = "小区垃圾堆放没人清运，臭味很大"
    out = classify.suggest(model, pl.DataFrame({"content": [text] * 3, "district": ["朝阳区"] * 3,
                                                "street": ["望京街道"] * 3, "community": ["南湖东园社区", "花家地社区", None]}))
    assert out["dept"].to_list() == ["朝阳区环境卫生中心", "望京街道办事处", "望京街道办事处"]
    assert out["dept_basis"].to_list() == ["清运·南湖东园社区", "清运·花家地社区", "清运·望京街道"]


REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cn_gov_messages"


def test_real_message_board_learned_from_one_file_suggests_for_the_other():
    if not REAL.exists():
        pytest.skip(f"真实数据目录不存在：{REAL}")
    train = suggestions.read_export(REAL / "tipdm2020C_fj2_testsplit1842_fullfields.csv")   # header 一级标签
    test = suggestions.read_export(REAL / "tipdm2020_c_att2_labeled_messages_sample.csv")    # header 一级分类
    train = train.filter(pl.col("reason").is_null())
    test = test.filter(pl.col("reason").is_null() & ~pl.col("order_id").is_in(train["order_id"].implode()))
    model = classify.fit(train, load_settings())
    assert list(model.levels) == ["category_l1"] and len(model.levels["category_l1"].labels) == 7
    out = classify.suggest(model, test.select("content"))
    right = (out["category_l1"] == test["category_l1"]).mean()
    assert test.height > 300 and right > 0.83
    assert abs(out["category_l1_conf"].mean() - right) < 0.08     # the confidence means what it says
    assert out["category_l1_words"].str.len_chars().min() > 0


def test_applied_suggestions_reach_the_summaries(trained_db):
    """Filling an upload's blank 分类 / 承办部门 edits orders in place: every summary counts them in their new
    category, as counting the orders does."""
    blank = history(n_per_type=4, seed=5).with_columns(
        order_id=pl.format("B{}", pl.col("order_id")), category_l1=pl.lit(None, pl.String),
        category_l2=pl.lit(None, pl.String), category_l3=pl.lit(None, pl.String), dept=pl.lit(None, pl.String),
        load_id=pl.lit("L2"))
    with writing(trained_db) as con:
        con.register("_blank", blank.to_arrow())
        con.execute("INSERT INTO work_orders BY NAME SELECT * FROM _blank")
    filled = suggestions.fill(trained_db, "L2", apply=True)
    assert filled["suggested"] > 0
    con = connect_read(trained_db)
    try:
        orders = {(c, d): n for c, d, n in con.execute(
            "SELECT category_l1, dept, count(*) FROM work_orders GROUP BY ALL").fetchall()}
        assert sum(n for (c, _), n in orders.items() if c is None) == blank.height - filled["suggested"]
        for table in ("monthly_counts", "monthly_detail", "daily_counts"):
            stored = {(c, d): int(n) for c, d, n in con.execute(
                f"SELECT category_l1, dept, sum(orders) FROM {table} GROUP BY ALL").fetchall()}
            assert stored == orders, table
    finally:
        con.close()
