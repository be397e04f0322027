"""Merge of two leads that point to the same firm: one survives, the other is kept as 已合并.

Why: duplicates split the work and the figures (two owners, two timelines, the project counted
twice). A manager of the team(s) chooses the surviving lead; in one transaction the merged lead's
activities, comments, attachments, stage claims, notifications and every other row keyed by its
lead id (contacts and the like, whatever module added them) are re-pointed to the survivor; its
referrer and filing move when the survivor has none. The merged lead is not deleted: it gets a
`merged` link to the survivor (crm.models_referrals.LeadProject), leaves the work lists and the
counts (crm.counting), and its URL redirects to the survivor.

Audit lines are append-only (database triggers refuse UPDATE): they stay under the merged lead's
id, which is kept, and both leads get a `merge` entry naming the other and what moved.

This is lead merge only; when firms merge on the graph (another module may re-point
`Lead.company_id`), the leads are not merged by that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from .. import permissions as perm
from ..errors import PermissionDenied, ValidationError, WorkflowError
from ..models import MANAGER, Base, Lead, utcnow
from ..models_referrals import LINK_MERGED, TO_PENDING, Filing, LeadProject, Referral, TakeoverRequest
from ..settings import CrmSettings
from . import audit, filings, inbox, referrals
from ._common import Actor, current_actor, flush_or_stale, get_lead
from .activities import refresh_next_due
from .projects import same_firm

MERGE, MERGED_INTO = "merge", "merged_into"
# Rows that describe the merged lead's own history, or that are one per lead: they stay.
KEEP_TABLES = {"stage_changes", "assignments", "lead_projects", "referrals", "filings", "takeover_requests"}


def may_merge(actor: Any, keep: Any, gone: Any) -> bool:
    """A manager who may edit both leads (their team's, or the team pool's)."""
    return (
        actor is not None
        and getattr(actor, "is_active", False)
        and actor.role == MANAGER
        and perm.can_edit(actor, keep)
        and perm.can_edit(actor, gone)
    )


def merged_into(session: Session, lead_id: int) -> int | None:
    """The survivor a merged lead points to (its page redirects there), else None."""
    row = session.get(LeadProject, lead_id)
    return row.parent_lead_id if row is not None and row.link == LINK_MERGED else None


def _lead_tables() -> list[Table]:
    """Every table with a `lead_id` column pointing at leads that is not one row per lead."""
    out = []
    for table in Base.metadata.sorted_tables:
        col = table.c.get("lead_id")
        if col is None or table.name in KEEP_TABLES or col.primary_key or col.unique:
            continue
        if any(fk.column.table.name == "leads" for fk in col.foreign_keys):
            out.append(table)
    return out


@dataclass
class MergeResult:
    keep: Lead
    gone: Lead
    moved: dict[str, int]


def merge_leads(
    session: Session,
    actor: Actor,
    keep_id: int,
    gone_id: int,
    reason: str | None = None,
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> MergeResult:
    """Merge lead `gone_id` into `keep_id` (see the module docstring). Runs in the caller's
    transaction: the unit of work commits all of it or nothing."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    if int(keep_id) == int(gone_id):
        raise ValidationError("请选择两条不同的线索")
    keep, gone = get_lead(session, keep_id), get_lead(session, gone_id)
    if not may_merge(actor, keep, gone):
        raise PermissionDenied("只有可同时管理这两条线索的招商经理可以合并")
    if not same_firm(keep, gone):
        raise ValidationError("只能合并指向同一企业的线索")
    for lead in (keep, gone):
        if merged_into(session, lead.id) is not None:
            raise WorkflowError(f"线索「{lead.company_name}」（编号 {lead.id}）已合并，不能再合并")
    if gone.pending_stage:
        raise WorkflowError(f"被合并的线索有待确认的「{gone.pending_stage}」阶段申报，请先确认、退回或撤回")
    reason = (reason or "").strip() or None
    moved: dict[str, int] = {}
    for table in _lead_tables():
        result = session.execute(
            update(table)
            .where(table.c.lead_id == gone.id)
            .values(lead_id=keep.id)
            .execution_options(synchronize_session=False)
        )
        n = int(getattr(result, "rowcount", 0) or 0)
        if n:
            moved[table.name] = n
    for model, label in ((Referral, "referrals"), (Filing, "filings")):
        if session.scalar(select(func.count()).select_from(model).where(model.lead_id == keep.id)) == 0:
            result = session.execute(
                update(model)
                .where(model.lead_id == gone.id)
                .values(lead_id=keep.id)
                .execution_options(synchronize_session=False)
            )
            n = int(getattr(result, "rowcount", 0) or 0)
            if n:
                moved[label] = int(n)
    for req in session.scalars(
        select(TakeoverRequest).where(
            TakeoverRequest.lead_id == gone.id, TakeoverRequest.status == TO_PENDING
        )
    ):
        req.lead_id = keep.id
        moved["takeover_requests"] = moved.get("takeover_requests", 0) + 1
    # Links of other leads to the merged one now point at the survivor.
    for child in session.scalars(select(LeadProject).where(LeadProject.parent_lead_id == gone.id)):
        child.parent_lead_id = keep.id
    row = session.get(LeadProject, gone.id) or LeadProject(lead_id=gone.id)
    session.add(row)
    before = {"link": row.link, "parent_lead_id": row.parent_lead_id}
    row.link, row.parent_lead_id, row.linked_by_id, row.linked_at, row.note = (
        LINK_MERGED,
        keep.id,
        actor.id,
        now,
        reason,
    )
    keep.last_contact_at = max(
        (t for t in (keep.last_contact_at, gone.last_contact_at) if t is not None), default=None
    )
    if keep.first_contact_at is None or (
        gone.first_contact_at and gone.first_contact_at < keep.first_contact_at
    ):
        keep.first_contact_at = gone.first_contact_at or keep.first_contact_at
    keep.updated_at = gone.updated_at = now
    flush_or_stale(session, f"线索「{keep.company_name}」")
    refresh_next_due(session, [keep.id, gone.id])  # the merged lead's activities moved
    session.expire_all()  # the bulk re-pointing bypassed the ORM: reload what it changed
    audit.record(
        session,
        actor,
        MERGE,
        "lead",
        keep.id,
        None,
        {"merged_lead_id": gone.id, "merged_company": gone.company_name, "moved": moved, "reason": reason},
        ip,
    )
    audit.record(
        session, actor, MERGED_INTO, "lead", gone.id, before, {"merged_into": keep.id, "reason": reason}, ip
    )
    # Action items that only concerned the merged lead close; the survivor's filing item follows its own figures.
    inbox.close_action(session, filings.filing_key(gone.id), now)
    left = session.scalar(select(Referral).where(Referral.lead_id == gone.id))
    if left is not None:
        inbox.close_action(session, referrals.decision_key(left.id), now)
    filings.sync_item(session, session.get(Lead, keep.id) or keep, settings, now=now)
    owners = {uid for uid in (keep.owner_id, gone.owner_id) if uid is not None and uid != actor.id}
    for uid in sorted(owners):
        inbox.notify(
            session,
            uid,
            "lead_merged",
            f"{actor.display_name}将线索「{gone.company_name}」（编号 {gone.id}）并入编号 {keep.id}",
            reason,
            lead_id=keep.id,
            now=now,
        )
    return MergeResult(keep, gone, moved)


