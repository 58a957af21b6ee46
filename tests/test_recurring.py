"""热点问题, repeat complaints, recurring types and 每月一题: planted clusters, the real message board, CLI."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics import hot_issues as hi
from analytics import recurring
from analytics.__main__ import main as cli_main
from analytics.settings import load_settings
from core.segment import segment
from etl.load import load_file
from etl.tokens import fill
from tests.dbfactory import orders_frame, write_orders

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
MESSAGES = REALDATA / "cn_gov_messages" / "tipdm2020_c_att3_messages_with_votes.csv"

STREETS = ["望京街道", "酒仙桥街道", "中关村街道", "学院路街道", "天通苑北街道", "回龙观街道", "方庄地区", "卢沟桥街道"]
# 240 estates: the planted ones and generated names (a year of background gives each estate and problem a
# few orders, as in a real district).
ESTATES = ["望京西园三区", "龙泽苑", "丰益花园", "和平里七区", "富力城"] + [
    f"{a}{b}{c}" for a in ("金", "银", "翠", "锦", "华", "康", "泰", "福") for b in ("泉", "林", "湖", "山", "河", "桥")
    for c in ("家园", "花园", "小区", "南里", "东区")]
# Background problems: every estate may see any of these.
BACKGROUND = [
    ("公共服务", "供暖", "暖气不热", "{p}{b}号楼家中暖气不热，室温只有十六度左右"),
    ("城乡建设", "噪音", "施工噪音", "{p}附近工地夜间施工噪音扰民，影响休息"),
    ("交通管理", "停车", "乱停车", "{p}门口车辆乱停乱放，堵塞消防通道"),
    ("住房", "物业管理", "物业服务", "{p}物业不作为，楼道垃圾无人清理"),
    ("城乡建设", "市容环境", "垃圾清运", "{p}垃圾桶满了没人清运，气味很大"),
    ("市场管理", "消费纠纷", "预付卡退费", "{p}旁边健身房关门跑路，预付卡无法退费"),
    ("公共服务", "供水", "停水", "{p}{b}号楼突然停水，没有提前通知"),
    ("交通管理", "公交", "公交线路", "建议在{p}附近增设公交站，出行不便"),
]
# Planted hot issues: one estate, one concrete problem, many callers within weeks.
PLANTED = [
    ("望京西园三区", "公共服务", "供暖", "暖气不热", 48,
     ["望京西园三区暖气不热，整个单元暖气片冰凉，热力公司说是管线堵塞",
      "反映望京西园三区暖气管线堵塞，家里暖气不热",
      "望京西园三区这周暖气一直不热，听说是小区管线堵塞"]),
    ("龙泽苑", "城乡建设", "噪音", "施工噪音", 35,
     ["龙泽苑东侧地铁施工工地凌晨打桩噪音扰民",
      "龙泽苑旁边地铁工地夜里打桩，噪音太大睡不着",
      "投诉龙泽苑地铁施工夜间打桩噪音"]),
    ("丰益花园", "住房", "物业管理", "电梯故障", 22,
     ["丰益花园5号楼电梯频繁故障困人，物业不维修",
      "丰益花园电梯又困人了，5号楼电梯故障多次",
      "反映丰益花园5号楼电梯经常故障停运"]),
    ("富力城", "城乡建设", "市容环境", "垃圾站异味", 60,
     ["富力城北门垃圾站臭味熏人，污水横流",
      "富力城北门垃圾站臭味严重，夏天臭气熏天",
      "富力城北门垃圾站污水横流、臭味刺鼻"]),
    ("和平里七区", "公共服务", "供水", "水质发黄", 27,
     ["和平里七区自来水发黄有异味，不敢饮用",
      "和平里七区水龙头出来的水发黄浑浊",
      "反映和平里七区自来水水质发黄"]),
]


def _row(i: int, when: datetime, street: str, estate: str, l1: str, l2: str, l3: str, text: str, caller: str) -> dict:
    return {"order_id": f"O{i:06d}", "received_at": when, "street": street, "community": estate, "district": "朝阳区",
            "category_l1": l1, "category_l2": l2, "category_l3": l3, "content": text, "caller_key": caller,
            "channel": "电话", "status": "已办结"}


def planted_frame(background: int = 4000, seed: int = 7) -> tuple[pl.DataFrame, dict[str, set[str]]]:
    """Background orders over a year plus the PLANTED hot issues; returns the frame and planted id sets."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1)
    rows, truth = [], {}
    for i in range(background):
        l1, l2, l3, tpl = rng.choice(BACKGROUND)
        estate = rng.choice(ESTATES)
        rows.append(_row(i, start + timedelta(minutes=rng.randrange(365 * 24 * 60)), rng.choice(STREETS), estate,
                         l1, l2, l3, tpl.format(p=estate, b=rng.randint(1, 30)), f"C{rng.randrange(10**9)}"))
    street_of = {e: rng.choice(STREETS) for e, *_ in PLANTED}
    i = background
    for estate, l1, l2, l3, size, texts in PLANTED:
        t0 = start + timedelta(days=rng.randrange(30, 300))
        ids = set()
        for k in range(size):
            rows.append(_row(i, t0 + timedelta(hours=rng.randrange(24 * 21)), street_of[estate], estate, l1, l2, l3,
                             rng.choice(texts), f"P{i}"))
            ids.add(f"O{i:06d}")
            i += 1
        truth[estate] = ids
    # Background orders of the planted estates keep their street, as in a real export.
    frame = pl.DataFrame(rows).with_columns(
        street=pl.col("community").replace_strict(street_of, default=pl.col("street")))
    return frame.with_columns(tokens=pl.Series(segment(frame["content"].to_list()))), truth


