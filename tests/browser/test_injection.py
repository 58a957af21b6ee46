"""Data is never markup: complaint text, addresses, communities, departments, categories, case titles and
吹哨主体 carrying <img src=…>, ![](…) and <script> make real Chromium request nothing but the dashboard itself,
on every page (requests recorded with page.on("request"))."""
from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from etl.demo import build_demo
from etl.store import writing
from tests.browser.test_browser import browser, settle, streamlit_app  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


class _Trap(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Trap.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def payload(trap: str, where: str) -> str:
    return (f'{where}<img src="{trap}/img-{where}.png" onerror="fetch(\'{trap}/js-{where}\')">'
            f"![x]({trap}/md-{where}.png)<script>fetch('{trap}/script-{where}')</script>"
            f"[链接](javascript:fetch('{trap}/link-{where}')) :red[彩色] http://evil.invalid/auto-{where}.png")


def poisoned_db(path: Path, trap: str) -> Path:
    """A demo year whose latest month's orders (whichever street a page picks) and cases carry payloads in every
    text field."""
    build_demo(path, orders=6_000, seed=5)
    with writing(path) as con:
        month = con.execute("SELECT date_trunc('month', max(received_at)) FROM work_orders").fetchall()[0][0]
        con.execute(
            "UPDATE work_orders SET content = ? || content, address = ?, community = ? WHERE received_at >= ?",
            [payload(trap, "content"), payload(trap, "address"), payload(trap, "community"), month])
        con.execute(
            "UPDATE work_orders SET dept = ?, category_l1 = ?, category_l2 = ?, category_l3 = ? "
            "WHERE received_at >= ? AND hash(order_id) % 3 = 0",
            [payload(trap, "dept"), payload(trap, "category"), payload(trap, "category2"), payload(trap, "category3"), month])
        con.execute("DELETE FROM order_tokens")   # re-tokenised on the fly, from the poisoned text
        con.execute(
            "UPDATE cases SET title = ?, whistled_by = ?, description = ?, community = ? WHERE opened_at >= ?",
            [payload(trap, "title"), payload(trap, "whistled_by"), payload(trap, "description"), payload(trap, "case_community"),
             month])
    return path


@pytest.fixture(scope="module")
def trap():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory, trap):
    db = poisoned_db(tmp_path_factory.mktemp("inject") / "hotline.duckdb", trap)
    with streamlit_app(db) as base:
        yield base


def test_no_page_requests_anything_but_the_dashboard(poisoned, trap, browser):  # noqa: F811
    from dashboard import PAGES

    base = poisoned
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    shown = []
    for _, _, title, _, url in PAGES:
        page.goto(f"{base}/{'' if url == 'overview' else url}")
        page.locator("h1").filter(has_text=title).first.wait_for(timeout=120_000)   # this page's run has begun
        settle(page)
        page.wait_for_timeout(1500)   # images and scripts a render might have injected get time to fire
        # text_content: inactive tabs and closed expanders count too; markup that was interpreted leaves no "<img src=" text
        shown.append(page.locator("[data-testid=stMain]").text_content())
    # Only requests the data could have caused count here: the favicon Streamlit fetches for page_icon is the
    # page layout's business (local icons), not the data's.
    planted = sorted({u for u in requests if u.startswith(trap) or "evil.invalid" in u or "javascript:" in u})
    assert planted == [] and _Trap.hits == []
    text = "\n".join(shown)
    assert "<img src=" in text and "![x](" in text   # the payloads are shown as typed, not interpreted
    page.close()
