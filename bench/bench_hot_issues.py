"""热点问题 clustering at scale: 1,000,000 synthetic orders (many places and topics, planted hot issues) in ≤ 60 s.

Orders: 30,000 communities in 330 streets (Zipf-like sizes), each with two estates (the address names one and a
building, as an export does), 200 problem topics with their own words, filler words from a 20,000-word
vocabulary, callers at random over a year; plus planted hot issues of 20–60 orders (one estate, one topic, three
words of their own, three weeks, distinct callers). Tokens are given, as
the token index (order_tokens) is filled at load time. Measures analytics.hot_issues.hot_issues end to end (clustering,
statistics, labels) and recall / precision on the planted issues. Writes bench/RESULTS-hot-issues.md.
Run: .venv/bin/python bench/bench_hot_issues.py [--n 1000000] [--planted 500]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from analytics import hot_issues as hi  # noqa: E402
from analytics.settings import load_settings  # noqa: E402

# Earlier runs, kept so that each change's cost stays visible.
PREVIOUS = [
    "上一版（2026-11-25，按热度 = 来电人数 + 高峰周占比 + 增长排序，点名地点或绑定地址才算热点问题）：16.4 秒，"
    "找到 2,380 个，平均召回率 0.961、精确率 0.960，479 / 500。",
    "更早（无“成为热点问题”的条件、动词短语也算地点）：21.7 秒，找到 13,875 个，平均召回率 0.999、精确率 0.966，481 / 500。",
]
CJK = np.array([chr(c) for c in range(0x4E00, 0x4E00 + 6000)])


def _words(rng: np.random.Generator, n: int, length: int = 2) -> np.ndarray:
    chars = CJK[rng.integers(0, len(CJK), size=(n, length))]
    return np.unique(np.char.add(chars[:, 0], chars[:, 1]) if length == 2 else chars.sum(axis=1))[:n]


def synthetic(n: int, planted: int, seed: int = 12345) -> tuple[pl.DataFrame, dict[int, np.ndarray]]:
    """n orders with `planted` hot issues among them; returns the frame and the planted clusters' row ids."""
    rng = np.random.default_rng(seed)
    vocab = _words(rng, 40_000)
    filler, topic_pool, rare_pool = vocab[:20_000], vocab[20_000:21_200], vocab[21_200:]
    topics = topic_pool.reshape(200, 6)
    n_comm, n_street = 30_000, 330
    comm_names = np.char.add("社区", np.char.zfill(np.arange(n_comm).astype(str), 5))
    comm_street = rng.integers(0, n_street, n_comm)
    street_names = np.char.add("街道", np.arange(n_street).astype(str))

    sizes = rng.integers(20, 61, planted)
    n_planted = int(sizes.sum())
    n_bg = n - n_planted
    zipf = 1 / np.arange(1, n_comm + 1) ** 0.8
    comm = rng.choice(n_comm, n_bg, p=zipf / zipf.sum())
    topic = rng.integers(0, 200, n_bg)
    pick = np.argsort(rng.random((n_bg, 6)), axis=1)[:, :4]
    words = np.concatenate([
        topics[topic[:, None], pick],
        filler[np.minimum(rng.zipf(1.3, (n_bg, 4)) - 1, len(filler) - 1)],
    ], axis=1)
    start = np.datetime64("2026-01-01T00:00:00", "s")
    seconds = rng.integers(0, 365 * 86400, n_bg)

    # Estate names from characters the problem words never use, so that an estate never reads like a problem.
    name_chars = np.array([chr(c) for c in range(0x6A00, 0x7A00)])[rng.integers(0, 4096, (2 * n_comm, 2))]
    estate_names = np.char.add(np.char.add(name_chars[:, 0], name_chars[:, 1]),
                               rng.choice(np.array(["家园", "花园", "小区", "苑", "东里"]), 2 * n_comm))
    estate = 2 * comm + rng.integers(0, 2, n_bg)
    p_comm = rng.integers(0, n_comm, planted)
    p_estate = 2 * p_comm + rng.integers(0, 2, planted)
    p_topic = rng.integers(0, 200, planted)
    p_rare = rare_pool[: planted * 3].reshape(planted, 3)
    p_start = rng.integers(0, 340 * 86400, planted)
    owner = np.repeat(np.arange(planted), sizes)
    p_words = np.concatenate([
        topics[p_topic[owner][:, None], np.argsort(rng.random((n_planted, 6)), axis=1)[:, :2]],
        p_rare[owner[:, None], np.argsort(rng.random((n_planted, 3)), axis=1)[:, :2]],
        filler[np.minimum(rng.zipf(1.3, (n_planted, 4)) - 1, len(filler) - 1)],
    ], axis=1)
    p_seconds = p_start[owner] + rng.integers(0, 21 * 86400, n_planted)

    all_words = np.concatenate([words, p_words])
    all_comm = np.concatenate([comm, p_comm[owner]])
    all_estate = np.concatenate([estate, p_estate[owner]])
    order = np.concatenate([seconds, p_seconds])
    no_place = rng.random(n) < 0.05
    tokens = pl.Series("tokens", all_words.ravel()).reshape((n, all_words.shape[1])).cast(pl.List(pl.String))
    frame = pl.DataFrame({
        "order_id": np.char.add("B", np.arange(n).astype(str)),
        "received_at": (start + order.astype("timedelta64[s]")).astype("datetime64[us]"),
        "street": street_names[comm_street[all_comm]],
        "community": np.where(no_place, None, comm_names[all_comm]),
        "address": np.where(no_place, None, np.char.add(np.char.add(estate_names[all_estate],
                                                                    rng.integers(1, 40, n).astype(str)), "号楼")),
        "caller_key": np.char.add("C", rng.integers(0, 10**9, n).astype(str)),
        "channel": rng.choice(np.array(["电话", "网络", "微信", "APP"]), n),
    }).with_columns(tokens, content=tokens.list.join(""))
    truth = {k: np.flatnonzero(owner == k) + n_bg for k in range(planted)}
    return frame, truth


