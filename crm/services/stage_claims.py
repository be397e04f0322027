"""Stage claims: a stage past 在谈 is entered with its facts and counts once it is confirmed.

Why: figures leadership defends (signed and landed investment, gaps filled) must not be clicked
into existence. A move into a stage that `[stage_evidence.required]` lists goes through `move`:

- its facts are checked (crm.evidence); missing ones refuse the move, naming each (EvidenceMissing);
- with them, a claim is recorded and the lead's `pending_stage` set; the lead's `stage` stays
  until a confirmer confirms (the move is then applied) or returns it with a reason;
- confirmers: a user of `confirm_roles` in the lead's team; for a key project the sponsoring
  leader or a user of `key_confirm_roles`. A claim by someone who may confirm it counts at once;
- a confirmed 落地 puts the landed firm on the graph (crm.services.landing);
- every step is audited; confirmers get an inbox item that closes when any of them decides.

Other moves (back, 搁置, 流失, stages without required facts) go straight to leads.transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import permissions as perm
from ..counting import milestones
from ..errors import NotFound, PermissionDenied, StaleEdit, ValidationError, WorkflowError
from ..evidence import check_facts
from ..key_projects import is_key_project
from ..loop_settings import LoopSettings
from ..models import LEADER, Lead, User, utcnow
from ..models_loop import (
    CLAIM_CONFIRMED,
    CLAIM_PENDING,
    CLAIM_RETURNED,
    CLAIM_WITHDRAWN,
    Attachment,
    StageClaim,
)
from ..settings import CrmSettings
from ..workflow import Workflow, check_gate
from . import audit, filings, inbox
from ._common import Actor, current_actor, flush_or_stale, readable_lead
from ._common import get_lead as _load_lead
from .landing import land_firm
from .leads import apply_transition, transition

CLAIM, CONFIRM, RETURN, WITHDRAW, LAND = "claim", "confirm", "return", "withdraw", "land"


class EvidenceMissing(ValidationError):
    """A stage claimed without its facts; `missing` names each requirement not met (Chinese)."""

    def __init__(self, stage: str, missing: list[str]):
        self.stage = stage
        self.missing = list(missing)
        super().__init__(f"进入「{stage}」须填写：{'、'.join(self.missing)}")


@dataclass
class MoveResult:
    lead: Lead
    claim: StageClaim | None = None  # set when the move went through a claim

    @property
    def pending(self) -> bool:
        return self.claim is not None and self.claim.status == CLAIM_PENDING


def _is_forward(settings: CrmSettings, current: str, target: str) -> bool:
    stages = settings.stages
    if target not in stages:
        return False
    if current not in stages:
        return True  # resuming from 搁置 / reopening into an evidence stage
    return stages.index(target) > stages.index(current)


def needs_claim(loop: LoopSettings, settings: CrmSettings, current: str, target: str) -> bool:
    """Whether moving `current` → `target` needs a claim with facts (forward into a listed stage)."""
    return loop.evidence.needs_claim(target) and _is_forward(settings, current, target)


def may_decide(actor: Any, lead: Any, loop: LoopSettings, settings: CrmSettings) -> bool:
    """Who confirms or returns a claim on this lead (rule in one place; lists use `confirmers`)."""
    if actor is None or not getattr(actor, "is_active", False):
        return False
    ev = loop.evidence
    if is_key_project(lead.investment, lead.key_flag, settings.four_ones):
        return (lead.sponsor_user_id is not None and actor.id == lead.sponsor_user_id) or (
            actor.role in ev.key_confirm_roles and perm.can_read(actor, lead)
        )
    if actor.role not in ev.confirm_roles:
        return False
    if actor.role == LEADER:
        return True
    return lead.team_id is not None and actor.team_id == lead.team_id


def confirmers(session: Session, lead: Lead, loop: LoopSettings, settings: CrmSettings) -> list[User]:
    """The users told of a pending claim: the sponsor of a key project (else the configured roles),
    the team's users of the confirming roles otherwise."""
    if is_key_project(lead.investment, lead.key_flag, settings.four_ones) and lead.sponsor_user_id:
        sponsor = session.get(User, lead.sponsor_user_id)
        if sponsor is not None and sponsor.is_active:
            return [sponsor]
    users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id))
    return [u for u in users if may_decide(u, lead, loop, settings)]


