"""Realistic, deterministic-per-seed Beijing 12345 data (three years) for the dashboard's first start and the tests.

The data covers the 36 full months 2023-11-01 .. 2026-10-31 (the current, partial month is left out so every
month compares like with like), growing about 10% a year; outcomes are as of the export time AS_OF
(2026-11-24), so late-October orders may still be open. Every season recurs each year with its own
strength (heating from 15 November, flooding in July, school enrolment in spring, power cuts in summer heat).
The phenomena the analytics must find are planted in the last year on top of that background (PLANTED).

The demo goes through the loader like any export: it writes export files (Chinese headers, caller phone
numbers) and loads them with etl.load, then builds the token index with etl.tokens; everything is built in
a private file that replaces the database in one rename, so nobody sees a half-built demo.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from etl import demo_lexicon as lex
from etl import outlook, reference, store, tokens
from etl.load import load_file
from etl.store import db_path, writing

START = date(2023, 11, 1)
END = date(2026, 11, 1)  # exclusive
DAYS = (END - START).days
LAST_YEAR = date(2025, 11, 1)  # the planted phenomena happen in the last 12 months
AS_OF = datetime(2026, 11, 24, 23, 59)
GROWTH = 0.10  # yearly growth of the volume (Beijing's hotline grew every year)
SEASON_SD = 0.15  # year-to-year variation of each category's seasonal strength (log scale)
POP_SOURCE = "演示数据（合成）"

# Relative yearly volume per district: 2019's published figures where known (朝阳 32万, 海淀 22万, 丰台 17万,
# 延庆 4万, the smallest), the others roughly by 2020 census population.
DISTRICT_VOLUME = {
    "朝阳区": 320, "海淀区": 220, "丰台区": 170, "昌平区": 150, "大兴区": 125, "通州区": 125, "西城区": 105,
    "房山区": 90, "顺义区": 85, "东城区": 75, "石景山区": 55, "密云区": 50, "怀柔区": 45, "平谷区": 45,
    "门头沟区": 44, "延庆区": 38,
}
KIND_POPULATION = {"街道": 1.0, "地区": 1.3, "镇": 0.8, "乡": 0.4, "类似乡级单位": 0.05}
CHANNELS = ("电话", "网络", "微信", "APP", "其他")
CHANNEL_P = (0.905, 0.04, 0.03, 0.02, 0.005)

def _span(y: int, m: int, d0: int, d1: int) -> set[date]:
    return {date(y, m, d) for d in range(d0, d1 + 1)}


# Approximate public holidays (make-up working days ignored): New Year, Spring Festival, Qingming, Labour Day,
# Dragon Boat, Mid-Autumn, National Day.
HOLIDAYS = (
    _span(2023, 12, 30, 31) | _span(2024, 1, 1, 1) | _span(2024, 2, 10, 17) | _span(2024, 4, 4, 6) | _span(2024, 5, 1, 5)
    | _span(2024, 6, 8, 10) | _span(2024, 9, 15, 17) | _span(2024, 10, 1, 7)
    | _span(2025, 1, 1, 1) | _span(2025, 1, 28, 31) | _span(2025, 2, 1, 4) | _span(2025, 4, 4, 6) | _span(2025, 5, 1, 5)
    | _span(2025, 5, 31, 31) | _span(2025, 6, 1, 2) | _span(2025, 10, 1, 8)
    | _span(2026, 1, 1, 3) | _span(2026, 2, 15, 23) | _span(2026, 4, 4, 6) | _span(2026, 5, 1, 5)
    | _span(2026, 6, 19, 21) | _span(2026, 9, 25, 27) | _span(2026, 10, 1, 7)
)
HOURS = {
    "day": [0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 1.8, 3.5, 6.0, 6.5, 5.5, 3.5, 3.8, 5.8, 6.0, 5.2, 4.0, 3.0, 2.6, 2.4, 2.0, 1.3, 0.7],
    "evening": [1.5, 1.0, 0.5, 0.3, 0.2, 0.2, 0.5, 1.5, 2.5, 3.2, 3.2, 3.0, 2.2, 2.4, 3.0, 3.0, 2.8, 2.6, 2.8, 3.4, 4.0, 4.4, 3.8, 2.6],
    "night": [4.0, 2.5, 1.0, 0.3, 0.1, 0.1, 0.2, 0.3, 0.5, 0.6, 0.6, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.5, 0.8, 1.5, 3.0, 5.0, 6.0],
}
BASE_LOGIT = 2.7  # ≈ 94% resolved before unit, street and category effects

PLANTED: dict = {
    "hot_issues": [
        {
            "name": "望京西园三区暖气不热", "district": "朝阳区", "street": "望京街道", "community": "望京西园社区",
            "estate": "望京西园三区", "buildings": [212, 213, 214, 215, 221, 222],
            "category": ("公共服务", "供暖", "暖气不热"), "dept": "北京市热力集团",
            "first_day": "2025-11-16", "last_day": "2025-11-22", "callers": 60, "hours": "day",
            "bodies": [
                "{loc}暖气不热，室温只有{t}度，已找物业未解决",
                "{loc}开始供暖后暖气一直不热，室温{t}度，家里有老人",
                "望京西园三区好几栋楼暖气都不热，{place}室温只有{t}度",
                "{loc}暖气片上热下凉，室温{t}度，热力公司一直没人来",
            ],
        },
        {
            "name": "学清路东侧在建工地夜间施工扰民", "district": "海淀区", "street": "学院路街道", "community": "学知园社区",
            "estate": "学清路东侧在建工地", "buildings": [],
            "category": ("城乡建设", "施工管理", "施工扰民"), "dept": "海淀区城管执法局",
            "first_day": "2026-07-06", "last_day": "2026-07-26", "callers": 45, "hours": "night",
            "bodies": [
                "海淀区学院路街道学清路东侧在建工地夜间施工，打桩声音很大，晚上{hour}点还在干活，严重影响休息",
                "学清路东侧工地每天夜里渣土车进出，噪音扰民，已经持续多日",
                "海淀区学院路街道学清路东侧在建工地深夜施工扰民，居民无法入睡",
            ],
        },
        {
            "name": "龙泽苑东区5号楼电梯停运", "district": "昌平区", "street": "回龙观街道", "community": "龙泽苑社区",
            "estate": "龙泽苑东区", "buildings": [5],
            "category": ("住房", "物业管理", "电梯故障"), "dept": "昌平区住房城乡建设委",
            "first_day": "2026-03-02", "last_day": "2026-03-15", "callers": 30, "hours": "day",
            "bodies": [
                "{loc}电梯停运，物业说要更换配件，一直没有修好，家中老人无法下楼",
                "昌平区回龙观街道龙泽苑东区5号楼电梯坏了{n}天，住高层的居民上下楼很困难",
                "{loc}电梯停运多日，物业和维保单位互相推诿",
            ],
        },
        {
            "name": "三里屯路乱停车堵塞消防通道", "district": "朝阳区", "street": "三里屯街道", "community": "幸福三村社区",
            "estate": "三里屯路中段", "buildings": [],
            "category": ("交通管理", "停车管理", "乱停车"), "dept": "朝阳交通支队",
            "first_day": "2026-05-11", "last_day": "2026-06-07", "callers": 35, "hours": "evening",
            "bodies": [
                "朝阳区三里屯街道三里屯路中段晚上车辆乱停，堵塞消防通道",
                "三里屯路中段两侧违停严重，救护车都开不进来",
                "朝阳区三里屯路中段夜间大量车辆违停占道，居民出行困难",
            ],
        },
        {
            "name": "天通苑北一区停水", "district": "昌平区", "street": "天通苑北街道", "community": "天通苑北一区社区",
            "estate": "天通苑北一区", "buildings": [3, 4, 5, 6, 8],
            "category": ("公共服务", "供水", "停水"), "dept": "北京市自来水集团",
            "first_day": "2026-10-12", "last_day": "2026-10-19", "callers": 40, "hours": "day",
            "bodies": [
                "{loc}从早上开始停水，没有任何通知，家里老人孩子没法做饭",
                "天通苑北一区好几栋楼都停水了，{place}已经停了一天，物业说是主管道漏水",
                "{loc}反复停水，来水后水是黄的，自来水公司一直没说什么时候修好",
            ],
        },
    ],
    # Same caller_key, same address and category, 3–10 orders within 30 days (later ones say so).
    "repeat_callers": {"groups_per_200k": 150, "min_groups": 30, "min_orders": 3, "max_orders": 10, "window_days": 30,
                       "categories": ["物业服务", "生活噪音", "电梯故障", "拖欠工资", "预付卡退费", "乱停车", "私搭乱建",
                                      "房屋漏水", "餐饮油烟"]},
    "surge": {"district": "丰台区", "category_l1": "公共服务", "category_l2": "供水", "month": "2026-07",
              "first_day": "2026-07-08", "last_day": "2026-07-21", "min_orders": 40, "factor": 4.0,
              "note": "丰台区7月供水工单为该区其他月份的数倍（管网改造导致多次停水）"},
    "weak_street": {"district": "丰台区", "street": "卢沟桥街道", "logit_effect": -2.2,
                    "note": "全年每月三率明显低于全市，响应和办结也偏慢"},
    "weak_departments": {"names": ["通州区住房城乡建设委", "大兴区城管执法局"], "logit_effect": -1.6,
                         "note": "工单三率偏低、街乡评分偏低、吹哨到场慢且时有未到"},
    "rising": {"category": ("市场管理", "预付式消费", "预付卡退费"), "first_month": "2025-11", "last_month": "2026-10",
               "factor": 6.0, "note": "此前两年平稳，最近一年逐月上升约6倍，遍布各区：每月一题候选"},
    "heating_season": {"first_day": "2025-11-15", "last_day": "2026-03-15"},
    "cases": {"per_order": 0.015, "linked_share": 0.4, "slow_departments": ["通州区住房城乡建设委", "大兴区城管执法局"],
              "slow_keys": ["green", "power"], "no_show_base": 0.02, "no_show_slow": 0.18},
    "misdispatch_share": 0.03,
    "redispatch_share": 0.06,
}

Progress = Callable[[str, float], None]


def _core(name: str) -> str:
    if name.endswith("街道") or name.endswith("地区"):
        return name[:-2]
    if name.endswith(("镇", "乡")):
        return name[:-1]
    return "园区"


# Caller ids by origin; each id is one caller's phone number in the export (see _phones).
CALLER_BASE = {"hot": 100_000_000, "rep": 200_000_000, "surge": 300_000_000}


def _phones(ids: np.ndarray, seed: int) -> pl.Series:
    """A distinct synthetic mobile number per caller id (an affine bijection of 0..10^9), which the loader
    hashes into caller_key like any export's 来电号码."""
    mixed = (ids.astype(np.int64) * 7_654_321 + 1_000_003 * (seed % 997) + 12_345) % 1_000_000_000
    return pl.Series("来电号码", mixed).cast(pl.String).str.zfill(9).str.replace(r"^", "13")


