"""Accounts of the review web application: reviewers and coordinators, their passwords and sessions.

Passwords are kept as salted scrypt hashes (``scrypt$n$r$p$salt$hash``); a session is a random
token whose SHA-256 is stored, so a copy of the store does not hand out live sessions, and
signing out deletes it. The tables come from the store's migrations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass

from .errors import InputError, StoreError
from .profile import Profile
from .store import Store

__all__ = ["User", "ROLES", "ROLE_NAMES", "add_user", "list_users", "get_user", "authenticate", "count_users",
           "hash_password", "verify_password", "start_session", "session_of", "end_session", "PASSWORD_MIN"]

ROLES = ("reviewer", "coordinator")
ROLE_NAMES = {"reviewer": "复核人员", "coordinator": "协调人员"}
PASSWORD_MIN = 8
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
# Printable names without spaces, slashes or markup characters: they appear in pages and tables.
_NAME = re.compile(r"^[^\s<>&\"'/\\]{1,40}$")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    divisions: tuple[str, ...]  # division keys a reviewer is limited to; empty means all
    created: str = ""

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"

    def may_see(self, division: str | None) -> bool:
        """A coordinator, or a reviewer without limits, sees everything; others only their divisions."""
        return self.is_coordinator or not self.divisions or division in self.divisions


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                                   p=int(p), dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


# Spent on unknown names so that a sign-in takes as long whether or not the name exists.
_DUMMY = hash_password(secrets.token_hex(8))


def _user(row) -> User:
    name, role, divisions, created = row
    return User(name, role, tuple(json.loads(divisions)), created)


def add_user(store: Store, profile: Profile, name: str, *, role: str, password: str,
             divisions: list[str] | tuple[str, ...] = ()) -> User:
    """Create an account; divisions are given by key or Chinese name and stored as keys."""
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(f"账户名“{name}”不可用：请用 1 至 40 个字符，不含空格、引号、斜杠和 < > &")
    if role not in ROLES:
        raise InputError(f"角色“{role}”无效：请用 reviewer（复核人员）或 coordinator（协调人员）")
    if len(password) < PASSWORD_MIN:
        raise InputError(f"密码太短：至少 {PASSWORD_MIN} 个字符")
    keys = []
    for label in divisions:
        key = profile.division_key(label)
        if key is None:
            known = "、".join(d.name for d in profile.divisions)
            raise InputError(f"处室“{label}”不在配置中：请用 {known} 之一")
        keys.append(key)
    user = User(name, role, tuple(dict.fromkeys(keys)), _now().isoformat(timespec="seconds"))
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise StoreError(f"{store.path}：账户“{name}”已存在，请换一个名字")
        db.execute("INSERT INTO users (name, role, divisions, password, created) VALUES (?, ?, ?, ?, ?)",
                   (name, role, json.dumps(list(user.divisions)), hash_password(password), user.created))
    return user


def list_users(store: Store) -> list[User]:
    rows = store.db.execute("SELECT name, role, divisions, created FROM users ORDER BY name").fetchall()
    return [_user(row) for row in rows]


def count_users(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def get_user(store: Store, name: str) -> User | None:
    row = store.db.execute("SELECT name, role, divisions, created FROM users WHERE name = ?", (name,)).fetchone()
    return _user(row) if row else None


def authenticate(store: Store, name: str, password: str) -> User | None:
    row = store.db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        verify_password(_DUMMY, password)
        return None
    return get_user(store, name) if verify_password(row[0], password) else None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(store: Store, user: User, *, hours: float = 12) -> tuple[str, str]:
    """A new session for ``user``: (cookie token, CSRF token). Expired sessions are cleared on the way."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with store.transaction() as db:
        db.execute("DELETE FROM web_sessions WHERE expires < ?", (now.isoformat(),))
        db.execute("INSERT INTO web_sessions (token_hash, user_name, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
                   (_token_hash(token), user.name, csrf, now.isoformat(),
                    (now + dt.timedelta(hours=hours)).isoformat()))
    return token, csrf


def session_of(store: Store, token: str) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token, or None for an unknown or expired token."""
    if not token:
        return None
    row = store.db.execute(
        "SELECT u.name, u.role, u.divisions, u.created, s.csrf FROM web_sessions s JOIN users u ON u.name = s.user_name "
        "WHERE s.token_hash = ? AND s.expires > ?", (_token_hash(token), _now().isoformat())).fetchone()
    if row is None:
        return None
    return _user(row[:4]), row[4]


def end_session(store: Store, token: str) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM web_sessions WHERE token_hash = ?", (_token_hash(token),))
