"""部门考评: how do the departments rank (双考核: their orders and the streets' ratings), and what does one
department look like — load, 三率, re-dispatch, dispatch mismatches, street ratings, issue mix?"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import streamlit as st

from analytics import orders as work_orders
from analytics import overview, scores
from analytics.filters import Filters, month_bounds
from analytics.rates import explain
from analytics.settings import Settings
from core.schema import label
from ui import data, filters, settings_panel, url
from ui.export import download_buttons
from ui.widgets import definition, grid, metric_with_definition, pct, says_why, why_empty, worst_and_falls
from ui.page import setup
from ui.safe import md

setup()

L = scores.LABELS
RATES = ("response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate")
DEPT_ORDER_COLUMNS = ("order_id", "received_at", "district", "street", "category_l1", "category_l2", "content", "status",
                      "redispatch_count", "resolution", "satisfaction")
# The scores right after the name: on a narrow screen the columns to the right scroll out of sight.
TABLE_COLUMNS = ("rank", "movement", "unit", "dept_score", "composite", "composite_rank", "street_rating", "rating_count",
                 "orders", *RATES, "redispatch_share", "mismatch_share")


def column_config() -> dict:
    return {
        "rank": st.column_config.NumberColumn("排名", help="按部门得分", pinned=True),
        "movement": st.column_config.TextColumn(L["rank_change"], help="与上月名次相比；“新”为上月未参与排名"),
        "unit": st.column_config.TextColumn("部门", pinned=True),
        "orders": st.column_config.NumberColumn(L["orders"], format="localized"),
        "dept_score": st.column_config.NumberColumn(L["dept_score"], format="%.1f", pinned=True,
                                                    help="排名依据：综合得分与街乡评分按权重合成"),
        "composite": st.column_config.NumberColumn(L["composite"], format="%.1f",
                                                   help="只看该部门承办工单的响应率、解决率、满意率（加权，0–100）"),
        "composite_rank": st.column_config.NumberColumn(L["composite_rank"],
                                                        help="只按综合得分排的名次，与“排名”对照可见街乡评分的影响"),
        "street_rating": st.column_config.NumberColumn(L["street_rating"], format="%.1f"),
        "rating_count": st.column_config.NumberColumn(L["rating_count"]),
        **{c: st.column_config.NumberColumn(L[c], format="percent") for c in (*RATES, "redispatch_share", "mismatch_share")},
    }


def definitions(settings: Settings) -> str:
    return "\n\n".join(
        [scores.explain("dept_score", settings), explain("composite", settings), scores.explain("street_rating", settings)]
        + [explain(m, settings) for m in RATES]
        + [scores.explain(m, settings) for m in ("redispatch_share", "mismatch_share", "rank")]
    )


def profile(dept: str, t: dict[str, pl.DataFrame], f: Filters, ranking_month: date, settings: Settings) -> None:
    """部门画像 over the selected period; the headline numbers are those of the ranking month."""
    st.subheader(f"部门画像 · {md(dept)}")
    start = (f.date_from or date.min).replace(day=1)
    # The months the ranking reached back for, not just the selected period: one month alone is no trend.
    own = t["scores"].filter((pl.col("dept") == dept) & (pl.col("period") <= ranking_month)).sort("period")
    now = own.filter(pl.col("period") == ranking_month)
    row = now.row(0, named=True) if now.height else {}
    st.caption(f"指标为{ranking_month.year}年{ranking_month.month}月的数值。")
    cols = st.columns(4)
    items = [
        ("工单量", f"{row.get('orders', 0):,}", explain("orders", settings)),
        (L["dept_score"], "—" if row.get("dept_score") is None else f"{row['dept_score']:.1f}", scores.explain("dept_score", settings)),
        (L["composite"], "—" if row.get("composite") is None else f"{row['composite']:.1f}", explain("composite", settings)),
        (L["street_rating"], "—" if row.get("street_rating") is None else f"{row['street_rating']:.1f}",
         scores.explain("street_rating", settings)),
        *[(L[m], pct(row.get(m)), explain(m, settings)) for m in RATES],
        (L["redispatch_share"], pct(row.get("redispatch_share")), scores.explain("redispatch_share", settings)),
        (L["mismatch_share"], pct(row.get("mismatch_share")), scores.explain("mismatch_share", settings)),
    ]
    for i, (name, value, text) in enumerate(items):
        with cols[i % 4]:
            metric_with_definition(name, value, text)

    left, right = st.columns([3, 2])
    with left:
        st.markdown("**工单量与各项比率（按月）**")
        st.plotly_chart(overview.trend_figure(own.rename({"period": "month"})), width="stretch", key="dept_trend")
        definition("\n\n".join(explain(m, settings) for m in ("orders", *RATES)))
    with right:
        st.markdown("**问题构成（所选时段）**")
        mix = data.read(overview.read_top_categories, replace(f, depts=(dept,)))
        if not says_why(mix, replace(f, depts=(dept,)), "问题构成", "category_l1"):
            st.plotly_chart(overview.categories_figure(mix), width="stretch", key="dept_mix")
        definition("按一级分类统计该部门在所选时段承办的工单量，百分比为占其全部工单的比例。")

    st.markdown("**街乡评分**")
    ratings = t["ratings"].filter((pl.col("dept") == dept) & (pl.col("period") >= start))
    if ratings.is_empty():
        st.info("所选时段内没有街乡对该部门的评分。部门得分只按综合得分计算。")
    else:
        left, right = st.columns([2, 3])
        with left:
            st.plotly_chart(scores.ratings_figure(scores.rating_summary(ratings)), width="stretch", key="dept_ratings")
            definition(scores.explain("street_rating", settings))
        with right:
            shown = ratings.sort(["period", "score"], descending=[True, False]).select("period", "district", "street", "score", "comment")
            grid(shown, height=300, column_config={
                "period": st.column_config.DateColumn("考核月份", format="YYYY年MM月"), "district": "区", "street": "街道/乡镇",
                "score": st.column_config.NumberColumn("评分", format="%.1f"), "comment": st.column_config.TextColumn("评语", width="large"),
            })
            download_buttons(shown, f"{dept}_街乡评分", key="dl_dept_ratings")

    st.markdown(f"**{ranking_month.year}年{ranking_month.month}月承办的工单**（最多 500 件；“派单不符”按权责清单判断）")
    first, last = month_bounds(ranking_month)
    in_month = replace(f, date_from=max(f.date_from or first, first), date_to=min(f.date_to or last, last), depts=(dept,))
    orders = data.read(work_orders.listing, in_month, DEPT_ORDER_COLUMNS, (), "", None, "received_at", True, 500)
    checked = scores.responsible(orders.with_columns(dept=pl.lit(dept)), t["duties"]).with_columns(
        responsible=pl.col("responsible").list.join("、")
    ).drop("dept")
    only_mismatch = url.toggle("只看派单不符或退单/改派的工单", "only_bad", key="dept_only_bad")
    if only_mismatch:
        checked = checked.filter(pl.col("mismatch").fill_null(False) | (pl.col("redispatch_count") > 0) | (pl.col("status") == "退单"))
    if checked.is_empty():
        st.info("该部门在这个月没有派单不符或退单/改派的工单。" if only_mismatch else why_empty(in_month, "承办的工单"))
    else:
        grid(checked, column_config={
            **{c: label("work_orders", c) for c in checked.columns},
            "content": st.column_config.TextColumn("诉求内容", width="large"),
            "responsible": "权责清单责任部门", "mismatch": st.column_config.CheckboxColumn("派单不符"),
        })
    download_buttons(checked, f"{dept}_{ranking_month:%Y%m}_工单", key="dl_dept_orders")


f = filters.current()
settings = settings_panel.render("sidebar")
st.title("部门考评")

functional_only = url.toggle(
    "只排职能部门（不含街道办事处、乡镇人民政府等街乡主体，它们在“街乡考评”中排名）", "functional", key="dept_functional_only",
    default=True,
)
scope = scores.with_history(f, settings)
t = {"scores": data.read(scores.read_score_table, f, "dept", settings, functional_only),
     "ratings": data.read(scores.read_ratings, scope), "duties": data.read(scores.read_duties, f)}
table = t["scores"]
if says_why(table, f, "部门考评", "dept"):
    st.stop()
ranking_month = (f.date_to or table["period"].max()).replace(day=1)
month = scores.month_table(table, ranking_month)
st.caption(
    f"排名月份：{ranking_month.year}年{ranking_month.month}月（所选时段的最后一个月）。筛选：{md(f.describe())}；"
    "部门按筛选范围内承办的工单考评。"
)
st.caption(settings_panel.in_force(settings))
if t["ratings"].is_empty():
    st.warning("数据库中没有所选时段的街乡评分，部门得分只按综合得分计算。可在“数据导入”页导入评分表。")
if t["duties"].is_empty():
    st.warning("数据库中没有权责清单，无法判断派单是否相符。可在“数据导入”页导入权责清单。")

ranked = month.drop_nulls("rank")
cols = st.columns(4)
with cols[0]:
    metric_with_definition("参与排名的部门", f"{ranked.height:,}", scores.explain("rank", settings))
with cols[1]:
    median = ranked["dept_score"].median()
    metric_with_definition("部门得分中位数", "—" if median is None else f"{median:.1f}", scores.explain("dept_score", settings))
with cols[2]:
    total = month["orders"].sum()
    red = (month["redispatch_share"] * month["orders"]).sum() / total if total else None
    metric_with_definition("退单/改派占比（全部部门）", pct(red), scores.explain("redispatch_share", settings))
with cols[3]:
    known = month["duty_known"].sum()
    mis = month["mismatched"].sum() / known if known else None
    metric_with_definition("派单不符占比（全部部门）", pct(mis), scores.explain("mismatch_share", settings))

n = settings.rankings.top_n
st.subheader(f"{ranking_month.year}年{ranking_month.month}月最需关注的部门")
worst_and_falls(month, n, {"unit": ("部门", "text")}, {"dept_score": (L["dept_score"], "score")},
                {"orders": ("工单量", "count")},
                empty_worst=f"{ranking_month.year}年{ranking_month.month}月没有可排名的部门：承办工单不足 "
                            f"{settings.rankings.min_orders} 件的部门不参与排名。",
                empty_falls="没有名次下降的部门，或上月没有排名可比。")

st.subheader(f"{ranking_month.year}年{ranking_month.month}月部门排名")
w = settings.departments.w_street_rating
st.caption(f"**排名**按**部门得分**（= {1 - w:.0%} × 综合得分 + {w:.0%} × 街乡评分均值；没有街乡评分时即综合得分）。"
           "**综合得分**只看该部门承办工单的三率（响应率、解决率、满意率加权，0–100）；"
           "**综合得分排名**是只按综合得分排的名次，与“排名”对照可见街乡评分使名次升降多少。得分相同（保留一位小数）的部门名次相同。")
shown = month.with_columns(
    movement=pl.col("rank_change").map_elements(scores.movement, return_dtype=pl.String, skip_nulls=False)
).select(TABLE_COLUMNS)
event = grid(
    shown, column_config=column_config(), on_select="rerun",
    selection_mode="single-row", key="dept_ranking",
)
definition(definitions(settings))
download_buttons(shown, f"部门排名_{ranking_month:%Y%m}", key="dl_dept_ranking")

top, bottom = scores.top_bottom(table, ranking_month, n)
if top.height:   # none ranked: the table above says why
    left, right = st.columns(2)
    with left:
        st.markdown(f"**部门得分前 {n} 名**")
        st.plotly_chart(scores.ranking_figure(top, "dept_score"), width="stretch", key="dept_top")
    with right:
        st.markdown(f"**部门得分后 {n} 名**（最差在前）")
        st.plotly_chart(scores.ranking_figure(bottom, "dept_score"), width="stretch", key="dept_bottom")

st.divider()
rows = event.selection.rows if event else []
options = month["unit"].to_list()
chosen = month.row(rows[0], named=True)["unit"] if rows else None
dept = st.selectbox(
    "部门画像：选择部门（或在上表中选中一行）", options, index=options.index(chosen) if chosen else url.index("dept", options),
    key=f"dept_pick_{chosen}",
)
url.keep("dept", dept, default=options[0] if options else None)
if dept:
    profile(dept, t, f, ranking_month, settings)