def _season_curve(kind: str, days: list[date]) -> np.ndarray:
    m = np.array([d.month for d in days])
    dd = np.array([d.day for d in days])
    by_month = lambda table, default: np.array([table.get(x, default) for x in m], dtype=float)  # noqa: E731
    if kind == "heating":
        out = by_month({12: 1.8, 1: 2.0, 2: 1.3}, 0.0)
        out[(m == 11) & (dd < 15)] = 0.15
        nov = (m == 11) & (dd >= 15)
        out[nov] = 3.5 - 1.5 * (dd[nov] - 15) / 15
        out[(m == 3) & (dd <= 15)] = 0.8
        out[(m == 3) & (dd > 15)] = 0.1
        out[(m == 10) & (dd > 25)] = 0.05
        return out
    if kind == "heating_fee":
        out = by_month({11: 2.5, 12: 1.0, 1: 1.0, 2: 1.0, 3: 1.0}, 0.3)
        out[(m == 10) & (dd >= 15)] = 2.5
        return out
    if kind == "catkin":
        return np.where(((m == 4) & (dd >= 10)) | ((m == 5) & (dd <= 20)), 6.0, 0.05)
    if kind == "rising":  # flat, then the last year climbs 6-fold
        start = (LAST_YEAR - START).days
        i = np.arange(len(days))
        return 0.5 + 2.5 * np.clip(i - start, 0, None) / max(len(days) - 1 - start, 1)
    tables = {
        "summer": ({6: 1.8, 7: 1.8, 8: 1.8, 5: 1.3, 9: 1.3, 11: 0.6, 12: 0.6, 1: 0.6, 2: 0.6}, 1.0),
        "winter": ({12: 1.6, 1: 1.6, 2: 1.6, 11: 1.2, 3: 1.2, 6: 0.7, 7: 0.7, 8: 0.7}, 1.0),
        "spring": ({3: 1.6, 4: 1.6, 5: 1.6}, 0.85),
        "rain": ({7: 4.0, 8: 2.5, 6: 1.2, 9: 1.0, 11: 0.1, 12: 0.1, 1: 0.1, 2: 0.1, 3: 0.1}, 0.5),
        "power": ({7: 2.6, 8: 2.2, 6: 1.7, 5: 1.1, 12: 0.9, 1: 0.9}, 0.6),  # air conditioners in the summer heat
        "yearend": ({12: 1.8, 1: 1.8, 2: 1.8}, 0.8),
        "school": ({2: 0.8, 3: 1.0, 4: 1.3, 5: 1.6, 6: 1.7, 7: 1.5, 8: 1.6, 9: 1.4, 10: 0.9}, 0.75),
        "enrolment": ({3: 1.5, 4: 2.6, 5: 3.0, 6: 2.0, 7: 1.2, 8: 1.4, 9: 0.9}, 0.45),  # 入学登记 in April–May
        "flat": ({}, 1.0),
    }
    table, default = tables[kind]
    return by_month(table, default)