@dataclass
class DuplicateGroup:
    company_id: str
    company_name: str
    leads: list[Lead]


def suspected_duplicates(
    session: Session, actor: Actor, settings: CrmSettings, limit: int = 100
) -> list[DuplicateGroup]:
    """疑似重复线索: open leads (not lost, not merged) with the same company id, among those the
    actor may edit; groups of two or more, oldest lead first in each."""
    actor = current_actor(session, actor)
    merged = select(LeadProject.lead_id).where(LeadProject.link == LINK_MERGED)
    open_q = perm.visible_leads(actor).where(
        Lead.company_id.is_not(None), Lead.stage != settings.lost_stage, Lead.id.not_in(merged)
    )
    sub = open_q.order_by(None).subquery()
    ids = [
        cid
        for (cid,) in session.execute(
            select(sub.c.company_id).group_by(sub.c.company_id).having(func.count() > 1).limit(limit)
        )
    ]
    if not ids:
        return []
    groups: dict[str, list[Lead]] = {}
    for lead in session.scalars(open_q.where(Lead.company_id.in_(ids)).order_by(Lead.created_at, Lead.id)):
        if perm.can_edit(actor, lead):
            groups.setdefault(lead.company_id or "", []).append(lead)
    return [DuplicateGroup(cid, rows[0].company_name, rows) for cid, rows in groups.items() if len(rows) > 1]
