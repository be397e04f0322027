"""Leads: register (with 首报首谈), read, edit (optimistic locking), move through the workflow.

The team of a lead is the team of its sector (else the registering user's team); a recruiter's
lead is owned by that recruiter, a manager's lead goes to the team's pool (or is assigned automatically when
`[crm] auto_assign` is on). Lists of leads are read-side queries: crm.queries.worklist.
Field validation: lead_fields; who holds a firm: lead_holders; leads from ranked targets:
from_targets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from graph.identity import InvalidCreditCode, clean_uscc

from .. import permissions as perm
from ..errors import PermissionDenied, StaleEdit, ValidationError, WorkflowError
from ..models import MANAGER, RECRUITER, Lead, StageChange, Team, User, utcnow
from ..settings import CrmSettings
from ..workflow import Workflow, check_gate
from . import audit, filings, inbox, spaces_holds, staffing
from ._common import Actor, current_actor, flush_or_stale, readable_lead, snapshot
from ._common import get_lead as _load_lead
from .assignment import auto_assign as _auto_assign
from .lead_fields import AUDITED, clean_fields
from .lead_holders import CompanyRef, duplicate_error, find_holder

__all__ = [
    "allowed_transitions",
    "apply_transition",
    "check_duplicate",
    "create_lead",
    "flush_or_stale",
    "get_lead",
    "stage_history",
    "transition",
    "update_lead",
]


# ----------------------------------------------------------------------------- 首报首谈


def _ref(values: Mapping[str, Any]) -> CompanyRef:
    return CompanyRef(values.get("company_id"), values.get("company_name"), values.get("uscc"))


def check_duplicate(
    session: Session,
    actor: Actor,
    *,
    company_name: str,
    settings: CrmSettings,
    uscc: str | None = None,
    company_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Raise DuplicateLead if the firm is held by another registration (for a form's pre-check)."""
    current_actor(session, actor)
    try:
        uscc = clean_uscc(uscc)
    except InvalidCreditCode as exc:
        raise ValidationError(str(exc)) from exc
    holder = find_holder(
        session, CompanyRef(company_id, company_name, uscc), now=now, lost_stage=settings.lost_stage
    )
    if holder is not None:
        raise duplicate_error(holder)


# ----------------------------------------------------------------------------- create / read / update


def create_lead(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
    auto_assign: bool = True,
) -> Lead:
    """Register a firm as a lead at the first stage. Refused with DuplicateLead while another
    registration holds it (首报首谈); the new registration holds it for `protection_days`."""
    actor = current_actor(session, actor)
    if not perm.can_create_lead(actor):
        raise PermissionDenied("只有招商专员和招商经理可以登记线索")
    now = now or utcnow()
    values = clean_fields(session, data, settings, creating=True)
    staffing.check_case_officer(session, values.get("case_officer_user_id"), actor.team_id)
    if values.get("key_flag") and actor.role != MANAGER:
        raise PermissionDenied("只有招商经理可以标记重点项目")
    _lock_company(session, values)
    holder = find_holder(session, _ref(values), now=now, lost_stage=settings.lost_stage)
    if holder is not None:
        raise duplicate_error(holder)
    workflow = Workflow.from_settings(settings)
    sector_team = _sector_team(session, values.get("sector_id"))
    lead = Lead(
        **values,
        stage=workflow.first,
        stage_changed_at=now,
        team_id=sector_team.id if sector_team is not None else actor.team_id,
        registered_by_id=actor.id,
        created_at=now,
        updated_at=now,
        protected_until=now + timedelta(days=settings.protection_days),
    )
    lead.task_force_members = values.get("task_force_members", [])
    lead.service_plan = values.get("service_plan", {})
    if actor.role == RECRUITER:
        lead.owner_id, lead.assigned_at = actor.id, now
    session.add(lead)
    session.flush()
    session.add(
        StageChange(lead_id=lead.id, from_stage=None, to_stage=lead.stage, actor_id=actor.id, changed_at=now)
    )
    audit.record(session, actor, audit.CREATE, "lead", lead.id, None, snapshot(lead, AUDITED), ip)
    if sector_team is not None and sector_team.id != actor.team_id:
        _tell_sector_team(session, actor, lead, sector_team, now)
    if lead.owner_id is None and auto_assign and settings.auto_assign != "off":
        _auto_assign(session, actor, [lead.id], settings=settings, ip=ip, now=now)
    if lead.investment is not None:
        filings.sync_item(session, lead, settings, now=now)  # 首报首谈 over the threshold
    return lead


