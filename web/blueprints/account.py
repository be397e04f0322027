"""我的会话: the signed-in user's own live sessions, and ending one left open elsewhere."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.services import sessions as session_svc

from .. import backend

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/sessions")
@login_required
def sessions():
    rows = session_svc.list_own(backend.db(), current_user.orm)
    here = session_svc.token_hash(current_user.token)
    return render_template("account/sessions.html", rows=rows, here=here)


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    with backend.unit_of_work() as s:
        session_svc.end_own(s, current_user.orm, session_id, ip=request.remote_addr)
    flash("已结束该会话，使用它的浏览器须重新登录。", "success")
    return redirect(url_for("account.sessions"))
