"""Take-over requests: a recruiter asks to take over another's lead (a 首报首谈 dispute, e.g. "I
met the firm first"), and a manager of the lead's team decides.

The request is an inbox action item for the team's managers (`decision_key`); like a 名录
approval or a stage confirmation, it closes in every inbox once one of them decides
(crm.services.inbox.close_action). Granted, the lead goes to the requester (an assignment with
the request as its reason, crm.services.assignment.hand_over). Audited on the lead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import permissions as perm
from ..errors import NotFound, PermissionDenied, ValidationError, WorkflowError
from ..models import MANAGER, RECRUITER, Lead, User, utcnow
from ..models_referrals import TO_GRANTED, TO_PENDING, TO_REFUSED, TO_WITHDRAWN, TakeoverRequest
from . import audit, inbox
from ._common import Actor, current_actor, get_lead
from .assignment import hand_over

REQUEST, DECIDE = "takeover_request", "takeover_decide"


def decision_key(request_id: int) -> str:
    return f"takeover:{request_id}:decide"


def may_decide(actor: Any, lead: Any) -> bool:
    """A manager of the lead's team (who may assign it) decides."""
    return perm.can_assign(actor, lead)


def request_takeover(
    session: Session,
    actor: Actor,
    lead_id: int,
    reason: str,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> TakeoverRequest:
    """Ask to take over a lead someone else holds. The requester need not be able to read it
    (the 首报首谈 refusal names the lead); the request shows them nothing more than its number."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    if actor.role not in (RECRUITER, MANAGER):
        raise PermissionDenied("只有招商专员和招商经理可以申请接手线索")
    lead = get_lead(session, lead_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("申请接手须说明理由（如首次接触企业的时间和经过）")
    if len(reason) > 2000:
        raise ValidationError("理由最多 2000 字")
    if lead.owner_id == actor.id:
        raise WorkflowError("该线索已由您负责")
    if lead.owner_id is None and perm.can_claim(actor, lead):
        raise WorkflowError("该线索在公共池中，可直接认领")
    open_one = session.scalar(
        select(TakeoverRequest.id).where(
            TakeoverRequest.lead_id == lead_id,
            TakeoverRequest.requested_by_id == actor.id,
            TakeoverRequest.status == TO_PENDING,
        )
    )
    if open_one is not None:
        raise WorkflowError("您已申请接手该线索，请等待经理决定")
    req = TakeoverRequest(lead_id=lead_id, requested_by_id=actor.id, reason=reason, created_at=now)
    session.add(req)
    session.flush()
    audit.record(session, actor, REQUEST, "lead", lead_id, None, {"request_id": req.id, "reason": reason}, ip)
    deciders = [
        u
        for u in session.scalars(select(User).where(User.is_active.is_(True), User.role == MANAGER))
        if may_decide(u, lead) and u.id != actor.id
    ]
    if not deciders:
        raise WorkflowError("该线索所在组没有在岗的招商经理，无法处理接手申请")
    for user in deciders:
        inbox.notify(
            session,
            user.id,
            "takeover_request",
            f"{actor.display_name}申请接手线索「{lead.company_name}」",
            reason,
            lead_id=lead_id,
            action_key=decision_key(req.id),
            now=now,
        )
    return req


def decide(
    session: Session,
    actor: Actor,
    request_id: int,
    grant: bool,
    note: str | None = None,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> TakeoverRequest:
    """Grant (the lead goes to the requester) or refuse (with a reason) a pending request."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    req = session.get(TakeoverRequest, request_id)
    if req is None:
        raise NotFound("接手申请不存在")
    lead = get_lead(session, req.lead_id)
    if not may_decide(actor, lead):
        raise PermissionDenied("只有该线索所在组的招商经理可以决定接手申请")
    if req.status != TO_PENDING:
        raise WorkflowError(f"该申请已{req.status_label}，无须再处理")
    note = (note or "").strip() or None
    if not grant and not note:
        raise ValidationError("不同意接手须填写原因")
    requester = session.get(User, req.requested_by_id)
    if grant and (requester is None or not requester.is_active or requester.role not in (RECRUITER, MANAGER)):
        raise WorkflowError("申请人已停用，不能接手")
    req.status = TO_GRANTED if grant else TO_REFUSED
    req.decided_by_id, req.decided_at, req.decision_note = actor.id, now, note
    session.flush()
    audit.record(
        session,
        actor,
        DECIDE,
        "lead",
        lead.id,
        {"request_id": req.id, "status": TO_PENDING},
        {"request_id": req.id, "status": req.status, "note": note},
        ip,
    )
    inbox.close_action(session, decision_key(req.id), now)
    if grant and requester is not None:
        hand_over(session, actor, lead, requester, f"同意接手申请：{req.reason}", now=now, ip=ip)
        # Other pending requests on the lead are answered by this decision.
        for other in session.scalars(
            select(TakeoverRequest).where(
                TakeoverRequest.lead_id == lead.id, TakeoverRequest.status == TO_PENDING
            )
        ):
            other.status, other.decided_by_id, other.decided_at = TO_REFUSED, actor.id, now
            other.decision_note = f"线索已由{requester.display_name}接手"
            inbox.close_action(session, decision_key(other.id), now)
    if requester is not None:
        inbox.notify(
            session,
            requester.id,
            "takeover_decided",
            f"{actor.display_name}{'同意' if grant else '未同意'}您接手「{lead.company_name}」",
            note,
            lead_id=lead.id if grant else None,
            now=now,
        )
    return req


def withdraw(
    session: Session, actor: Actor, request_id: int, *, now: datetime | None = None
) -> TakeoverRequest:
    now = now or utcnow()
    actor = current_actor(session, actor)
    req = session.get(TakeoverRequest, request_id)
    if req is None or req.requested_by_id != actor.id:
        raise NotFound("接手申请不存在")
    if req.status != TO_PENDING:
        raise WorkflowError(f"该申请已{req.status_label}")
    req.status, req.decided_at = TO_WITHDRAWN, now
    inbox.close_action(session, decision_key(req.id), now)
    return req


def target_of(session: Session, actor: Actor, lead_id: int) -> Lead | None:
    """The lead a request form is about, if the actor may read it (None: only its number is shown);
    NotFound when there is no such lead."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    return lead if perm.can_read(actor, lead) else None


def pending_for(session: Session, actor: Actor, limit: int = 50) -> list[TakeoverRequest]:
    """Pending requests the actor may decide (the manager's board)."""
    actor = current_actor(session, actor)
    rows = session.scalars(
        select(TakeoverRequest)
        .join(Lead, Lead.id == TakeoverRequest.lead_id)
        .where(TakeoverRequest.status == TO_PENDING)
        .options(selectinload(TakeoverRequest.lead), selectinload(TakeoverRequest.requested_by))
        .order_by(TakeoverRequest.created_at, TakeoverRequest.id)
    )
    return [r for r in rows if may_decide(actor, r.lead)][:limit]


def requests_on(session: Session, actor: Actor, lead_id: int) -> list[TakeoverRequest]:
    """Requests on a lead, newest first (the lead page; readers of the lead only)."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_read(actor, lead):
        raise PermissionDenied("您无权查看该线索")
    return list(
        session.scalars(
            select(TakeoverRequest)
            .where(TakeoverRequest.lead_id == lead_id)
            .options(selectinload(TakeoverRequest.requested_by), selectinload(TakeoverRequest.decided_by))
            .order_by(TakeoverRequest.id.desc())
        )
    )