@pytest.fixture(scope="module")
def planted():
    return planted_frame()


def test_hot_issues_find_planted_clusters(planted):
    frame, truth = planted
    table = hi.hot_issues(frame, load_settings())
    for estate, ids in truth.items():
        best = max(table.iter_rows(named=True), key=lambda r: len(ids & set(r["order_ids"])))
        found = set(best["order_ids"])
        recall, precision = len(ids & found) / len(ids), len(ids & found) / len(found)
        assert recall >= 0.9, (estate, recall)
        assert precision >= 0.9, (estate, precision, best["label"])
        assert best["label"].startswith(estate)
        assert best["callers"] >= len(ids) * 0.9
        assert best["channels"] == 1  # every planted order came by phone
    top = table.head(len(truth))["label"].to_list()
    assert {label.split(" · ")[0] for label in top} == set(truth)


def test_hot_issues_nothing_quadratic_blocks(planted):
    frame, _ = planted
    docs = hi.prepare(frame, load_settings().hot_issues)
    h = load_settings().hot_issues
    pairs = hi.candidates(docs, hi.signatures(docs, h), h)
    assert pairs.height <= docs.height * (h.top_k + 2) * h.window


# One community in 亚运村街道: different problems on roads, a school and a bus stop all named after the area
# (亚运村…), each from one or two callers, and ten callers about the same dumping on one road.
MIXED = [
    ("市容环境", "建筑垃圾", "亚运村北路路边有人偷倒建筑垃圾"),
    ("教育", "入学政策", "亚运村实验小学入学审核材料要求不清楚，来回跑了6次"),
    ("交通管理", "僵尸车", "亚运村东路有僵尸车长期停放，无人处理"),
    ("城乡建设", "施工扰民", "亚运村南路道路施工到晚上11点还没停"),
    ("市场管理", "无照游商", "亚运村第二小学周边有流动摊贩售卖三无食品"),
    ("公共服务", "公交服务", "341公交车在亚运村东路站甩站不停"),
    ("生态环境", "餐饮油烟", "亚运村北路露天烧烤油烟大，影响周边居民"),
    ("城乡建设", "井盖", "亚运村北路井盖缺失，行人容易掉进去"),
    ("交通管理", "乱停车", "亚运村南路晚上车辆乱停，堵塞消防通道"),
]
DUMPING = ["亚运村北路路边有人偷倒建筑垃圾，堆了好几车", "亚运村北路晚上有渣土车偷倒建筑垃圾",
           "反映亚运村北路路边被偷倒大量建筑垃圾，没人清理"]


