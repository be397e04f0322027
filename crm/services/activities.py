"""Activities (拜访, 电话, 会议, 活动, 备注) and comments on a lead.

A contact activity (config `contact_kinds`) updates the lead's first/last contact, which the
response-time rules read. Every change of a lead's activities also refreshes the lead's stored
`next_due_on` (`refresh_next_due`, the one statement of that rule). Comments (e.g. a leader's 批示) are not contact with the firm; a comment
by someone other than the owner lands in the owner's inbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, selectinload

from .. import permissions as perm
from ..errors import PermissionDenied, ValidationError
from ..models import Activity, Comment, Lead, utcnow
from ..settings import CrmSettings
from . import audit, inbox
from ._common import Actor, current_actor, flush_or_stale, get_lead, readable_lead, snapshot

ACTIVITY_FIELDS = ("lead_id", "kind", "occurred_on", "participants", "outcome", "next_step", "due_date")


def latest_due(lead_id: Any = Lead.id) -> ColumnElement[Any]:
    """The next-step due date of a lead's latest activity (latest: the highest `occurred_on`, ties
    broken by the highest id, i.e. the one recorded last; NULL when that activity has no due date
    or the lead has none), as a scalar subquery correlated to `lead_id` (by default the row of
    `leads`). Uses the index (lead_id, occurred_on). The rule behind `Lead.next_due_on`."""
    return (
        select(Activity.due_date)
        .where(Activity.lead_id == lead_id)
        .order_by(Activity.occurred_on.desc(), Activity.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def refresh_next_due(session: Session, lead_ids: Iterable[int] | None = None) -> None:
    """Store `latest_due` into `Lead.next_due_on` for `lead_ids` (None: every lead), in the
    caller's transaction. Call it after every write that adds, changes, deletes or moves
    activities (after the flush, so the new rows count). One UPDATE; it does not bump the leads'
    `version` (a derived column is no user edit; the writers set `updated_at` themselves)."""
    stmt = update(Lead).values(next_due_on=latest_due()).execution_options(synchronize_session=False)
    if lead_ids is not None:
        ids = sorted(set(lead_ids))
        if not ids:
            return
        stmt = stmt.where(Lead.id.in_(ids))
    session.execute(stmt)
    for obj in session.identity_map.values():  # loaded leads re-read the column on next access
        if isinstance(obj, Lead) and (lead_ids is None or obj.id in ids):
            session.expire(obj, ["next_due_on"])


def _as_date(value: Any, label: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationError(f"{label}格式应为 YYYY-MM-DD") from exc


def _text(value: Any, label: str, limit: int = 4000) -> str | None:
    value = None if value is None else str(value).strip() or None
    if value is not None and len(value) > limit:
        raise ValidationError(f"{label}不能超过 {limit} 个字符")
    return value


def add_activity(
    session: Session,
    actor: Actor,
    lead_id: int,
    *,
    kind: str,
    occurred_on: date | str | None = None,
    participants: str | None = None,
    outcome: str | None = None,
    next_step: str | None = None,
    due_date: date | str | None = None,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> Activity:
    """Record an activity on a lead the actor may edit; its outcome (结果) is required."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_edit(actor, lead):
        raise PermissionDenied("您无权在该线索上登记跟进活动")
    if kind not in settings.activity_kinds:
        raise ValidationError(f"活动类型须为：{'、'.join(settings.activity_kinds)}")
    today = settings.local_today(now)
    day = _as_date(occurred_on, "活动日期") or today
    if day > today:
        raise ValidationError("活动日期不能晚于今天；计划中的事项请写在“下一步”并填写截止日期")
    outcome = _text(outcome, "活动结果")
    if outcome is None:  # an empty form is not a visit: say what happened
        raise ValidationError("请填写活动结果：谈了什么、企业的态度或答复")
    due = _as_date(due_date, "下一步截止日期")
    if due is not None and due < day:
        raise ValidationError("下一步截止日期不能早于活动日期")
    activity = Activity(
        lead_id=lead.id,
        kind=kind,
        occurred_on=day,
        participants=_text(participants, "参与人员", 1000),
        outcome=outcome,
        next_step=_text(next_step, "下一步"),
        due_date=due,
        created_by_id=actor.id,
        created_at=now,
    )
    session.add(activity)
    if kind in settings.contact_kinds:
        at = datetime.combine(day, time.min)
        if lead.first_contact_at is None or at < lead.first_contact_at:
            lead.first_contact_at = at
        if lead.last_contact_at is None or at > lead.last_contact_at:
            lead.last_contact_at = at
    lead.updated_at = now
    flush_or_stale(session, f"线索「{lead.company_name}」")
    refresh_next_due(session, [lead.id])
    audit.record(
        session, actor, audit.CREATE, "activity", activity.id, None, snapshot(activity, ACTIVITY_FIELDS), ip
    )
    return activity


def list_activities(session: Session, actor: Actor, lead_id: int) -> list[Activity]:
    """A lead's activities, newest first."""
    actor, lead = readable_lead(session, actor, lead_id)
    return list(
        session.scalars(
            select(Activity)
            .where(Activity.lead_id == lead_id)
            .options(selectinload(Activity.created_by))
            .order_by(Activity.occurred_on.desc(), Activity.id.desc())
        )
    )


def add_comment(
    session: Session,
    actor: Actor,
    lead_id: int,
    body: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> Comment:
    """Comment on a lead (leaders on any lead; others on leads they may read)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_comment(actor, lead):
        raise PermissionDenied("您无权批注该线索")
    text = _text(body, "批注内容", 2000)
    if not text:
        raise ValidationError("批注内容不能为空")
    comment = Comment(lead_id=lead.id, author_id=actor.id, body=text, created_at=now)
    session.add(comment)
    if lead.owner_id is not None and lead.owner_id != actor.id:
        inbox.notify(
            session,
            lead.owner_id,
            "comment",
            f"{actor.display_name}批注了线索「{lead.company_name}」",
            body,
            lead_id=lead.id,
            now=now,
        )
    session.flush()
    audit.record(session, actor, audit.COMMENT, "lead", lead.id, None, {"comment": body}, ip)
    return comment


def list_comments(session: Session, actor: Actor, lead_id: int) -> list[Comment]:
    actor, lead = readable_lead(session, actor, lead_id)
    return list(
        session.scalars(
            select(Comment)
            .where(Comment.lead_id == lead_id)
            .options(selectinload(Comment.author))
            .order_by(Comment.created_at, Comment.id)
        )
    )
