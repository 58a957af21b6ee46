"""The analyst's workflow in real Chromium: upload a real export, load it, see it on 总览, share the view by URL.

Runs `streamlit run dashboard.py` on a temporary database and drives it with Playwright. Needs Debian's
chromium at /usr/bin/chromium (scripts/test.sh installs it); without it the tests fail, never skip.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from tests.test_scores import build_db

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
NYC = REALDATA / "nyc311" / "nyc311_2014-2019_sample_1000rows.csv"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(tempfile.gettempdir()) / "whistle-browser-shots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_app(db: Path):
    """`streamlit run dashboard.py` on `db`, on a free local port, until the block ends."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"浏览器测试需要 {CHROMIUM}：请运行 apt-get install -y chromium fonts-noto-cjk（scripts/test.sh 会安装）。")
    port = _free_port()
    log = open(db.parent / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "HOTLINE_DB": str(db)}, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.terminate()
        pytest.fail(f"streamlit 未能在 30 秒内启动，日志：{(db.parent / 'streamlit.log').read_text()[-2000:]}")
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not NYC.exists():
        pytest.skip(f"找不到真实数据文件 {NYC}（../shared/realdata 不在本机）")
    db = build_db(tmp_path_factory.mktemp("browser") / "hotline.duckdb")
    with streamlit_app(db) as base:
        yield base, db


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def settle(page, text: str | None = None, timeout: float = 120_000) -> None:
    """Wait until the app has finished its current run (and shows `text`)."""
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout)
    if text:
        page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]') && "
        "!document.querySelector('[data-stale=true]')", timeout=timeout)
    page.wait_for_timeout(300)
    exceptions = page.locator("[data-testid=stException]").all_inner_texts()
    assert not exceptions, exceptions


def metric(page, label: str) -> str:
    box = page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first
    return box.locator("[data-testid=stMetricValue]").inner_text().strip()


def wait_metric(page, label: str, want: str, timeout: float = 90.0) -> str:
    """The metric's value once it shows `want` (a rerun may still be replacing the old one), else the last seen."""
    deadline = time.time() + timeout
    while (seen := metric(page, label)) != want and time.time() < deadline:
        page.wait_for_timeout(250)
    return seen


def db_count(db: Path, sql: str, params: list) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params).fetchone()[0]
    finally:
        con.close()


def test_upload_load_overview_and_shared_url(server, browser):
    base, db = server
    SHOTS.mkdir(exist_ok=True)
    started = time.time()
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(120_000)  # a loaded CI machine can be slow; the test waits, never sleeps blindly
    page.goto(base + "/")
    settle(page, "总览")
    page.wait_for_url("**from=*&to=*")   # both written (two URL updates)
    period = page.url.split("?", 1)[1]

    # Switching pages in the sidebar keeps the shared filters in the URL.
    page.locator("[data-testid=stSidebarNav]").get_by_text("数据导入").click()
    page.wait_for_url("**/import?**")
    settle(page, "上传 CSV")
    assert page.url.endswith("/import?" + period)

    # Upload the real NYC export, check the preview, load it.
    page.locator("input[type=file]").set_input_files(str(NYC))
    settle(page, "2. 预览与校验")
    assert page.get_by_text("UTF-8").first.is_visible()
    assert metric(page, "读取行数") == "1,000"
    page.screenshot(path=str(SHOTS / "import_preview.png"), full_page=True)
    page.get_by_role("button", name="开始导入").click()
    settle(page, "导入结果", timeout=90_000)
    assert metric(page, "读取") == "1,000"
    loaded = int(metric(page, "新增").replace(",", ""))
    assert loaded + int(metric(page, "隔离").replace(",", "")) == 1000
    page.screenshot(path=str(SHOTS / "import_result.png"), full_page=True)

    # 总览 over the NYC years shows the loaded orders.
    page.goto(base + "/?from=2014-05&to=2019-09")   # 总览 is the default page: its URL is "/"
    settle(page, "各区综合得分排名")
    nyc_sql = "SELECT count(*) FROM work_orders WHERE received_at >= ? AND received_at < ?"
    want = db_count(db, nyc_sql, ["2014-05-01", "2019-10-01"])
    assert want == loaded
    assert metric(page, "工单量") == f"{want:,}"

    # Narrow to one district in the sidebar; the URL follows.
    district = "BROOKLYN"
    box = page.locator("[data-testid=stSidebar] [data-testid=stMultiSelect] input").first
    box.click(force=True)
    page.keyboard.type(district)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_url("**district=BROOKLYN**")
    settle(page, "各区综合得分排名")
    want_d = db_count(db, nyc_sql + " AND district = ?", ["2014-05-01", "2019-10-01", district])
    assert wait_metric(page, "工单量", f"{want_d:,}") == f"{want_d:,}", page.url
    shared = page.url
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

    # A copied link opened elsewhere (new context: no shared session) shows the same view and numbers.
    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.set_default_timeout(120_000)
    other.goto(shared)
    settle(other, "各区综合得分排名")
    assert wait_metric(other, "工单量", f"{want_d:,}") == f"{want_d:,}"
    assert "from=2014-05" in other.url and "district=BROOKLYN" in other.url

    # Page switch keeps the district; 工单明细 lists exactly those orders.
    other.locator("[data-testid=stSidebarNav]").get_by_text("工单明细").click()
    other.wait_for_url("**/orders?**")
    settle(other, "条工单")
    assert "district=BROOKLYN" in other.url
    assert other.get_by_text(f"共 {want_d:,} 条工单").first.is_visible()
    other.screenshot(path=str(SHOTS / "orders.png"), full_page=True)
    other.context.close()
    page.close()
    assert time.time() - started < 180
