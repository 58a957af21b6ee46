"""A login survives a reload and a new tab (the signed cookie of access.remember) and ends with 退出登录, in
real Chromium against a running server with users."""
from __future__ import annotations

import pytest

from access import users
from etl.demo import build_demo
from tests.browser.test_browser import browser, settle, streamlit_app  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_login_survives_reload_until_logout(tmp_path, monkeypatch, browser):  # noqa: F811
    monkeypatch.setenv("WHISTLE_BCRYPT_ROUNDS", "4")
    db = tmp_path / "hotline.duckdb"
    build_demo(db, orders=3_000, seed=3)
    users.add("zhang", "password-1", "领导")
    with streamlit_app(db) as base:   # inherits WHISTLE_CONFIG_DIR: the same users file
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(base)
        settle(page, "哨声 · 登录")
        page.get_by_label("用户名").fill("zhang")
        page.get_by_label("密码").fill("password-1")
        page.get_by_role("button", name="登录").click()
        settle(page, "当前用户：zhang")
        cookie = next(c for c in context.cookies() if c["name"] == "whistle_login")
        assert cookie["sameSite"] == "Strict" and cookie["expires"] > 0

        page.reload()
        settle(page, "当前用户：zhang")
        other = context.new_page()
        other.goto(f"{base}/streets")
        settle(other, "当前用户：zhang")
        assert not other.get_by_text("哨声 · 登录").count()
        other.close()

        page.get_by_role("button", name="退出登录").click()
        settle(page, "哨声 · 登录")
        page.reload()
        settle(page, "哨声 · 登录")
        assert not page.get_by_text("当前用户：zhang").count()
        assert not [c for c in context.cookies() if c["name"] == "whistle_login"]
        context.close()