def score(table: pl.DataFrame, frame: pl.DataFrame, truth: dict[int, np.ndarray]) -> tuple[float, float, int]:
    """Mean recall and precision of the best-matching hot issue per planted one, and how many reach 0.9 / 0.9."""
    row_of = dict(zip(frame["order_id"].to_list(), range(frame.height)))
    clusters = [np.array([row_of[o] for o in ids]) for ids in table["order_ids"].to_list()]
    owner = np.full(frame.height, -1)
    for c, rows in enumerate(clusters):
        owner[rows] = c
    recalls, precisions, good = [], [], 0
    for rows in truth.values():
        hits = owner[rows]
        hits = hits[hits >= 0]
        if not len(hits):
            recalls.append(0.0)
            precisions.append(0.0)
            continue
        best = np.bincount(hits).argmax()
        inter = int((hits == best).sum())
        r, p = inter / len(rows), inter / len(clusters[best])
        recalls.append(r)
        precisions.append(p)
        good += r >= 0.9 and p >= 0.9
    return float(np.mean(recalls)), float(np.mean(precisions)), good


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--planted", type=int, default=500)
    args = ap.parse_args()
    settings = load_settings()
    t0 = time.perf_counter()
    frame, truth = synthetic(args.n, args.planted)
    t_gen = time.perf_counter() - t0

    timings = {}
    t = time.perf_counter()
    h = settings.hot_issues
    docs = hi.prepare(frame, h)
    timings["准备（片区键、具体地点：全部文本与地址的地点识别）"] = time.perf_counter() - t
    t = time.perf_counter()
    sig = hi.signatures(docs, h)
    timings["特征词（TF-IDF 前 K 个）"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = hi.candidates(docs, sig, h)
    timings["分块候选对"] = time.perf_counter() - t
    t = time.perf_counter()
    hi.cosines(sig, docs.height, pairs, h.top_k)
    timings["候选对余弦"] = time.perf_counter() - t

    t, cpu = time.perf_counter(), time.process_time()
    table = hi.hot_issues(frame, settings)
    total, cpu = time.perf_counter() - t, time.process_time() - cpu
    recall, precision, good = score(table, frame, truth)
    load = os.getloadavg()[0]

    lines = [
        "# 热点问题聚类规模测试（bench/bench_hot_issues.py）", "",
        f"- 日期：{date.today()}；机器：{platform.machine()}，{os.cpu_count()} 核，Python {platform.python_version()}；"
        f"测量结束时 1 分钟平均负载 {load:.1f}（与其他进程共用）",
        f"- 数据：{args.n:,} 条合成工单（30,000 个社区、每社区两个小区（地址写到楼号）、330 个街乡、200 类问题、"
        f"20,000 个填充词，5% 无社区和地址），"
        f"其中埋入 {args.planted} 个热点问题（每个 20–60 条、同一小区同一问题、三周内、来电人各不相同），"
        f"共 {sum(len(v) for v in truth.values()):,} 条；生成用时 {t_gen:.1f} 秒（不计入）",
        "- 分词在导入时完成（分词索引 order_tokens），这里直接给出词表。",
        f"- 目标：≤ 60 秒。设置：text_similarity = {h.text_similarity}，min_size = {h.min_size}，"
        f"place_bonus = {h.place_bonus}，head_bonus = {h.head_bonus}（标题共享 ≤ {h.head_rare_df} 条工单的少见词），"
        f"top_k = {h.top_k}，window = {h.window}；成为热点问题：来电人 ≥ {h.min_callers}、最忙 {h.burst_days} 天内来电人数 "
        f"≥ {h.min_callers} 且 ≥ {h.min_lift:g} 倍预期（预期 = 该组窗口外工单按有数据的天数平摊）", "",
        "| 步骤 | 秒 |", "|---|---:|",
        *[f"| {k} | {v:.1f} |" for k, v in timings.items()],
        f"| **hot_issues 全流程（含上面各步、并查集、合并、爆发统计、标签）** | **{total:.1f}** |",
        f"| 其中本进程占用的 CPU 时间（不受其他进程负载影响；多线程时可大于墙钟） | {cpu:.1f} |", "",
        f"- 候选对：{pairs.height:,}（约每条工单 {pairs.height / args.n:.1f} 对；全两两比较需 {args.n * (args.n - 1) // 2:,} 对）",
        f"- 找到热点问题 {table.height:,} 个",
        f"- 埋入热点问题：平均召回率 {recall:.3f}，平均精确率 {precision:.3f}；召回与精确均 ≥ 0.9 的 {good} / {args.planted}",
        "",
        f"结论：{'达到' if total <= 60 else '未达到'} 60 秒目标（{total:.1f} 秒）。", "",
        *PREVIOUS,
    ]
    out = ROOT / "bench" / "RESULTS-hot-issues.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
