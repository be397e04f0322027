"""收件箱: the signed-in user's messages (assignments, reassignments, returned or approved target
lists, comments) and reminders of overdue leads, both from the CRM services."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.errors import CrmError
from crm.models import utcnow
from crm.queries.response import response_status
from crm.queries.returns import recent_returns
from crm.services import inbox, overdue

from .. import backend

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

KIND_LABELS = {
    "assignment": "分派",
    "reassignment": "改派",
    "comment": "批注",
    "target_list_submitted": "名录待审批",
    "target_list_returned": "名录退回",
    "target_list_approved": "名录已批准",
    "return": "退回",
}
REMINDER_LIMIT = 50


@bp.before_request
@login_required
def _login():
    return None


def _link(message) -> str | None:
    if message.lead_id is not None:
        return url_for("leads.show", lead_id=message.lead_id)
    if message.target_list_id is not None and "target_lists.list_show" in current_app.view_functions:
        return url_for("target_lists.list_show", list_id=message.target_list_id)
    return None


@bp.app_context_processor
def unread_badge():
    """`inbox_unread()` for the top nav's 收件箱 badge: one count on the (user, read_at) index,
    made only when a page asks for it, and at most once per request."""

    def inbox_unread() -> int:
        if "inbox_unread" not in g:
            g.inbox_unread = 0
            if current_user.is_authenticated:
                try:
                    g.inbox_unread = inbox.unread_count(backend.db(), current_user.orm)
                except CrmError:  # a user disabled mid-session: no badge, the page decides the rest
                    g.inbox_unread = 0
        return g.inbox_unread

    return {"inbox_unread": inbox_unread}


@bp.get("/")
def index():

    actor = current_user.orm
    session = backend.db()
    settings = backend.crm_settings()
    unread_only = request.args.get("unread") == "1"
    messages = inbox.list_messages(session, actor, unread_only=unread_only, limit=200)
    unread = g.inbox_unread = inbox.unread_count(session, actor)  # the nav badge reuses it
    reminders, reminder_total = [], 0
    if actor.role in ("recruiter", "manager"):
        kwargs = {"owner_id": actor.id} if actor.role == "recruiter" else {"team_id": actor.team_id}
        now = utcnow()
        # The most overdue page from SQL, and the total by a count: never every overdue lead.
        items = overdue.overdue_leads(
            session, actor, settings=settings, now=now, limit=REMINDER_LIMIT, **kwargs
        )
        reminder_total = (
            len(items)
            if len(items) < REMINDER_LIMIT
            else overdue.count_overdue(session, actor, settings=settings, now=now, **kwargs)
        )
        reminders = [(item, response_status(item.lead, settings, now)) for item in items]
    returns = []
    if actor.role == "manager":
        returns = recent_returns(session, actor)
    return render_template(
        "inbox/index.html",
        messages=messages,
        unread=unread,
        unread_only=unread_only,
        reminders=reminders,
        reminder_total=reminder_total,
        kinds=KIND_LABELS,
        link=_link,
        returns=returns,
    )


@bp.post("/<int:message_id>/read")
def read(message_id: int):
    """Mark read and open what the message is about."""

    with backend.unit_of_work() as session:
        message = inbox.mark_read(session, current_user.orm, message_id)  # NotFound -> 404
        target = _link(message)
    return redirect(target or url_for("inbox.index"))


@bp.post("/read-all")
def read_all():

    with backend.unit_of_work() as session:
        n = inbox.mark_all_read(session, current_user.orm)
    flash(f"已将 {n} 条消息标为已读。", "success")
    return redirect(url_for("inbox.index"))
