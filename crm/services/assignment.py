"""Assignment: managers assign and reassign within their team (with a reason), recruiters claim
pool leads of their team, and new pool leads can be assigned automatically (round robin over the
team's active recruiters, by sector, or preferring those covering the lead's chain)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions as perm
from ..errors import PermissionDenied, StaleEdit, ValidationError
from ..models import MANAGER, RECRUITER, Assignment, Lead, Team, User, utcnow
from ..settings import CrmSettings
from . import audit, inbox
from ._common import Actor, SystemActor, current_actor, flush_or_stale, get_lead, get_user, readable_lead


def _give(
    session: Session,
    actor: Actor,
    lead: Lead,
    assignee: User | None,
    reason: str | None,
    now: datetime,
    ip: str | None,
    automatic: bool = False,
) -> Lead:
    before = {"owner_id": lead.owner_id, "team_id": lead.team_id}
    previous = lead.owner_id
    lead.owner_id = assignee.id if assignee else None
    if assignee is not None:
        lead.team_id = assignee.team_id
        lead.assigned_at = now
    else:
        lead.assigned_at = None
    lead.updated_at = now
    flush_or_stale(session, f"线索「{lead.company_name}」")
    session.add(
        Assignment(
            lead_id=lead.id,
            from_user_id=previous,
            to_user_id=lead.owner_id,
            by_user_id=actor.id,
            reason=reason,
            automatic=automatic,
            created_at=now,
        )
    )
    audit.record(
        session,
        actor,
        audit.ASSIGN,
        "lead",
        lead.id,
        before,
        {"owner_id": lead.owner_id, "team_id": lead.team_id, "reason": reason, "automatic": automatic},
        ip,
    )
    if assignee is not None and assignee.id != actor.id:
        how = "自动分派" if automatic else f"{actor.display_name}分派"
        inbox.notify(
            session,
            assignee.id,
            "assignment",
            f"{how}给您新线索「{lead.company_name}」",
            reason,
            lead_id=lead.id,
            now=now,
        )
    if previous is not None and previous != lead.owner_id and previous != actor.id:
        inbox.notify(
            session,
            previous,
            "reassignment",
            f"线索「{lead.company_name}」已改由他人负责",
            reason,
            lead_id=lead.id,
            now=now,
        )
    return lead


def assign_lead(
    session: Session,
    actor: Actor,
    lead_id: int,
    assignee_id: int,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """A manager gives a lead of the team (or the pool) to an active member of the team.
    Reassigning a lead that already has an owner needs a reason."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_assign(actor, lead):
        raise PermissionDenied("只有本组招商经理可以分派该线索")
    if expected_version is not None and int(expected_version) != lead.version:
        raise StaleEdit(f"线索「{lead.company_name}」")
    assignee = get_user(session, assignee_id)
    if not perm.can_be_assignee(actor, assignee):
        raise ValidationError("只能分派给本组在岗的招商专员或招商经理")
    if lead.owner_id == assignee.id:
        raise ValidationError(f"该线索已由{assignee.display_name}负责")
    reason = (reason or "").strip() or None
    if lead.owner_id is not None and not reason:
        err = ValidationError("改派线索须填写原因")
        err.reassignment = True  # views say 未改派 (not 未分派) for this refusal
        raise err
    return _give(session, actor, lead, assignee, reason, now, ip)


def hand_over(
    session: Session, actor: Actor, lead: Lead, assignee: User, reason: str, *, now: datetime, ip: str | None
) -> Lead:
    """Give a lead to a user of any team once the caller's rule allowed it (a granted take-over
    request, crm.services.takeover): recorded, audited and told like every assignment."""
    return _give(session, actor, lead, assignee, reason, now, ip)


def release_to_pool(
    session: Session,
    actor: Actor,
    lead_id: int,
    reason: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Return a lead to the team's pool: its manager, or its owner giving it up, with a reason."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not (perm.can_assign(actor, lead) or (lead.owner_id is not None and lead.owner_id == actor.id)):
        raise PermissionDenied("只有负责人或本组招商经理可以将线索退回线索池")
    if lead.owner_id is None:
        raise ValidationError("该线索已在线索池中")
    if not (reason or "").strip():
        raise ValidationError("退回线索池须填写原因")
    return _give(session, actor, lead, None, reason.strip(), now, ip)


def claim_lead(
    session: Session, actor: Actor, lead_id: int, *, ip: str | None = None, now: datetime | None = None
) -> Lead:
    """A recruiter takes a pool lead of their own team."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_claim(actor, lead):
        raise PermissionDenied("只能认领本组线索池中的线索")
    assert isinstance(actor, User)  # can_claim: only a recruiter claims
    return _give(session, actor, lead, actor, "认领", now, ip)


def _next_recruiter(session: Session, team: Team, chain_id: str | None, mode: str) -> User | None:
    candidates = list(
        session.scalars(
            select(User)
            .where(User.team_id == team.id, User.role == RECRUITER, User.is_active.is_(True))
            .order_by(User.id)
        )
    )
    if mode == "chain" and chain_id:
        covering = [u for u in candidates if chain_id in (u.focus_chains or [])]
        candidates = covering or candidates
    if not candidates:
        return None
    last = team.rr_last_user_id or 0
    for user in candidates:
        if user.id > last:
            return user
    return candidates[0]


def auto_assign(
    session: Session,
    actor: Actor,
    lead_ids: Iterable[int],
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> list[tuple[Lead, User | None]]:
    """Assign pool leads round robin over the active recruiters of the lead's team (by sector
    when the lead has no team). Leads with no eligible recruiter stay in the pool."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    if actor.role != MANAGER and not isinstance(actor, SystemActor):
        raise PermissionDenied("只有招商经理可以自动分派线索")
    mode = settings.auto_assign if settings.auto_assign != "off" else "sector"
    results: list[tuple[Lead, User | None]] = []
    for lead_id in lead_ids:
        lead = get_lead(session, lead_id)
        if lead.owner_id is not None:
            results.append((lead, None))
            continue
        if not isinstance(actor, SystemActor) and not perm.can_assign(actor, lead):
            raise PermissionDenied(f"您无权分派线索「{lead.company_name}」")
        team = session.get(Team, lead.team_id) if lead.team_id else None
        if team is None and lead.sector_id:
            team = session.scalar(select(Team).where(Team.sector_id == lead.sector_id))
        user = _next_recruiter(session, team, lead.chain_id, mode) if team else None
        if user is not None and team is not None:
            team.rr_last_user_id = user.id
            _give(session, actor, lead, user, "按规则自动分派", now, ip, automatic=True)
        results.append((lead, user))
    return results


def assignment_history(session: Session, actor: Actor, lead_id: int) -> list[Assignment]:
    actor, lead = readable_lead(session, actor, lead_id)
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.lead_id == lead_id)
            .order_by(Assignment.created_at, Assignment.id)
        )
    )
