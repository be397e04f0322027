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
from crm.services.notify import EVENT_LABELS

from .. import backend
from ..listcache import ShortCounts

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

KIND_LABELS = EVENT_LABELS  # one table of event labels: crm.services.notify (inbox and outside alike)
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


UNREAD_TTL_SECONDS = 5.0


def _unread_cache() -> ShortCounts:
    """The app's per-process cache of unread counts (web/listcache.py)."""
    return current_app.extensions.setdefault("lianzhao.inbox_unread", ShortCounts(UNREAD_TTL_SECONDS))


@bp.app_context_processor
def unread_badge():
    """`inbox_unread()` for the top nav's 收件箱 badge: one count on the (user, read_at) index,
    made only when a page asks for it, at most once per request, and kept a few seconds per user
    (dropped on any write this process handles, so one's own read shows at once)."""

    def inbox_unread() -> int:
        if "inbox_unread" not in g:
            g.inbox_unread = 0
            if current_user.is_authenticated:
                cache = _unread_cache()
                cached = cache.get(current_user.id)
                if cached is not None:
                    g.inbox_unread = cached
                    return cached
                try:
                    g.inbox_unread = inbox.unread_count(backend.db(), current_user.orm)
                    cache.put(current_user.id, g.inbox_unread)
                except CrmError:  # a user disabled mid-session: no badge, the page decides the rest
                    g.inbox_unread = 0
        return g.inbox_unread

    return {"inbox_unread": inbox_unread}


@bp.before_app_request
def _writes_drop_unread_counts():
    """A write may read a message or send one (assignment, comment): counts are taken afresh."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _unread_cache().clear()


@bp.get("/")
def index():

    actor = current_user.orm
    session = backend.db()
    settings = backend.crm_settings()
    unread_only = request.args.get("unread") == "1"
    messages = inbox.list_messages(session, actor, unread_only=unread_only, limit=200)
    unread = g.inbox_unread = inbox.unread_count(session, actor)  # the nav badge reuses it
    _unread_cache().put(actor.id, unread)
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
