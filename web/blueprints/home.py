"""Role home pages: where `/` and the login land. Recruiters: 我的待办; managers: pending stage
confirmations beside their board; leaders: 待审批 (名录 and stage claims) beside the dashboard."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from crm.models import TL_SUBMITTED, utcnow
from crm.queries.response import response_status
from crm.queries.todo import recruiter_todo
from crm.services import stage_claims, target_lists

from .. import backend
from ..loop import loop_settings

bp = Blueprint("home", __name__, url_prefix="/home")


@bp.before_request
@login_required
def _login():
    return None


@bp.get("/")
def index():
    actor = current_user.orm
    if actor.role == "admin":
        return redirect(url_for("admin.index"))
    session = backend.db()
    settings = backend.crm_settings()
    now = utcnow()
    todo = None
    pending = []
    lists = []
    if actor.role == "recruiter":
        todo = recruiter_todo(session, actor, settings, now=now)
    else:
        pending = stage_claims.pending_for(session, actor, loop_settings(), settings)
    if actor.role == "leader":
        lists = target_lists.list_lists(session, actor, status=TL_SUBMITTED)
    return render_template(
        "home/index.html",
        todo=todo,
        pending=pending,
        lists=lists,
        response=lambda lead: response_status(lead, settings, now),
    )
