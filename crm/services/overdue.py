"""Response-time rules: first contact within `first_contact_days` of assignment, then a contact
at least every `follow_up_days` while the lead is in an active stage. Both clocks also restart
when the stage changes (so a lead resumed from 搁置 is not overdue at once). Pool leads (no
owner) and leads in 搁置, 流失 or the final stage are never overdue."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from ..models import MANAGER, Lead, Team, User, utcnow
from ..settings import CrmSettings
from ._common import Actor, SystemActor, current_actor
from .leads import visibility

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
        start, days, reason = max(lead.assigned_at, lead.stage_changed_at), settings.first_contact_days, FIRST_CONTACT
    else:
        start, days, reason = max(lead.last_contact_at, lead.stage_changed_at), settings.follow_up_days, FOLLOW_UP
    due = start + timedelta(days=days)
    late = now > due
    return DueStatus(due, reason, late, (now - due).days if late else 0)


def overdue_condition(settings: CrmSettings, now: datetime):
    """The same rule as SQL, for lists and counts."""
    first = now - timedelta(days=settings.first_contact_days)
    follow = now - timedelta(days=settings.follow_up_days)
    return and_(
        Lead.owner_id.is_not(None),
        Lead.stage.in_(list(settings.active_stages)),
        or_(and_(Lead.first_contact_at.is_(None), Lead.assigned_at < first, Lead.stage_changed_at < first),
            and_(Lead.first_contact_at.is_not(None), Lead.last_contact_at < follow,
                 Lead.stage_changed_at < follow)),
    )


@dataclass
class OverdueItem:
    lead: Lead
    reason: str
    due_at: datetime
    days_overdue: int


def overdue_leads(session: Session, actor: Actor, *, settings: CrmSettings | None = None,
                  now: datetime | None = None, team_id: int | None = None,
                  owner_id: int | None = None, limit: int | None = None,
                  offset: int = 0) -> list[OverdueItem]:
    """Overdue leads the actor may read (a manager: the team's; a recruiter: own; a leader: all),
    most overdue first. Only the dates are read for every overdue lead; full leads (with owner
    and team) are loaded for the `offset`/`limit` slice alone. `count_overdue` gives the total."""
    settings = settings or CrmSettings()
    now = now or utcnow()
    ranked = _ranked(session, actor, settings, now, team_id, owner_id)
    window = ranked[offset:offset + limit] if limit else ranked[offset:]
    if not window:
        return []
    ids = [row.id for row, _ in window]
    loaded = {lead.id: lead for lead in session.scalars(
        select(Lead).where(Lead.id.in_(ids)).options(joinedload(Lead.owner), joinedload(Lead.team)))}
    return [OverdueItem(loaded[row.id], status.reason, status.due_at, status.days_overdue)
            for row, status in window if row.id in loaded]


def count_overdue(session: Session, actor: Actor, *, settings: CrmSettings | None = None,
                  now: datetime | None = None, team_id: int | None = None,
                  owner_id: int | None = None) -> int:
    settings = settings or CrmSettings()
    return len(_ranked(session, actor, settings, now or utcnow(), team_id, owner_id))


def _ranked(session: Session, actor: Actor, settings: CrmSettings, now: datetime,
            team_id: int | None, owner_id: int | None) -> list[tuple[Any, DueStatus]]:
    actor = current_actor(session, actor)
    query = select(Lead.id, Lead.owner_id, Lead.stage, Lead.assigned_at, Lead.first_contact_at,
                   Lead.last_contact_at, Lead.stage_changed_at).where(overdue_condition(settings, now))
    # The command line (SYSTEM) sees every team's list; real users see what they may read.
    if not isinstance(actor, SystemActor):
        query = query.where(visibility(actor))
    if team_id is not None:
        query = query.where(Lead.team_id == team_id)
    if owner_id is not None:
        query = query.where(Lead.owner_id == owner_id)
    ranked = []
    for row in session.execute(query):
        status = due_status(row, settings, now)
        if status.overdue:
            ranked.append((row, status))
    ranked.sort(key=lambda item: (item[1].due_at, item[0].id))
    return ranked


@dataclass
class TeamOverdue:
    team_id: int | None
    team_name: str
    managers: list[User] = field(default_factory=list)
    items: list[OverdueItem] = field(default_factory=list)


def overdue_by_team(session: Session, actor: Actor, *, settings: CrmSettings | None = None,
                    now: datetime | None = None, sector_id: str | None = None) -> list[TeamOverdue]:
    """Overdue leads grouped per team with the team's managers (the managers' watch list)."""
    items = overdue_leads(session, actor, settings=settings, now=now)
    groups: dict[int | None, TeamOverdue] = {}
    for item in items:
        team = item.lead.team
        if sector_id and (team is None or team.sector_id != sector_id):
            continue
        key = team.id if team else None
        if key not in groups:
            managers = [] if team is None else list(session.scalars(select(User).where(
                User.team_id == team.id, User.role == MANAGER, User.is_active.is_(True)).order_by(User.id)))
            groups[key] = TeamOverdue(key, team.name if team else "（未分组）", managers)
        groups[key].items.append(item)
    return sorted(groups.values(), key=lambda g: (g.team_id is None, g.team_id or 0))
