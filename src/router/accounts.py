"""Accounts of the review web application: reviewers and coordinators, their passwords and sessions.

Passwords are kept as salted scrypt hashes (``scrypt$n$r$p$salt$hash``); a session is a random
token whose SHA-256 is stored, so a copy of the store does not hand out live sessions, and
signing out deletes it. The tables come from the store's migrations; the SQL is in :mod:`router.store.collab`.
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
from .store import collab as sql

__all__ = ["User", "ROLES", "ROLE_NAMES", "add_user", "list_users", "get_user", "authenticate", "count_users",
           "hash_password", "verify_password", "start_session", "session_of", "end_session", "PASSWORD_MIN",
           "change_password", "set_disabled", "reviewers_of"]

ROLES = ("reviewer", "coordinator")
# One word for each role in every page and command.
ROLE_NAMES = {"reviewer": "复核人", "coordinator": "统筹人"}
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
    disabled: str = ""  # when the account was disabled ('' while it is enabled)

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
    name, role, divisions, created, disabled = row
    return User(name, role, tuple(json.loads(divisions)), created, disabled or "")


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InputError(f"密码太短：至少 {PASSWORD_MIN} 个字符")


def add_user(store: Store, profile: Profile, name: str, *, role: str, password: str,
             divisions: list[str] | tuple[str, ...] = ()) -> User:
    """Create an account; divisions are given by key or Chinese name and stored as keys."""
    name = name.strip()
    if not _NAME.match(name):
        raise InputError(f"账户名“{name}”不可用：请用 1 至 40 个字符，不含空格、引号、斜杠和 < > &")
    if role not in ROLES:
        raise InputError(f"角色“{role}”无效：请用 reviewer（{ROLE_NAMES['reviewer']}）或 coordinator（{ROLE_NAMES['coordinator']}）")
    _check_password(password)
    keys = []
    for label in divisions:
        key = profile.division_key(label)
        if key is None:
            known = "、".join(d.name for d in profile.divisions)
            raise InputError(f"处室“{label}”不在配置中：请用 {known} 之一")
        keys.append(key)
    user = User(name, role, tuple(dict.fromkeys(keys)), _now().isoformat(timespec="seconds"))
    with store.transaction() as db:
        if not sql.insert_user(db, name, role, list(user.divisions), hash_password(password), user.created):
            raise StoreError(f"{store.path}：账户“{name}”已存在，请换一个名字")
    return user


def list_users(store: Store) -> list[User]:
    return [_user(row) for row in sql.user_rows(store)]


def reviewers_of(users: list[User], division: str) -> list[User]:
    """The enabled reviewers whose own divisions include ``division`` (reviewers limited to it)."""
    return [u for u in users if not u.disabled and u.role == "reviewer" and division in u.divisions]


def count_users(store: Store) -> int:
    return sql.count_users(store)


def get_user(store: Store, name: str) -> User | None:
    row = sql.user_row(store, name)
    return _user(row) if row else None


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The account when the password is right and the account is enabled, else None (same time either way)."""
    row = sql.user_password(store, name)
    if row is None:
        verify_password(_DUMMY, password)
        return None
    if not verify_password(row[0], password) or row[1]:
        return None
    return get_user(store, name)


def change_password(store: Store, user: User, old: str, new: str, repeated: str, *, keep_session: str = "") -> None:
    """A user's own new password; every other session of the account ends."""
    row = sql.user_password(store, user.name)
    if row is None or not verify_password(row[0], old):
        raise InputError("原密码不正确，密码未修改")
    if new != repeated:
        raise InputError("两次输入的新密码不一致，密码未修改")
    _check_password(new)
    with store.transaction() as db:
        sql.set_password(db, user.name, hash_password(new))
        sql.delete_sessions_of(db, user.name, keep=_token_hash(keep_session) if keep_session else "")


def set_disabled(store: Store, name: str, disabled: bool, *, by: User) -> User:
    """Disable (sessions end at once) or enable an account; a coordinator never disables themself."""
    found = get_user(store, name)
    if found is None:
        raise InputError(f"没有账户“{name}”")
    if disabled and found.name == by.name:
        raise InputError("不能停用自己的账户")
    with store.transaction() as db:
        sql.set_disabled(db, name, _now().isoformat(timespec="seconds") if disabled else "")
        if disabled:
            sql.delete_sessions_of(db, name)
    return get_user(store, name)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start_session(store: Store, user: User, *, hours: float = 12) -> tuple[str, str]:
    """A new session for ``user``: (cookie token, CSRF token). Expired sessions are cleared on the way."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with store.transaction() as db:
        sql.insert_session(db, _token_hash(token), user.name, csrf, now.isoformat(),
                           (now + dt.timedelta(hours=hours)).isoformat())
    return token, csrf


def session_of(store: Store, token: str) -> tuple[User, str] | None:
    """The signed-in user and the session's CSRF token, or None for an unknown or expired token
    or a disabled account."""
    if not token:
        return None
    row = sql.session_row(store, _token_hash(token), _now().isoformat())
    if row is None:
        return None
    return _user(row[:5]), row[5]


def end_session(store: Store, token: str) -> None:
    with store.transaction() as db:
        sql.delete_session(db, _token_hash(token))
