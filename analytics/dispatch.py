"""派单质量: which orders look misdispatched (the department differs from a confident suggestion and from the
权责清单), where and when, what returns and re-dispatches cost in days, and which issue types go astray.

Every read aggregates in DuckDB over work_orders joined with the history suggestions (order_suggestions,
source "history", written by analytics.classify.retrain) and dept_duties; each takes the shared filters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from analytics.db import has_table, query, token_months
from analytics.filters import Filters
from analytics.settings import Settings
from core import summary as monthly

LABELS = {
    "orders": "工单数", "suggested": "有建议的工单", "off_suggestion": "与有把握的建议不符", "off_duty": "不在权责清单",
    "suspect": "疑似错派", "suspect_share": "疑似错派占比", "redispatched": "退单/改派工单", "redispatch_share": "退单/改派占比",
    "days_lost": "退单/改派多耗天数", "days_lost_each": "每单多耗天数", "month": "月份", "dept": "承办部门",
    "suggested_dept": "建议承办部门", "dept_conf": "建议置信度", "responsible": "权责清单责任部门",
    "top_suggested": "最常建议改派给",
}


def _flagged(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings) -> tuple[str, list[Any]]:
    """Per filtered order: suggestion agreement, 权责清单 agreement (exact 一级+二级, else any department listed
    under the 一级分类, as in 部门考评; only departments serving the order's district count: those that
    handled at least min_label_count orders there, so another district's bureau of the same kind is not
    responsible), re-dispatch and the days it cost against the category's orders dispatched right the first time."""
    where, params = filters.where(prefix="w.")
    months, month_params = token_months(filters, "s")   # only the window's suggestions are joined
    # Which departments serve a district is a count over the whole history: the monthly summary has it.
    served, count = (monthly.TABLE, "sum(orders)") if has_table(con, monthly.STATE) else ("work_orders", "count(*)")
    sql = f"""
    WITH o AS (
        SELECT w.order_id, w.received_at, w.category_l1, w.category_l2, w.dept, w.district, w.street,
               w.redispatch_count, w.status, w.closed_at,
               s.dept AS suggested_dept, s.dept_conf,
               (coalesce(w.redispatch_count, 0) > 0 OR coalesce(w.status = '退单', false)) AS redispatched,
               date_diff('second', w.received_at, w.closed_at) / 86400.0 AS days
        FROM work_orders w
        LEFT JOIN order_suggestions s ON s.order_id = w.order_id AND s.source = 'history' AND {months}
        WHERE {where} AND w.dept IS NOT NULL),
    served AS (SELECT dept, district FROM {served} WHERE dept IS NOT NULL AND district IS NOT NULL
               GROUP BY ALL HAVING {count} >= ?),
    duty AS (SELECT d.category_l1, d.category_l2, d.dept, s.district FROM dept_duties d JOIN served s USING (dept)),
    exact AS (SELECT category_l1, category_l2, district, list(DISTINCT dept) AS depts FROM duty
              WHERE category_l2 IS NOT NULL GROUP BY ALL),
    by_l1 AS (SELECT category_l1, district, list(DISTINCT dept) AS depts FROM duty GROUP BY ALL),
    base AS (SELECT category_l1, median(days) AS usual FROM o WHERE NOT redispatched AND days IS NOT NULL GROUP BY ALL)
    SELECT o.*, coalesce(e.depts, l.depts) AS responsible,
           (o.suggested_dept IS NOT NULL) AS suggested,
           coalesce(o.dept_conf >= ? AND o.suggested_dept <> o.dept, false) AS off_suggestion,
           coalesce(NOT list_contains(coalesce(e.depts, l.depts), o.dept), false) AS off_duty,
           CASE WHEN o.redispatched THEN greatest(0, o.days - b.usual) END AS days_lost
    FROM o
    LEFT JOIN exact e ON e.category_l1 = o.category_l1 AND e.category_l2 = o.category_l2 AND e.district = o.district
    LEFT JOIN by_l1 l ON l.category_l1 = o.category_l1 AND l.district = o.district
    LEFT JOIN base b ON b.category_l1 = o.category_l1"""
    # Suspect: off a confident suggestion and not a department the 权责清单 lists for the issue (where it lists any).
    c = settings.classify
    return (f"SELECT *, off_suggestion AND (responsible IS NULL OR off_duty) AS suspect FROM ({sql})",
            [*month_params, *params, c.min_label_count, c.confident])


_COUNTS = """count(*) AS orders, count(*) FILTER (WHERE suggested) AS suggested,
    count(*) FILTER (WHERE off_suggestion) AS off_suggestion, count(*) FILTER (WHERE off_duty) AS off_duty,
    count(*) FILTER (WHERE suspect) AS suspect, count(*) FILTER (WHERE redispatched) AS redispatched,
    round(coalesce(sum(days_lost), 0), 1) AS days_lost"""


def _shares(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        suspect_share=pl.when(pl.col("suggested") > 0).then(pl.col("suspect") / pl.col("suggested")),
        redispatch_share=pl.when(pl.col("orders") > 0).then(pl.col("redispatched") / pl.col("orders")),
        days_lost_each=pl.when(pl.col("redispatched") > 0).then((pl.col("days_lost") / pl.col("redispatched")).round(2)),
    )


@dataclass(frozen=True)
class Counts:
    summary: dict[str, Any]       # the filtered orders in all
    by_dept_month: pl.DataFrame   # per department and month, departments with the most suspect orders first
    by_category: pl.DataFrame     # the issue types most often misdispatched, with the department suggested most