def _sector_team(session: Session, sector_id: str | None) -> Team | None:
    """The team of the lead's sector: a lead belongs to it whoever registers it (a 储能 lead
    registered by the medical team's recruiter is the 储能 team's)."""
    if not sector_id:
        return None
    return session.scalar(select(Team).where(Team.sector_id == sector_id))


def _tell_sector_team(session: Session, actor: Actor, lead: Lead, team: Team, now: datetime) -> None:
    """The sector team's managers learn of a lead registered from outside the team."""
    for user_id in session.scalars(
        select(User.id).where(User.team_id == team.id, User.role == MANAGER, User.is_active.is_(True))
    ):
        inbox.notify(
            session,
            user_id,
            "sector_lead",
            f"{actor.display_name}登记了本组产业的线索「{lead.company_name}」",
            f"线索归属{team.name}；首报首谈登记人为{actor.display_name}。",
            lead_id=lead.id,
            now=now,
        )


def _tell_named(session: Session, actor: Actor, lead: Lead, before: Mapping[str, Any], now: datetime) -> None:
    """The sponsoring leader and the case officer are told when they are named on a lead."""
    for field, role_name in (("sponsor_user_id", "牵头区领导"), ("case_officer_user_id", "项目服务专员")):
        user_id = getattr(lead, field)
        if user_id is None or user_id == before.get(field) or user_id == actor.id:
            continue
        inbox.notify(
            session,
            user_id,
            "named",
            f"您被确定为「{lead.company_name}」的{role_name}",
            f"由{actor.display_name}指定。",
            lead_id=lead.id,
            now=now,
        )


def _lock_company(session: Session, values: Mapping[str, Any]) -> None:
    """On PostgreSQL, serialise registrations of the same firm until commit (transaction-level
    advisory locks on its graph id, name key and credit code: everything `find_holder` matches
    on), so two simultaneous first registrations cannot both pass the 首报首谈 check. SQLite
    allows one writer at a time anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = {
        f"{kind}:{values[field]}"
        for kind, field in (("id", "company_id"), ("name", "name_key"), ("uscc", "uscc"))
        if values.get(field)
    }
    for key in sorted(keys):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def get_lead(session: Session, actor: Actor, lead_id: int) -> Lead:
    """The lead if the actor may read it; PermissionDenied otherwise."""
    return readable_lead(session, actor, lead_id)[1]


def _editable(
    session: Session, actor: Actor, lead_id: int, expected_version: int | None
) -> tuple[Actor, Lead]:
    actor = current_actor(session, actor)
    lead = _load_lead(session, lead_id)
    if not perm.can_edit(actor, lead):
        if perm.can_read(actor, lead):
            raise PermissionDenied("您只能查看该线索，不能修改")
        raise PermissionDenied("您无权修改该线索")
    if expected_version is not None and int(expected_version) != lead.version:
        raise StaleEdit(f"线索「{lead.company_name}」")
    return actor, lead


def update_lead(
    session: Session,
    actor: Actor,
    lead_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Change lead fields (including the "四个一" items). Pass the `version` the form was loaded
    with as `expected_version`: a save over someone else's newer save is refused (StaleEdit)."""
    actor, lead = _editable(session, actor, lead_id, expected_version)
    values = clean_fields(session, changes, settings, creating=False)
    if values.get("case_officer_user_id") not in (None, lead.case_officer_user_id):
        staffing.check_case_officer(session, values["case_officer_user_id"], lead.team_id)
    if "key_flag" in values and values["key_flag"] != lead.key_flag and not perm.can_flag_key(actor, lead):
        raise PermissionDenied("只有招商经理可以标记或取消重点项目")
    if {"company_name", "uscc", "company_id"} & set(values):
        probe = CompanyRef(
            values.get("company_id", lead.company_id),
            values.get("company_name", lead.company_name),
            values.get("uscc", lead.uscc),
        )
        holder = find_holder(
            session, probe, now=now or utcnow(), exclude_id=lead.id, lost_stage=settings.lost_stage
        )
        if holder is not None and holder.created_at <= lead.created_at:
            raise duplicate_error(holder)
    before = snapshot(lead, AUDITED)
    named_before = {
        "sponsor_user_id": lead.sponsor_user_id,
        "case_officer_user_id": lead.case_officer_user_id,
    }
    for name, value in values.items():
        setattr(lead, name, value)
    b, a = audit.diff(before, snapshot(lead, AUDITED))
    if not a:
        return lead
    lead.updated_at = now or utcnow()
    flush_or_stale(session, f"线索「{lead.company_name}」")
    audit.record(session, actor, audit.UPDATE, "lead", lead.id, b, a, ip)
    _tell_named(session, actor, lead, named_before, lead.updated_at)
    if "investment" in a:
        filings.sync_item(session, lead, settings, now=lead.updated_at)  # 首报首谈 over the threshold
    return lead


