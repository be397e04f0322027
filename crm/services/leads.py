"""Leads: register (with 首报首谈), read, edit (optimistic locking), move through the workflow, list.

The team of a lead is the team of the user who registers it; a recruiter's lead is owned by that
recruiter, a manager's lead goes to the team's pool (or is assigned automatically when
`[crm] auto_assign` is on).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from graph.identity import InvalidCreditCode, clean_uscc, normalize_name

from .. import permissions as perm
from ..errors import DuplicateLead, PermissionDenied, StaleEdit, ValidationError
from ..models import LEADER, MANAGER, RECRUITER, Lead, StageChange, User, utcnow
from ..settings import CrmSettings
from ..workflow import Workflow, check_gate, four_ones_missing, is_key_project
from . import audit, staffing
from ._common import Actor, current_actor, jsonable, snapshot
from ._common import get_lead as _load_lead

TEXT_FIELDS = {  # field -> (label, max length)
    "company_name": ("企业名称", 200),
    "company_id": ("企业图谱编号", 64),
    "sector_id": ("产业", 64),
    "sector_name": ("产业名称", 100),
    "chain_id": ("产业链", 64),
    "chain_name": ("产业链名称", 100),
    "node_id": ("环节", 64),
    "node_name": ("环节名称", 100),
    "gap_status": ("链状态", 16),
    "gap_reason": ("补链理由", 4000),
    "zone": ("意向落位园区", 100),
    "notes": ("备注", 4000),
    "sponsor_name": ("牵头区领导", 100),
    "task_force_department": ("工作专班牵头部门", 200),
    "case_officer_name": ("项目服务专员", 100),
}
NUMBER_FIELDS = {
    "gap_score": "推荐得分",
    "investment": "预计投资额（万元）",
    "expected_output": "预计年产值（万元）",
    "land_mu": "用地需求（亩）",
    "floor_m2": "用房需求（平方米）",
}
USER_FIELDS = {"sponsor_user_id": "牵头区领导", "case_officer_user_id": "项目服务专员"}
EDITABLE = (
    *TEXT_FIELDS,
    *NUMBER_FIELDS,
    *USER_FIELDS,
    "uscc",
    "channel",
    "priority",
    "key_flag",
    "task_force_members",
    "service_plan",
)
AUDITED = (*EDITABLE, "stage", "stage_reason", "owner_id", "team_id")


# ----------------------------------------------------------------------------- validation


def _clean(
    session: Session, data: Mapping[str, Any], settings: CrmSettings, creating: bool
) -> dict[str, Any]:
    """Validate and normalise lead fields; raise ValidationError listing every problem."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, (label, limit) in TEXT_FIELDS.items():
        if name in data:
            value = data[name]
            value = None if value is None else str(value).strip() or None
            if value is not None and len(value) > limit:
                problems.append(f"{label}不能超过 {limit} 个字符")
            out[name] = value
    if creating or "company_name" in data:
        if not out.get("company_name"):
            problems.append("企业名称不能为空")
    for name, label in NUMBER_FIELDS.items():
        if name in data:
            value = data[name]
            if value is None or (isinstance(value, str) and not value.strip()):
                out[name] = None
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                problems.append(f"{label}必须是数字")
                continue
            if math.isnan(number) or math.isinf(number) or number < 0:
                problems.append(f"{label}必须是非负数")
                continue
            out[name] = number
    if "uscc" in data:
        try:
            out["uscc"] = clean_uscc(data["uscc"])
        except InvalidCreditCode as exc:
            problems.append(str(exc))
    if creating or "channel" in data:
        channel = data.get("channel") or "其他"
        if channel not in settings.channels:
            problems.append(f"招商渠道须为：{'、'.join(settings.channels)}")
        out["channel"] = channel
    if creating or "priority" in data:
        priority = data.get("priority") or settings.priorities[len(settings.priorities) // 2]
        if priority not in settings.priorities:
            problems.append(f"优先级须为：{'、'.join(settings.priorities)}")
        out["priority"] = priority
    if "key_flag" in data:
        out["key_flag"] = bool(data["key_flag"])
    if "task_force_members" in data:
        members = data["task_force_members"] or []
        if isinstance(members, str):
            members = [
                m for m in (x.strip() for x in members.replace("，", ",").replace("、", ",").split(","))
            ]
        out["task_force_members"] = [str(m).strip() for m in members if str(m).strip()]
    if "service_plan" in data:
        plan = data["service_plan"] or {}
        if not isinstance(plan, Mapping):
            problems.append("服务方案格式错误")
        else:
            out["service_plan"] = {
                k: jsonable(v) for k, v in plan.items() if k in ("needs", "policy_support", "milestones")
            }
    for name, label in USER_FIELDS.items():
        if name in data:
            uid = data[name]
            if uid in (None, ""):
                out[name] = None
                continue
            try:
                user = session.get(User, int(uid))
            except (TypeError, ValueError):
                user = None
            if user is None or not user.is_active:
                problems.append(f"{label}须为有效用户")
            elif name == "sponsor_user_id" and user.role != LEADER:
                problems.append("牵头区领导须为区领导角色的用户")
            else:
                out[name] = user.id
    if problems:
        raise ValidationError("；".join(problems))
    if "company_name" in out and out["company_name"]:
        out["name_key"] = normalize_name(out["company_name"])
    return out


# ----------------------------------------------------------------------------- 首报首谈


def find_holder(
    session: Session,
    *,
    company_name: str | None = None,
    uscc: str | None = None,
    now: datetime | None = None,
    exclude_id: int | None = None,
    lost_stage: str = "流失",
) -> Lead | None:
    """The lead that holds this firm under 首报首谈 (same credit code or normalised name,
    not lost, protection not expired), or None."""
    now = now or utcnow()
    conditions = []
    if uscc:
        conditions.append(Lead.uscc == uscc)
    if company_name:
        conditions.append(Lead.name_key == normalize_name(company_name))
    if not conditions:
        return None
    query = (
        select(Lead)
        .where(or_(*conditions), Lead.protected_until > now, Lead.stage != lost_stage)
        .order_by(Lead.created_at, Lead.id)
        .limit(1)
    )
    if exclude_id is not None:
        query = query.where(Lead.id != exclude_id)
    return session.scalar(query)


def _raise_duplicate(holder: Lead) -> None:
    who = holder.registered_by.label if holder.registered_by else "其他用户"
    raise DuplicateLead(holder.company_name, who, holder.created_at, holder.protected_until, holder.id)


def check_duplicate(
    session: Session,
    actor: Actor,
    *,
    company_name: str,
    uscc: str | None = None,
    settings: CrmSettings | None = None,
    now: datetime | None = None,
) -> None:
    """Raise DuplicateLead if the firm is held by another registration (for a form's pre-check)."""
    settings = settings or CrmSettings()
    current_actor(session, actor)
    try:
        uscc = clean_uscc(uscc)
    except InvalidCreditCode as exc:
        raise ValidationError(str(exc)) from exc
    holder = find_holder(
        session, company_name=company_name, uscc=uscc, now=now, lost_stage=settings.lost_stage
    )
    if holder is not None:
        _raise_duplicate(holder)


# ----------------------------------------------------------------------------- create / read / update


def create_lead(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    *,
    settings: CrmSettings | None = None,
    ip: str | None = None,
    now: datetime | None = None,
    auto_assign: bool = True,
) -> Lead:
    """Register a firm as a lead at the first stage. Refused with DuplicateLead while another
    registration holds it (首报首谈); the new registration holds it for `protection_days`."""
    settings = settings or CrmSettings()
    actor = current_actor(session, actor)
    if not perm.can_create_lead(actor):
        raise PermissionDenied("只有招商专员和招商经理可以登记线索")
    now = now or utcnow()
    values = _clean(session, data, settings, creating=True)
    staffing.check_case_officer(session, values.get("case_officer_user_id"), actor.team_id)
    if values.get("key_flag") and actor.role != MANAGER:
        raise PermissionDenied("只有招商经理可以标记重点项目")
    _lock_company(session, values.get("name_key"), values.get("uscc"))
    holder = _holder_for(session, values, settings, now)
    if holder is not None:
        _raise_duplicate(holder)
    workflow = Workflow.from_settings(settings)
    lead = Lead(
        **values,
        stage=workflow.first,
        stage_changed_at=now,
        team_id=actor.team_id,
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
    if lead.owner_id is None and auto_assign and settings.auto_assign != "off":
        from .assignment import auto_assign as _auto

        _auto(session, actor, [lead.id], settings=settings, ip=ip, now=now)
    return lead


def _lock_company(session: Session, name_key: str | None, uscc: str | None) -> None:
    """On PostgreSQL, serialise registrations of the same firm until commit (transaction-level
    advisory locks on its name key and credit code), so two simultaneous first registrations
    cannot both pass the 首报首谈 check. SQLite allows one writer at a time anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(k for k in (name_key and f"name:{name_key}", uscc and f"uscc:{uscc}") if k):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))


def _holder_for(
    session: Session,
    values: Mapping[str, Any],
    settings: CrmSettings,
    now: datetime,
    exclude_id: int | None = None,
) -> Lead | None:
    return find_holder(
        session,
        company_name=values.get("company_name"),
        uscc=values.get("uscc"),
        now=now,
        exclude_id=exclude_id,
        lost_stage=settings.lost_stage,
    )


def get_lead(session: Session, actor: Actor, lead_id: int) -> Lead:
    """The lead if the actor may read it; PermissionDenied otherwise."""
    actor = current_actor(session, actor)
    lead = _load_lead(session, lead_id)
    if not perm.can_read(actor, lead):
        raise PermissionDenied("您无权查看该线索")
    return lead


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


def flush_or_stale(session: Session, what: str) -> None:
    """Flush; a version mismatch at the database (someone saved first) becomes StaleEdit."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleEdit(what) from exc


def update_lead(
    session: Session,
    actor: Actor,
    lead_id: int,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
    settings: CrmSettings | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Change lead fields (including the "四个一" items). Pass the `version` the form was loaded
    with as `expected_version`: a save over someone else's newer save is refused (StaleEdit)."""
    settings = settings or CrmSettings()
    actor, lead = _editable(session, actor, lead_id, expected_version)
    values = _clean(session, changes, settings, creating=False)
    if values.get("case_officer_user_id") not in (None, lead.case_officer_user_id):
        staffing.check_case_officer(session, values["case_officer_user_id"], lead.team_id)
    if "key_flag" in values and values["key_flag"] != lead.key_flag and not perm.can_flag_key(actor, lead):
        raise PermissionDenied("只有招商经理可以标记或取消重点项目")
    if "company_name" in values or "uscc" in values:
        probe = {
            "company_name": values.get("company_name", lead.company_name),
            "uscc": values.get("uscc", lead.uscc),
        }
        holder = _holder_for(session, probe, settings, now or utcnow(), exclude_id=lead.id)
        if holder is not None and holder.created_at <= lead.created_at:
            _raise_duplicate(holder)
    before = snapshot(lead, AUDITED)
    for name, value in values.items():
        setattr(lead, name, value)
    b, a = audit.diff(before, snapshot(lead, AUDITED))
    if not a:
        return lead
    lead.updated_at = now or utcnow()
    flush_or_stale(session, f"线索「{lead.company_name}」")
    audit.record(session, actor, audit.UPDATE, "lead", lead.id, b, a, ip)
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
    settings: CrmSettings | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Move a lead to `target`. Refused with WorkflowError for an illegal move or a missing
    reason, with GateNotSatisfied (listing what is missing) for an unready key project."""
    settings = settings or CrmSettings()
    now = now or utcnow()
    actor, lead = _editable(session, actor, lead_id, expected_version)
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
    return lead


def allowed_transitions(lead: Lead, settings: CrmSettings | None = None) -> list[str]:
    """Stages the lead may move to next (for the buttons on a lead page)."""
    settings = settings or CrmSettings()
    return Workflow.from_settings(settings).allowed_targets(lead.stage, lead.paused_from)


@dataclass
class KeyProjectStatus:
    is_key: bool
    missing: list[str]  # "四个一" items still lacking, Chinese

    @property
    def ready(self) -> bool:
        return not self.missing


def key_project_status(lead: Lead, settings: CrmSettings | None = None) -> KeyProjectStatus:
    settings = settings or CrmSettings()
    key = is_key_project(lead.investment, lead.key_flag, settings.four_ones)
    return KeyProjectStatus(key, four_ones_missing(lead, settings.four_ones) if key else [])


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


# ----------------------------------------------------------------------------- listing


@dataclass
class LeadFilter:
    stages: Sequence[str] = ()
    sector_id: str | None = None
    chain_id: str | None = None
    node_id: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    channel: str | None = None
    priority: str | None = None
    key_only: bool = False
    pool_only: bool = False
    mine_only: bool = False
    overdue_only: bool = False  # past the response-time rule (services.overdue)
    text: str | None = None  # part of the company name


@dataclass
class Page:
    items: list[Lead]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


SORTS = {
    "updated": Lead.updated_at.desc(),
    "created": Lead.created_at.desc(),
    "investment": Lead.investment.desc(),
    "score": Lead.gap_score.desc(),
    "company": Lead.name_key.asc(),
}


def visibility(actor: Actor):
    """WHERE clause of the leads the actor may read: permissions.can_read as SQL."""
    if actor.role == LEADER:
        return true()
    if actor.role == MANAGER:
        return or_(Lead.team_id == actor.team_id, team_pool(actor))
    if actor.role == RECRUITER:
        return or_(Lead.owner_id == actor.id, team_pool(actor))
    return false()


def team_pool(actor: Actor):
    """WHERE clause of the pool an actor works: no owner, and the actor's team or no team
    (permissions.in_team_pool as SQL; the pool a recruiter may claim from)."""
    team = (
        Lead.team_id.is_(None)
        if actor.team_id is None
        else or_(Lead.team_id == actor.team_id, Lead.team_id.is_(None))
    )
    return and_(Lead.owner_id.is_(None), team)


def visible_leads(actor: Actor) -> Select:
    """SELECT of the leads the actor may read."""
    return select(Lead).where(visibility(actor))


def list_leads(
    session: Session,
    actor: Actor,
    filters: LeadFilter | None = None,
    *,
    page: int = 1,
    per_page: int = 20,
    sort: str = "updated",
    settings: CrmSettings | None = None,
) -> Page:
    """The leads the actor may read, filtered, newest change first, one page at a time."""
    settings = settings or CrmSettings()
    actor = current_actor(session, actor)
    f = filters or LeadFilter()
    query = visible_leads(actor)
    if f.stages:
        query = query.where(Lead.stage.in_(list(f.stages)))
    for column, value in (
        (Lead.sector_id, f.sector_id),
        (Lead.chain_id, f.chain_id),
        (Lead.node_id, f.node_id),
        (Lead.owner_id, f.owner_id),
        (Lead.team_id, f.team_id),
        (Lead.channel, f.channel),
        (Lead.priority, f.priority),
    ):
        if value not in (None, ""):
            query = query.where(column == value)
    if f.key_only:
        query = query.where(
            or_(Lead.key_flag.is_(True), Lead.investment >= settings.four_ones.key_investment_min)
        )
    if f.pool_only:
        query = query.where(Lead.owner_id.is_(None))
    if f.mine_only:
        query = query.where(Lead.owner_id == actor.id)
    if f.overdue_only:
        from .overdue import overdue_condition

        query = query.where(overdue_condition(settings, utcnow()))
    if f.text and f.text.strip():
        needle = normalize_name(f.text.strip()).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Lead.name_key.like(f"%{needle}%", escape="\\"))
    per_page = max(1, min(int(per_page), 200))
    page = max(1, int(page))
    total = session.scalar(query.with_only_columns(func.count(Lead.id)).order_by(None)) or 0
    order = SORTS.get(sort, SORTS["updated"])
    items = session.scalars(
        query.options(joinedload(Lead.owner))
        .order_by(order, Lead.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total, page, per_page)


# ----------------------------------------------------------------------------- from targets


def target_row_to_lead_data(row: Mapping[str, Any], channel: str = "精准补链") -> dict[str, Any]:
    """Lead fields from a ranked target (graph ranking or a target-list row): the firm, the node
    it fills, and the gap reason and score it came with."""
    return {
        "company_id": row.get("company_id"),
        "company_name": row.get("company_name"),
        "uscc": row.get("uscc"),
        "sector_id": row.get("sector_id"),
        "sector_name": row.get("sector_name"),
        "chain_id": row.get("chain_id"),
        "chain_name": row.get("chain_name"),
        "node_id": row.get("node_id"),
        "node_name": row.get("node_name"),
        "gap_status": row.get("status") or row.get("gap_status"),
        "gap_reason": row.get("reason"),
        "gap_score": row.get("score"),
        "channel": row.get("channel") or channel,
    }


@dataclass
class BulkResult:
    created: list[Lead] = field(default_factory=list)
    duplicates: list[DuplicateLead] = field(default_factory=list)  # held by someone (首报首谈)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (company name, Chinese reason)

    def summary(self) -> str:
        """One Chinese sentence for a flash message or the CLI."""
        text = f"已生成 {len(self.created)} 条线索"
        if self.duplicates:
            text += f"；{len(self.duplicates)} 家企业已被他人首报登记，未重复生成"
        if self.invalid:
            text += f"；{len(self.invalid)} 行数据有误被跳过"
        return text


def create_leads_from_targets(
    session: Session,
    actor: Actor,
    rows: Sequence[Mapping[str, Any]],
    *,
    channel: str = "精准补链",
    settings: CrmSettings | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Turn target rows into leads in one go (a manager; they go to the team's pool, or are
    assigned automatically when configured). A firm held under 首报首谈 or an invalid row is
    reported in the result and does not stop the others; each row is its own savepoint."""
    settings = settings or CrmSettings()
    checked = current_actor(session, actor)
    if checked.role != MANAGER:
        raise PermissionDenied("只有招商经理可以批量生成线索")
    result = BulkResult()
    for row in rows:
        data = {k: v for k, v in target_row_to_lead_data(row, channel).items() if v is not None}
        name = str(row.get("company_name") or "（无名称）")
        try:
            with session.begin_nested():
                lead = create_lead(session, checked, data, settings=settings, ip=ip, now=now)
            result.created.append(lead)
        except DuplicateLead as exc:
            result.duplicates.append(exc)
        except ValidationError as exc:
            result.invalid.append((name, str(exc)))
    return result
