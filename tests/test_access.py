"""Users, roles and area scope: login, lockout, the users command, single-user mode, and a street-scoped user
who sees nothing of any other street on any page, export or command."""
from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from access import __main__ as access_cli, remember, users
from access.scope import restrict
from analytics import __main__ as analytics_cli
from analytics.filters import Scope
from analytics.settings import Security
from dashboard import PAGES
from etl.demo import build_demo
from etl.store import connect_read

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    monkeypatch.setenv("WHISTLE_BCRYPT_ROUNDS", "4")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("access") / "hotline.duckdb"
    build_demo(path, orders=60_000, seed=7)   # three years: the per-month density of a 20,000-order year
    return path


def _cli(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        import sys
        old, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            code = access_cli.main(argv)
        finally:
            sys.stdin = old
    return code, out.getvalue()


def test_users_command_and_lockout():
    assert _cli(["list"])[1].startswith("还没有用户")
    assert not users.any_users()
    code, out = _cli(["add", "张三", "--role", "领导", "--district", "朝阳", "--street", "三里屯", "--password-stdin"],
                     "correct-horse\n")
    assert code == 0, out
    user = users.get("张三")
    assert user.scope == Scope("朝阳区", "三里屯街道") and user.role == "领导" and not user.can_upload
    stored = users.users_path().read_text(encoding="utf-8")
    assert "correct-horse" not in stored and "$2b$" in stored
    assert oct(users.users_path().stat().st_mode & 0o777) == "0o600"
    assert _cli(["add", "短", "--role", "领导", "--password-stdin"], "short\n")[0] == 1
    with pytest.raises(SystemExit):   # no such role
        _cli(["add", "x", "--role", "局长", "--password-stdin"], "longenough\n")

    sec = Security(max_failed_logins=3, lockout_minutes=10)
    now = datetime(2026, 1, 1, 9, 0)
    assert users.authenticate("张三", "correct-horse", sec, now).name == "张三"
    for i in range(2):
        with pytest.raises(users.AccessError, match="用户名或密码不正确"):
            users.authenticate("张三", "wrong", sec, now)
    with pytest.raises(users.AccessError, match="已锁定"):
        users.authenticate("张三", "wrong", sec, now)
    with pytest.raises(users.AccessError, match="已锁定"):   # the right password does not help while locked
        users.authenticate("张三", "correct-horse", sec, now + timedelta(minutes=5))
    assert users.authenticate("张三", "correct-horse", sec, now + timedelta(minutes=11)).name == "张三"
    for _ in range(3):
        with pytest.raises(users.AccessError):
            users.authenticate("张三", "wrong", sec, now + timedelta(minutes=12))
    assert _cli(["unlock", "张三"])[0] == 0
    assert users.authenticate("张三", "correct-horse", sec, now + timedelta(minutes=12)).name == "张三"
    assert _cli(["reset-password", "张三", "--password-stdin"], "another-pass\n")[0] == 0
    assert users.authenticate("张三", "another-pass", sec, now).name == "张三"
    assert _cli(["disable", "张三"])[0] == 0
    assert users.get("张三") is None and users.any_users()   # a disabled user still means logins are required
    with pytest.raises(users.AccessError):
        users.authenticate("张三", "another-pass", sec, now)
    with pytest.raises(users.AccessError):
        users.authenticate("nobody", "another-pass", sec, now)
    code, out = _cli(["list"])
    assert "张三" in out and "已停用" in out and "$2b$" not in out


def test_remembered_login_token():
    user = users.add("li", "password-1", "领导")
    token = remember.issue(user, days=7)
    assert remember.verify(token).name == "li"
    assert remember.verify(token, now=datetime.now() + timedelta(days=8)) is None          # expired
    name, expires, signature = token.split(".")
    assert remember.verify(f"{name}.{int(expires) + 86400}.{signature}") is None              # a longer life
    users.add("boss", "password-1", "管理员")
    boss = remember.issue(users.get("boss"), days=7).split(".")[0]
    assert remember.verify(f"{boss}.{expires}.{signature}") is None                           # another user
    assert remember.verify("not a token") is None and remember.verify(None) is None
    users.set_password("li", "password-2")
    assert remember.verify(token) is None                                                    # reset ends it
    token = remember.issue(users.get("li"), days=7)
    users.set_disabled("li", True)
    assert remember.verify(token) is None
    assert (Path(users.users_path()).parent / remember.KEY_FILE).stat().st_mode & 0o077 == 0


def test_fresh_install_is_single_user_and_local(demo_db, monkeypatch):
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert not at.exception
    assert any("单用户模式" in e.value for e in at.sidebar.info)
    assert "数据导入" in [p[2] for p in PAGES] and at.dataframe


def _street_with_most_orders(db: Path) -> tuple[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT district, street FROM work_orders WHERE street IS NOT NULL "
                           "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchall()[0]
    finally:
        con.close()


def _others(db: Path, district: str, street: str) -> tuple[set[str], set[str]]:
    """Names of every other street with orders (not contained in the user's own street's name) and a sample of
    other streets' order ids."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = {s for (s,) in con.execute("SELECT DISTINCT street FROM work_orders WHERE street IS NOT NULL").fetchall()}
        ids = {i for (i,) in con.execute("SELECT order_id FROM work_orders WHERE street IS DISTINCT FROM ? "
                                         "ORDER BY received_at DESC LIMIT 300", [street]).fetchall()}
    finally:
        con.close()
    return {n for n in names if n != street and n not in street}, ids


def page_text(at: AppTest) -> str:
    """Everything a page shows, as text: element protos (plotly specs decoded) and dataframe cells."""
    parts = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)
        kind = getattr(node, "type", "")
        if kind in ("arrow_data_frame", "dataframe"):
            parts.append(node.value.to_csv())
        elif getattr(node, "proto", None) is not None:
            d = MessageToDict(node.proto)
            if kind == "plotly_chart" and "spec" in d:
                d["spec"] = json.loads(d["spec"])
            parts.append(json.dumps(d, ensure_ascii=False))
    walk(at._tree)
    return "\n".join(parts)


def _as(user: str, at: AppTest) -> AppTest:
    at.session_state["auth_user"] = user
    at.session_state["auth_via"] = "password"
    return at


@pytest.fixture(scope="module")
def street_user(demo_db, tmp_path_factory):
    district, street = _street_with_most_orders(demo_db)
    return district, street, _others(demo_db, district, street)


@pytest.mark.parametrize("page", [p[1] for p in PAGES if p[4] != "import"], ids=[p[4] for p in PAGES if p[4] != "import"])
def test_street_user_sees_no_other_street(demo_db, street_user, monkeypatch, page):
    district, street, (other_names, other_ids) = street_user
    users.add("jiedao", "password-1", "党建", district, street)
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = _as("jiedao", AppTest.from_file(DASHBOARD, default_timeout=180)).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    text = page_text(at)
    assert street in text, f"{page} does not show the user's own street"
    assert sorted(n for n in other_names if n in text) == [], page
    assert sorted(i for i in other_ids if i in text) == [], page
    for frame in (e.value for e in at.dataframe):
        for col in ("street", "街道", "街乡", "街道/乡镇"):
            if col in frame.columns:
                assert set(frame[col].dropna()) <= {street}, (page, col)


def test_without_login_nothing_is_shown(demo_db, monkeypatch):
    users.add("admin", "password-1", "管理员")
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = AppTest.from_file(DASHBOARD, default_timeout=120).run()
    assert [t.value for t in at.title] == ["哨声 · 登录"] and not at.dataframe and not at.metric
    at.text_input(key="auth_name").input("admin")
    at.text_input(key="auth_password").input("wrong-password")
    at.button[0].click().run()
    assert any("用户名或密码不正确" in e.value for e in at.error) and not at.metric
    at.text_input(key="auth_password").input("password-1")
    at.button[0].click().run()
    assert "哨声 · 登录" not in [t.value for t in at.title] and at.metric


@pytest.mark.parametrize("role, allowed", [("领导", False), ("党建", False), ("分析员", True), ("管理员", True)])
def test_only_uploaders_reach_the_import(demo_db, monkeypatch, role, allowed):
    users.add("u", "password-1", role)
    monkeypatch.setenv("HOTLINE_DB", str(demo_db))
    at = _as("u", AppTest.from_file(DASHBOARD, default_timeout=120)).run()
    if allowed:
        at.switch_page("pages/data_import.py").run()
        assert not at.exception and at.get("file_uploader")
        return
    with pytest.raises(ValueError, match="Could not find a navigation page"):   # not in the navigation
        at.switch_page("pages/data_import.py")
    # The import page's own guard, for a session that reaches its file anyway.
    guard = _as("u", AppTest.from_string(
        "import streamlit as st\nfrom ui import auth\nauth.require_upload()\nst.file_uploader('x')")).run()
    assert not guard.get("file_uploader") and any("只有分析员和管理员" in e.value for e in guard.error)


def test_scoped_connection_and_cli(demo_db):
    district, street = _street_with_most_orders(demo_db)
    con = restrict(connect_read(demo_db), Scope(district, street))
    try:
        for table in ("work_orders", "cases", "dept_ratings", "areas"):
            rows = con.execute(f"SELECT DISTINCT district, street FROM {table}").fetchall()
            assert set(rows) <= {(district, street)}, table
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM order_tokens WHERE order_id NOT IN "
                           "(SELECT order_id FROM work_orders)").fetchall() == [(0,)]
        mine = con.execute("SELECT count(*) FROM work_orders").fetchall()[0][0]
    finally:
        con.close()
    assert mine > 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert analytics_cli.main(["scores", "--by", "street", "--db", str(demo_db), "--scope", f"{district}/{street}",
                                   "--format", "csv"]) == 0
    frame = pl.read_csv(io.StringIO(out.getvalue()))
    assert set(frame["unit"]) == {street} and frame["rank"].drop_nulls().max() <= 1
    users.add("cli", "password-1", "领导", district)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert analytics_cli.main(["scores", "--by", "street", "--db", str(demo_db), "--user", "cli", "--format", "json"]) == 0
    assert {r["district"] for r in json.loads(out.getvalue())} == {district}
