"""Login, logout and changing one's own password. Password checks, the password policy, lockout
and the audit entries are the CRM service's job."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from crm.errors import ValidationError
from crm.services import audit, throttle, users
from crm.services import sessions as session_svc

from .. import backend
from ..localtime import zone_from_config
from ..users import WebUser

bp = Blueprint("auth", __name__)

FIRST_LOGIN_MESSAGE = (
    "这是您的首次登录。初始密码由管理员设置，请尽快修改密码：设置您自己的新密码后即可使用全部功能。"
)
RESET_MESSAGE = "您的密码已由管理员重置，请尽快修改密码：设置新密码后即可继续使用。"
MUST_CHANGE_MESSAGE = "请先修改密码后再继续使用。"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//'.

    Backslashes and control characters are refused too: browsers read a backslash or a tab
    after the first slash as a second slash (a host).
    """
    if not target or "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
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
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        with backend.unit_of_work() as s:  # failed attempts are counted and audited too
            result = users.authenticate(
                s,
                username,
                password,
                settings=backend.crm_settings(),
                ip=request.remote_addr,
                tz=zone_from_config(backend.cfg()),
            )
            token = (
                session_svc.start(
                    s,
                    result.user,
                    backend.crm_settings().security,
                    ip=request.remote_addr,
                    user_agent=request.user_agent.string,
                )
                if result.ok
                else None
            )
        if result.ok:
            session.clear()  # a fresh session on login (no fixation)
            login_user(WebUser(result.user, token))
            session["last_seen"] = time.time()
            flash(f"欢迎，{result.user.display_name}。", "success")
            if result.must_change_password:
                flash(FIRST_LOGIN_MESSAGE if result.first_login else RESET_MESSAGE, "warning")
                return redirect(url_for("auth.change_password", next=next_url))
            return redirect(next_url or url_for("index"))
        error = result.message
    return render_template("auth/login.html", error=error, username=username, next_url=next_url), (
        401 if error else 200
    )


@bp.post("/logout")
@login_required
def logout():
    with backend.unit_of_work() as s:  # the server forgets the session: a copied cookie is dead
        session_svc.revoke_token(s, current_user.token, session_svc.LOGOUT)
        audit.record(s, current_user.orm, "logout", "user", current_user.id, None, None, request.remote_addr)
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """修改密码: current + new + confirm. Until done, a must-change account sees only this page
    (web.security.require_password_change)."""

    next_url = _safe_next(request.args.get("next"))
    errors: list[str] = []
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        confirm = request.form.get("confirm_password", "")
        if not current or not new:
            errors.append("请填写原密码和新密码")
        elif new != confirm:
            errors.append("两次输入的新密码不一致")
        else:
            token = None
            try:
                with backend.unit_of_work() as s:
                    try:
                        users.change_password(
                            s,
                            current_user.orm,
                            current,
                            new,
                            settings=backend.crm_settings(),
                            ip=request.remote_addr,
                        )
                    except throttle.CountedRefusal as exc:  # commit: the wrong guess is counted
                        errors.append(str(exc))
                    else:
                        # the new password ended every session; this browser signs in afresh
                        token = session_svc.start(
                            s,
                            current_user.orm,
                            backend.crm_settings().security,
                            ip=request.remote_addr,
                            user_agent=request.user_agent.string,
                        )
            except ValidationError as exc:
                errors.append(str(exc))
            if token is not None:
                current_user.orm.must_change_password = False  # this request's copy of the row
                login_user(WebUser(current_user.orm, token))
                session["last_seen"] = time.time()
                flash("密码已修改。下次登录请使用新密码。", "success")
                return redirect(next_url or url_for("index"))
    policy = backend.crm_settings().security
    return render_template(
        "auth/change_password.html",
        errors=errors,
        next_url=next_url,
        policy=policy,
        forced=bool(current_user.orm.must_change_password),
    ), (400 if errors else 200)