def move(
    session: Session,
    actor: Actor,
    lead_id: int,
    target: str,
    reason: str | None = None,
    *,
    facts: Mapping[str, Any] | None = None,
    attachment_ids: Sequence[int] = (),
    expected_version: int | None = None,
    settings: CrmSettings,
    loop: LoopSettings,
    graph: Any = None,
    district: Mapping[str, Any] | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> MoveResult:
    """Move a lead; into an evidence stage by a claim (see the module docstring)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = _load_lead(session, lead_id)
    if not needs_claim(loop, settings, lead.stage, target):
        lead = transition(
            session,
            actor,
            lead_id,
            target,
            reason,
            expected_version=expected_version,
            settings=settings,
            ip=ip,
            now=now,
        )
        return MoveResult(lead)
    if not perm.can_edit(actor, lead):
        raise PermissionDenied("您无权修改该线索")
    if expected_version is not None and int(expected_version) != lead.version:
        raise StaleEdit(f"线索「{lead.company_name}」")
    if lead.pending_stage:
        raise WorkflowError(f"「{lead.pending_stage}」阶段申报待确认，请勿重复申报")
    workflow = Workflow.from_settings(settings)
    workflow.check_transition(lead.stage, target, reason, lead.paused_from)
    check_gate(workflow, target, lead, lead.investment, lead.key_flag, settings.four_ones)
    raw = dict(facts or {})
    raw["agreement_file"] = _own_attachments(session, lead.id, attachment_ids)
    clean, missing = check_facts(loop.evidence.requirements(target), raw)
    if missing:
        raise EvidenceMissing(target, missing)
    claim = StageClaim(
        lead_id=lead.id,
        from_stage=lead.stage,
        to_stage=target,
        facts=clean,
        status=CLAIM_PENDING,
        claimed_by_id=actor.id,
        claimed_at=now,
    )
    session.add(claim)
    lead.pending_stage = target
    lead.updated_at = now
    flush_or_stale(session, f"线索「{lead.company_name}」")
    _link_attachments(session, claim, raw["agreement_file"] or [])
    audit.record(
        session,
        actor,
        CLAIM,
        "lead",
        lead.id,
        {"stage": lead.stage},
        {"pending_stage": target, "claim_id": claim.id, "facts": clean},
        ip,
    )
    if may_decide(actor, lead, loop, settings):
        _confirm(session, actor, claim, "申报人有确认权限，直接确认", settings, graph, district, ip, now)
    else:
        for user in confirmers(session, lead, loop, settings):
            if user.id == actor.id:
                continue
            inbox.notify(
                session,
                user.id,
                "claim_pending",
                f"{actor.display_name}申报「{lead.company_name}」进入「{target}」，请确认",
                None,
                lead_id=lead.id,
                action_key=inbox.claim_decision_key(claim.id),
                now=now,
            )
    return MoveResult(lead, claim)


def _own_attachments(session: Session, lead_id: int, ids: Sequence[int]) -> list[int]:
    """Only attachments of this lead count as evidence (an id of another lead is ignored)."""
    wanted = [int(i) for i in ids if str(i).isdigit()]
    if not wanted:
        return []
    rows = session.scalars(
        select(Attachment.id).where(
            Attachment.id.in_(wanted), Attachment.lead_id == lead_id, Attachment.deleted_at.is_(None)
        )
    )
    return sorted(rows)


def _link_attachments(session: Session, claim: StageClaim, ids: Sequence[int]) -> None:
    if not ids:
        return
    for att in session.scalars(select(Attachment).where(Attachment.id.in_(list(ids)))):
        att.claim_id = claim.id


def _decidable(
    session: Session, actor: Actor, claim_id: int, loop: LoopSettings, settings: CrmSettings
) -> tuple[Actor, StageClaim]:
    actor = current_actor(session, actor)
    claim = session.get(StageClaim, claim_id)
    if claim is None:
        raise NotFound("阶段申报不存在")
    if not may_decide(actor, claim.lead, loop, settings):
        raise PermissionDenied("您无权确认或退回该阶段申报")
    if claim.status != CLAIM_PENDING:
        raise WorkflowError(f"该申报已{claim.status_label}，无须再处理")
    return actor, claim


def confirm(
    session: Session,
    actor: Actor,
    claim_id: int,
    *,
    settings: CrmSettings,
    loop: LoopSettings,
    graph: Any = None,
    district: Mapping[str, Any] | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> StageClaim:
    """Confirm a pending claim: the lead enters the stage, its facts become the lead's figures."""
    now = now or utcnow()
    actor, claim = _decidable(session, actor, claim_id, loop, settings)
    _confirm(session, actor, claim, None, settings, graph, district, ip, now)
    return claim


def _confirm(
    session: Session,
    actor: Actor,
    claim: StageClaim,
    note: str | None,
    settings: CrmSettings,
    graph: Any,
    district: Mapping[str, Any] | None,
    ip: str | None,
    now: datetime,
) -> None:
    lead = claim.lead
    lead.pending_stage = None
    claimant = session.get(User, claim.claimed_by_id) if claim.claimed_by_id else None
    who = claimant.display_name if claimant else "申报人"
    reason = note or f"{who}申报，{actor.display_name}确认"
    apply_transition(session, actor, lead, claim.to_stage, reason, settings=settings, ip=ip, now=now)
    before = {"investment": lead.investment, "expected_output": lead.expected_output}
    facts = claim.facts or {}
    if facts.get("agreed_investment") is not None:
        lead.investment = float(facts["agreed_investment"])
    if facts.get("first_year_output") is not None:
        lead.expected_output = float(facts["first_year_output"])
    claim.status, claim.decided_by_id, claim.decided_at, claim.decision_reason = (
        CLAIM_CONFIRMED,
        actor.id,
        now,
        note,
    )
    flush_or_stale(session, f"线索「{lead.company_name}」")
    if before["investment"] != lead.investment:
        filings.sync_item(session, lead, settings, now=now)  # the agreed investment may cross the threshold
    after = {"investment": lead.investment, "expected_output": lead.expected_output}
    audit.record(
        session,
        actor,
        CONFIRM,
        "lead",
        lead.id,
        {"claim_id": claim.id, "status": CLAIM_PENDING, **before},
        {"claim_id": claim.id, "status": CLAIM_CONFIRMED, "stage": claim.to_stage, **after},
        ip,
    )
    inbox.close_action(session, inbox.claim_decision_key(claim.id), now)
    if claimant is not None and claimant.id != actor.id:
        inbox.notify(
            session,
            claimant.id,
            "claim_confirmed",
            f"{actor.display_name}确认了「{lead.company_name}」进入「{claim.to_stage}」",
            None,
            lead_id=lead.id,
            now=now,
        )
    if graph is not None and claim.to_stage == landed_stage(settings):
        firm_id = land_firm(graph, lead, facts, district or {})
        audit.record(session, actor, LAND, "lead", lead.id, None, {"graph_company_id": firm_id}, ip)


def landed_stage(settings: CrmSettings) -> str:
    """The stage at which a firm is local (落地; the rule: crm.counting.milestones)."""
    return milestones(settings)[1]


def return_claim(
    session: Session,
    actor: Actor,
    claim_id: int,
    reason: str,
    *,
    settings: CrmSettings,
    loop: LoopSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> StageClaim:
    """Send a claim back to the claimant with a reason; the lead stays where it was."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("退回阶段申报须填写原因")
    actor, claim = _decidable(session, actor, claim_id, loop, settings)
    _close(session, actor, claim, CLAIM_RETURNED, reason, RETURN, ip, now)
    if claim.claimed_by_id and claim.claimed_by_id != actor.id:
        inbox.notify(
            session,
            claim.claimed_by_id,
            "claim_returned",
            f"{actor.display_name}退回了「{claim.lead.company_name}」进入「{claim.to_stage}」的申报",
            reason,
            lead_id=claim.lead_id,
            now=now,
        )
    return claim


def withdraw(
    session: Session, actor: Actor, claim_id: int, *, ip: str | None = None, now: datetime | None = None
) -> StageClaim:
    """The lead's editor takes a pending claim back (e.g. to correct its facts)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    claim = session.get(StageClaim, claim_id)
    if claim is None or not perm.can_edit(actor, claim.lead):
        raise PermissionDenied("您无权撤回该阶段申报")
    if claim.status != CLAIM_PENDING:
        raise WorkflowError(f"该申报已{claim.status_label}，不能撤回")
    _close(session, actor, claim, CLAIM_WITHDRAWN, None, WITHDRAW, ip, now)
    return claim


def _close(
    session: Session,
    actor: Actor,
    claim: StageClaim,
    status: str,
    reason: str | None,
    action: str,
    ip: str | None,
    now: datetime,
) -> None:
    lead = claim.lead
    lead.pending_stage = None
    lead.updated_at = now
    claim.status, claim.decided_by_id, claim.decided_at, claim.decision_reason = status, actor.id, now, reason
    flush_or_stale(session, f"线索「{lead.company_name}」")
    audit.record(
        session,
        actor,
        action,
        "lead",
        lead.id,
        {"claim_id": claim.id, "status": CLAIM_PENDING},
        {"claim_id": claim.id, "status": status, "reason": reason},
        ip,
    )
    inbox.close_action(session, inbox.claim_decision_key(claim.id), now)


# ----------------------------------------------------------------------------- reads


def claims_of(session: Session, actor: Actor, lead_id: int) -> list[StageClaim]:
    """A lead's claims, newest first (the lead page)."""
    actor, lead = readable_lead(session, actor, lead_id)
    return list(
        session.scalars(
            select(StageClaim)
            .where(StageClaim.lead_id == lead_id)
            .options(selectinload(StageClaim.claimed_by), selectinload(StageClaim.decided_by))
            .order_by(StageClaim.claimed_at.desc(), StageClaim.id.desc())
        )
    )


def pending_for(
    session: Session, actor: Actor, loop: LoopSettings, settings: CrmSettings, limit: int = 100
) -> list[StageClaim]:
    """Pending claims the actor may decide (the manager's board, the leader's 待审批)."""
    actor = current_actor(session, actor)
    rows = session.scalars(
        select(StageClaim)
        .join(Lead, Lead.id == StageClaim.lead_id)
        .where(StageClaim.status == CLAIM_PENDING, perm.visibility(actor))
        .options(selectinload(StageClaim.lead), selectinload(StageClaim.claimed_by))
        .order_by(StageClaim.claimed_at, StageClaim.id)
    )
    return [c for c in rows if may_decide(actor, c.lead, loop, settings)][:limit]


def returned_for(session: Session, actor: Actor, limit: int = 50) -> list[StageClaim]:
    """The actor's returned claims not yet followed by a newer claim (the recruiter's 我的待办)."""
    actor = current_actor(session, actor)
    rows = session.scalars(
        select(StageClaim)
        .where(StageClaim.claimed_by_id == actor.id, StageClaim.status == CLAIM_RETURNED)
        .options(selectinload(StageClaim.lead))
        .order_by(StageClaim.decided_at.desc())
        .limit(limit * 2)
    )
    out = []
    for claim in rows:
        lead = claim.lead
        later = session.scalar(
            select(StageClaim.id).where(StageClaim.lead_id == lead.id, StageClaim.id > claim.id).limit(1)
        )
        if later is None and lead.stage == claim.from_stage and perm.can_read(actor, lead):
            out.append(claim)
    return out[:limit]