# ----------------------------------------------------------------------------- workflow


def transition(
    session: Session,
    actor: Actor,
    lead_id: int,
    target: str,
    reason: str | None = None,
    *,
    expected_version: int | None = None,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Move a lead to `target`. Refused with WorkflowError for an illegal move or a missing
    reason, with GateNotSatisfied (listing what is missing) for an unready key project."""
    now = now or utcnow()
    actor, lead = _editable(session, actor, lead_id, expected_version)
    if lead.pending_stage:
        raise WorkflowError(f"「{lead.pending_stage}」阶段申报待确认，请先确认、退回或撤回该申报")
    return apply_transition(session, actor, lead, target, reason, settings=settings, ip=ip, now=now)


def apply_transition(
    session: Session,
    actor: Actor,
    lead: Lead,
    target: str,
    reason: str | None,
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """The move itself (workflow and gate checked, history, audit), without the edit-permission
    check: `transition` calls it for the lead's editor, crm.services.stage_claims for the
    confirmer of a stage claim (a leader confirming a key project may not edit the lead)."""
    now = now or utcnow()
    workflow = Workflow.from_settings(settings)
    workflow.check_transition(lead.stage, target, reason, lead.paused_from)
    check_gate(workflow, target, lead, lead.investment, lead.key_flag, settings.four_ones)
    before = {"stage": lead.stage, "stage_reason": lead.stage_reason}
    from_stage = lead.stage
    if target == workflow.paused:
        lead.paused_from = from_stage
    elif from_stage == workflow.paused:
        lead.paused_from = None
    lead.stage = target
    lead.stage_reason = (reason or "").strip() or None
    lead.stage_changed_at = now  # response-time clocks also count from here (see services.overdue)
    lead.updated_at = now
    flush_or_stale(session, f"线索「{lead.company_name}」")
    session.add(
        StageChange(
            lead_id=lead.id,
            from_stage=from_stage,
            to_stage=target,
            reason=lead.stage_reason,
            actor_id=actor.id,
            changed_at=now,
        )
    )
    audit.record(
        session,
        actor,
        audit.TRANSITION,
        "lead",
        lead.id,
        before,
        {"stage": lead.stage, "stage_reason": lead.stage_reason},
        ip,
    )
    spaces_holds.follow_lead_stage(session, actor, lead, from_stage, settings, now)  # 筑巢: space follows
    if settings.lost_stage in (target, from_stage):
        filings.sync_item(session, lead, settings, now=now)  # 首报首谈: a lost project needs no filing
    return lead


def allowed_transitions(lead: Lead | Any, settings: CrmSettings) -> list[str]:
    """Stages the lead may move to next (for the buttons on a lead page). `lead`: a Lead or a row
    with `stage` and `paused_from` (the list page's plain rows)."""
    return Workflow.from_settings(settings).allowed_targets(lead.stage, lead.paused_from)


def stage_history(session: Session, actor: Actor, lead_id: int) -> list[StageChange]:
    get_lead(session, actor, lead_id)
    return list(
        session.scalars(
            select(StageChange)
            .where(StageChange.lead_id == lead_id)
            .options(selectinload(StageChange.actor))
            .order_by(StageChange.changed_at, StageChange.id)
        )
    )
