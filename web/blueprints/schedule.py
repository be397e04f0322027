"""日程 (/calendar/): planned next steps and contact due dates as a month or a week view, per
person or team (`?view=month|week&user=..|team=..&date=YYYY-MM-DD`), the same as an .ics
download, and a personal subscription address (revocable) for calendar programs.

Views parse, call crm.queries.calendar / crm.services.calendar_feeds, render; who may see whose
calendar is the query's `resolve_scope` and the lead read rule.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.models import utcnow
from crm.queries import calendar as cal
from crm.services import calendar_feeds

from .. import backend
from ..ical import calendar_bytes
from ..loop import contact_policy
from ..params import parse_int

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
VIEWS = {"month": "月视图", "week": "周视图"}
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")
ICS_TYPE = "text/calendar; charset=utf-8"


def _options() -> dict:
    return dict(backend.cfg().get("calendar", {}))


def _args():
    """(view, anchor day, user id, team id) from the query string; bad values fall back."""
    view = request.args.get("view") if request.args.get("view") in VIEWS else "month"
    today = backend.crm_settings().local_today(utcnow())
    try:
        anchor = date.fromisoformat((request.args.get("date") or "").strip()[:10])
    except ValueError:
        anchor = today
    return view, anchor, today, parse_int(request.args.get("user")), parse_int(request.args.get("team"))


def _range(view: str, anchor: date) -> tuple[list[list[date]], date, date]:
    weeks = cal.month_grid(anchor) if view == "month" else [cal.week_days(anchor)]
    return weeks, weeks[0][0], weeks[-1][-1] + timedelta(days=1)


def _lead_link(lead_id: int) -> str:
    return url_for("leads.show", lead_id=lead_id, _external=True)


def _ics_response(data: bytes, filename: str):
    response = current_app.response_class(data, mimetype="text/calendar")
    response.headers["Content-Type"] = ICS_TYPE
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@login_required
def index():
    view, anchor, today, user_id, team_id = _args()
    actor = current_user.orm
    session = backend.db()
    settings = backend.crm_settings()
    scope = cal.resolve_scope(session, actor, user_id=user_id, team_id=team_id)  # PermissionDenied -> 403
    weeks, start, end = _range(view, anchor)
    full = contact_policy().sees_full(actor)
    found = cal.items(session, actor, scope, start, end, settings, full=full)
    people, teams = cal.scope_choices(session, actor)
    step = timedelta(days=7) if view == "week" else None
    if step is None:
        prev_day = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
        next_day = (anchor.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        prev_day, next_day = anchor - step, anchor + step
    keep = {k: v for k, v in (("user", scope.user_id), ("team", scope.team_id)) if v is not None}
    live = calendar_feeds.live_feed(session, actor)
    return render_template(
        "calendar/index.html",
        view=view,
        views=VIEWS,
        anchor=anchor,
        today=today,
        weeks=weeks,
        weekdays=WEEKDAYS,
        days=cal.by_day(found),
        count=len(found),
        scope=scope,
        people=people,
        teams=teams,
        keep=keep,
        prev_day=prev_day,
        next_day=next_day,
        subscription=bool(_options().get("subscription", True)),
        live_feed=live,
        new_feed_url=None,
    )


@bp.get("/export.ics")
@login_required
def export():
    """The items of the view on screen (same scope and range) as an .ics download."""
    view, anchor, _today, user_id, team_id = _args()
    actor = current_user.orm
    session = backend.db()
    settings = backend.crm_settings()
    scope = cal.resolve_scope(session, actor, user_id=user_id, team_id=team_id)
    _weeks, start, end = _range(view, anchor)
    found = cal.items(session, actor, scope, start, end, settings, full=contact_policy().sees_full(actor))
    data = calendar_bytes(
        found, name=f"链招日程 · {scope.label}", tzid=settings.timezone, lead_url=_lead_link
    )
    return _ics_response(data, f"lianzhao-{start:%Y%m%d}-{end - timedelta(days=1):%Y%m%d}.ics")


@bp.post("/feed")
@login_required
def create_feed():
    """A new subscription address (the old one stops working); shown once."""
    if not _options().get("subscription", True):
        abort(404)
    with backend.unit_of_work() as session:
        new = calendar_feeds.create_feed(session, current_user.orm, ip=request.remote_addr)
    url = url_for("calendar.feed", token=new.plain, _external=True)
    flash("已生成新的订阅地址，原地址已停用。此地址只显示这一次，请立即复制到日历程序中。", "success")
    return render_template("calendar/feed.html", url=url), 200, {"Cache-Control": "no-store"}


@bp.post("/feed/revoke")
@login_required
def revoke_feed():
    with backend.unit_of_work() as session:
        calendar_feeds.revoke_feed(session, current_user.orm, ip=request.remote_addr)
    flash("订阅地址已停用，日历程序将不再收到更新。", "success")
    return redirect(url_for("calendar.index"))


@bp.get("/feed/<token>.ics")
def feed(token: str):
    """The subscribed calendar: no login (calendar programs cannot sign in); the secret address
    stands for its user, whose default scope and read rules apply as on the page."""
    if not _options().get("subscription", True):
        abort(404)
    options = _options()
    settings = backend.crm_settings()
    try:
        with backend.unit_of_work() as session:
            user = calendar_feeds.authenticate(session, token, ip=request.remote_addr)
            scope = cal.resolve_scope(session, user)
            today = settings.local_today(utcnow())
            start = today - timedelta(days=int(options.get("feed_past_days", 30)))
            end = today + timedelta(days=int(options.get("feed_future_days", 180)) + 1)
            found = cal.items(
                session, user, scope, start, end, settings, full=contact_policy().sees_full(user)
            )
    except calendar_feeds.InvalidFeed:
        abort(404)
    data = calendar_bytes(
        found, name=f"链招日程 · {scope.label}", tzid=settings.timezone, lead_url=_lead_link
    )
    return _ics_response(data, "lianzhao.ics")
