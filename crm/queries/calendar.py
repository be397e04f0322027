"""The calendar: planned next steps (an activity's 下一步 with its 截止日期) and the contact due
dates of the response-time rule (首次联系/跟进到期), for one person, one team or everybody, over a
range of days. Read-only; every item starts from crm.permissions.visible_leads, so a calendar
never shows a lead its reader may not open, nor a phone number its reader may not see.

Who may ask for whose calendar (`resolve_scope`): a recruiter their own and their team's (which
the lead read rule then limits to their own leads and the team's pool), a manager anyone of their
team, a leader anyone. Days are the district's ([web] timezone): due times stored in UTC are
shown on the local day they fall on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import false, select
from sqlalchemy.orm import Session, joinedload

from ..errors import PermissionDenied
from ..masking import mask_text
from ..models import LEADER, MANAGER, RECRUITER, Activity, Lead, Team, User, utcnow
from ..permissions import visible_leads
from ..services._common import Actor, current_actor
from ..services.overdue import due_expression, due_status
from ..settings import CrmSettings

NEXT_STEP, CONTACT_DUE = "next_step", "contact_due"
KIND_LABELS = {NEXT_STEP: "下一步", CONTACT_DUE: "联系到期"}
MAX_DAYS = 400  # longest range one request may ask for (a feed covers past + future days)


@dataclass(frozen=True)
class Scope:
    """Whose calendar: one person (`user_id`), one team (`team_id`) or all (neither)."""

    user_id: int | None = None
    team_id: int | None = None
    label: str = ""


@dataclass(frozen=True)
class Item:
    uid: str  # stable across downloads: the same item is updated, not duplicated
    day: date
    kind: str
    lead_id: int
    company_name: str
    text: str  # the next step as written, or what contact is due
    owner_name: str
    activity_id: int | None = None
    sequence: int = 0  # RFC 5545 SEQUENCE: goes up when the item changes
    overdue: bool = False

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def summary(self) -> str:
        """The Chinese one-line title (calendar cells, .ics SUMMARY)."""
        return f"{self.kind_label}：{self.company_name} · {self.text}"


def resolve_scope(
    session: Session, actor: Actor, *, user_id: int | None = None, team_id: int | None = None
) -> Scope:
    """The scope asked for, checked; none asked: a recruiter's own, a manager's team, a leader's all."""
    actor = current_actor(session, actor)
    role = getattr(actor, "role", None)
    if role not in (RECRUITER, MANAGER, LEADER):
        raise PermissionDenied("系统管理员不处理线索业务数据")
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise PermissionDenied("您无权查看该用户的日程")
        allowed = (
            role == LEADER
            or user.id == actor.id
            or (role == MANAGER and actor.team_id is not None and user.team_id == actor.team_id)
        )
        if not allowed:
            raise PermissionDenied("您只能查看本人或本组的日程")
        return Scope(user_id=user.id, label=user.display_name)
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or (role != LEADER and team.id != actor.team_id):
            raise PermissionDenied("您只能查看本组的日程")
        return Scope(team_id=team.id, label=team.name)
    if role == RECRUITER:
        return Scope(user_id=actor.id, label=actor.display_name)
    if role == MANAGER and actor.team_id is not None:
        team = session.get(Team, actor.team_id)
        return Scope(team_id=actor.team_id, label=team.name if team else "本组")
    return Scope(label="全区")


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) local days as naive UTC instants (how the CRM stores times)."""

    def utc(day: date) -> datetime:
        return datetime.combine(day, time.min, zone).astimezone(UTC).replace(tzinfo=None)

    return utc(start), utc(end)


def items(
    session: Session,
    actor: Actor,
    scope: Scope,
    start: date,
    end: date,
    settings: CrmSettings,
    *,
    full: bool = False,
    now: datetime | None = None,
) -> list[Item]:
    """The items of days [start, end) in `scope`, by day then company; a range longer than
    MAX_DAYS is cut to MAX_DAYS. Next steps are free text: phone numbers and e-mail addresses
    in them are masked (crm.masking.mask_text) unless `full` (the reader's role sees them)."""
    actor = current_actor(session, actor)
    now = now or utcnow()
    end = min(end, start + timedelta(days=MAX_DAYS))
    zone = ZoneInfo(settings.timezone)
    leads_q = visible_leads(actor)
    if scope.user_id is not None:
        leads_q = leads_q.where(Lead.owner_id == scope.user_id)
    if scope.team_id is not None:
        leads_q = leads_q.where(Lead.team_id == scope.team_id)
    lead_ids = leads_q.with_only_columns(Lead.id)
    out: list[Item] = []
    acts = session.scalars(
        select(Activity)
        .where(
            Activity.lead_id.in_(lead_ids),
            Activity.due_date >= start,
            Activity.due_date < end,
            Activity.next_step.is_not(None),
        )
        .options(joinedload(Activity.created_by))
    ).all()
    leads = {
        lead.id: lead
        for lead in session.scalars(
            select(Lead).where(Lead.id.in_({a.lead_id for a in acts})).options(joinedload(Lead.owner))
        )
    }
    today = settings.local_today(now)
    for act in acts:
        lead = leads[act.lead_id]
        out.append(
            Item(
                uid=f"lianzhao-activity-{act.id}-next-step",
                day=act.due_date,  # type: ignore[arg-type]  # filtered on not null above
                kind=NEXT_STEP,
                lead_id=lead.id,
                company_name=lead.company_name,
                text=(act.next_step or "") if full else mask_text(act.next_step),
                owner_name=lead.owner.display_name if lead.owner else "公共池",
                activity_id=act.id,
                overdue=act.due_date < today,  # type: ignore[operator]
            )
        )
    low, high = _bounds(start, end, zone)
    due = due_expression(settings)
    owned = (
        leads_q.where(Lead.owner_id.is_not(None), Lead.stage.in_(list(settings.active_stages)))
        .where(Lead.assigned_at.is_not(None), due >= low, due < high)
        .options(joinedload(Lead.owner))
    )
    for lead in session.scalars(owned):
        status = due_status(lead, settings, now)
        if status.due_at is None:
            continue
        day = status.due_at.replace(tzinfo=UTC).astimezone(zone).date()
        out.append(
            Item(
                # one item per lead: when a contact moves the due date, the event moves with it
                uid=f"lianzhao-lead-{lead.id}-contact-due",
                day=day,
                kind=CONTACT_DUE,
                lead_id=lead.id,
                company_name=lead.company_name,
                text=status.reason.replace("超期", "到期") if status.reason else "联系到期",
                owner_name=lead.owner.display_name if lead.owner else "",
                sequence=int(lead.version or 0),
                overdue=status.overdue,
            )
        )
    out.sort(key=lambda i: (i.day, i.kind != NEXT_STEP, i.company_name, i.uid))
    return out


def month_grid(anchor: date) -> list[list[date]]:
    """The weeks (Monday first) covering `anchor`'s month, as rows of 7 days.

    >>> grid = month_grid(date(2026, 12, 2))
    >>> grid[0][0], grid[-1][-1], len(grid)
    (datetime.date(2026, 11, 30), datetime.date(2027, 1, 3), 5)
    """
    first = anchor.replace(day=1)
    start = first - timedelta(days=first.weekday())
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    weeks = []
    day = start
    while day < nxt:
        weeks.append([day + timedelta(days=i) for i in range(7)])
        day += timedelta(days=7)
    return weeks


def week_days(anchor: date) -> list[date]:
    """Monday to Sunday of `anchor`'s week."""
    monday = anchor - timedelta(days=anchor.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def by_day(found: list[Item]) -> dict[date, list[Item]]:
    out: dict[date, list[Item]] = {}
    for item in found:
        out.setdefault(item.day, []).append(item)
    return out


def scope_choices(session: Session, actor: Any) -> tuple[list[User], list[Team]]:
    """People and teams the actor may pick (for the calendar's selector)."""
    actor = current_actor(session, actor)
    role = getattr(actor, "role", None)
    users_q = select(User).where(User.is_active.is_(True), User.role.in_([RECRUITER, MANAGER]))
    teams_q = select(Team)
    if role == LEADER:
        pass
    elif role == MANAGER and actor.team_id is not None:
        users_q = users_q.where(User.team_id == actor.team_id)
        teams_q = teams_q.where(Team.id == actor.team_id)
    else:
        users_q = users_q.where(User.id == actor.id)
        teams_q = teams_q.where(Team.id == actor.team_id) if actor.team_id else teams_q.where(false())
    people = list(session.scalars(users_q.order_by(User.team_id, User.display_name)))
    return people, list(session.scalars(teams_q.order_by(Team.id)))
