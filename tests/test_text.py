"""Segmentation: same tokens as jieba on real messages, user dictionary, the analytic filter."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics import text
from core import segment as seg

MESSAGES = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "cn_gov_messages"


def _real_messages(limit: int = 3000) -> list[str]:
    if not MESSAGES.exists():
        pytest.skip(f"真实数据目录 {MESSAGES} 不存在，跳过与 jieba 的对比")
    texts: list[str] = []
    for f in sorted(MESSAGES.glob("*messages*.csv")):
        df = pl.read_csv(f, infer_schema=False)
        for col in ("留言主题", "留言详情", "答复意见"):
            if col in df.columns:
                texts += [t for t in df[col].to_list() if t]
    assert len(texts) > 1000, "真实留言数据太少"
    step = max(1, len(texts) // limit)
    return texts[::step]


@pytest.fixture(scope="module")
def jieba_mod():
    jieba = pytest.importorskip("jieba")
    jieba.setLogLevel(60)
    return jieba


def test_cut_equals_jieba_on_real_messages(jieba_mod):
    texts = _real_messages()
    mismatches = [t[:60] for t in texts if seg.cut(t) != jieba_mod.lcut(t)]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ, e.g. {mismatches[:3]}"


@pytest.mark.parametrize("sample", [
    "见baidu.com网站", "1-2-301室漏水", "2020-01-05 08:03来电", "U.S.A的", "3.14.15", "鿖鿗字", "a_b_c", "50%-60%",
])
def test_cut_equals_jieba_where_jieba_rs_differs(jieba_mod, sample):
    assert seg.cut(sample) == jieba_mod.lcut(sample)


def test_user_dictionary_cuts_like_equally_configured_jieba(jieba_mod):
    words = seg.user_terms(["望京西园三区", "天通苑北一区"])
    jb = seg.tokenizer(words)
    # Replay the frequencies tokenizer() gave each word, in the same order, on a plain jieba.
    replay, tk = seg.plain(), jieba_mod.Tokenizer()
    for w in words:
        freq = replay.suggest_freq(w)
        replay.add_word(w, freq, None)
        tk.add_word(w, freq)
    texts = _real_messages(500) + ["朝阳区望京街道望京西园三区暖气不热，吹哨报到后物业费问题未诉先办"]
    assert [seg._cut_with(t, jb) for t in texts] == [tk.lcut(t) for t in texts]


def test_user_dictionary_keeps_estates_places_and_terms_whole():
    frame = pl.DataFrame({
        "community": ["望京西园社区", None],
        "address": ["北京市朝阳区望京街道望京西园三区212号楼3单元", "昌平区天通苑北一区5号楼"],
    })
    terms = seg.data_terms(frame)
    assert {"望京西园社区", "望京西园三区", "天通苑北一区"} <= set(terms)
    [tokens] = seg.segment(["望京西园三区212号楼暖气不热，接诉即办，天通苑北一区吹哨报到"], extra_words=terms)
    for whole in ("望京西园三区", "暖气不热", "接诉即办", "天通苑北一区", "吹哨报到"):
        assert whole in tokens
    # Official street names are in the dictionary without any data.
    assert "回龙观街道" in seg.segment(["昌平区回龙观街道龙泽苑东区电梯停运"])[0]


def test_segment_drops_whitespace_and_punctuation_only():
    assert seg.segment(["暖气不热， 物业费！", None, ""]) == [["暖气不热", "物业费"], [], []]


def test_keywords_filter_stopwords_single_chars_and_numbers():
    tokens = seg.segment(["来电人反映望京西园三区3号楼暖气不热，室温15度，要求尽快处理问题"], extra_words=["望京西园三区"])[0]
    kept = text.keywords(tokens)
    assert "暖气不热" in kept and "望京西园三区" in kept
    for gone in ("来电人", "反映", "要求", "处理", "问题", "15", "3", "度"):
        assert gone not in kept
    frame = pl.DataFrame({"tokens": [tokens]})
    assert text.keyword_lists(frame["tokens"]).to_list()[0] == kept