def counts(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, limit: int = 20) -> Counts:
    """The page's three tallies in one pass over the flagged orders (grouping sets: all, department × month,
    一级 × 二级分类): each further pass would read the window's orders and suggestions again."""
    sql, params = _flagged(con, filters, settings)
    frame = query(con, f"SELECT grouping(dept, month, category_l1, category_l2) AS _set, dept, month, category_l1, category_l2, "
                       f"{_COUNTS}, map_entries(histogram(suggested_dept) FILTER (WHERE suspect)) AS _suggested "
                       f"FROM (SELECT *, date_trunc('month', received_at)::DATE AS month FROM ({sql})) "
                       "GROUP BY GROUPING SETS ((), (dept, month), (category_l1, category_l2))", params)
    names = ["orders", "suggested", "off_suggestion", "off_duty", "suspect", "redispatched", "days_lost"]
    total = frame.filter(pl.col("_set") == 0b1111).select(names)
    if total.is_empty():   # no orders: the grand total of nothing, as SQL gives it
        total = pl.DataFrame({**{n: [0] for n in names[:-1]}, "days_lost": [0.0]})
    months = frame.filter(pl.col("_set") == 0b0011).select("dept", "month", *names)
    months = months.sort(pl.col("suspect").sum().over("dept"), "dept", "month", descending=[True, False, False])
    cats = (frame.filter((pl.col("_set") == 0b1100) & (pl.col("suspect") > 0))
            .sort(["suspect", "category_l1", "category_l2"], descending=[True, False, False], nulls_last=True).head(limit)
            .with_row_index("_r"))
    # The department suggested most often for the type's suspect orders (ties: the first by name).
    top = (cats.select("_r", "_suggested").explode("_suggested").drop_nulls("_suggested").unnest("_suggested")
           .sort(["_r", "value", "key"], descending=[False, True, False]).group_by("_r", maintain_order=True).first()
           .select("_r", top_suggested=pl.col("key").cast(pl.String)))
    cats = cats.join(top, on="_r", how="left", maintain_order="left").select("category_l1", "category_l2", *names,
                                                                           "top_suggested")
    return Counts(_shares(total).to_dicts()[0], _shares(months), _shares(cats))



def suspect_orders(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings, limit: int = 500) -> pl.DataFrame:
    """The suspect orders themselves, most confident suggestion first."""
    sql, params = _flagged(con, filters, settings)
    where, where_params = filters.where(prefix="w.")
    # The texts of the listed orders only (reading every text of the period would cost more than the rest).
    return query(con, "SELECT f.order_id, f.received_at, f.district, f.street, f.category_l1, f.category_l2, w.content, "
                      "f.dept, f.suggested_dept, f.dept_conf, f.responsible, f.redispatch_count, f.days_lost "
                      "FROM (SELECT order_id, received_at, district, street, category_l1, category_l2, dept, suggested_dept, "
                      "dept_conf, array_to_string(responsible, '、') AS responsible, redispatch_count, "
                      f"round(days_lost, 1) AS days_lost FROM ({sql}) WHERE suspect "
                      "ORDER BY dept_conf DESC, received_at DESC, order_id LIMIT ?) f "
                      f"JOIN work_orders w ON w.order_id = f.order_id WHERE {where} "
                      "ORDER BY f.dept_conf DESC, f.received_at DESC, f.order_id", [*params, limit, *where_params])


def coverage(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, Any]:
    """How many of the filtered orders have a history suggestion, and from which model."""
    where, params = filters.where(prefix="w.")
    months, month_params = token_months(filters, "s")
    return query(con, "SELECT count(*) AS orders, count(s.order_id) AS suggested, any_value(s.model) AS model "
                      "FROM work_orders w LEFT JOIN order_suggestions s ON s.order_id = w.order_id AND s.source = 'history' "
                      f"AND {months} WHERE {where}", [*month_params, *params]).to_dicts()[0]


def explain(metric: str, settings: Settings) -> str:
    c = settings.classify
    texts = {
        "suspect": (f"**疑似错派**：承办部门与模型有把握的建议（置信度 ≥ {c.confident:.0%}）不同，并且不在权责清单为该分类列出的"
                    "责任部门之中（清单按一级 + 二级分类匹配，二级无条目时按一级分类；清单未列该分类时只看建议）。"
                    "建议只依据诉求内容与地点，不看工单原有的分类和部门：由历史工单学习（设置文件 `settings.toml` 的 `[classify]`）。"
                    "**疑似错派占比** = 疑似错派 ÷ 有建议的工单。"),
        "off_duty": ("**不在权责清单**：承办部门不在权责清单为该工单分类列出的责任部门之中（一级 + 二级分类匹配，二级无条目时"
                     "按一级分类，与部门考评的“派单不符”相同）；清单未列该分类的工单不计。清单按工单所在区收窄：只算在该区"
                     f"承办过至少 {c.min_label_count} 件工单的部门，别区的同类部门不算责任部门。"),
        "redispatched": "**退单/改派工单**：状态为“退单”或退单/改派次数 > 0 的工单（与部门考评相同）。",
        "days_lost": ("**退单/改派多耗天数** = Σ 退单/改派工单的（办结时间 − 受理时间，天）− 同一级分类一次派准工单的"
                      "中位办理天数，少于 0 记 0；未办结的工单不计。**每单多耗天数** = 多耗天数 ÷ 退单/改派工单数。"),
        "confidence": (f"**置信度**：线性模型的得分经温度缩放（在留出的历史工单上拟合）后的概率；承办部门的置信度 = "
                       "Σ 分类概率 × 该分类在该社区（历史不足时为街乡、区、全市）派给该部门的比例（谁承办一件事由事项和地点决定）。出现少于 "
                       f"{c.min_label_count} 次的分类或部门不作建议。"),
    }
    return texts[metric]
