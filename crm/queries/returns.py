"""Leads recently handed back to the pool (退回) in a manager's team, for the manager's inbox.

The assignment service records a return as an Assignment with no assignee but sends no message,
so the inbox reads the history here. Starts from `visible_leads(actor)` (the permission rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..models import Assignment, Lead, User, utcnow
from ..permissions import visible_leads
from ..services._common import Actor, current_actor


@dataclass
class Returned:
    lead_id: int
    company_name: str
    by: str | None  # who returned it (the owner giving it up, or a manager)
    previous_owner: str | None
    reason: str | None
    at: datetime
    still_in_pool: bool


def recent_returns(
    session: Session, actor: Actor, *, days: int = 14, limit: int = 20, now: datetime | None = None
) -> list[Returned]:
    actor = current_actor(session, actor)
    since = (now or utcnow()) - timedelta(days=days)
    scope = visible_leads(actor).where(Lead.team_id == actor.team_id).subquery()
    by, prev = aliased(User), aliased(User)
    rows = session.execute(
        select(Assignment, scope.c.company_name, scope.c.owner_id, by.display_name, prev.display_name)
        .join(scope, scope.c.id == Assignment.lead_id)
        .outerjoin(by, by.id == Assignment.by_user_id)
        .outerjoin(prev, prev.id == Assignment.from_user_id)
        .where(
            Assignment.to_user_id.is_(None),
            Assignment.from_user_id.is_not(None),
            Assignment.created_at >= since,
            Assignment.by_user_id != actor.id,
        )
        .order_by(Assignment.created_at.desc(), Assignment.id.desc())
        .limit(limit)
    ).all()
    return [
        Returned(a.lead_id, name, by_name, prev_name, a.reason, a.created_at, owner is None)
        for a, name, owner, by_name, prev_name in rows
    ]
