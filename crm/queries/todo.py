"""我的待办 of a recruiter: due follow-ups, key projects still missing "四个一" items, returned
stage claims. Read-only; every part starts from what the actor may read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..key_projects import four_ones_missing, key_clause
from ..models import Lead, utcnow
from ..models_loop import StageClaim
from ..permissions import visible_leads
from ..services import overdue, stage_claims
from ..services._common import Actor, current_actor
from ..settings import CrmSettings


@dataclass
class Todo:
    overdue: list[Any] = field(default_factory=list)  # services.overdue.OverdueItem
    missing_four_ones: list[tuple[Lead, list[str]]] = field(default_factory=list)
    returned: list[StageClaim] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.missing_four_ones or self.returned)


def recruiter_todo(
    session: Session, actor: Actor, settings: CrmSettings, *, now: datetime | None = None, limit: int = 50
) -> Todo:
    now = now or utcnow()
    actor = current_actor(session, actor)
    todo = Todo()
    todo.overdue = overdue.overdue_leads(
        session, actor, settings=settings, now=now, owner_id=actor.id, limit=limit
    )
    key_q = (
        visible_leads(actor)
        .where(Lead.owner_id == actor.id, key_clause(settings.four_ones))
        .where(Lead.stage.not_in([settings.lost_stage, settings.stages[-1]]))
        .order_by(Lead.investment.desc().nulls_last(), Lead.id)
        .limit(limit)
    )
    for lead in session.scalars(key_q):
        missing = four_ones_missing(lead, settings.four_ones)
        if missing:
            todo.missing_four_ones.append((lead, missing))
    todo.returned = stage_claims.returned_for(session, actor, limit=limit)
    return todo