def _weights(days: list[date], strength: np.ndarray) -> np.ndarray:
    """Expected daily volume of every category (rows) on every day: weight × season × growth × weekday.
    `strength` (categories × years) varies each year's seasonal swing around the curve."""
    year = np.array([(d - START).days // 365 for d in days]).clip(0, strength.shape[1] - 1)
    growth = (1 + GROWTH) ** (np.arange(len(days)) / 365.25)
    W = np.empty((len(lex.CATEGORIES), len(days)))
    for c, spec in enumerate(lex.CATEGORIES):
        curve = _season_curve(spec[4], days)
        if spec[4] not in ("flat", "rising"):  # a stronger or milder swing each year; a 1 stays a 1
            curve = curve ** strength[c, year]
        W[c] = spec[3] * curve
    return W * (growth * _day_factor(days))[None, :]


def _day_factor(days: list[date]) -> np.ndarray:
    wd = np.array([d.weekday() for d in days])
    f = np.select([wd == 5, wd == 6], [0.72, 0.68], 1.0)
    return np.where([d in HOLIDAYS for d in days], np.minimum(f, 0.7), f)


def _inside(x: np.ndarray, y: np.ndarray, rings: list[np.ndarray]) -> np.ndarray:
    """Even-odd point-in-polygon over all rings of a district."""
    inside = np.zeros(len(x), dtype=bool)
    for ring in rings:
        x1, y1 = ring[:-1, 0], ring[:-1, 1]
        x2, y2 = ring[1:, 0], ring[1:, 1]
        cross = ((y1[None, :] > y[:, None]) != (y2[None, :] > y[:, None])) & (
            x[:, None] < (x2 - x1)[None, :] * (y[:, None] - y1[None, :]) / np.where(y2 == y1, 1e-12, y2 - y1)[None, :] + x1[None, :]
        )
        inside ^= (cross.sum(axis=1) % 2).astype(bool)
    return inside


def _street_centres(rng: np.random.Generator, st: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    geo = json.loads((reference.DATA / "beijing_districts.geojson").read_text(encoding="utf-8"))
    rings = {
        f["properties"]["name"]: [np.array(r) for poly in f["geometry"]["coordinates"] for r in poly]
        for f in geo["features"]
    }
    lon = np.zeros(st.height)
    lat = np.zeros(st.height)
    for district, idx in st.with_row_index().group_by("district", maintain_order=True).agg("index").iter_rows():
        rr = rings[district]
        allpts = np.concatenate(rr)
        lo, hi = allpts.min(axis=0), allpts.max(axis=0)
        pts = np.empty((0, 2))
        while len(pts) < len(idx):
            cand = rng.uniform(lo, hi, size=(400, 2))
            pts = np.concatenate([pts, cand[_inside(cand[:, 0], cand[:, 1], rr)]])
        lon[idx], lat[idx] = pts[: len(idx), 0], pts[: len(idx), 1]
    return lon, lat


def _split(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to weights summing exactly to total (largest remainder)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    out[np.argsort(-(raw - out), kind="stable")[: total - out.sum()]] += 1
    return out


def _geography(rng: np.random.Generator) -> dict:
    """Streets with synthetic populations, centres and roads; communities with estates."""
    st = reference.streets().sort("code_12")
    dist = reference.districts()
    pop = np.zeros(st.height, dtype=np.int64)
    kinds = st["kind"].to_list()
    for district, total in dist.select("district", "population").iter_rows():
        idx = np.flatnonzero(st["district"].to_numpy() == district)
        w = np.array([KIND_POPULATION.get(kinds[i], 1.0) for i in idx]) * rng.lognormal(0, 0.45, len(idx))
        pop[idx] = _split(rng, int(total), w)
    lon, lat = _street_centres(rng, st)
    names = st["street"].to_list()
    districts = st["district"].to_list()
    planted = {(h["street"]): h for h in PLANTED["hot_issues"]}

    roads: list[list[str]] = []
    com_rows: list[tuple] = []  # street index, community, kind, estates, population share weight
    for i, name in enumerate(names):
        core = _core(name)
        r = [core + s for s in lex.ROAD_SUFFIX if not (core[-1] in "东西南北" and s[0] in "东西南北")]
        r = [r[j] for j in rng.choice(len(r), size=min(len(r), int(rng.integers(3, 7))), replace=False)]
        if districts[i] in ("东城区", "西城区"):
            r += [rng.choice(lex.ROOT_A) + rng.choice(lex.ROOT_A) + rng.choice(lex.HUTONG) for _ in range(3)]
        roads.append(r)
        n_com = int(np.clip(pop[i] // 9000, 3, 30))
        town = kinds[i] in ("镇", "乡")
        seen: set[str] = set()
        if name in planted:
            h = planted[name]
            seen.add(h["community"])
            com_rows.append((i, h["community"], "社区", [h["estate"]] if h["buildings"] else [h["community"][:-2]]))
        while len(seen) < n_com:
            if town and rng.random() < 0.8:
                cname = rng.choice(lex.SURNAMES) + rng.choice(lex.VILLAGE_SUFFIX) + "村"
                if cname in seen:
                    continue
                seen.add(cname)
                com_rows.append((i, cname, "村", [cname]))
                continue
            if rng.random() < 0.35:
                root = core + rng.choice(lex.COMMUNITY_SUFFIX)
                if core[-1] == root[-1]:  # no 潘家园家园
                    continue
            else:
                a, b = rng.choice(lex.ROOT_A, size=2, replace=False)
                root = a + b + rng.choice(lex.ROOT_B) + rng.choice(["", "", "", "东里", "西里", "北里"])
            cname = root + "社区"
            if cname in seen:
                continue
            seen.add(cname)
            n_est = int(rng.integers(1, 4))
            parts = [""] if n_est == 1 else list(rng.choice(lex.ESTATE_PART[:-1], size=n_est, replace=False))
            com_rows.append((i, cname, "社区", [root + p for p in parts]))
    com_street = np.array([c[0] for c in com_rows])
    com_w = rng.lognormal(0, 0.5, len(com_rows))
    com_pop = np.zeros(len(com_rows), dtype=np.int64)
    for i in range(len(names)):
        idx = np.flatnonzero(com_street == i)
        com_pop[idx] = _split(rng, int(pop[i]), com_w[idx])
    return {
        "streets": st.with_columns(population=pl.Series(pop), lon=pl.Series(lon), lat=pl.Series(lat)),
        "roads": roads,
        "communities": com_rows,
        "com_street": com_street,
        "com_pop": com_pop,
        "com_lon": lon[com_street] + rng.normal(0, 0.006, len(com_rows)),
        "com_lat": lat[com_street] + rng.normal(0, 0.005, len(com_rows)),
    }


def _office(street: str, kind: str) -> str:
    if kind in ("镇", "乡"):
        return street + "人民政府"
    if kind == "类似乡级单位":
        return street + "管委会"
    return street + "办事处"


def _dept_name(key: str, district: str, office: str) -> str:
    if key == "street":
        return office
    if key == "heat" and district not in lex.CORE_DISTRICTS:
        key = "citymgmt"
    return lex.DEPARTMENTS[key].format(D=district, d=district[:-1])


def _pick(rng: np.random.Generator, options: list, size: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), size)]


def _background(rng: np.random.Generator, n: int, geo: dict, days: list[date]) -> dict:
    """Street, category, received_at for n ordinary orders."""
    st = geo["streets"]
    cats = lex.CATEGORIES
    dvol = np.array([DISTRICT_VOLUME[d] for d in st["district"]], dtype=float)
    pop = st["population"].to_numpy().astype(float)
    propensity = rng.lognormal(0, 0.3, st.height)
    dist_pop = st.group_by("district").agg(pl.col("population").sum().alias("dp"))
    dp = st.join(dist_pop, on="district", how="left", maintain_order="left")["dp"].to_numpy().astype(float)
    w = dvol * (pop * propensity) / np.maximum(dp, 1)
    # Renormalise within district so propensity never shifts a district's share.
    for d in set(st["district"]):
        m = (st["district"] == d).to_numpy()
        w[m] = DISTRICT_VOLUME[d] * w[m] / w[m].sum()
    street = rng.choice(st.height, size=n, p=w / w.sum())
    W = geo["weights"]
    cell = rng.choice(W.size, size=n, p=(W / W.sum()).ravel())
    cat, day = np.divmod(cell, len(days))
    hour = np.zeros(n, dtype=np.int64)
    for profile in HOURS:
        m = np.array([cats[c][5] == profile for c in cat])
        p = np.array(HOURS[profile]) / sum(HOURS[profile])
        hour[m] = rng.choice(24, size=m.sum(), p=p)
    return {"street": street, "cat": cat, "day": day, "hour": hour, "kind": np.zeros(n, dtype=np.int8)}


def _community_for(rng: np.random.Generator, geo: dict, street: np.ndarray) -> np.ndarray:
    """A community of each row's street, weighted by community population."""
    cs, cp = geo["com_street"], geo["com_pop"].astype(float) + 1
    out = np.empty(len(street), dtype=np.int64)
    order = np.argsort(street, kind="stable")
    s_sorted = street[order]
    bounds = np.searchsorted(s_sorted, np.arange(len(geo["roads"]) + 1))
    for i in range(len(geo["roads"])):
        rows = order[bounds[i]: bounds[i + 1]]
        if len(rows):
            idx = np.flatnonzero(cs == i)
            out[rows] = rng.choice(idx, size=len(rows), p=cp[idx] / cp[idx].sum())
    return out

ROW_FIELDS = {  # per-row generation fields and their fill value for parts that do not set them
    "street": 0, "cat": 0, "day": 0, "hour": 0, "community": 0, "caller": 0, "kind": 0, "slot": 0,
    "body": None, "estate": None, "building": -1, "repeat_k": 0, "effect": 0.0, "dept": None, "rtype": None,
}


def _stack(parts: list[dict]) -> dict:
    out = {}
    for k, fill in ROW_FIELDS.items():
        arrays = []
        for p in parts:
            n = len(p["street"])
            a = p.get(k)
            arrays.append(np.asarray(a, dtype=object if fill is None else None) if a is not None else np.full(n, fill, dtype=object if fill is None else None))
        out[k] = np.concatenate(arrays)
    return out


def _days_between(first: str, last: str) -> tuple[int, int]:
    return (date.fromisoformat(first) - START).days, (date.fromisoformat(last) - START).days


def _hours(rng: np.random.Generator, profile: str, n: int) -> np.ndarray:
    p = np.array(HOURS[profile]) / sum(HOURS[profile])
    return rng.choice(24, size=n, p=p)


def _planted(rng: np.random.Generator, geo: dict, days: list[date], cat_index: dict, orders: int, seed: int) -> list[dict]:
    """Rows of the planted hot issues, repeat callers and surge (see PLANTED)."""
    st = geo["streets"]
    street_idx = {(d, s): i for i, (d, s) in enumerate(st.select("district", "street").iter_rows())}
    com_idx = {(geo["communities"][c][0], geo["communities"][c][1]): c for c in range(len(geo["communities"]))}
    parts = []
    for hi, h in enumerate(PLANTED["hot_issues"]):
        s = street_idx[(h["district"], h["street"])]
        callers = [CALLER_BASE["hot"] + 1000 * hi + j for j in range(h["callers"])]
        callers += [c for c in callers if rng.random() < 0.25]  # some call a second time
        n = len(callers)
        d0, d1 = _days_between(h["first_day"], h["last_day"])
        parts.append({
            "street": np.full(n, s), "cat": np.full(n, cat_index[h["category"][2]]),
            "day": rng.integers(d0, d1 + 1, n), "hour": _hours(rng, h["hours"], n),
            "community": np.full(n, com_idx[(s, h["community"])]), "caller": np.array(callers, dtype=np.int64),
            "kind": np.full(n, 1), "slot": rng.integers(0, 2**31, n),
            "body": _pick(rng, h["bodies"], n), "estate": np.full(n, h["estate"], dtype=object),
            "building": _pick(rng, h["buildings"], n).astype(np.int64) if h["buildings"] else np.zeros(n, dtype=np.int64),
            "effect": np.full(n, -0.8), "dept": np.full(n, h["dept"], dtype=object),
            "rtype": np.where(rng.random(n) < 0.85, "投诉", "求助").astype(object),
        })

    rep = PLANTED["repeat_callers"]
    groups = max(rep["min_groups"], round(orders / 200_000 * rep["groups_per_200k"]))
    pop = st["population"].to_numpy().astype(float)
    g_street = rng.choice(st.height, size=groups, p=pop / pop.sum())
    g_com = _community_for(rng, geo, g_street)
    g_cat = np.array([cat_index[c] for c in _pick(rng, rep["categories"], groups)])
    g_size = rng.integers(rep["min_orders"], rep["max_orders"] + 1, groups)
    g_start = rng.integers(0, DAYS - rep["window_days"], groups)
    g_body = [_pick(rng, lex.CATEGORIES[c][10], 1)[0] for c in g_cat]
    g_slot = rng.integers(0, 2**31, groups)
    idx = np.repeat(np.arange(groups), g_size)
    k = np.concatenate([np.arange(1, n + 1) for n in g_size])
    offset = np.concatenate([np.sort(np.r_[0, rng.uniform(0, rep["window_days"] - 1, n - 1)]) for n in g_size]).astype(np.int64)
    parts.append({
        "street": g_street[idx], "cat": g_cat[idx], "day": g_start[idx] + offset, "hour": _hours(rng, "day", len(idx)),
        "community": g_com[idx], "caller": CALLER_BASE["rep"] + idx,
        "kind": np.full(len(idx), 2), "slot": g_slot[idx], "body": np.array(g_body, dtype=object)[idx],
        "repeat_k": k, "effect": np.full(len(idx), -1.5),
        "rtype": np.where(k == 1, "投诉", np.where(rng.random(len(idx)) < 0.8, "投诉", "求助")).astype(object),
    })

    sg = PLANTED["surge"]
    W = geo["weights"]
    month = np.array([d.strftime("%Y-%m") == sg["month"] for d in days])
    water = np.array([c[0] == sg["category_l1"] and c[1] == sg["category_l2"] for c in lex.CATEGORIES])
    share = DISTRICT_VOLUME[sg["district"]] / sum(DISTRICT_VOLUME.values())
    expected = orders * share * W[water][:, month].sum() / W.sum()
    n = int(max(sg["min_orders"], round(sg["factor"] * expected)))
    in_d = np.flatnonzero(st["district"].to_numpy() == sg["district"])
    s = rng.choice(in_d, size=n, p=pop[in_d] / pop[in_d].sum())
    d0, d1 = _days_between(sg["first_day"], sg["last_day"])
    parts.append({
        "street": s, "cat": np.where(rng.random(n) < 0.8, cat_index["停水"], cat_index["水质水压"]),
        "day": rng.integers(d0, d1 + 1, n), "hour": _hours(rng, "day", n), "community": _community_for(rng, geo, s),
        "caller": CALLER_BASE["surge"] + np.arange(n), "kind": np.full(n, 3),
        "slot": rng.integers(0, 2**31, n), "effect": np.full(n, -0.5),
    })
    return parts


def _effects(rng: np.random.Generator, names: list[str], sd: float, weak: dict[str, float]) -> dict[str, float]:
    vals = rng.normal(0, sd, len(names))
    return {n: weak.get(n, float(v)) for n, v in zip(names, vals)}


def _place_units(cat: np.ndarray, com: np.ndarray, geo: dict, seed: int) -> np.ndarray:
    """The unit key handling each order's category in its community: a type's only unit, or for a type with
    several, the one its community has for that matter (二级分类), drawn by a seeded hash of the place and
    the matter with the lexicon's shares. Types of one matter draw from the same hash with their units in one
    order, so a community heated by its own boiler has the street answer all its heating matters alike."""
    cats = lex.CATEGORIES
    out = np.asarray([c[6][0][0] for c in cats], dtype=object)[cat]
    street_names = geo["streets"]["street"].to_list()
    districts = geo["streets"]["district"].to_list()
    for c, spec in enumerate(cats):
        if len(spec[6]) < 2:
            continue
        rows = np.flatnonzero(cat == c)
        if not len(rows):
            continue
        units = sorted(spec[6])
        cum = np.cumsum([w for _, w in units])
        places, inverse = np.unique(com[rows], return_inverse=True)
        u = np.array([_hash01(seed, districts[geo["com_street"][p]], street_names[geo["com_street"][p]],
                              geo["communities"][p][1], spec[0], spec[1]) for p in places])
        pick = np.minimum(np.searchsorted(cum / cum[-1], u, side="right"), len(units) - 1)
        out[rows] = np.asarray([k for k, _ in units], dtype=object)[pick][inverse]
    return out


def _hash01(*key: object) -> float:
    """A uniform number in [0, 1) fixed by `key` (stable across runs and machines, unlike hash())."""
    digest = hashlib.blake2b("|".join(map(str, key)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _orders_frame(rng: np.random.Generator, geo: dict, rows: dict, seed: int) -> pl.DataFrame:
    """Every work_orders column (plus a few _hidden helpers) from the sampled rows."""
    st = geo["streets"]
    cats = lex.CATEGORIES
    n = len(rows["street"])
    street, cat, com, slot = rows["street"], rows["cat"].astype(np.int64), rows["community"], rows["slot"].astype(np.int64)
    kind = rows["kind"].astype(np.int64)
    bg = kind == 0
    slot = np.where(bg, rng.integers(0, 2**31, n), slot)
    s_district = np.array(st["district"].to_list(), dtype=object)
    s_name = np.array(st["street"].to_list(), dtype=object)
    s_kind = st["kind"].to_list()
    offices = np.array([_office(s, k) for s, k in zip(s_name, s_kind)], dtype=object)
    district, sname = s_district[street], s_name[street]

    # Request type: the category's mix, planted rows as set.
    rtype = np.empty(n, dtype=object)
    mix_of = np.array([c[9] for c in cats], dtype=object)[cat]
    for mix, p in lex.TYPE_MIX.items():
        m = mix_of == mix
        rtype[m] = rng.choice(lex.REQUEST_TYPES, size=m.sum(), p=np.array(p) / sum(p))
    rtype = np.where(rows["rtype"] != None, rows["rtype"], rtype)  # noqa: E711
    channel = rng.choice(CHANNELS, size=n, p=CHANNEL_P).astype(object)

    # Department: decided by the matter and the place, as a 权责清单 decides it. Where a type has two possible
    # units (暖气不热: 热力集团, or the street for an estate on its own boiler), which one is a fixed property of
    # the community for that matter (二级分类), the same for every order there; a few percent misdispatched,
    # some returned and re-dispatched.
    dkey = _place_units(cat, com.astype(np.int64), geo, seed)
    rng.random(n)  # the per-order unit draw this replaced: every later draw of the demo stays as it was
    misdispatch = bg & (rng.random(n) < PLANTED["misdispatch_share"])
    district_keys = [k for k in lex.DEPARTMENTS if k not in ("heat", "watersupply", "power", "gas", "bus")]
    for i in np.flatnonzero(misdispatch):
        own = {k for k, _ in cats[cat[i]][6]}
        dkey[i] = rng.choice([k for k in district_keys if k not in own])
    cache: dict[tuple, str] = {}
    dept = np.empty(n, dtype=object)
    for i, (k, d, s) in enumerate(zip(dkey, district, street)):
        dept[i] = cache.get((k, s)) or cache.setdefault((k, s), _dept_name(k, d, offices[s]))
    dept = np.where(rows["dept"] != None, rows["dept"], dept)  # noqa: E711
    redispatch = np.where(misdispatch, rng.random(n) < 0.4, 0).astype(np.int64)
    r = rng.random(n)
    redispatch += np.where(~misdispatch & (r < PLANTED["redispatch_share"]), 1 + (r < 0.012), 0)

    # Quality of handling: unit, street, category, request type, planted effects, a slow improvement.
    weak_d = {name: PLANTED["weak_departments"]["logit_effect"] for name in PLANTED["weak_departments"]["names"]}
    dept_eff_map = _effects(rng, sorted(set(dept)), 0.3, weak_d)
    ws = PLANTED["weak_street"]
    street_eff = rng.normal(0, 0.35, st.height)
    street_eff[(st["district"] == ws["district"]).to_numpy() & (st["street"] == ws["street"]).to_numpy()] = ws["logit_effect"]
    dept_eff = np.array([dept_eff_map[d] for d in dept])
    eff = dept_eff + street_eff[street]
    difficulty = np.array([c[8] for c in cats])[cat]
    type_eff = np.select([rtype == "咨询", rtype == "建议", rtype == "表扬"], [0.8, 0.3, 4.0], 0.0)
    q = BASE_LOGIT + eff - (difficulty - 0.4) * 1.2 + type_eff + rows["effect"].astype(float) + 0.04 * (rows["day"] / 30.4) \
        - 0.5 * misdispatch - 0.3 * redispatch
    solved = rng.random(n) < 1 / (1 + np.exp(-q))

    # Times.
    day = rows["day"].astype(np.int64)
    received = (np.datetime64(START, "s") + day * 86400 + rows["hour"].astype(np.int64) * 3600
                + rng.integers(0, 3600, n)).astype("datetime64[s]")
    minute = np.timedelta64(60, "s")
    dispatch_min = rng.lognormal(np.log(20), 0.8, n) + redispatch * rng.lognormal(np.log(300), 0.6, n)
    dispatched = received + (dispatch_min * 60).astype(np.int64) * np.timedelta64(1, "s")
    resp_h = rng.lognormal(np.log(1.5) - 0.6 * eff, 1.0)
    responded = dispatched + (resp_h * 3600).astype(np.int64) * np.timedelta64(1, "s")
    deadline = np.array([c[7] for c in cats])[cat]
    due = received + deadline * np.timedelta64(86400, "s")
    frac = rng.lognormal(np.log(0.35) - 0.4 * eff, 0.6) * np.where(rtype == "咨询", 0.5, 1.0)
    frac *= np.where(rng.random(n) < 0.02, 4.0, 1.0)  # long-running matters (延期): the last weeks stay open
    closed = dispatched + (frac * deadline * 86400).astype(np.int64) * np.timedelta64(1, "s")
    closed = np.maximum(closed, responded + 10 * minute)
    is_open = closed > np.datetime64(AS_OF, "s")

    resolution = np.where(solved, "解决", np.where(rng.random(n) < 0.45, "部分解决", "未解决")).astype(object)
    u = rng.random(n)
    satisfaction = np.select(
        [resolution == "解决", resolution == "部分解决"],
        [np.where(u < 0.88, "满意", np.where(u < 0.98, "基本满意", "不满意")),
         np.where(u < 0.25, "满意", np.where(u < 0.65, "基本满意", "不满意"))],
        np.where(u < 0.05, "满意", np.where(u < 0.25, "基本满意", "不满意")),
    ).astype(object)
    resolution[(rng.random(n) < 0.05) | is_open] = None
    satisfaction[(rng.random(n) < 0.10) | is_open] = None
    status = np.where(~is_open, "已办结", np.where(redispatch > 0, "退单",
                      np.where(due < np.datetime64(AS_OF, "s"), "延期", "办理中"))).astype(object)
    repeat_k = rows["repeat_k"].astype(np.int64)
    invalid = (rng.random(n) < 0.004) | ((repeat_k >= 3) & (rng.random(n) < 0.35))

    # Places and slot values (same slot → same estate, road, shop … for a repeat caller's group).
    com_rows = geo["communities"]
    est_count = np.array([len(c[3]) for c in com_rows])
    est_start = np.r_[0, np.cumsum(est_count)[:-1]]
    est_names = np.array([e for c in com_rows for e in c[3]], dtype=object)
    com_name = np.array([c[1] for c in com_rows], dtype=object)
    com_village = np.array([c[2] == "村" for c in com_rows])
    road_count = np.array([len(r) for r in geo["roads"]])
    road_start = np.r_[0, np.cumsum(road_count)[:-1]]
    road_names = np.array([r for rr in geo["roads"] for r in rr], dtype=object)
    estate = est_names[est_start[com] + slot % est_count[com]]
    estate = np.where(rows["estate"] != None, rows["estate"], estate)  # noqa: E711
    building = np.where(rows["building"].astype(np.int64) >= 0, rows["building"].astype(np.int64), 1 + (slot // 7) % 30)
    unit = 1 + (slot // 211) % 6
    road = road_names[road_start[street] + (slot // 13) % road_count[street]]
    road2 = road_names[road_start[street] + (slot // 41) % road_count[street]]
    core = np.array([_core(s) for s in s_name], dtype=object)[street]
    brands = np.array(lex.SHOP_BRANDS, dtype=object)
    shop = brands[(slot // 17) % len(brands)] + np.array(lex.SHOP_TYPES, dtype=object)[(slot // 331) % len(lex.SHOP_TYPES)]
    company = brands[(slot // 53) % len(brands)] + np.array(lex.COMPANY_TYPES, dtype=object)[(slot // 97) % len(lex.COMPANY_TYPES)]
    school = core + np.array(["第一小学", "第二小学", "中心小学", "实验小学", "中学", "中心幼儿园"], dtype=object)[(slot // 59) % 6]
    dshort = np.array([d[:-1] for d in district], dtype=object)
    clinic = np.select([(slot // 61) % 4 == i for i in range(4)],
                       [core + "社区卫生服务中心", dshort + "医院", dshort + "中医医院", dshort + "妇幼保健院"]).astype(object)
    money = np.array([500, 800, 1000, 1500, 2000, 3000, 5000, 8000, 12000, 20000])[(slot // 29) % 10]

    bodies = [b for c in cats for b in c[10] + c[11]]
    starts = np.cumsum([0] + [len(c[10]) + len(c[11]) for c in cats])
    n_c = np.array([len(c[10]) for c in cats])[cat]
    n_a = np.array([len(c[11]) for c in cats])[cat]
    ask = np.array([lex.ASKS.get(t, False) for t in rtype])
    pick = slot // 3 % 1009
    tpl_id = np.where(ask, starts[cat] + n_c + pick % n_a, starts[cat] + pick % n_c)
    tpl = np.array(bodies, dtype=object)[tpl_id]
    praise = rtype == "表扬"
    tpl[praise] = np.array(lex.PRAISE, dtype=object)[pick[praise] % len(lex.PRAISE)]
    tpl = np.where(rows["body"] != None, rows["body"], tpl)  # noqa: E711
    web = channel != "电话"
    opener_i = rng.integers(0, 1000, n)
    closer_i = rng.integers(0, 1000, n)
    l3 = np.array([c[2] for c in cats], dtype=object)[cat]

    content, address = [], []
    road_only = {t: "{road}" in t and not any(x in t for x in ("{loc}", "{estate}", "{place}")) for t in set(tpl)}
    for i in range(n):
        t = tpl[i]
        if building[i] == 0 and rows["estate"][i] is not None:
            place = addr = estate[i]
        elif com_village[com[i]]:
            place = addr = f"{estate[i]}{'东西南北'[slot[i] % 4]}街{1 + slot[i] // 5 % 80}号"
        else:
            place = f"{estate[i]}{building[i]}号楼"
            addr = f"{place}{unit[i]}单元"
        if road_only[t]:
            addr = f"{road[i]}{1 + slot[i] // 7 % 150}号附近" if slot[i] % 3 else f"{road[i]}与{road2[i]}交叉口"
        body = t.format(
            loc=f"{district[i]}{sname[i]}{place}", place=place, estate=estate[i], road=road[i], shop=shop[i],
            company=company[i], school=school[i], clinic=clinic[i], n=2 + slot[i] // 19 % 8, t=12 + slot[i] // 23 % 6,
            money=money[i], months=1 + slot[i] // 31 % 6, line=1 + slot[i] // 37 % 980, hour=10 + slot[i] // 43 % 3,
            dept=dept[i], l3=l3[i],
        )
        if praise[i]:
            text = body + "。"
        elif ask[i] and rows["body"][i] is None:
            who = "网友" if web[i] else ("来电人", "市民来电", "来电人")[opener_i[i] % 3]
            text = who + body + ("。", "，希望给予解答。", "，请相关部门答复。")[closer_i[i] % 3]
        else:
            if repeat_k[i] >= 2:
                opener = lex.REPEAT_OPENERS[opener_i[i] % len(lex.REPEAT_OPENERS)].format(k=repeat_k[i])
            else:
                ops = lex.OPENERS_WEB if web[i] else lex.OPENERS_PHONE
                opener = ops[opener_i[i] % len(ops)]
            text = opener + body + "，" + lex.CLOSERS[closer_i[i] % len(lex.CLOSERS)]
        content.append(text)
        address.append(addr)

    ts = lambda a: pl.Series(a.astype("datetime64[us]"))  # noqa: E731
    df = pl.DataFrame({
        "received_at": ts(received), "channel": channel.astype(str), "request_type": rtype.astype(str),
        "category_l1": np.array([c[0] for c in cats])[cat], "category_l2": np.array([c[1] for c in cats])[cat],
        "category_l3": l3.astype(str), "content": content, "district": district.astype(str), "street": sname.astype(str),
        "community": com_name[com].astype(str), "address": address,
        "lon": np.round(geo["com_lon"][com] + rng.normal(0, 0.0015, n), 6),
        "lat": np.round(geo["com_lat"][com] + rng.normal(0, 0.0012, n), 6),
        "_caller": rows["caller"].astype(np.int64), "dept": dept.astype(str),
        "dispatched_at": ts(dispatched), "responded_at": ts(responded), "due_at": ts(due),
        "closed_at": ts(np.where(is_open, np.datetime64("NaT"), closed)),
        "status": status.astype(str), "redispatch_count": redispatch.astype(np.int32),
        "resolution": pl.Series(resolution.tolist(), dtype=pl.String),
        "satisfaction": pl.Series(satisfaction.tolist(), dtype=pl.String),
        "is_invalid": invalid, "_dept_eff": dept_eff, "_estate": estate.astype(str), "_road": road.astype(str),
        "_seq": np.arange(n),
    })
    df = df.sort("received_at", "_seq").with_columns(
        order_id=pl.format("GD{}-{}", pl.col("received_at").dt.strftime("%Y%m%d"),
                           (pl.int_range(pl.len()).over(pl.col("received_at").dt.date()) + 1).cast(pl.String).str.zfill(5))
    )
    return df.drop("_seq")


CASE_FOR_L3 = {"私搭乱建": "违法建设", "无照游商": "占道经营", "施工扰民": "施工扰民", "垃圾清运": "环境整治",
               "乱停车": "停车治理", "暖气不热": "供暖抢修", "道路积水": "积水抢险", "群租房": "群租房整治",
               "楼道堆物": "消防隐患", "餐饮卫生": "食品安全", "改造施工": "老旧小区", "河道污染": "河道治理"}


def _cases(rng: np.random.Generator, orders: pl.DataFrame, n_orders: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """吹哨 cases, about 40% opened from a work order, and their 呼叫/响应/到场/未到/办结 events."""
    spec = PLANTED["cases"]
    n = max(60, round(n_orders * spec["per_order"]))
    kinds = {k[0]: k for k in lex.CASE_KINDS}
    linkable = orders.filter(pl.col("category_l3").is_in(list(CASE_FOR_L3)))
    n_link = min(round(n * spec["linked_share"]), linkable.height)
    linked = linkable[np.sort(rng.choice(linkable.height, n_link, replace=False)).tolist()]
    other = orders[np.sort(rng.choice(orders.height, n - n_link, replace=False)).tolist()]
    linked = linked.with_columns(
        _kind=pl.col("category_l3").replace_strict(CASE_FOR_L3),
        opened_at=pl.col("received_at") + pl.duration(minutes=pl.Series(rng.integers(240, 72 * 60, n_link))),
        related_order_id=pl.col("order_id"),
    )
    day = rng.integers(0, DAYS, len(other))
    wd = np.array([(START + timedelta(days=int(d))).weekday() for d in day])
    day = np.where((wd >= 5) & (rng.random(len(other)) < 0.6), np.maximum(day - (wd - 4), 0), day)
    opened = np.datetime64(START, "s") + day * 86400 + rng.integers(8 * 3600, 18 * 3600, len(other))
    other = other.with_columns(
        _kind=pl.Series(_pick(rng, list(kinds), len(other)).astype(str)),
        opened_at=pl.Series(opened.astype("datetime64[us]")),
        related_order_id=pl.lit(None, pl.String),
    )
    cols = ["district", "street", "community", "_estate", "_road", "_kind", "opened_at", "related_order_id"]
    c = pl.concat([linked.select(cols), other.select(cols)]).sort("opened_at", "street", "_kind")
    town = c["street"].str.contains("(镇|乡)$").to_numpy()
    whistler = np.where(town, _pick(rng, lex.WHISTLERS_TOWN, c.height), _pick(rng, lex.WHISTLERS_STREET, c.height))
    slow_names = set(spec["slow_departments"])

    case_rows, events = [], []
    seq: dict[str, int] = {}
    for i, (district, street, community, estate, road, kind, opened, related) in enumerate(c.iter_rows()):
        _, title, desc, keys = kinds[kind]
        day_s = opened.strftime("%Y%m%d")
        seq[day_s] = seq.get(day_s, 0) + 1
        case_id = f"CS{day_s}-{seq[day_s]:03d}"
        office = _office(street, "镇" if town[i] else "街道")
        slow_case = False
        arrived = []
        for key in keys:
            dept = _dept_name(key, district, office)
            slow = dept in slow_names or key in spec["slow_keys"]
            slow_case |= slow
            events.append((case_id, dept, "呼叫", opened, f"{whistler[i]}吹哨呼叫"))
            no_show = rng.random() < (spec["no_show_slow"] if slow else spec["no_show_base"])
            if not no_show or rng.random() < 0.5:
                events.append((case_id, dept, "响应", opened + timedelta(minutes=float(rng.lognormal(np.log(5), 0.6))), "电话响应"))
            if no_show:
                events.append((case_id, dept, "未到", opened + timedelta(hours=2), "呼叫后未按要求到场"))
                continue
            m = float(rng.lognormal(np.log(48 if slow else 16), 0.5))
            events.append((case_id, dept, "到场", opened + timedelta(minutes=m), f"到场用时{round(m)}分钟"))
            arrived.append(dept)
        hours = float(rng.lognormal(np.log(40), 0.8)) * (1.6 if slow_case else 1.0)
        closed = opened + timedelta(hours=hours)
        done = closed <= AS_OF
        if done:
            events += [(case_id, d, "办结", closed, "完成处置并报到") for d in arrived]
        description = desc.format(estate=estate, road=road)
        if related:
            description += f"源于12345工单{related}。"
        case_rows.append((case_id, district, street, community, opened, kind, title.format(estate=estate, road=road),
                          description, str(whistler[i]), closed if done else None, "已办结" if done else "办理中", related))
    cases = pl.DataFrame(case_rows, schema=["case_id", "district", "street", "community", "opened_at", "category", "title",
                                             "description", "whistled_by", "closed_at", "status", "related_order_id"],
                         orient="row", schema_overrides={"closed_at": pl.Datetime("us"), "related_order_id": pl.String})
    ev = pl.DataFrame(events, schema=["case_id", "dept", "event", "occurred_at", "note"], orient="row")
    return cases, ev


def _ratings(rng: np.random.Generator, orders: pl.DataFrame) -> pl.DataFrame:
    """Monthly 0–100 scores from each street to the departments (not itself) that handled its orders."""
    weak = set(PLANTED["weak_departments"]["names"])
    g = (
        orders.filter(~pl.col("dept").str.contains("(办事处|人民政府|管委会)$"))
        .group_by(period=pl.col("received_at").dt.truncate("1mo").dt.date(), district="district", street="street", dept="dept")
        .agg(n=pl.len(), eff=pl.col("_dept_eff").first())
        .filter(pl.col("n") >= 2)
        .sort("period", "district", "street", "dept")
    )
    eff = g["eff"].to_numpy()
    mean = np.where(g["dept"].is_in(list(weak)).to_numpy(), 72.0, 91.0 + 5 * np.clip(eff, -0.6, 0.6))
    score = np.clip(np.round(rng.normal(mean, 3.5), 1), 0, 100)
    band = np.where(score >= 90, "high", np.where(score >= 80, "mid", "low"))
    pick = rng.integers(0, 100, g.height)
    comment = [lex.RATING_COMMENTS[b][p % len(lex.RATING_COMMENTS[b])] for b, p in zip(band, pick)]
    out = g.select("period", "district", "street", "dept").with_columns(score=pl.Series(score), comment=pl.Series(comment))
    # A rating is keyed by (period, street, dept): of two same-named streets rating one city-wide unit, keep one.
    return out.unique(["period", "street", "dept"], keep="first", maintain_order=True)


def _duties(st: pl.DataFrame) -> pl.DataFrame:
    """权责清单: every (category_l1, category_l2) with each concrete unit responsible for it."""
    rows = set()
    offices = [(d, _office(s, k)) for d, s, k in st.select("district", "street", "kind").iter_rows()]
    for c in lex.CATEGORIES:
        for key, _ in c[6]:
            if key == "street":
                rows.update((c[0], c[1], o) for _, o in offices)
            else:
                rows.update((c[0], c[1], _dept_name(key, d, "")) for d in reference.districts()["district"])
    return pl.DataFrame(sorted(rows), schema=["category_l1", "category_l2", "dept"], orient="row")


def _write_areas(con, geo: dict) -> None:
    """Synthetic street populations (summing to each district's census total) and community rows."""
    st = geo["streets"].select("district", "street", "population")
    con.register("_pop", st.to_arrow())
    con.execute("UPDATE areas SET population = p.population, population_source = ? FROM _pop p"
                " WHERE areas.street = p.street AND areas.district = p.district", [POP_SOURCE])
    con.unregister("_pop")
    names = geo["streets"]["street"].to_list()
    dists = geo["streets"]["district"].to_list()
    com = pl.DataFrame({
        "district": [dists[c[0]] for c in geo["communities"]], "street": [names[c[0]] for c in geo["communities"]],
        "kind": [c[2] for c in geo["communities"]], "code_12": pl.Series([None] * len(geo["communities"]), dtype=pl.String),
        "community": [c[1] for c in geo["communities"]], "population": geo["com_pop"],
        "population_source": POP_SOURCE,
    })
    con.register("_com", com.to_arrow())
    con.execute("INSERT INTO areas BY NAME SELECT * FROM _com")
    con.unregister("_com")


# Export headers as a Beijing-style export names them (etl.kinds recognises every one).
ORDER_HEADERS = {
    "order_id": "工单编号", "received_at": "受理时间", "channel": "来源渠道", "request_type": "诉求类型",
    "category_l1": "一级分类", "category_l2": "二级分类", "category_l3": "三级分类", "content": "诉求内容",
    "district": "被反映区", "street": "被反映街乡镇", "community": "社区", "address": "地址", "lon": "经度", "lat": "纬度",
    "来电号码": "来电号码", "dept": "承办单位", "dispatched_at": "派单时间", "responded_at": "响应时间", "due_at": "办理时限",
    "closed_at": "办结时间", "status": "工单状态", "redispatch_count": "退单次数", "resolution": "是否解决",
    "satisfaction": "是否满意", "是否有效": "是否有效",
}
CASE_HEADERS = {
    "case_id": "案件编号", "district": "区", "street": "街道", "community": "社区", "opened_at": "吹哨时间",
    "category": "案件类别", "title": "案件标题", "description": "案件描述", "whistled_by": "吹哨主体",
    "closed_at": "结案时间", "status": "案件状态", "related_order_id": "关联工单编号",
}
EVENT_HEADERS = {"case_id": "案件编号", "dept": "部门", "event": "事件", "occurred_at": "事件时间", "note": "备注"}
RATING_HEADERS = {"period": "考核月份", "district": "区", "street": "街道", "dept": "被考核部门", "score": "评分",
                  "comment": "评语"}
DUTY_HEADERS = {"category_l1": "一级分类", "category_l2": "二级分类", "dept": "责任部门"}


def _export(frame: pl.DataFrame, headers: dict[str, str], path: Path) -> Path:
    frame.select(pl.col(c).alias(h) for c, h in headers.items()).write_csv(
        path, datetime_format="%Y-%m-%d %H:%M:%S", date_format="%Y-%m")
    return path


def _stage_bar(report: Progress, lo: float, hi: float) -> Progress:
    """A load's read/transform/write progress as one rising stretch lo..hi of the demo's bar."""
    stages = ("read", "transform", "write")

    def step(stage: str, fraction: float) -> None:
        done = (stages.index(stage) + fraction) / len(stages) if stage in stages else fraction
        report("write", lo + (hi - lo) * done)

    return step


def build_demo(db_path: str | Path, orders: int = 360_000, seed: int = 12345, progress: Progress | None = None) -> dict:
    """Replace `db_path` with a demo database of `orders` work orders over three years (loaded through
    etl.load like any export); returns a short summary."""
    report = progress or (lambda stage, fraction: None)
    started = datetime.now()
    rng = np.random.default_rng(seed)
    days = [START + timedelta(days=i) for i in range(DAYS)]
    cat_index = {c[2]: i for i, c in enumerate(lex.CATEGORIES)}
    report("generate", 0.0)
    geo = _geography(rng)
    geo["weights"] = _weights(days, rng.lognormal(0, SEASON_SD, (len(lex.CATEGORIES), (DAYS + 364) // 365)))
    st = geo["streets"]
    report("generate", 0.05)

    parts = _planted(rng, geo, days, cat_index, orders, seed)
    n_bg = orders - sum(len(p["street"]) for p in parts)
    if n_bg < orders // 2:
        raise ValueError(f"演示工单数 {orders} 太少：至少需要 {2 * (orders - n_bg)} 条才能容纳预置的热点和重复诉求")
    bg = _background(rng, n_bg, geo, days)
    bg["community"] = _community_for(rng, geo, bg["street"])
    bg["caller"] = rng.integers(0, int(n_bg * 0.85), n_bg)
    rows = _stack([bg] + parts)
    report("generate", 0.15)
    frame = _orders_frame(rng, geo, rows, seed)
    report("cases", 0.35)
    cases, events = _cases(rng, frame, orders)
    ratings = _ratings(rng, frame)
    duties = _duties(st)
    export = frame.with_columns(_phones(frame["_caller"].to_numpy(), seed),
                                pl.when(pl.col("is_invalid")).then(pl.lit("否")).otherwise(pl.lit("是")).alias("是否有效"))
    del frame
    report("write", 0.4)

    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and published by one rename: a dashboard opening meanwhile never sees a half-built demo.
    build = db_path.with_name(f".{db_path.name}.demo-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    source = f"demo:seed={seed}"
    loaded: dict[str, int] = {}
    try:
        with writing(build) as con:
            reference.seed_areas(con)
            _write_areas(con, geo)
        with tempfile.TemporaryDirectory(prefix="whistle-demo-") as tmp:
            files = [
                ("work_orders", _export(export, ORDER_HEADERS, Path(tmp) / "工单.csv")),
                ("cases", _export(cases, CASE_HEADERS, Path(tmp) / "吹哨案件.csv")),
                ("case_events", _export(events, EVENT_HEADERS, Path(tmp) / "吹哨事件.csv")),
                ("ratings", _export(ratings, RATING_HEADERS, Path(tmp) / "街乡考核部门.csv")),
                ("duties", _export(duties, DUTY_HEADERS, Path(tmp) / "权责清单.csv")),
            ]
            del export
            for i, (kind, file) in enumerate(files):
                lo = 0.4 if i == 0 else 0.55 + 0.01 * (i - 1)
                hi = 0.55 if i == 0 else lo + 0.01
                result = load_file(file, build, kind=kind, source_name=source, progress=_stage_bar(report, lo, hi))
                if result.rows_quarantined or result.rows_inserted != result.rows_read:
                    raise RuntimeError(f"演示数据 {file.name} 导入不完整：{result.message}")
                loaded[kind] = result.rows_inserted
            tokens.fill(build, progress=lambda stage, f: report("tokenize", 0.6 + 0.37 * f))
        report("write", 0.98)
        store.publish(build, db_path)
    finally:
        for leftover in (build, build.with_name(build.name + ".lock"), build.with_name(build.name + ".wal")):
            leftover.unlink(missing_ok=True)
    try:
        outlook.fill(db_path)
    except RuntimeError:
        pass   # 预警与预测 then computes on request, as before any load
    report("done", 1.0)
    return {"orders": loaded["work_orders"], "cases": loaded["cases"], "case_events": loaded["case_events"],
            "dept_ratings": loaded["ratings"], "dept_duties": loaded["duties"],
            "seconds": (datetime.now() - started).total_seconds()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.demo", description="生成演示数据库（合成的北京12345三年数据）")
    parser.add_argument("--db", help="数据库文件（默认 HOTLINE_DB 或 data/hotline.duckdb）")
    parser.add_argument("--orders", type=int, default=360_000, help="三年的工单总数（默认 360000）")
    parser.add_argument("--seed", type=int, default=12345, help="随机种子（默认 12345）")
    args = parser.parse_args(argv)
    path = db_path(args.db)
    t0 = time.perf_counter()
    summary = build_demo(path, orders=args.orders, seed=args.seed)
    print(f"已生成演示数据库 {path}：工单 {summary['orders']} 条，吹哨案件 {summary['cases']} 个，"
          f"案件事件 {summary['case_events']} 条，街乡评分 {summary['dept_ratings']} 条，"
          f"用时 {time.perf_counter() - t0:.1f} 秒，文件 {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
