"""Security wiring for the web app: secret key, CSRF, login, idle logout, cookies, headers.

Kept apart from the views so every page gets the same rules (等保 2.0 login practice,
a strict Content-Security-Policy that allows only the app's own files).
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, flash, jsonify, redirect, request, session, url_for
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFProtect

from .errors import wants_json

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"

SECRET_FILE = "secret_key"

# What an account that must change its password may still open.
PASSWORD_CHANGE_EXEMPT = frozenset(
    {"static", "healthz", "auth.change_password", "auth.logout", "auth.login", None}
)

# vis-network's standalone build (web/static/vendor/, 10.1.5) injects its own CSS as <style>
# elements; these are their SHA-256 hashes (and the empty element's), so the CSP can allow exactly
# those blocks without 'unsafe-inline'. Re-collect them when updating the vendored file: the browser
# test tests/browser/test_chain_graph.py fails on any CSP violation and prints the hash it wanted.
VIS_NETWORK_STYLE_HASHES = (
    "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    "sha256-4cgFR0//m8/eHo2G/esYsuZetUHlzCUWYM59sfgE9zY=",
    "sha256-IY7YKNHjbzQ1NfAKrBZvBZohgXMtxrqB9PaqhAaT3vg=",
    "sha256-OutIf5hnp68ctx4ThtV5J02g5HTJ5bbu/hkNfqVXWWo=",
    "sha256-QE7TOEDW7YIlMzvUUnm8boDWeNBN7PBbaaYJjnp34WI=",
    "sha256-QuPewnJYr+SnQiTnCNHFBw99ExTsz9f8w5320PimEPw=",
    "sha256-gGUn/VMBXCeWm86qX/pOf+4ZDSbe0JcaXXb4rJjw1mA=",
    "sha256-uepMTym1NwItBa/XV6ef6fQobLL0A0CNVDM5km5L+nQ=",
)
CSP = (
    "default-src 'self'; script-src 'self'; "
    f"style-src 'self' {' '.join(repr(h) for h in VIS_NETWORK_STYLE_HASHES)}; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def secret_key(cfg: dict[str, Any], folder: str) -> str:
    """LIANZHAO_SECRET_KEY (via config), else a random key kept in the instance folder.

    The file is created once with mode 0600 so sessions survive restarts; it lives in the
    instance folder, which is never committed.
    """
    configured = cfg.get("web", {}).get("secret_key")
    if configured:
        return str(configured)
    path = Path(folder) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    else:
        if len(key) < 32:  # an emptied or truncated file would make sessions forgeable
            raise RuntimeError(
                f"会话密钥文件 {path} 内容无效（少于 32 个字符），请删除该文件后重启以重新生成。"
            )
        if path.stat().st_mode & 0o077:  # copied or restored with loose permissions
            os.chmod(path, 0o600)
        return key
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key)
    return key


def idle_minutes(cfg: dict[str, Any]) -> int:
    """Idle logout after [security] idle_logout_minutes (one name; the loader refuses others)."""
    return int(cfg["security"]["idle_logout_minutes"])


def init_app(app: Flask, cfg: dict[str, Any]) -> None:
    web = cfg["web"]
    idle = idle_minutes(cfg)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(web["secure_cookies"]),
        SESSION_COOKIE_NAME="lianzhao_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=bool(web["secure_cookies"]),
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=idle),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        LIANZHAO_IDLE_SECONDS=idle * 60,
    )
    csrf.init_app(app)
    login_manager.init_app(app)

    @login_manager.unauthorized_handler
    def unauthorized():
        """Pages redirect to the login form; fetch() calls get a JSON 401 they can show."""
        if _wants_json():
            return jsonify(ok=False, error="登录已失效，请刷新页面后重新登录。"), 401
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))

    @app.before_request
    def idle_logout():
        """Log out a user idle for longer than the configured minutes (等保 2.0)."""
        if request.endpoint in ("static", "healthz"):
            return None
        now = time.time()
        last = session.get("last_seen")
        limit = app.config["LIANZHAO_IDLE_SECONDS"]
        if current_user.is_authenticated and last is not None and now - float(last) > limit:
            logout_user()
            session.clear()
            if _wants_json():
                return jsonify(ok=False, error="长时间未操作，已自动退出。请刷新页面后重新登录。"), 401
            flash("长时间未操作，已自动退出，请重新登录。", "warning")
            return redirect(
                url_for("auth.login", next=request.full_path if request.method == "GET" else None)
            )
        if current_user.is_authenticated:
            # Rewritten only when it moved LAST_SEEN_STEP_S: setting it on every request re-signs
            # and re-sends the cookie each time (issue 16); idle limits are minutes, so a few seconds
            # of precision are enough (the server's own session row decides anyway).
            if not session.permanent:
                session.permanent = True
            if last is None or now - float(last) >= LAST_SEEN_STEP_S:
                session["last_seen"] = now
        return None

    @app.before_request
    def require_password_change():
        """A new or reset account (must_change_password) may open only 修改密码, logout and
        static files until it has set its own password."""
        if request.endpoint in PASSWORD_CHANGE_EXEMPT or not current_user.is_authenticated:
            return None
        if not getattr(current_user.orm, "must_change_password", False):
            return None
        if _wants_json():
            return jsonify(ok=False, error="请先修改密码后再继续操作。"), 403
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.change_password", next=target.rstrip("?") if target else None))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.endpoint != "static":
            # set, not setdefault: send_file adds "public, max-age=<SEND_FILE_MAX_AGE_DEFAULT>" to
            # generated downloads (名录, rankings), which proxies and shared browsers would keep
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
            response.headers.pop("Expires", None)
        return response


LAST_SEEN_STEP_S = 15


def _wants_json() -> bool:

    return wants_json()
