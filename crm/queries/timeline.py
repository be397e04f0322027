"""A lead's timeline: activities, stage changes, assignments and stage claims merged newest first.

Each list comes from its CRM service (which checks the permission); this only merges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Activity, Assignment, StageChange, User
from ..models_loop import CLAIM_CONFIRMED, CLAIM_PENDING, CLAIM_RETURNED, CLAIM_WITHDRAWN, StageClaim


@dataclass
class Event:
    at: datetime
    kind: str  # activity | stage | assignment | claim
    title: str
    actor: str | None
    obj: object


def _names(session: Session, wanted: set[int | None]) -> dict[int, str]:
    ids = {i for i in wanted if i is not None}
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}


def merge(
    session: Session,
    activities: list[Activity],
    changes: list[StageChange],
    assigned: list[Assignment],
    claims: Sequence[StageClaim] = (),
) -> list[Event]:
    names = _names(
        session,
        {a.from_user_id for a in assigned}
        | {a.to_user_id for a in assigned}
        | {a.by_user_id for a in assigned},
    )
    events: list[Event] = []
    for a in activities:
        at = datetime.combine(a.occurred_on, a.created_at.time() if a.created_at else time.min)
        events.append(Event(at, "activity", a.kind, a.created_by.display_name if a.created_by else None, a))
    for c in changes:
        title = f"进入「{c.to_stage}」" if c.from_stage is None else f"「{c.from_stage}」→「{c.to_stage}」"
        events.append(Event(c.changed_at, "stage", title, c.actor.display_name if c.actor else None, c))
    for g in assigned:
        to = names.get(g.to_user_id) if g.to_user_id else None
        frm = names.get(g.from_user_id) if g.from_user_id else None
        if to is None:
            title = f"退回公共池（原负责人：{frm}）" if frm else "放入公共池"
        elif frm:
            title = f"由 {frm} 改派给 {to}"
        else:
            title = f"分派给 {to}"
        if g.automatic:
            title += "（自动分派）"
        by = names.get(g.by_user_id) if g.by_user_id else ("系统" if g.automatic else None)
        events.append(Event(g.created_at, "assignment", title, by, g))
    for claim in claims:  # stage claims (crm.services.stage_claims): claimed, then decided
        who = claim.claimed_by.display_name if claim.claimed_by else None
        events.append(Event(claim.claimed_at, "claim", f"申报进入「{claim.to_stage}」", who, claim))
        if claim.decided_at is not None and claim.status != CLAIM_PENDING:
            by = claim.decided_by.display_name if claim.decided_by else None
            verb = {CLAIM_CONFIRMED: "确认", CLAIM_RETURNED: "退回", CLAIM_WITHDRAWN: "撤回"}.get(
                claim.status, claim.status
            )
            events.append(Event(claim.decided_at, "claim", f"{verb}「{claim.to_stage}」申报", by, claim))
    events.sort(key=lambda e: e.at, reverse=True)
    return events
