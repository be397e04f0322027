"""安全管理: sign-in locks in force (lift them) and ending every session of a user.

Who may open it is crm.services.duties' rule (the security duty); the services check it again.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.services import duties, throttle, users
from crm.services import sessions as session_svc

from .. import backend

bp = Blueprint("security_admin", __name__, url_prefix="/security")


@bp.before_request
@login_required
def _security_duty_only():
    if not duties.holds(current_user.orm, duties.SECURITY_DUTY, _policy()):
        abort(403, "安全管理仅限负责安全管理的管理员")
    return None


def _policy():
    return backend.crm_settings().security


@bp.get("/")
def index():
    s = backend.db()
    return render_template(
        "admin/security.html",
        locks=throttle.list_locks(s, current_user.orm, policy=_policy()),
        users=users.list_users(s, current_user.orm, include_inactive=False),
    )


@bp.post("/locks/<int:lock_id>/lift")
def lift_lock(lock_id: int):
    with backend.unit_of_work() as s:
        lock = throttle.lift(s, current_user.orm, lock_id, ip=request.remote_addr, policy=_policy())
    flash(f"已解除「{lock.username}」在 {lock.source} 的登录锁定。", "success")
    return redirect(url_for("security_admin.index"))


@bp.post("/users/<int:user_id>/end-sessions")
def end_sessions(user_id: int):
    with backend.unit_of_work() as s:
        count = session_svc.end_all(s, current_user.orm, user_id, ip=request.remote_addr, policy=_policy())
    flash(f"已结束该用户的 {count} 个会话，其所有浏览器须重新登录。", "success")
    return redirect(url_for("security_admin.index"))
