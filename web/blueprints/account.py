"""我的账号: the user's live sessions (issue 17), API tokens (created, shown once, revoked) and notification choices; and, for
the administrator, the notifications that could not be sent. Rules are in crm.services.api_tokens
and crm.services.notify; this module only parses forms and renders."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm import permissions
from crm.errors import ValidationError
from crm.models import ADMIN, utcnow
from crm.models_api import CHANNEL_LABELS, SCOPE_READ, SCOPE_WRITE, STATUS_LABELS
from crm.services import api_tokens, notify, notify_send
from crm.services import sessions as session_svc

from .. import backend

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _login():
    return None


def _render(new_token=None, errors=None, status=200):
    actor = current_user.orm
    session = backend.db()
    api_cfg = backend.cfg()["api"]
    return render_template(
        "account/index.html",
        tokens=[] if actor.role == ADMIN else api_tokens.tokens_of(session, actor),
        pref=notify.preference(session, actor),
        events=notify.EVENT_LABELS,
        channels=CHANNEL_LABELS,
        api_cfg=api_cfg,
        notify_cfg=backend.cfg()["notify"],
        new_token=new_token,
        errors=errors or [],
        is_admin=actor.role == ADMIN,
        now=utcnow(),
    ), status


@bp.get("/")
def index():
    return _render()


@bp.post("/tokens")
def create_token():
    api_cfg = backend.cfg()["api"]
    scopes = [SCOPE_READ, SCOPE_WRITE] if request.form.get("scope") == SCOPE_WRITE else [SCOPE_READ]
    try:
        with backend.unit_of_work() as session:
            new = api_tokens.create_token(
                session,
                current_user.orm,
                name=request.form.get("name", ""),
                scopes=scopes,
                days=request.form.get("days") or api_cfg["token_default_days"],
                max_days=int(api_cfg["token_max_days"]),
                max_tokens=int(api_cfg["max_tokens_per_user"]),
                ip=request.remote_addr,
            )
    except ValidationError as exc:
        return _render(errors=[str(exc)], status=400)
    # shown once, on this response only (never stored, never redirected through the session)
    return _render(new_token=new.plain)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    with backend.unit_of_work() as session:
        token = api_tokens.revoke_token(session, current_user.orm, token_id, ip=request.remote_addr)
    flash(f"令牌「{token.name}」已吊销。", "success")
    return redirect(url_for("account.index"))


@bp.post("/notifications")
def save_notifications():
    form = request.form
    channels = {kind: form.getlist(f"ch_{kind}") for kind in notify.EVENT_LABELS}
    try:
        with backend.unit_of_work() as session:
            notify.save_preference(
                session,
                current_user.orm,
                email=form.get("email"),
                channels=channels,
                digest=form.get("digest") == "1",
                ip=request.remote_addr,
            )
    except ValidationError as exc:
        return _render(errors=[str(exc)], status=400)
    flash("消息通知设置已保存。", "success")
    return redirect(url_for("account.index"))


@bp.get("/outbox")
def outbox():
    """系统管理 → 通知发送: what has not gone out, with the error (no message text)."""
    if not permissions.can_manage_users(current_user.orm):
        abort(403)
    rows = notify.failures(backend.db(), current_user.orm)
    return render_template("account/outbox.html", rows=rows, labels=STATUS_LABELS, events=notify.EVENT_LABELS)


@bp.post("/outbox/retry")
def retry_outbox():
    if not permissions.can_manage_users(current_user.orm):
        abort(403)
    with backend.unit_of_work() as session:
        n = notify_send.retry_failed(session)
    flash(f"已将 {n} 条发送失败的通知重新排队。", "success")
    return redirect(url_for("account.outbox"))


# ----------------------------------------------------------------------------- 我的会话 (issue 17)


@bp.get("/sessions")
def sessions():
    rows = session_svc.list_own(backend.db(), current_user.orm)
    here = session_svc.token_hash(current_user.token)
    return render_template("account/sessions.html", rows=rows, here=here)


@bp.post("/sessions/<int:session_id>/end")
def end_session(session_id: int):
    with backend.unit_of_work() as s:
        session_svc.end_own(s, current_user.orm, session_id, ip=request.remote_addr)
    flash("已结束该会话，使用它的浏览器须重新登录。", "success")
    return redirect(url_for("account.sessions"))
