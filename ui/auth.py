"""Login and rights on screen. With no users (a fresh install) the dashboard is single-user: no login, local
connections only. Once `python -m access add` has created a user, every page needs a login: a password
form (bcrypt hashes in the users file), or the identity provider configured in .streamlit/secrets.toml
([auth], Streamlit's OIDC login) for users registered with --email."""
from __future__ import annotations

import streamlit as st

from access import remember, users
from access.users import AccessError, User
from analytics.filters import Scope
from ui.safe import md

KEY = "auth_user"
VIA = "auth_via"
COOKIE_SET = "auth_cookie_set"
LOGGED_OUT = "auth_logged_out"   # this session's request still carries the old cookie: never trust it again
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:   # no secrets.toml at all
        return False


def current() -> User | None:
    """The user this session acts as: the local operator in single-user mode, the logged-in user (re-read
    from the users file, so a disabled user is out at the next rerun), else None."""
    if not users.any_users():
        return users.LOCAL_OPERATOR
    name = st.session_state.get(KEY)
    if name and st.session_state.get(VIA) == "oidc":
        user = users.by_email(_oidc_email())
        return user if user and user.name == name else None
    return users.get(name) if name else None


def scope() -> Scope:
    """The area the current session may see; a session without a user reads nothing."""
    user = current()
    if user is None:
        st.stop()
    return user.scope


def _oidc_email() -> str | None:
    try:
        return st.user.get("email") if st.user.is_logged_in else None
    except Exception:
        return None


def gate() -> User:
    """Called first by the entry on every run: returns the user, or shows the login and stops the run."""
    if not users.any_users():
        _single_user()
        return users.LOCAL_OPERATOR
    if _oidc_configured() and st.session_state.get(KEY) is None:
        user = users.by_email(_oidc_email())
        if user:
            st.session_state[KEY], st.session_state[VIA] = user.name, "oidc"
    if st.session_state.get(KEY) is None and not st.session_state.get(LOGGED_OUT):
        user = remember.verify(st.context.cookies.get(remember.COOKIE))
        if user:
            st.session_state[KEY], st.session_state[VIA] = user.name, "cookie"
    user = current()
    if user is None:
        st.session_state.pop(KEY, None)
        if st.session_state.get(LOGGED_OUT):
            _cookie("", 0)   # idempotent, so rendering it on every run of the login page is harmless
        _login()
        st.stop()
    token = st.session_state.pop(COOKIE_SET, None)
    if token:
        _cookie(token, _security().remember_days * 86400)
    with st.sidebar:
        st.caption(f"当前用户：{md(user.name)}（{user.role} · {md(user.scope.describe())}）")
        st.button("退出登录", on_click=_logout, key="auth_logout", icon=":material/logout:")
    return user


def _single_user() -> None:
    # run.sh binds a user-less server to 127.0.0.1; a server started otherwise still turns remote clients away
    # (ip_address is None for loopback clients).
    remote = st.context.ip_address
    if st.get_option("server.address") not in LOCAL_HOSTS and isinstance(remote, str) and remote:
        st.error("尚未创建任何用户，看板处于单用户模式，只允许在运行它的这台电脑上访问。"
                 "请在服务器上运行 `python -m access add 用户名 --role 管理员` 创建用户后再从其他电脑访问。")
        st.stop()
    st.sidebar.info("单用户模式：尚未创建用户，看板只在本机（127.0.0.1）可访问，所有功能可用。"
                    "创建用户后需登录，并可供其他电脑访问：`python -m access add 用户名 --role 管理员`",
                    icon=":material/person:")


def _login() -> None:
    st.title("哨声 · 登录")
    if _oidc_configured():
        email = _oidc_email()
        if email:
            st.error(f"统一身份认证账号 {md(email)} 尚未开通本看板的权限，请联系管理员添加（`python -m access add --email`）。")
            st.button("退出统一身份认证", on_click=st.logout, key="auth_oidc_logout")
        else:
            st.button("使用统一身份认证登录", on_click=st.login, type="primary", key="auth_oidc",
                      icon=":material/badge:")
        st.caption("或使用用户名和密码登录：")
    with st.form("auth_form"):
        name = st.text_input("用户名", key="auth_name")
        password = st.text_input("密码", type="password", key="auth_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            user = users.authenticate(name.strip(), password, _security())
        except AccessError as e:
            st.error(str(e))
            return
        st.session_state[KEY], st.session_state[VIA] = user.name, "password"
        days = _security().remember_days
        if days > 0:
            st.session_state[COOKIE_SET] = remember.issue(user, days)
        st.rerun()


def _cookie(token: str, seconds: int) -> None:
    """Set (or, with seconds = 0, clear) the remembered-login cookie in the browser. The token holds only
    [A-Za-z0-9._=-] (access.remember), so it is safe inside the script literal."""
    st.sidebar.html(
        f"<script>document.cookie = '{remember.COOKIE}={token}; Max-Age={int(seconds)}; Path=/; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>", unsafe_allow_javascript=True)


def _security():
    from ui import data   # ui.data reads the scope from here: imported when used, not at import time

    return data.settings().security


def _logout() -> None:
    via = st.session_state.pop(VIA, None)
    st.session_state[LOGGED_OUT] = True
    st.session_state.pop(KEY, None)
    st.session_state.pop("auth_password", None)
    if via == "oidc":
        st.logout()


def may_open(url_path: str, user: User) -> bool:
    """Whether the page at `url_path` is in this user's navigation (the import only for uploaders)."""
    return url_path != "import" or user.can_upload


def require_upload() -> User:
    """The import page's own guard, for a session that reaches it anyway."""
    user = current()
    if user is None or not user.can_upload:
        st.error("只有分析员和管理员可以导入数据。如需导入，请联系管理员开通分析员权限。")
        st.stop()
    return user
