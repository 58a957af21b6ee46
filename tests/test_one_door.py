"""The code's hallway, checked by reading the code: pages, ui/ and dashboard.py hold no SQL (every read is a
named analytics function run through ui.data), and etl/ and analytics/ do not import each other (both use
core/ below them)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# SQL keywords as this code base writes them (upper case), or a canonical table after FROM / JOIN.
SQL = re.compile(r"\b(SELECT\b.+\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|VIEW)|"
                 r"DROP\s+(TABLE|VIEW)|ATTACH\s|WHERE\s.*(=|\?|IN\b|IS\b)|(?i:(FROM|JOIN)\s+(work_orders|"
                 r"order_tokens|cases|case_events|dept_ratings|dept_duties|areas|loads|quarantine)\b))", re.S)


def _files(*parts: str) -> list[Path]:
    out = []
    for part in parts:
        p = ROOT / part
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    return out


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants, with f-strings joined from their literal parts."""
    out = []
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            out.append((node.lineno, "".join(v.value if isinstance(v, ast.Constant) else " x " for v in node.values)))
    return out


def test_no_sql_outside_analytics_and_etl():
    found = []
    for path in _files("pages", "ui", "dashboard.py"):
        for line, text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if SQL.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}")
    assert not found, "SQL belongs in analytics/ (a named read run through ui.data):\n" + "\n".join(found)


def test_the_sql_detector_sees_sql():
    tree = ast.parse('q = f"SELECT a FROM work_orders WHERE {w}"\nx = "count(*) FROM loads"\nok = "选择 SELECT 一项"')
    assert [bool(SQL.search(t)) for _, t in _strings(tree)] == [True, True, False]


def test_pages_read_only_through_ui_data():
    """Pages do not open connections or run queries themselves."""
    found = []
    for path in _files("pages", "dashboard.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("duckdb", "etl.store", "analytics.db") or \
                    isinstance(node, ast.Import) and any(a.name == "duckdb" for a in node.names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in ("connection", "sql", "orders") and \
                    isinstance(node.value, ast.Name) and node.value.id == "data":
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: data.{node.attr}")
    assert not found, "pages read through ui.data.read(named_function, filters, ...):\n" + "\n".join(found)


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.append((node.lineno, node.module))
    return out


def _top(module: str) -> str:
    return module.split(".")[0]


def test_etl_and_analytics_do_not_import_each_other():
    """etl/ and analytics/ meet only in core/, which imports neither (nor Streamlit nor ui/)."""
    rules = {"etl": {"analytics", "ui", "pages", "dashboard", "streamlit"},
             "analytics": {"etl", "ui", "pages", "dashboard", "streamlit"},
             "core": {"etl", "analytics", "ui", "pages", "dashboard", "streamlit"}}
    found = []
    for package, forbidden in rules.items():
        for path in _files(package):
            found += [f"{path.relative_to(ROOT)}:{line}: imports {name}"
                      for line, name in _imports(path) if _top(name) in forbidden]
    assert not found, "\n".join(found)


def test_one_segmentation():
    """Segmentation (rjieba) is used in core/segment.py only; everyone else calls it."""
    users = [str(p.relative_to(ROOT)) for p in _files("etl", "analytics", "core", "ui", "pages", "dashboard.py")
             if any(_top(name) in ("rjieba", "jieba") for _, name in _imports(p))]
    assert users == ["core/segment.py"]
