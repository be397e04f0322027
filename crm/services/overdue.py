"""Response-time rules: first contact within `first_contact_days` of assignment, then a contact
at least every `follow_up_days` while the lead is in an active stage. Both clocks also restart
when the stage changes (so a lead resumed from 搁置 is not overdue at once). Pool leads (no
owner) and leads in 搁置, 流失 or the final stage are never overdue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.sql.expression import FunctionElement

from ..models import MANAGER, Lead, User, utcnow
from ..permissions import visibility
from ..settings import CrmSettings
from ._common import Actor, SystemActor, current_actor

FIRST_CONTACT, FOLLOW_UP = "首次接触超期", "跟进超期"


@dataclass
class DueStatus:
    due_at: datetime | None  # None: no rule applies (pool, paused, lost, final stage)
    reason: str | None  # FIRST_CONTACT or FOLLOW_UP (what is due)
    overdue: bool
    days_overdue: int = 0


def due_status(lead: Any, settings: CrmSettings, now: datetime | None = None) -> DueStatus:
    """When the next contact is due for one lead (a Lead or a row with the same date fields),
    and whether it is late (pure)."""
    now = now or utcnow()
    if lead.owner_id is None or lead.stage not in settings.active_stages or lead.assigned_at is None:
        return DueStatus(None, None, False)
    if lead.first_contact_at is None:
        start, days, reason = (
            max(lead.assigned_at, lead.stage_changed_at),
            settings.first_contact_days,
            FIRST_CONTACT,
        )
    else:
        start, days, reason = (
            max(lead.last_contact_at, lead.stage_changed_at),
            settings.follow_up_days,
            FOLLOW_UP,
        )
    due = start + timedelta(days=days)
    late = now > due
    return DueStatus(due, reason, late, (now - due).days if late else 0)


# Names of the rule's two instants as bind parameters (overdue_condition(settings, None)).
FIRST_BEFORE, FOLLOW_BEFORE = "overdue_first_before", "overdue_follow_before"


def overdue_cutoffs(settings: CrmSettings, now: datetime) -> dict[str, datetime]:
    """The instants the rule compares with at `now`: no first contact since FIRST_BEFORE, or no
    contact since FOLLOW_BEFORE, is late."""
    return {
        FIRST_BEFORE: now - timedelta(days=settings.first_contact_days),
        FOLLOW_BEFORE: now - timedelta(days=settings.follow_up_days),
    }


def overdue_condition(settings: CrmSettings, now: datetime | None) -> ColumnElement[bool]:
    """The same rule as SQL, for lists and counts. `now` None: the two instants are named bind
    parameters (values: `overdue_cutoffs`), so a statement built once serves every request."""
    if now is None:
        first: Any = bindparam(FIRST_BEFORE)
        follow: Any = bindparam(FOLLOW_BEFORE)
    else:
        cut = overdue_cutoffs(settings, now)
        first, follow = cut[FIRST_BEFORE], cut[FOLLOW_BEFORE]
    return and_(
        Lead.owner_id.is_not(None),
        Lead.stage.in_(list(settings.active_stages)),
        or_(
            and_(Lead.first_contact_at.is_(None), Lead.assigned_at < first, Lead.stage_changed_at < first),
            and_(
                Lead.first_contact_at.is_not(None),
                Lead.last_contact_at < follow,
                Lead.stage_changed_at < follow,
            ),
        ),
    )


@dataclass
class OverdueItem:
    lead: Lead
    reason: str | None
    due_at: datetime | None
    days_overdue: int


def overdue_leads(
    session: Session,
    actor: Actor,
    *,
    settings: CrmSettings,
    now: datetime | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[OverdueItem]:
    """Overdue leads the actor may read (a manager: the team's; a recruiter: own; a leader: all),
    most overdue first, paged in SQL by `offset`/`limit` (`count_overdue` gives the total)."""
    now = now or utcnow()
    query = _overdue_query(session, actor, settings, now, team_id, owner_id)
    query = (
        query.options(joinedload(Lead.owner), joinedload(Lead.team))
        .order_by(due_expression(settings), Lead.id)
        .offset(offset)
    )
    if limit:
        query = query.limit(limit)
    items = []
    for lead in session.scalars(query):
        status = due_status(lead, settings, now)
        items.append(OverdueItem(lead, status.reason, status.due_at, status.days_overdue))
    return items


def count_overdue(
    session: Session,
    actor: Actor,
    *,
    settings: CrmSettings,
    now: datetime | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
) -> int:
    query = _overdue_query(session, actor, settings, now or utcnow(), team_id, owner_id)
    return session.scalar(query.with_only_columns(func.count(Lead.id))) or 0


def _overdue_query(
    session: Session,
    actor: Actor,
    settings: CrmSettings,
    now: datetime,
    team_id: int | None,
    owner_id: int | None,
) -> Select[Any]:
    actor = current_actor(session, actor)
    query = select(Lead).where(overdue_condition(settings, now))
    # The command line (SYSTEM) sees every team's list; real users see what they may read.
    if not isinstance(actor, SystemActor):
        query = query.where(visibility(actor))
    if team_id is not None:
        query = query.where(Lead.team_id == team_id)
    if owner_id is not None:
        query = query.where(Lead.owner_id == owner_id)
    return query


# --- the due date as SQL, for ordering in the database (GREATEST and day arithmetic differ) ---


class _greatest(FunctionElement):
    type = DateTime()
    inherit_cache = True


@compiles(_greatest)
def _greatest_default(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(_greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"MAX({compiler.process(element.clauses, **kw)})"


class _plus_days(FunctionElement):
    type = DateTime()
    inherit_cache = True


@compiles(_plus_days)
def _plus_days_default(element, compiler, **kw):
    expr, days = list(element.clauses)
    return f"({compiler.process(expr, **kw)} + make_interval(days => {compiler.process(days, **kw)}))"


@compiles(_plus_days, "sqlite")
def _plus_days_sqlite(element, compiler, **kw):
    expr, days = list(element.clauses)
    return f"datetime({compiler.process(expr, **kw)}, {compiler.process(days, **kw)} || ' days')"


def due_expression(settings: CrmSettings) -> Any:
    """When the next contact is due, as a SQL expression (same rule as `due_status`)."""
    first = _plus_days(
        _greatest(Lead.assigned_at, Lead.stage_changed_at), literal(int(settings.first_contact_days), Integer)
    )
    follow = _plus_days(
        _greatest(Lead.last_contact_at, Lead.stage_changed_at), literal(int(settings.follow_up_days), Integer)
    )
    return case((Lead.first_contact_at.is_(None), first), else_=follow)


@dataclass
class TeamOverdue:
    team_id: int | None
    team_name: str
    managers: list[User] = field(default_factory=list)
    items: list[OverdueItem] = field(default_factory=list)


def overdue_by_team(
    session: Session,
    actor: Actor,
    *,
    settings: CrmSettings,
    now: datetime | None = None,
    sector_id: str | None = None,
) -> list[TeamOverdue]:
    """Overdue leads grouped per team with the team's managers (the managers' watch list)."""
    items = overdue_leads(session, actor, settings=settings, now=now)
    groups: dict[int | None, TeamOverdue] = {}
    for item in items:
        team = item.lead.team
        if sector_id and (team is None or team.sector_id != sector_id):
            continue
        key = team.id if team else None
        if key not in groups:
            managers = (
                []
                if team is None
                else list(
                    session.scalars(
                        select(User)
                        .where(User.team_id == team.id, User.role == MANAGER, User.is_active.is_(True))
                        .order_by(User.id)
                    )
                )
            )
            groups[key] = TeamOverdue(key, team.name if team else "（未分组）", managers)
        groups[key].items.append(item)
    return sorted(groups.values(), key=lambda g: (g.team_id is None, g.team_id or 0))
