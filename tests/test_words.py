"""Hot words are content words on any data, and lift needs a real baseline (issue #11 item 3)."""
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.hotspots import BASELINE_SHORT, baseline_note, emerging, hot_words, top_words
from analytics.text import keywords
from core.segment import segment
from bench.synthcity import generate

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"
BOILERPLATE = {"领导", "政府", "尊敬", "您好", "谢谢", "a7", "西地省", "况且", "由此", "居然", "怎能", "感谢", "你好"}


def _real(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"真实数据不在 {path}")
    return path


def test_keywords_rules():
    tokens = ["尊敬", "的", "领导", "您好", "况且", "由此", "居然", "怎能", "A7", "K12", "西地省", "湖南省", "谢谢",
              "BUILDING", "Building", "Blocked", "No", "With", "电梯", "噪音", "58车贷", "今天", "附近", "一个", "5G"]
    assert keywords(tokens) == ["湖南省", "building", "building", "blocked", "电梯", "噪音", "58车贷", "5g"]


def test_message_board_top_words_carry_no_boilerplate():
    raw = pl.read_csv(_real(REAL / "cn_gov_messages" / "tipdm2020_c_att3_messages_with_votes.csv"), infer_schema=False)
    texts = (raw["留言主题"].fill_null("") + "。" + raw["留言详情"].fill_null("")).to_list()
    frame = pl.DataFrame({"tokens": segment(texts)}, schema={"tokens": pl.List(pl.String)})
    top = top_words(frame, 40)["word"].to_list()
    assert not BOILERPLATE & set(top), BOILERPLATE & set(top)
    # The matters people write about are there (checked by reading the messages: estates' developers and
    # property management, schools, noise, wages).
    assert {"物业", "开发商", "噪音", "学校", "施工"} <= set(top)


def test_english_words_are_case_folded_and_without_stopwords():
    raw = pl.read_csv(_real(REAL / "nyc311" / "nyc311_2023-02-28_sample_4999rows.csv"), infer_schema=False)
    texts = (raw["Complaint Type"].fill_null("") + " " + raw["Descriptor"].fill_null("")).to_list()
    frame = pl.DataFrame({"tokens": segment(texts)}, schema={"tokens": pl.List(pl.String)})
    top = top_words(frame, 25)
    words = top["word"].to_list()
    assert all(w == w.lower() for w in words)
    assert not {"no", "with", "other", "of", "the", "n/a"} & set(words)
    # Case variants are one word: HEAT/HOT WATER and Heat both count as "heat".
    heat = sum(1 for t in texts if "heat" in t.lower().replace("/", " ").split())
    assert dict(zip(top["word"], top["count"]))["heat"] == heat


def _orders(month_counts: dict[str, list[str]]) -> pl.DataFrame:
    rows = []
    for month, texts in month_counts.items():
        y, m = map(int, month.split("-"))
        for i, t in enumerate(texts):
            rows.append({"received_at": datetime(y, m, 1) + timedelta(hours=i), "district": "甲区", "street": None, "content": t})
    frame = pl.DataFrame(rows)
    return frame.with_columns(pl.Series("tokens", segment(frame["content"].to_list()), pl.List(pl.String)))


def test_lift_needs_enough_baseline_orders():
    few = _orders({"2024-01": ["小区停车难"] * 4, "2024-02": ["小区电梯故障停运"] * 6})
    words = hot_words(few, None, None, start=datetime(2024, 2, 1), min_count=3, min_baseline=50)
    assert set(words["basis"]) == {BASELINE_SHORT} and words["lift"].null_count() == words.height
    assert emerging(words).is_empty()
    assert "基线不足" in baseline_note(words, 50) and "4 件" in baseline_note(words, 50)
    many = _orders({"2024-01": ["小区停车难"] * 60, "2024-02": ["小区电梯故障停运"] * 6})
    words = hot_words(many, None, None, start=datetime(2024, 2, 1), min_count=3, min_baseline=50)
    lift = dict(zip(words["word"], words["lift"]))
    # 电梯: 6 orders now, 0 of 60 before: expected 0, lift (6+1)/(0+1).
    assert lift["电梯"] == pytest.approx(7.0) and baseline_note(words, 50) == ""
    assert emerging(words)["word"][0] in {"电梯", "故障", "停运"}


def test_synthetic_city_burst_month_words():
    city = generate(seed=4, orders=4000)
    f = city.frame()
    frame = pl.DataFrame({
        "received_at": f["登记时间"].str.to_datetime("%Y/%m/%d %H:%M:%S"),
        "district": f["所属区县"], "street": f["所属街道"],
        "tokens": pl.Series(segment(f["反映内容"].to_list()), dtype=pl.List(pl.String)),
    })
    first = city.truth.burst.first.replace(day=1)
    words = hot_words(frame, None, "1mo", start=first, min_count=3, min_baseline=200)
    top = emerging(words.filter(pl.col("period") == first), 5)["word"].to_list()
    # The burst's own words rise: its estate and what happened to the lifts (电梯 itself is common all year).
    assert "停运" in top and any(w in city.truth.burst.place for w in top)
    everything = top_words(frame, 30)["word"].to_list()
    assert not ({"您好", "你好", "领导", "谢谢", "thanks", "尊敬", "市长", "本人"} & set(everything))
