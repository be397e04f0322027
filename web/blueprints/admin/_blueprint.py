"""The admin blueprint and what every admin view shares: the administrators-only gate."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user, login_required

from crm import permissions
from web import backend

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only():
    if not permissions.can_manage_users(current_user.orm):
        abort(403, "系统管理仅限系统管理员")
    return None


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


def sectors():
    return backend.chain_service().sectors()


def int_arg(value) -> int | None:
    """A query-string number, or None when missing or not a number."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
