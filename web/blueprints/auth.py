"""Login and logout. Password checks, lockout and the audit entry are the CRM service's job."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import backend
from ..users import WebUser

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//'."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("index"))
    error = None
    username = ""
    if request.method == "POST":
        from crm.services import users

        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with backend.unit_of_work() as s:  # failed attempts are counted and audited too
            result = users.authenticate(s, username, password, settings=backend.crm_settings(),
                                        ip=request.remote_addr)
        if result.ok:
            session.clear()  # a fresh session on login (no fixation)
            login_user(WebUser(result.user))
            session["last_seen"] = time.time()
            flash(f"欢迎，{result.user.display_name}。", "success")
            if result.must_change_password:
                flash("您的密码由管理员重置，请尽快修改密码。", "warning")
            return redirect(next_url or url_for("index"))
        error = result.message
    return render_template("auth/login.html", error=error, username=username, next_url=next_url), \
        (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))
