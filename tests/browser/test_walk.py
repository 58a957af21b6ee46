"""A walk through every page in real Chromium, each opened first by its own URL on a freshly started server:
no crash, no request leaving the machine, no English or raw identifier on screen (tabs, expanders and 口径
popovers opened), one number format per kind, no clipped button, no chart labels covering each other (the district
map's 西城 and 东城), and a Chinese page for an unknown address."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest

from dashboard import PAGES
from etl.demo import build_demo
from tests.browser.test_browser import browser, settle, streamlit_app  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

# Words a Chinese user reads as they are: file formats and encodings named on buttons and in the import page.
ALLOWED = {"CSV", "Excel", "PNG", "HTML", "TSV", "XLSX", "XLSM", "XLS", "TXT", "UTF", "GBK", "GB18030", "BOM",
           "MB", "JSON", "z", "Ctrl", "P", "A4", "—"}
RAW = [r"\.duckdb", r"\bwork_orders\b", r"settings\.toml", r"\bquarantine\b", r"\border_id\b", r"_line\b",
       r"\b[0-9a-f]{12,}\b", r"\bdemo\b", r"\bok\b", r"\bNone\b", r"\bnan\b", r"\bnull\b"]
NUMBERS = [
    (r"\d\.\d{3,}", "more than two decimals"),
    (r"\d\.\d{2,}%", "a percentage with more than one decimal"),
    (r"\b\d+(\.\d+)?[kKMG]\b", "an SI suffix instead of thousands separators"),
    (r"(?<![A-Za-z0-9,.\-/年:])(?!(?:19|20)\d\d(?:[年\-/]|$))\d{4,}(?![\d年月日\-/:])", "a count without thousands separators"),
]

VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.nodeValue.trim();
    const el = n.parentElement;
    if (!text || !el) continue;
    // code: a command or file name the user types as it is (python -m access add, settings.toml)
    if (el.closest('[data-testid=stIconMaterial], script, style, noscript, code, .modebar-container, [data-testid=stStatusWidget]')) continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    if (getComputedStyle(el).fontFamily.includes('Material Symbols')) continue;   // an icon drawn from its name
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    out.push(text);
  }
  return out;
}"""

CLIPPED = """() => [...document.querySelectorAll('button, [data-testid=stPageLink] a')]
  .filter(b => b.checkVisibility() && b.getBoundingClientRect().width > 0)
  .flatMap(b => [...b.querySelectorAll('p, span')].filter(t => !t.closest('[data-testid=stIconMaterial]'))
      .filter(t => t.scrollWidth > t.clientWidth + 1 && t.clientWidth > 0)
      .map(t => b.innerText.trim() || b.getAttribute('aria-label')))"""


# Text labels drawn on a chart's points (district names on the map, scores beside dots) that cover each other.
OVERLAPS = """() => [...document.querySelectorAll('[data-testid=stMain] .stPlotlyChart')].flatMap(chart => {
  const boxes = [...chart.querySelectorAll('g.textpoint text')].filter(t => t.textContent.trim())
    .map(t => [t.textContent.trim(), t.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
  const hits = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [a, r] = boxes[i], [b, q] = boxes[j];
    const w = Math.min(r.right, q.right) - Math.max(r.left, q.left), h = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
    if (w > 1 && h > 1) hits.push(`${a} / ${b}`);
  }
  return hits;
})"""


@pytest.fixture(scope="module")
def walk_app(tmp_path_factory):
    db = tmp_path_factory.mktemp("walk") / "hotline.duckdb"
    build_demo(db, orders=20_000, seed=7)
    with streamlit_app(db) as base:
        yield base


def problems(texts: list[str]) -> list[str]:
    found = []
    for text in texts:
        for word in re.findall(r"[A-Za-z][A-Za-z0-9_]*", text):
            if word not in ALLOWED and not re.fullmatch(r"[A-Z]", word):
                found.append(f"English '{word}' in “{text[:80]}”")
        for pattern in RAW:
            if re.search(pattern, text):
                found.append(f"raw identifier /{pattern}/ in “{text[:80]}”")
        for pattern, what in NUMBERS:
            if re.search(pattern, text):
                found.append(f"{what} in “{text[:80]}”")
    return sorted(set(found))


def open_everything(page) -> list[str]:
    """Visible text with every tab, expander and 口径 popover opened in turn."""
    texts = page.evaluate(VISIBLE_TEXT)
    for tab in page.locator("[data-testid=stMain] [role=tab]").all():
        tab.click()
        page.wait_for_timeout(150)
        texts += page.evaluate(VISIBLE_TEXT)
        for expander in page.locator("[data-testid=stMain] [data-testid=stExpander] summary").all():
            if expander.is_visible():
                expander.click()
        texts += page.evaluate(VISIBLE_TEXT)
    for expander in page.locator("[data-testid=stExpander] summary").all():
        if expander.is_visible():
            expander.click()
            page.wait_for_timeout(100)
    texts += page.evaluate(VISIBLE_TEXT)
    for popover in page.locator("[data-testid=stPopover] button").all():
        if popover.is_visible():
            popover.click()
            page.wait_for_timeout(150)
            texts += page.evaluate(VISIBLE_TEXT)
            page.keyboard.press("Escape")
    return texts


WALK = [p[4] for p in PAGES if p[4] != "overview"] + ["", "overview"]


def test_walk_every_page(walk_app, browser):  # noqa: F811
    """Pages are opened by URL, the first of them before anything else touched the server."""
    seen: dict[str, list[str]] = {}
    for url in WALK:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(120_000)
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url) if urlsplit(r.url).hostname != "127.0.0.1" else None)
        started = time.time()
        page.goto(f"{walk_app}/{url}")
        title = next(p[2] for p in PAGES if p[4] == (url or "overview"))
        page.locator("h1").filter(has_text=title).first.wait_for()
        settle(page)
        assert not page.get_by_text("页面不存在").count(), f"/{url} shows the not-found page"
        # the icon font is served by the dashboard itself (requests elsewhere are caught below); it may still be loading
        assert page.evaluate("document.fonts.load('24px \"Material Symbols Rounded\"').then(faces => faces.length > 0)")
        texts = open_everything(page)
        clipped = page.evaluate(CLIPPED)
        overlapping = page.evaluate(OVERLAPS)
        exceptions = page.locator("[data-testid=stException]").all_inner_texts()
        assert not exceptions, (url, exceptions)
        print(f"/{url}: {time.time() - started:.1f} s")
        seen[url] = problems(texts) + [f"clipped control “{c}”" for c in clipped] + [
            f"overlapping chart labels {o}" for o in overlapping] + [
            f"request to {u}" for u in sorted(set(outside))]
        context.close()
    bad = {f"/{url}": found for url, found in seen.items() if found}
    assert not bad, "\n".join(f"{url}: {found}" for url, found in bad.items())


def test_unknown_address_shows_a_chinese_page(walk_app, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.set_default_timeout(120_000)
    page.goto(f"{walk_app}/no-such-page")
    settle(page, "页面不存在")
    texts = page.evaluate(VISIBLE_TEXT)
    assert not [t for t in texts if "not found" in t.lower()], texts
    assert not problems(texts), problems(texts)
    # Streamlit's own notice (now in Chinese) may open as a modal over the page; the user closes it
    if page.locator("[role=dialog]").count():
        page.keyboard.press("Escape")
        page.locator("[role=dialog]").wait_for(state="detached")
    page.get_by_text("回到总览").click()
    settle(page, "各区综合得分排名")
    page.close()
