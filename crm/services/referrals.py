"""引荐人 (referrers): one per project, confirmed by a manager before it counts for rewards.

Why: district rules reward whoever introduced a project (以商招商, 以企招企), and ask that the
bureau confirms the referral (待确认 → 已确认 / 不予认定, with date and who). A referrer entered or
changed by the lead's editor is pending; the team's managers get an inbox item that closes in
every inbox once one of them decides (crm.services.inbox). Every step is audited on the lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions as perm
from ..errors import PermissionDenied, ValidationError, WorkflowError
from ..models import MANAGER, User, utcnow
from ..models_referrals import REF_CONFIRMED, REF_PENDING, REF_REJECTED, REFERRER_KINDS, Referral
from . import audit, inbox
from ._common import Actor, current_actor, get_lead

SET, DECIDE = "referral", "referral_decide"
FIELDS = ("referrer_name", "referrer_kind", "unit", "contact", "relation", "note")
LIMITS = {"referrer_name": 100, "unit": 200, "contact": 100, "relation": 200, "note": 2000}


def decision_key(referral_id: int) -> str:
    return f"referral:{referral_id}:confirm"


def may_confirm(actor: Any, lead: Any) -> bool:
    """A manager of the lead's team confirms (or refuses) its referral."""
    return (
        actor is not None
        and getattr(actor, "is_active", False)
        and actor.role == MANAGER
        and actor.team_id is not None
        and lead.team_id == actor.team_id
    )


def referral_of(session: Session, actor: Actor, lead_id: int) -> Referral | None:
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_read(actor, lead):
        raise PermissionDenied("您无权查看该线索")
    return session.scalar(select(Referral).where(Referral.lead_id == lead_id))


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in FIELDS:
        text = str(data.get(key) or "").strip()
        if key in LIMITS and len(text) > LIMITS[key]:
            raise ValidationError(f"引荐人信息过长（{key} 最多 {LIMITS[key]} 字）")
        values[key] = text or None
    if not values["referrer_name"]:
        raise ValidationError("请填写引荐人（个人姓名或机构名称）")
    if values["referrer_kind"] not in REFERRER_KINDS:
        raise ValidationError("引荐人类型只能是个人或机构")
    return values


def save_referral(
    session: Session,
    actor: Actor,
    lead_id: int,
    data: Mapping[str, Any],
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> Referral:
    """Enter or change the lead's referrer. A change of a decided referral asks for a new decision."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_edit(actor, lead):
        raise PermissionDenied("您无权修改该线索的引荐人")
    values = _clean(data)
    ref = session.scalar(select(Referral).where(Referral.lead_id == lead_id))
    before = None if ref is None else {k: getattr(ref, k) for k in (*FIELDS, "status")}
    if ref is None:
        ref = Referral(lead_id=lead_id, created_by_id=actor.id, created_at=now, **values)
        session.add(ref)
    elif all(getattr(ref, k) == v for k, v in values.items()):
        return ref  # nothing changed: the decision stands
    else:
        for k, v in values.items():
            setattr(ref, k, v)
    if ref.status != REF_PENDING or before is None:
        ref.status, ref.decided_by_id, ref.decided_at, ref.decision_note = REF_PENDING, None, None, None
    ref.updated_at = now
    session.flush()
    audit.record(session, actor, SET, "lead", lead_id, before, {**values, "status": ref.status}, ip)
    inbox.close_action(session, decision_key(ref.id), now)
    for user in _confirmers(session, lead):
        if user.id != actor.id:
            inbox.notify(
                session,
                user.id,
                "referral_pending",
                f"{actor.display_name}登记了「{lead.company_name}」的引荐人{ref.referrer_name}，请认定",
                None,
                lead_id=lead_id,
                action_key=decision_key(ref.id),
                now=now,
            )
    return ref


def _confirmers(session: Session, lead: Any) -> list[User]:
    users = session.scalars(
        select(User).where(User.is_active.is_(True), User.role == MANAGER).order_by(User.id)
    )
    return [u for u in users if may_confirm(u, lead)]


def decide(
    session: Session,
    actor: Actor,
    lead_id: int,
    confirm: bool,
    note: str | None = None,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> Referral:
    """已确认 or 不予认定 (the latter with a reason), with date and who; audited."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not may_confirm(actor, lead):
        raise PermissionDenied("只有本组招商经理可以认定引荐人")
    ref = session.scalar(select(Referral).where(Referral.lead_id == lead_id))
    if ref is None:
        raise WorkflowError("该线索尚未登记引荐人")
    if ref.status != REF_PENDING:
        raise WorkflowError(f"该引荐人已{ref.status_label}，修改引荐人后才能重新认定")
    note = (note or "").strip() or None
    if not confirm and not note:
        raise ValidationError("不予认定须填写原因")
    ref.status = REF_CONFIRMED if confirm else REF_REJECTED
    ref.decided_by_id, ref.decided_at, ref.decision_note, ref.updated_at = actor.id, now, note, now
    session.flush()
    audit.record(
        session,
        actor,
        DECIDE,
        "lead",
        lead_id,
        {"status": REF_PENDING, "referrer_name": ref.referrer_name},
        {"status": ref.status, "referrer_name": ref.referrer_name, "note": note},
        ip,
    )
    inbox.close_action(session, decision_key(ref.id), now)
    if ref.created_by_id and ref.created_by_id != actor.id:
        inbox.notify(
            session,
            ref.created_by_id,
            "referral_decided",
            f"{actor.display_name}认定「{lead.company_name}」的引荐人：{ref.status_label}",
            note,
            lead_id=lead_id,
            now=now,
        )
    return ref
