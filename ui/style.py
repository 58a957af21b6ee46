"""What every page looks like beyond Streamlit's defaults: Streamlit's own words in Chinese, print rules (a page
prints as a report on A4, charts scaled to the sheet), and the app's icon served from this machine."""
from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

ICON = Path(__file__).resolve().parent / "static" / "icon.png"

# Streamlit's built-in English, as whole text nodes (exact) or patterns ("re:" prefix, Python-free JS regex).
ZH = {
    "Upload": "选择文件",
    "Browse files": "选择文件",
    "Drag and drop file here": "把文件拖到这里",
    "Drag and drop files here": "把文件拖到这里",
    "Skip to main content": "跳到正文",
    "Running...": "正在计算…",
    "Stop": "停止",
    "Rerun": "重新运行",
    "empty": "没有数据",
    "No results": "没有匹配项",
    "No options to select": "没有可选项",
    "Choose an option": "请选择",
    "Choose options": "请选择",
    "Press Enter to apply": "按回车键确认",
    "Press Enter to submit form": "按回车键提交",
    "Connecting": "正在连接",
    "Connection error": "连接中断",
    "Page not found": "页面不存在",
}
PATTERNS = [
    (r"^(\d+(?:\.\d+)?\s*[KMG]?B) per file$", "单个文件不超过 $1"),
    (r"^File must be (.+) or smaller\.$", "文件不能超过 $1"),
    (r"^(\d+) more$", "另外 $1 项"),
    (r"^View (\d+) more$", "再显示 $1 项"),
    (r"^View less$", "收起"),
    (r"^The page that you have requested does not seem to exist\..*$", "您打开的页面不存在。"),
]

CSS = """
<style>
@page { size: A4 portrait; margin: 10mm; }
@media print {
  html { font-size: 12px; }   /* 9 pt body text; headings scale from it */
  [data-testid="stMain"] :is(p, span, div, li, td, th, small, label, code) { font-size: max(12px, 1em) !important; }
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"], header,
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"], [data-testid="stSkipToContent"],
  [data-testid="stElementToolbar"], [data-testid="stDownloadButton"], [data-testid="stPopover"], [data-testid="stPageLink"],
  [data-testid="stButton"], [data-testid="stSelectbox"], [data-testid="stMultiSelect"], [data-testid="stSegmentedControl"],
  [data-testid="stRadio"], [data-testid="stCheckbox"], [data-testid="stTextInput"], [data-testid="stNumberInput"],
  [data-testid="stSlider"], [data-testid="stToast"], .noprint, [class*="st-key-noprint"] { display: none !important; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"] { position: static !important; overflow: visible !important; }
  [data-testid="stMain"], [data-testid="stMainBlockContainer"] { padding: 0 !important; margin: 0 !important;
    max-width: 100% !important; width: 100% !important; }
  h1 { font-size: 1.8rem !important; padding: 0 0 .4rem !important; }
  h2 { font-size: 1.4rem !important; padding: .6rem 0 .2rem !important; }
  h3, h4 { font-size: 1.15rem !important; padding: .4rem 0 .2rem !important; }
  h1, h2, h3, h4 { break-after: avoid; }
  [data-testid="stTable"], .stPlotlyChart, [data-testid="stMetric"] { break-inside: avoid; }
  [data-testid="stTable"] table { font-size: 1rem; }
  [data-testid="stTable"] th, [data-testid="stTable"] td { padding: .15rem .4rem !important; }
  [data-testid="stVerticalBlock"] { gap: .4rem !important; }
  /* Charts were drawn for the screen's width: scale each to its place on the sheet (see SCRIPT). */
  .stPlotlyChart .svg-container { width: 100% !important; height: auto !important; aspect-ratio: var(--whistle-ar); }
  .stPlotlyChart .main-svg { width: 100% !important; height: 100% !important; }
  .stPlotlyChart, .stPlotlyChart > div, .stPlotlyChart .js-plotly-plot, .stPlotlyChart .plot-container {
    width: 100% !important; height: auto !important; }
}
</style>
"""

SCRIPT = """
<script>
(() => {
  if (window.__whistle) return;
  window.__whistle = true;
  const exact = new Map(Object.entries(%(zh)s));
  const patterns = %(patterns)s.map(([p, r]) => [new RegExp(p), r]);
  const translate = (node) => {
    const text = node.nodeValue.trim();
    if (!text || /[\\u4e00-\\u9fff]/.test(text)) return;
    let out = exact.get(text);
    if (out === undefined) {
      for (const [re, rep] of patterns) { if (re.test(text)) { out = text.replace(re, rep); break; } }
    }
    if (out !== undefined) node.nodeValue = node.nodeValue.replace(text, out);
  };
  const scale = (svg) => {
    // A chart keeps its screen size on screen; in print it scales to the sheet's width (CSS uses these).
    const w = svg.getAttribute("width"), h = svg.getAttribute("height");
    if (!w || !h) return;
    if (svg.getAttribute("viewBox") !== `0 0 ${w} ${h}`) svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    const box = svg.closest(".svg-container");
    if (box) box.style.setProperty("--whistle-ar", `${w} / ${h}`);
  };
  const visit = (root) => {
    if (root.nodeType === Node.TEXT_NODE) { translate(root); return; }
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    if (root.matches && root.matches("svg.main-svg")) scale(root);
    root.querySelectorAll && root.querySelectorAll("svg.main-svg").forEach(scale);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) translate(n);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "characterData") translate(r.target);
      else if (r.type === "attributes") { if (r.target.matches("svg.main-svg")) scale(r.target); }
      else r.addedNodes.forEach(visit);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true,
                              attributeFilter: ["width", "height"] });
  visit(document.body);
})();
</script>
"""


def apply() -> None:
    """Print rules (style-only HTML goes to Streamlit's event container: always mounted, no room taken) and the
    translator for Streamlit's own English (placed in the sidebar, where it takes no room)."""
    css, script = static_html()
    st.html(css)
    st.sidebar.html(script, unsafe_allow_javascript=True)


def static_html() -> tuple[str, str]:
    """The two fixed HTML bodies `apply` renders (no data in them)."""
    return CSS, SCRIPT % {"zh": json.dumps(ZH, ensure_ascii=False), "patterns": json.dumps(PATTERNS)}