def test_hot_issues_do_not_merge_different_problems_sharing_an_area(planted):
    """The failure seen on the demo: one community, many problems at places that only share the area's name
    (亚运村北路 / 亚运村东路 / 亚运村实验小学 …) came out as one hot issue. Each must stay apart, while ten
    callers reporting one problem on one road are one hot issue named after the road."""
    frame, _ = planted
    rng = random.Random(11)
    rows, problem_of = [], {}
    i = 900_000
    for k, (l1, l3, text) in enumerate(MIXED):
        for _ in range(2):
            rows.append(_row(i, datetime(2026, 10, 3 + rng.randrange(25), rng.randrange(24)), "亚运村街道",
                             "新金园西里社区", l1, l3, l3, f"来电人反映：{text}，希望尽快协调解决。", f"M{i}"))
            problem_of[f"O{i:06d}"] = k
            i += 1
    dumping = set()
    for _ in range(10):
        rows.append(_row(i, datetime(2026, 10, 10 + rng.randrange(10), rng.randrange(24)), "亚运村街道",
                         "新金园西里社区", "市容环境", "建筑垃圾", "建筑垃圾",
                         f"市民反映：{rng.choice(DUMPING)}，要求尽快处理。", f"D{i}"))
        dumping.add(f"O{i:06d}")
        i += 1
    extra = pl.DataFrame(rows)
    extra = extra.with_columns(tokens=pl.Series(segment(extra["content"].to_list())))
    table = hi.hot_issues(pl.concat([frame, extra.select(frame.columns)]), load_settings())
    for row in table.iter_rows(named=True):
        problems = {problem_of[o] for o in row["order_ids"] if o in problem_of}
        assert len(problems - {0}) <= 1 and not (problems - {0} and dumping & set(row["order_ids"])), row["label"]
    best = max(table.iter_rows(named=True), key=lambda r: len(dumping & set(r["order_ids"])))
    found = set(best["order_ids"])
    assert len(dumping & found) >= 9, best["label"]
    assert len(found - dumping - {o for o, k in problem_of.items() if k == 0}) == 0, best["label"]
    assert best["place"] == "亚运村北路", best["label"]


def _repeat_frame() -> pl.DataFrame:
    rows = []
    base = datetime(2026, 9, 1, 9)
    # Caller A: four times about the same category within 30-day gaps → alert of 4.
    for k in range(4):
        rows.append({"order_id": f"A{k}", "received_at": base + timedelta(days=10 * k), "caller_key": "A",
                     "category_l2": "物业管理", "category_l3": "电梯故障", "content": "小区电梯坏了没人修",
                     "community": "丰益花园", "street": "卢沟桥街道"})
    # Caller B: three times, but the third is 45 days after the second → no alert.
    for k, d in enumerate((0, 20, 65)):
        rows.append({"order_id": f"B{k}", "received_at": base + timedelta(days=d), "caller_key": "B",
                     "category_l2": "供暖", "category_l3": "暖气不热", "content": "暖气不热",
                     "community": "龙泽苑", "street": "回龙观街道"})
    # Caller C: three times about different matters → no alert.
    for k, l3 in enumerate(("暖气不热", "停水", "乱停车")):
        rows.append({"order_id": f"C{k}", "received_at": base + timedelta(days=3 * k), "caller_key": "C",
                     "category_l2": "综合", "category_l3": l3, "content": l3, "community": "富力城", "street": "双井街道"})
    # Caller D: no category, same text three times within a week → alert of 3.
    for k in range(3):
        rows.append({"order_id": f"D{k}", "received_at": base + timedelta(days=2 * k), "caller_key": "D",
                     "content": "和平里七区自来水发黄有异味，要求自来水公司检修管道"})
    frame = orders_frame(rows)
    return frame.with_columns(tokens=pl.Series(segment(frame["content"].to_list())))


def test_repeat_callers_found_exactly():
    table = recurring.repeats(_repeat_frame(), load_settings())
    callers = table.filter(pl.col("kind") == "同一来电人")
    assert dict(zip(callers["caller_key"], callers["count"])) == {"A": 4, "D": 3}
    assert sorted(callers.filter(pl.col("caller_key") == "A")["order_ids"][0]) == ["A0", "A1", "A2", "A3"]
    assert callers.filter(pl.col("caller_key") == "A")["matter"][0] == "电梯故障"


def test_repeat_window_is_a_setting():
    s = load_settings().with_overrides("repeats", window_days=60)
    callers = recurring.repeats(_repeat_frame(), s).filter(pl.col("kind") == "同一来电人")
    assert dict(zip(callers["caller_key"], callers["count"])) == {"A": 4, "B": 3, "D": 3}


