"""The signed token behind "remember this login": a reload, a new tab or a shared link opens the dashboard
without asking for the password again until the token expires.

The token names the user and its expiry and is signed (HMAC-SHA256) with a key of its own in the config
folder (never the data folder). The signature also covers the user's current password hash, so resetting a
password ends every remembered login of that user; a disabled user is refused because the user is re-read.
"""
from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime, timedelta
from hashlib import sha256

from access import users
from access.users import User
from core.store import secret_file

COOKIE = "whistle_login"
KEY_FILE = "login.key"


def _signature(name: str, expires: int, password_hash: str) -> str:
    message = f"{name}\n{expires}\n{password_hash}".encode()
    return hmac.new(secret_file(KEY_FILE).encode(), message, sha256).hexdigest()


def issue(user: User, days: int, now: datetime | None = None) -> str:
    """A token for `user` valid for `days` (only [A-Za-z0-9._=-]: safe in a cookie and in a script literal)."""
    expires = int(((now or datetime.now()) + timedelta(days=days)).timestamp())
    record = users.all_users().get(user.name) or {}
    name = base64.urlsafe_b64encode(user.name.encode()).decode()
    return f"{name}.{expires}.{_signature(user.name, expires, record.get('password') or '')}"


def verify(token: str | None, now: datetime | None = None) -> User | None:
    """The enabled user a valid, unexpired token names; None for anything else."""
    try:
        encoded, expires_text, signature = (token or "").split(".")
        name = base64.urlsafe_b64decode(encoded.encode()).decode()
        expires = int(expires_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if expires < (now or datetime.now()).timestamp():
        return None
    record = users.all_users().get(name)
    if record is None or not hmac.compare_digest(signature, _signature(name, expires, record.get("password") or "")):
        return None
    return users.get(name)
