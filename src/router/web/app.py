"""The Flask application behind `router serve`: configuration, sign-in, CSRF, security headers.

Every request is authenticated here before any view runs (only the sign-in page and the
package's static files are open); every POST must carry the session's CSRF token; every
response carries a Content-Security-Policy without inline script. Errors become a short
Chinese page and never a traceback.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, abort, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from .. import accounts
from ..errors import InputError, RouterError
from ..profile import Profile
from ..store import Store

__all__ = ["create_app", "LoginLimiter", "SESSION_COOKIE", "LOGIN_COOKIE"]

SESSION_COOKIE = "router_session"
LOGIN_COOKIE = "router_login_csrf"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
OPEN_ENDPOINTS = {"login", "static"}


class LoginLimiter:
    """Failed sign-ins counted per account and per client address, separately.

    ``limit`` failures of one account name within ``window`` seconds stop that account (from any
    address); ``address_limit`` failures from one address stop that address, except for accounts
    that signed in from it successfully before (colleagues behind one office address are not
    locked out by a stranger's guesses; each account keeps its own limit). Unknown names count
    against the address only.
    """

    def __init__(self, *, limit: int = 5, window: float = 900.0, address_limit: int = 30,
                 remember: float = 30 * 86400.0):
        self.limit, self.window, self.address_limit, self.remember = limit, window, address_limit, remember
        self._failures: dict[str, deque] = defaultdict(deque)
        self._known: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def _wait(self, key: str, limit: int, now: float) -> float:
        failures = self._recent(key, now)
        return self.window - (now - failures[0]) if len(failures) >= limit else 0.0

    def wait(self, name: str, address: str) -> tuple[int, str]:
        """(seconds until another attempt is allowed, 'account' or 'address'); (0, '') when allowed now."""
        now = time.monotonic()
        with self._lock:
            account = self._wait(f"name:{name}", self.limit, now)
            known = now - self._known.get((name, address), -1e18) < self.remember
            address_wait = 0.0 if known else self._wait(f"addr:{address}", self.address_limit, now)
        if account:
            return int(account) + 1, "account"
        if address_wait:
            return int(address_wait) + 1, "address"
        return 0, ""

    def failed(self, name: str | None, address: str) -> None:
        """A failure; ``name`` None for a name that is no account."""
        now = time.monotonic()
        with self._lock:
            if name is not None:
                self._recent(f"name:{name}", now).append(now)
            self._recent(f"addr:{address}", now).append(now)

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop(f"name:{name}", None)
            self._known[(name, address)] = time.monotonic()


class _Stores(threading.local):
    """One store connection per server thread (SQLite connections stay in their thread)."""

    def __init__(self, path: Path):
        self.path = path
        self.store: Store | None = None

    def get(self) -> Store:
        if self.store is None:
            self.store = Store.open(self.path)
        return self.store


def _local_target(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) is followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def create_app(store_path: str | Path, profile: Profile, *, year: int | None = None, behind_proxy: bool = False,
               allowed_hosts: set[str] | None = None, limiter: LoginLimiter | None = None,
               session_hours: float = 12) -> Flask:
    """The application over one store and one profile.

    ``year`` fixes the year under review (default: the newest routed year in the store);
    ``behind_proxy`` trusts one proxy's X-Forwarded-For/-Proto (then cookies are Secure over
    TLS); ``allowed_hosts`` refuses requests with another Host header (DNS rebinding).
    """
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(MAX_CONTENT_LENGTH=256 * 1024, TEMPLATES_AUTO_RELOAD=False, PROPAGATE_EXCEPTIONS=False,
                      TRAP_HTTP_EXCEPTIONS=False)
    app.json.ensure_ascii = False
    if behind_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    stores = _Stores(Path(store_path))
    # Held for the application's lifetime, so that no thread's later open re-reads the file
    # (see router.store._OPEN) and the store is known to be sound before the first request.
    app.extensions["router_keeper"] = Store.open(store_path)
    state = app.extensions["router"] = {
        "profile": profile, "year": year, "stores": stores, "limiter": limiter or LoginLimiter(),
        "allowed_hosts": allowed_hosts, "session_hours": session_hours,
    }
    from .collab import OrderCache

    state["order"] = OrderCache()
    app.jinja_env.globals.update(
        topic_name=lambda k: profile.topic(k).name if k else "（无）",
        division_name=lambda k: profile.division(k).name if k else "（无）",
        office_name=profile.office_name,
        role_names=accounts.ROLE_NAMES,
    )
    app.jinja_env.filters["pct"] = lambda p: f"{(p or 0):.0%}"

    def store() -> Store:
        return stores.get()

    app.extensions["router"]["store"] = store

    @app.before_request
    def authenticate():
        hosts = state["allowed_hosts"]
        if hosts is not None and request.host.rsplit(":", 1)[0].strip("[]").lower() not in hosts:
            abort(400)
        g.user, g.csrf = None, ""
        found = accounts.session_of(store(), request.cookies.get(SESSION_COOKIE, ""))
        if found:
            g.user, g.csrf = found
        if request.endpoint in OPEN_ENDPOINTS:
            return None
        if g.user is None:
            target = request.full_path.rstrip("?") if request.method == "GET" else "/"
            return redirect(url_for("login", next=target), code=303)
        if request.method == "POST" and not hmac.compare_digest(request.form.get("csrf", ""), g.csrf):
            abort(400, description="csrf")
        return None

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    def error_page(status: int, message: str):
        return render_template("error.html", status=status, message=message), status

    messages = {
        400: "请求无效。", 403: "您没有权限访问此页面。", 404: "页面不存在。", 405: "不支持此请求方式。",
        413: "提交的内容过大。", 500: "服务器内部错误，请稍后重试；如反复出现，请联系管理员查看服务日志。",
    }

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if exc.code == 400 and exc.description == "csrf":
            return error_page(400, "表单缺少有效的安全令牌（CSRF），已拒绝。请刷新页面后重新提交。")
        return error_page(exc.code or 500, messages.get(exc.code, "请求无法完成。"))

    @app.errorhandler(InputError)
    def input_error(exc):
        return error_page(400, str(exc))

    @app.errorhandler(RouterError)
    def router_error(exc):
        app.logger.error("router error: %s", exc)
        return error_page(503, "存储暂时不可用，请稍后重试。")

    @app.errorhandler(Exception)
    def unexpected(exc):
        app.logger.exception("unexpected failure")
        return error_page(500, messages[500])

    @app.route("/login", methods=["GET", "POST"])
    def login():
        target = _local_target(request.values.get("next"))
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        error, status, name = "", 200, ""
        if request.method == "POST":
            if not hmac.compare_digest(request.form.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")) \
                    or not request.cookies.get(LOGIN_COOKIE):
                abort(400, description="csrf")
            name = request.form.get("name", "").strip()[:80]
            password = request.form.get("password", "")[:1024]
            limiter, address = state["limiter"], request.remote_addr or ""
            wait, which = limiter.wait(name, address)
            if wait:
                minutes = (wait + 59) // 60
                error = (f"账户“{name}”登录失败次数过多，请 {minutes} 分钟后再试。" if which == "account"
                         else f"本机所在地址登录失败次数过多，请 {minutes} 分钟后再试；已在本机登录过的账户不受影响。")
                status = 429
            else:
                user = accounts.authenticate(store(), name, password)
                if user is None:
                    limiter.failed(name if accounts.get_user(store(), name) else None, address)
                    error, status = "用户名或密码错误。", 401
                else:
                    limiter.succeeded(name, address)
                    session_token, _ = accounts.start_session(store(), user, hours=state["session_hours"])
                    response = redirect(target, code=303)
                    response.set_cookie(SESSION_COOKIE, session_token, httponly=True, samesite="Lax",
                                        secure=request.is_secure, max_age=int(state["session_hours"] * 3600))
                    response.delete_cookie(LOGIN_COOKIE)
                    return response
        response = app.make_response((render_template("login.html", csrf=token, next=target, error=error, name=name), status))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Lax", secure=request.is_secure)
        return response

    @app.post("/logout")
    def logout():
        accounts.end_session(store(), request.cookies.get(SESSION_COOKIE, ""))
        response = redirect(url_for("login"), code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    from . import views

    views.register(app)
    return app