def _typed_frame() -> pl.DataFrame:
    """Eight months, 10 streets; 占道经营 is everywhere, every month, hard to solve; 供暖 is big but easy and
    seasonal; 噪音 in 望京街道 only runs high from month 3 to month 7."""
    rng = random.Random(3)
    rows, i = [], 0
    streets = [f"街道{k}" for k in range(10)]
    types = {"占道经营": ("城乡建设", 0.25, 2), "供暖": ("公共服务", 0.95, 0), "停车": ("交通管理", 0.8, 0),
             "噪音": ("城乡建设", 0.8, 0), "物业": ("住房", 0.8, 0), "退费": ("市场管理", 0.8, 0)}
    for month in range(1, 9):
        for street in streets:
            for l2, (l1, solve, redispatch) in types.items():
                n = 6
                if l2 == "供暖":
                    n = 30 if month in (1, 2, 3) and street in streets[:3] else 0
                if l2 == "占道经营":
                    n = 9
                if l2 == "噪音" and street == "街道0" and 3 <= month <= 7:
                    n = 20
                for _ in range(n):
                    ok = rng.random() < solve
                    rows.append({"order_id": f"T{i}", "received_at": datetime(2026, month, rng.randint(1, 28), 10),
                                 "street": street, "district": "朝阳区", "category_l1": l1, "category_l2": l2,
                                 "category_l3": l2, "resolution": "解决" if ok else "未解决",
                                 "satisfaction": "满意" if ok else "不满意", "redispatch_count": redispatch})
                    i += 1
    return orders_frame(rows)


def test_topics_rank_persistent_hard_type_first():
    frame = _typed_frame()
    table = recurring.topic_candidates(frame, load_settings())
    assert table["issue_type"][0] == "占道经营"
    assert table.filter(pl.col("issue_type") == "占道经营")["months_above"][0] == 8
    assert table.filter(pl.col("issue_type") == "供暖")["streets"][0] == 3


def test_recurring_types_per_area():
    table = recurring.recurring_types(_typed_frame(), load_settings())
    noisy = table.filter((pl.col("area") == "街道0") & (pl.col("issue_type") == "噪音"))
    assert noisy["longest_run"][0] == 5
    assert "连续 5 个月高于预期" in noisy["reason"][0]


def test_topic_tracking_month_on_month():
    track = recurring.topic_tracking(_typed_frame(), "category_l2", "噪音", date(2026, 7, 1))
    by_month = dict(zip(track["month"], track["orders"]))
    assert by_month[date(2026, 7, 1)] == 9 * 6 + 20 and by_month[date(2026, 8, 1)] == 10 * 6
    aug = track.filter(pl.col("month") == date(2026, 8, 1))
    assert aug["mom_change"][0] == pytest.approx(60 / 74 - 1)
    assert aug["after_pick"][0]


