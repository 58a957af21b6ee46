"""Data is never markup, including in drill-downs: with payloads in every text field, no markdown-rendered
text of any page (bodies, labels, help, table cells of st.table) holds an unescaped tag, image or link. The
browser test (tests/browser/test_injection.py) checks the same pages in Chromium for requests."""
from __future__ import annotations

import re

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from ui import style

from dashboard import PAGES
from tests.browser.test_injection import poisoned_db
from tests.test_access import DASHBOARD
from ui.safe import md

TRAP = "http://127.0.0.1:9"
UNESCAPED = re.compile(r"(?<!\\)<(img|script)|(?<!\\)!\\?\[|(?<!\\)\]\(")
RENDERED = {"body", "label", "help"}           # proto fields Streamlit renders as markdown
DRILL = {"pages/whistle.py": ["case_table"], "pages/recurring.py": ["rc_hot", "rc_types", "rc_topics"],
         "pages/streets.py": ["ranking_street"], "pages/departments.py": ["dept_ranking"]}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return poisoned_db(tmp_path_factory.mktemp("inject_at") / "hotline.duckdb", TRAP)


def rendered_text(at: AppTest) -> list[str]:
    """Every string Streamlit renders as markdown on the page: element bodies, labels and help; st.table cells
    (st.text, st.dataframe and charts render none)."""
    out: list[str] = []

    def collect(d) -> None:
        if isinstance(d, dict):
            for k, v in d.items():
                if k in RENDERED and isinstance(v, str):
                    if v.strip() not in {h.strip() for h in style.static_html()}:   # the app's own print rules and translator, no data
                        out.append(v)
                else:
                    collect(v)
        elif isinstance(d, list):
            for v in d:
                collect(v)

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if kind == "table":
            out.extend(str(v) for v in node.value.to_numpy().ravel())
        elif kind not in ("arrow_data_frame", "dataframe", "plotly_chart", "text") and getattr(node, "proto", None) is not None:
            collect(MessageToDict(node.proto))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
    walk(at._tree)
    return out


@pytest.mark.parametrize("page", [p[1] for p in PAGES], ids=[p[4] for p in PAGES])
def test_no_markup_from_data(db, monkeypatch, page):
    monkeypatch.setenv("HOTLINE_DB", str(db))
    at = AppTest.from_file(DASHBOARD, default_timeout=180).run()
    at.switch_page(page).run()
    views = [at]
    texts = rendered_text(at)
    for key in DRILL.get(page, []):
        if key in at.session_state:
            at.session_state[key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
            at.run()
            texts += rendered_text(at)
    assert not any(v.exception for v in views), at.exception
    bad = [t[:120] for t in texts if UNESCAPED.search(t)]
    assert bad == [], page
    if page == "pages/whistle.py":   # the case detail shows the title and 吹哨主体, escaped
        assert any(md("title<img") in t for t in texts) and any(md("whistled_by<img") in t for t in texts)


def test_md_escapes_what_markdown_would_render():
    assert md("![x](http://a/b.png)") == r"\!\[x\]\(http://a/b.png\)"
    assert md("<img src=x>\n# 标题") == r"\<img src=x\> # 标题"
    assert md(":red[彩色] **粗**") == r":red\[彩色\] \*\*粗\*\*"
    assert [md(v) for v in ("# 标题", "1. 第一", "- 一项", "2026-10-01 至 2026-10-31")] == [
        r"\# 标题", r"1\. 第一", r"\- 一项", "2026-10-01 至 2026-10-31"]
