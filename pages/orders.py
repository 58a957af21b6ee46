"""工单明细: the orders behind any number, with their text; the drill-down target of every page.

Besides the shared filters, the URL may carry q (search text), dept, status and community, so another
page can link here with st.page_link(..., query_params=filters.link_params(dept=...)).
"""
from __future__ import annotations

import streamlit as st

from analytics import orders
from core.schema import label
from ui import data, filters, url
from ui.export import download_query_buttons
from ui.page import setup
from ui.safe import md
from ui.widgets import grid

setup()

# The caller's words come right after when and where: that is what an analyst reads first.
COLUMNS = ("order_id", "received_at", "street", "content", "category_l1", "category_l2", "category_l3",
           "district", "community", "request_type", "address", "dept", "status", "closed_at", "resolution",
           "satisfaction", "redispatch_count", "source_file")
SORTS = ("received_at", "closed_at", "district", "street", "category_l1", "dept", "status", "order_id")
EXTRA = ("dept", "status", "community", "category_l2", "category_l3")   # URL key = column name
PAGE_SIZES = (50, 100, 200, 500)

f = filters.current()
st.title("工单明细")

qp = st.query_params
search = st.text_input("搜索诉求内容、地址或工单编号（多个词用空格分隔，须同时包含）", value=qp.get("q", ""), key="o_q")
extra = {col: qp.get(col) for col in EXTRA if qp.get(col)}
conditions = tuple(extra.items())
for key in ("q", *EXTRA):   # keep page-local state in the URL so a copied link shows the same rows
    wanted = search.strip() if key == "q" else extra.get(key)
    if wanted and qp.get(key) != wanted:
        qp[key] = wanted
    elif not wanted and key in qp:
        del qp[key]

scope = f.describe() + "".join(f"；{label('work_orders', c)}：{v}" for c, v in extra.items()) + (f"；搜索：{search}" if search.strip() else "")
total = data.read(orders.count, f, conditions, search)
st.caption(f"筛选：{md(scope)}。共 **{total:,}** 条工单。")
if extra and st.button("清除来自链接的条件（" + "、".join(label("work_orders", c) for c in extra) + "）", icon=":material/filter_alt_off:"):
    for col in extra:
        del qp[col]
    st.rerun()
if not total:
    st.info("没有符合条件的工单。请放宽左侧筛选或修改搜索词。")
    st.stop()

c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
with c1:
    sort = url.choice(st.selectbox, "排序", SORTS, "sort", key="o_sort", format_func=lambda c: label("work_orders", c))
with c2:
    descending = url.toggle("倒序", "desc", key="o_desc", default=True)
with c3:
    size = url.choice(st.selectbox, "每页行数", PAGE_SIZES, "size", key="o_size")
pages = (total - 1) // size + 1
if "o_page" not in st.session_state and qp.get("page", "").isdigit():   # a shared link opens on its page
    st.session_state["o_page"] = int(qp["page"])
if not 1 <= st.session_state.get("o_page", 1) <= pages:   # fewer rows than before: back to the first page
    st.session_state["o_page"] = 1
with c4:
    page = st.number_input(f"页码（共 {pages:,} 页）", min_value=1, max_value=pages, step=1, key="o_page")
url.keep("page", page, default=1)

rows = data.read(orders.listing, f, COLUMNS, conditions, search, None, sort, descending, size, (page - 1) * size)
grid(
    rows, height=min(38 * (rows.height + 1), 760),
    column_config={
        **{c: label("work_orders", c) for c in COLUMNS},
        "received_at": st.column_config.DatetimeColumn("受理时间", format="YYYY-MM-DD HH:mm"),
        "closed_at": st.column_config.DatetimeColumn("办结时间", format="YYYY-MM-DD HH:mm"),
        "content": st.column_config.TextColumn("诉求内容", width="large"),
    },
)
st.caption(f"第 {page:,} / {pages:,} 页，显示第 {(page - 1) * size + 1:,}–{min(page * size, total):,} 条。"
           "点击表头可在本页内排序；跨页排序请用上方“排序”。")

st.markdown("**导出全部符合条件的工单**（不只本页）")
download_query_buttons(data.fetcher(orders.listing, f, COLUMNS, conditions, search, None, sort, descending), "工单明细",
                       key="dl_orders", filters_text=scope)
