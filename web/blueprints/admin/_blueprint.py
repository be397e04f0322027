"""The admin blueprint and what every admin view shares: the administrators-only gate."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user, login_required

from crm.services import duties
from web import backend
from web.params import parse_int

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only():
    # 三员分立 (crm/services/duties.py): the audit log is the audit duty, the rest the system duty
    duty = duties.AUDIT_DUTY if request.endpoint == "admin.audit_log" else duties.SYSTEM_DUTY
    if not duties.holds(current_user.orm, duty, backend.crm_settings().security):
        abort(403, "系统管理仅限系统管理员")
    return None


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


def sectors():
    return backend.chain_service().sectors()


def int_arg(value) -> int | None:
    """A query-string number, or None when missing or not a number (out of range: 400)."""
    return parse_int(value)