@pytest.fixture(scope="module")
def messages(tmp_path_factory):
    """The 泰迪杯 message board through the project's loader (content = 留言主题 + 留言详情, likes = 点赞数)."""
    if not MESSAGES.exists():
        pytest.skip(f"真实数据不在 {MESSAGES}，跳过留言板测试")
    db = tmp_path_factory.mktemp("board") / "board.duckdb"
    load_file(MESSAGES, db)
    fill(db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(f"SELECT {', '.join(hi.INPUT_COLUMNS)} FROM work_orders JOIN order_tokens USING (order_id)").pl()
    finally:
        con.close()


def test_message_board_top_issues_are_the_named_problems(messages):
    table = hi.hot_issues(messages, load_settings())
    top10 = table.head(10)
    labels = " | ".join(top10["label"].to_list())
    for place, problem in (("丽发新城", "搅拌"), ("伊景园滨河苑", "捆绑"), ("58车贷", ""), ("魅力之城", ""), ("购房补贴", "")):
        row = top10.filter(pl.col("label").str.contains(place))
        assert row.height == 1, labels
        assert problem in row["label"][0], labels
    assert table["channels"].null_count() == table.height  # the board has no channel column: unknown, not 0
    top3 = " | ".join(table.head(3)["label"].to_list())
    assert "丽发新城" in top3 and "伊景园滨河苑" in top3, top3
    lifa = table.filter(pl.col("label").str.contains("丽发新城"))
    ids = set(lifa["order_ids"][0])
    mixing = set(messages.filter(pl.col("content").str.split("\n").list.first().str.contains("搅拌"))["order_id"])
    assert len(ids & mixing) / len(mixing) >= 0.85
    assert len(ids & mixing) / len(ids) >= 0.8


def test_cli_json_shape(tmp_path, capsys, planted):
    frame, truth = planted
    db = write_orders(tmp_path / "h.duckdb", orders_frame(frame.drop("tokens").to_dicts()).with_columns(
        tokens=frame["tokens"]))
    assert cli_main(["hot-issues", "--db", str(db), "--format", "json", "--limit", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5
    assert {"label", "size", "first_at", "last_at", "heat", "order_ids"} <= set(rows[0])
    assert isinstance(rows[0]["order_ids"], list) and len(rows[0]["order_ids"]) == rows[0]["size"]
    assert cli_main(["repeats", "--db", str(db), "--format", "json"]) == 0
    reps = json.loads(capsys.readouterr().out)
    assert all({"caller_key", "count", "order_ids"} <= set(r) for r in reps)
    assert cli_main(["topics", "--db", str(db), "--format", "json"]) == 0
    topics = json.loads(capsys.readouterr().out)
    assert topics[0]["rank"] == 1 and 0 <= topics[0]["score"] <= 100
    assert cli_main(["hot-issues", "--db", str(db), "--format", "csv", "--limit", "2"]) == 0
    assert "order_ids" in capsys.readouterr().out.splitlines()[0]


def test_page_shows_hot_issues_and_topics(tmp_path, monkeypatch, planted):
    from streamlit.testing.v1 import AppTest

    frame, truth = planted
    db = write_orders(tmp_path / "page.duckdb", orders_frame(frame.drop("tokens").to_dicts()).with_columns(
        tokens=frame["tokens"]))
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard.py"), default_timeout=60)
    at.query_params["from"] = "2026-01"
    at.query_params["to"] = "2026-12"
    at.run()
    at.switch_page("pages/recurring.py").run()
    assert not at.exception, at.exception
    hot = at.dataframe[0].value
    assert set(hot["label"].head(5).str.split(" · ").str[0]) == set(truth)
    assert [t.label for t in at.tabs] == ["热点问题", "重复诉求预警", "反复出现的问题类型", "每月一题候选"]
    assert any("跟踪：" in s.value for s in at.subheader)


def test_a_clause_is_not_a_place():
    """Text before a place suffix is a place only when it reads as a name: no function word, no verb taking an
    object (the demo's 乘坐出租车时司机绕路, the board's 导致大量油烟排入), no common noun + 里 ("inside")."""
    for clause in ("乘坐出租车时司机绕路", "导致大量油烟排入", "导致小区", "希望政府", "增设公交站", "楼道里"):
        assert not hi.is_place_name(clause), clause
    for name in ("丽发新城", "伊景园滨河苑", "魅力之城", "58车贷", "望京西园三区", "学清路", "龙泽苑东区", "三里屯路",
                 "和平里七区", "好邻居便利店", "百善北路"):
        assert hi.is_place_name(name), name
    places = hi.place_names(pl.Series(["市民来电反映：乘坐出租车时司机绕路，多收了1500元。",
                                       "反映魅力之城小区油烟扰民，导致大量油烟排入室内"]))
    assert places.to_list() == [[], ["魅力之城"]]


def _spread(background: pl.DataFrame, n: int, days: int, community, text: str, request_type: str = "投诉",
            l3: str = "拒载绕路") -> pl.DataFrame:
    """The background plus n callers with the same complaint over `days` days; community(k) gives the k-th
    order's community (and its street: one per community)."""
    rows = [{"order_id": f"S{k}", "received_at": datetime(2026, 10, 1, 9) + timedelta(hours=24 * days * k // n),
             "street": None if community(k) is None else f"{community(k)}街道", "community": community(k),
             "district": "朝阳区", "category_l1": "交通管理", "category_l2": l3, "category_l3": l3, "content": text,
             "caller_key": f"S{k}", "channel": "电话", "status": "已办结"} for k in range(n)]
    frame = pl.DataFrame(rows, schema={c: background.schema[c] for c in rows[0]})
    extra = frame.with_columns(tokens=pl.Series(segment(frame["content"].to_list())), request_type=pl.lit(request_type))
    return pl.concat([background.with_columns(request_type=pl.lit("投诉")), extra.select(*background.columns, "request_type")])


def _issues_of(table: pl.DataFrame) -> list[pl.DataFrame]:
    return [row for row in table.iter_rows(named=True) if any(o.startswith("S") for o in row["order_ids"])]


def test_a_steady_trickle_is_not_a_hot_issue_but_a_burst_is(planted):
    """Forty callers spread evenly over the year, each in another community, about the same taxi detour: a
    steady problem type (反复出现的问题类型 / 每月一题), not a hot issue. The same forty callers within three
    weeks are one, with or without a place (a text burst across callers), and so are forty from one community
    within a week."""
    frame, _ = planted
    text = "来电人反映：乘坐出租车时司机绕路，多收了车费，希望相关部门尽快解决。"
    s = load_settings()
    year = _spread(frame, 40, 360, lambda k: f"社区{k}", text).with_columns(
        received_at=pl.when(pl.col("order_id").str.starts_with("S"))
        .then(datetime(2026, 1, 3) + pl.duration(days=pl.col("order_id").str.slice(1).cast(pl.Int64) * 9))
        .otherwise("received_at"))
    assert _issues_of(hi.hot_issues(year, s)) == []
    burst = _issues_of(hi.hot_issues(_spread(frame, 40, 20, lambda k: None, text), s))
    assert len(burst) == 1 and burst[0]["callers"] == 40 and burst[0]["place"] == "", [r["label"] for r in burst]
    local = _issues_of(hi.hot_issues(_spread(frame, 40, 6, lambda k: "幸福三村社区", text), s))
    assert len(local) == 1 and local[0]["size"] == 40, [r["label"] for r in local]


def test_policy_questions_from_one_community_need_a_named_place(planted):
    """Consultations grouped by community are not a hot issue; the same questions about one named school are."""
    frame, _ = planted
    s = load_settings()
    vague = _spread(frame, 12, 5, lambda k: "和祥庭社区", "来电人咨询入学政策，希望给予解答。", "咨询", "入学政策")
    assert _issues_of(hi.hot_issues(vague, s)) == []
    named = _spread(frame, 12, 5, lambda k: "和祥庭社区", "来电人咨询西三旗中心幼儿园入学政策，希望给予解答。", "咨询", "入学政策")
    found = _issues_of(hi.hot_issues(named, s))
    assert len(found) == 1 and found[0]["place"] == "西三旗中心幼儿园" and found[0]["size"] == 12, found


def _through_loader(path: Path, tmp: Path) -> pl.DataFrame:
    db = tmp / "x.duckdb"
    load_file(path, db)
    fill(db)
    con = duckdb.connect(str(db), read_only=True)
    cols = [c for c in hi.INPUT_COLUMNS if c != "tokens"]
    try:
        return con.sql(f"SELECT {', '.join('w.' + c for c in cols)}, t.tokens FROM work_orders w "
                       "LEFT JOIN order_tokens t USING (order_id)").pl()
    finally:
        con.close()


@pytest.fixture(scope="module")
def synthetic_city(tmp_path_factory):
    """A city the project has never seen (bench/synthcity.py: its own places, phrasing and categories)."""
    from bench.synthcity import generate

    city = generate(seed=7, orders=10_000)
    tmp = tmp_path_factory.mktemp("city")
    return _through_loader(city.write_csv(tmp / "城市导出.csv"), tmp), city.truth


def _rank(table: pl.DataFrame, ids: set[str]) -> int:
    hits = [len(ids & set(o)) for o in table["order_ids"]]
    return hits.index(max(hits)) + 1 if hits and max(hits) else 0


def test_unfamiliar_city_burst_is_first_over_the_year_and_its_month(synthetic_city):
    orders, truth = synthetic_city
    s = load_settings()
    burst = set(truth.burst.order_ids)
    year = hi.hot_issues(orders, s)
    assert _rank(year, burst) == 1, year.head(5)["label"].to_list()
    top = year.row(0, named=True)
    assert top["place"] == truth.burst.place and len(burst & set(top["order_ids"])) >= 0.9 * len(burst)
    month0 = datetime.combine(truth.burst.first.replace(day=1), datetime.min.time())
    month1 = (month0 + timedelta(days=32)).replace(day=1)
    month = orders.filter((pl.col("received_at") >= month0) & (pl.col("received_at") < month1))
    assert _rank(hi.hot_issues(month, s, period_start=month0, period_end=month1), burst) == 1
    # A policy raised by many callers names no place: found as a text burst.
    assert 0 < _rank(year, set(truth.policy.order_ids)) <= 10
    assert (year["callers"] >= 2).all()
    assert not any(hi.is_generic_place(p) for p in year["place"] if p)


def test_unfamiliar_city_repeats_and_hot_issues_agree(synthetic_city):
    orders, truth = synthetic_city
    s = load_settings()
    reps = recurring.repeats(orders, s)
    alerts = [set(o) for o in reps.filter(pl.col("kind") == "同一来电人")["order_ids"]]
    planted = [set(r.order_ids) for r in truth.repeats]
    found = sum(any(len(a & p) >= 0.8 * len(p) for a in alerts) for p in planted)
    right = sum(any(len(a & p) >= 0.8 * len(a) for p in planted) for a in alerts)
    assert found >= 0.9 * len(planted) and right >= 0.9 * len(alerts), (found, right, len(planted), len(alerts))
    decoys = set().union(*(set(d.order_ids) for d in truth.decoys))
    assert not any(a <= decoys for a in alerts)
    places = reps.filter(pl.col("kind") == "同一地点")
    assert 0 < places.height <= s.repeats.place_limit
    hot = hi.hot_issues(orders, s)
    # The same orders carry the same verdict on both lists.
    for row in places.filter(pl.col("hot_issue").is_not_null()).iter_rows(named=True):
        match = hot.filter(pl.col("label") == row["hot_issue"])
        assert match.height == 1 and set(match["order_ids"][0]) == set(row["order_ids"])
    hot_orders = set().union(*(set(o) for o in hot["order_ids"]))
    for row in places.filter(pl.col("hot_issue").is_null()).iter_rows(named=True):
        assert not set(row["order_ids"]) & hot_orders, row


def test_nyc_hot_issues_and_repeats_come_from_address_and_complaint_type(tmp_path):
    path = REALDATA / "nyc311" / "nyc311_2023-02-28_sample_4999rows.csv"
    if not path.exists():
        pytest.skip(f"真实数据不在 {path}")
    orders = _through_loader(path, tmp_path)
    s = load_settings()
    hot = hi.hot_issues(orders, s)
    reps = recurring.repeats(orders, s)
    assert hot.height > 0 and reps.height > 0
    placed = hot.filter(pl.col("place") != "")
    assert placed.height >= 0.8 * hot.height
    by_key = orders.group_by(pl.col("address").str.to_uppercase().str.replace_all(r"\s+", " ").str.strip_chars(),
                             "category_l1").agg(ids=pl.col("order_id"))
    groups = {(a, c): set(ids) for a, c, ids in by_key.iter_rows()}
    for row in placed.head(20).iter_rows(named=True):
        assert set(row["order_ids"]) <= groups[(row["place"], row["problem"])], row["label"]
    assert (groups[("2176 TIEBOUT AVENUE", "HEAT/HOT WATER")]
            == set(hot.filter(pl.col("label") == "2176 TIEBOUT AVENUE · HEAT/HOT WATER")["order_ids"][0]))


def test_generic_places_are_not_places():
    for word in ("建筑工地", "市政府", "政府", "18年政府", "县级以上人民政府", "幼儿园", "农田休耕政府"):
        assert hi.is_generic_place(word) and not hi.is_place_name(word), word
    for name in ("丽发新城", "伊景园滨河苑", "魅力之城", "中山路", "麓湖湾畔", "好邻居便利店", "望京西园三区"):
        assert not hi.is_generic_place(name), name
    assert hi.place_names(pl.Series(["反映18年政府承诺的事没有落实，建筑工地夜间施工"])).to_list() == [[]]


def test_settings_hold_the_hot_issue_constants():
    h = load_settings().hot_issues
    for name in ("top_k", "window", "max_df_share", "rare_df_share", "rare_df_min", "head_boost", "grid_deg",
                 "label_sample", "recent_days", "burst_days", "min_callers", "min_lift"):
        assert hasattr(h, name)
    assert not hasattr(hi, "TOP_K") and not hasattr(hi, "STOPWORDS")


def test_the_same_orders_in_another_order_give_the_same_lists(planted):
    """A database returns rows in no fixed order: the groups, their numbers and every tie at a list's cut follow
    the orders themselves (the 同一地点 list is cut at place_limit among places with equal callers)."""
    frame, _ = planted
    s = load_settings()
    hot, reps = hi.hot_issues(frame, s), recurring.repeats(frame, s)
    assert reps.filter(pl.col("kind") == "同一地点").height == s.repeats.place_limit
    for seed in (1, 2):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
        assert hi.hot_issues(shuffled, s).equals(hot)
        assert recurring.repeats(shuffled, s).equals(reps)
