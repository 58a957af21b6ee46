"""Users, roles and passwords, kept in <config dir>/users.json (WHISTLE_CONFIG_DIR, default
~/.config/whistle: outside the data folder, mode 0600). Passwords are stored as bcrypt hashes (salted).

No users at all means single-user mode: the dashboard runs without login, bound to 127.0.0.1.
"""
from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt

from analytics.filters import Scope
from analytics.settings import Security
from core.store import config_dir

ROLES = ("领导", "分析员", "党建", "管理员")
UPLOAD_ROLES = ("分析员", "管理员")
ADMIN_ROLES = ("管理员",)
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72   # bcrypt ignores anything longer, so longer passwords are refused, not truncated
SINGLE_USER = "本机用户"


class AccessError(Exception):
    """A refused login or user change; the message is Chinese and says what to do."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    scope: Scope = field(default_factory=Scope)
    email: str | None = None
    single_user: bool = False   # no users exist: the local operator, with every right

    @property
    def can_upload(self) -> bool:
        return self.role in UPLOAD_ROLES

    @property
    def can_manage_users(self) -> bool:
        return self.role in ADMIN_ROLES


LOCAL_OPERATOR = User(SINGLE_USER, "管理员", Scope(), single_user=True)


def users_path() -> Path:
    return config_dir() / "users.json"


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("users", {})
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise AccessError(f"用户文件 {path} 已损坏（{e}），请从备份恢复或删除后重新添加用户。") from None


@contextmanager
def _editing() -> Iterator[dict[str, dict[str, Any]]]:
    """The users, locked against other writers, written back atomically (mode 0600) when the block ends."""
    path = users_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users = _read(path)
        try:
            yield users
        finally:   # a refused login still records its failure
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"users": users}, f, ensure_ascii=False, indent=1)
            os.replace(tmp, path)


def all_users() -> dict[str, dict[str, Any]]:
    """Every user record (password hashes included; never show them)."""
    return _read(users_path())


def any_users() -> bool:
    """Whether logins are required (a disabled user still counts: disabling everyone must not open the app)."""
    return bool(all_users())


def _user(name: str, rec: dict[str, Any]) -> User:
    return User(name, rec["role"], Scope(rec.get("district"), rec.get("street")), rec.get("email"))


def get(name: str) -> User | None:
    """The enabled user of that name, or None."""
    rec = all_users().get(name)
    return _user(name, rec) if rec and not rec.get("disabled") else None


def by_email(email: str | None) -> User | None:
    """The enabled user an identity provider's e-mail belongs to (OIDC login), or None."""
    if not email:
        return None
    for name, rec in all_users().items():
        if (rec.get("email") or "").lower() == email.lower() and not rec.get("disabled"):
            return _user(name, rec)
    return None


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"密码至少 {MIN_PASSWORD} 个字符。")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AccessError(f"密码不能超过 {MAX_PASSWORD_BYTES} 字节（约 24 个汉字或 72 个英文字符）。")
    rounds = int(os.environ.get("WHISTLE_BCRYPT_ROUNDS", "12"))
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def _check_role_scope(role: str, district: str | None, street: str | None) -> None:
    if role not in ROLES:
        raise AccessError(f"角色“{role}”不存在；可用的角色：{'、'.join(ROLES)}。")
    if street and not district:
        raise AccessError("按街乡限定范围时也要指定所属的区，例如 --district 朝阳区 --street 三里屯街道。")


def add(name: str, password: str | None, role: str, district: str | None = None, street: str | None = None,
        email: str | None = None) -> User:
    """A new user. Without a password the user can only log in through the identity provider (email)."""
    name = name.strip()
    if not name:
        raise AccessError("用户名不能为空。")
    _check_role_scope(role, district, street)
    if not password and not email:
        raise AccessError("请设置密码，或用 --email 指定统一身份认证登录所用的邮箱。")
    hashed = _hash(password) if password else None
    with _editing() as users:
        if name in users:
            raise AccessError(f"用户 {name} 已存在；要改密码请用 reset-password，要停用请用 disable。")
        users[name] = {"role": role, "district": district or None, "street": street or None, "email": email or None,
                       "password": hashed, "disabled": False, "failed": 0, "locked_until": None,
                       "created_at": datetime.now().isoformat(timespec="seconds")}
    return _user(name, users[name])


def _change(name: str, **values: Any) -> None:
    with _editing() as users:
        if name not in users:
            raise AccessError(f"没有用户 {name}。python -m access list 列出全部用户。")
        users[name].update(values)


def set_password(name: str, password: str) -> None:
    _change(name, password=_hash(password), failed=0, locked_until=None)


def set_disabled(name: str, disabled: bool) -> None:
    _change(name, disabled=disabled)


def unlock(name: str) -> None:
    _change(name, failed=0, locked_until=None)


def authenticate(name: str, password: str, security: Security, now: datetime | None = None) -> User:
    """The user if the password is right; else AccessError. `security.max_failed_logins` wrong passwords
    in a row lock the user out for `security.lockout_minutes`, right password or not."""
    now = now or datetime.now()
    with _editing() as users:
        rec = users.get(name)
        if rec is None or rec.get("disabled") or not rec.get("password"):
            bcrypt.checkpw(b"x", _DUMMY)   # the same time for unknown names as for wrong passwords
            raise AccessError("用户名或密码不正确。")
        locked = rec.get("locked_until")
        if locked and datetime.fromisoformat(locked) > now:
            raise AccessError(f"连续 {security.max_failed_logins} 次密码错误，账号已锁定至 "
                              f"{datetime.fromisoformat(locked):%H:%M}。请稍后再试，或请管理员解锁（python -m access unlock）。")
        if len(password.encode()) <= MAX_PASSWORD_BYTES and bcrypt.checkpw(password.encode(), rec["password"].encode()):
            rec.update(failed=0, locked_until=None, last_login=now.isoformat(timespec="seconds"))
            return _user(name, rec)
        rec["failed"] = rec.get("failed", 0) + 1
        if rec["failed"] >= security.max_failed_logins:
            rec.update(failed=0, locked_until=(now + timedelta(minutes=security.lockout_minutes)).isoformat(timespec="seconds"))
            raise AccessError(f"连续 {security.max_failed_logins} 次密码错误，账号已锁定 {security.lockout_minutes} 分钟。")
        left = security.max_failed_logins - rec["failed"]
        raise AccessError(f"用户名或密码不正确（再错 {left} 次将锁定 {security.lockout_minutes} 分钟）。")


_DUMMY = b"$2b$12$D8ntSjaEE4c4FmFKEVTYrue3NwYrK9eMP2.0FT7uvMXqw1uNJvGwm"   # a hash of nobody's password


def listing() -> list[dict[str, Any]]:
    """Every user for display: no password hashes."""
    out = []
    for name, rec in sorted(all_users().items()):
        scope = Scope(rec.get("district"), rec.get("street"))
        locked = rec.get("locked_until")
        out.append({"用户": name, "角色": rec["role"], "范围": scope.describe(), "邮箱": rec.get("email") or "",
                    "状态": "已停用" if rec.get("disabled") else ("已锁定" if locked and datetime.fromisoformat(locked) > datetime.now() else "正常"),
                    "密码登录": "是" if rec.get("password") else "否", "最近登录": rec.get("last_login") or ""})
    return out
