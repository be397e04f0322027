"""A project counts once: a lead's project name and its link to an earlier lead of the same firm.

Why: the same project is often registered twice (by two recruiters, or again after 首报首谈
protection ran out), and an increase of a landed project (增资扩产) is registered as a new lead;
counted naively, both inflate the signed and landed totals. "Same project" means the same graph
company id and the same project name once normalised (graph.identity.normalize_name), or a link
the user makes. A second lead of the same project is linked to the first (`same`: it adds
nothing); a lead marked as an increase (`increase`) adds only the increase. The counting rule
itself is crm.counting; this module keeps the links. Every change is audited on the lead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from graph.identity import normalize_name

from .. import permissions as perm
from ..errors import NotFound, PermissionDenied, ValidationError, WorkflowError
from ..models import Lead, utcnow
from ..models_referrals import LINK_INCREASE, LINK_MERGED, LINK_SAME, LeadProject
from ..settings import CrmSettings
from . import audit, filings
from ._common import Actor, current_actor, get_lead
from .lead_holders import CompanyRef, names_firm

ACTION = "project_link"
USER_LINKS = (LINK_SAME, LINK_INCREASE)


def same_firm(a: Any, b: Any) -> bool:
    """Two leads name the same firm (company id, credit code or normalised name: 首报首谈's rule)."""
    return names_firm(b, CompanyRef(a.company_id, a.company_name, a.uscc))


def project_of(session: Session, lead_id: int) -> LeadProject | None:
    return session.get(LeadProject, lead_id)


def root_of(session: Session, lead_id: int) -> int:
    """The lead that carries the project: follow links up (at most a few steps)."""
    seen = {lead_id}
    current = lead_id
    while True:
        row = session.get(LeadProject, current)
        if row is None or row.parent_lead_id is None or row.link not in (LINK_SAME, LINK_MERGED):
            return current
        if row.parent_lead_id in seen:
            return current
        seen.add(row.parent_lead_id)
        current = row.parent_lead_id


def _row(session: Session, lead_id: int) -> LeadProject:
    row = session.get(LeadProject, lead_id)
    if row is None:
        row = LeadProject(lead_id=lead_id)
        session.add(row)
    return row


def _snapshot(row: LeadProject | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"project_name": row.project_name, "parent_lead_id": row.parent_lead_id, "link": row.link}


def same_project_candidate(session: Session, lead: Lead, project_key: str | None) -> Lead | None:
    """The earliest other lead with the same company id and project name (not merged away)."""
    if not lead.company_id or not project_key:
        return None
    merged = select(LeadProject.lead_id).where(LeadProject.link == LINK_MERGED)
    return session.scalar(
        select(Lead)
        .join(LeadProject, LeadProject.lead_id == Lead.id)
        .where(
            Lead.company_id == lead.company_id,
            LeadProject.project_key == project_key,
            Lead.id != lead.id,
            Lead.id.not_in(merged),
        )
        .order_by(Lead.created_at, Lead.id)
        .limit(1)
    )


def save_project(
    session: Session,
    actor: Actor,
    lead_id: int,
    *,
    project_name: str | None = None,
    parent_lead_id: int | None = None,
    link: str | None = None,
    note: str | None = None,
    settings: CrmSettings | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> LeadProject:
    """Name the lead's project and/or link it to an earlier lead of the same firm.

    No explicit link: a lead whose company id and normalised project name equal an earlier
    lead's is linked to it as the same project. `link` "" or None with no parent unlinks."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_edit(actor, lead):
        raise PermissionDenied("您无权修改该线索")
    row = session.get(LeadProject, lead_id)
    if row is not None and row.link == LINK_MERGED:
        raise WorkflowError("该线索已合并，不能再修改项目关联")
    before = _snapshot(row)
    name = (project_name or "").strip() or None
    if name and len(name) > 200:
        raise ValidationError("项目名称最多 200 字")
    link = (link or "").strip() or None
    if link is not None and link not in USER_LINKS:
        raise ValidationError("关联方式只能是同一项目或增资扩产")
    parent: Lead | None = None
    if link is not None:
        if parent_lead_id is None:
            raise ValidationError("请选择关联的原线索")
        parent = session.get(Lead, int(parent_lead_id))
        if parent is None:
            raise NotFound(f"线索不存在（编号 {parent_lead_id}）")
        if not perm.can_read(actor, parent):
            raise PermissionDenied("您无权查看所选的原线索")
        if not same_firm(lead, parent):
            raise ValidationError("只能关联同一企业的线索")
        root = root_of(session, parent.id)
        if root == lead.id or parent.id == lead.id:
            raise ValidationError("不能关联到本线索自身或其后续线索")
        if link == LINK_SAME:
            parent = session.get(Lead, root) or parent
    row = _row(session, lead_id)
    row.project_name = name
    row.project_key = normalize_name(name) if name else None
    if link is None:
        found = same_project_candidate(session, lead, row.project_key)
        if found is not None:
            parent, link = session.get(Lead, root_of(session, found.id)) or found, LINK_SAME
    row.parent_lead_id = parent.id if parent is not None else None
    row.link = link
    row.note = (note or "").strip() or None
    row.linked_by_id = actor.id if link else None
    row.linked_at = now if link else None
    session.flush()
    after = _snapshot(row)
    if before != after:
        audit.record(session, actor, ACTION, "lead", lead_id, before, after, ip)
        if settings is not None:
            filings.sync_item(session, lead, settings, now=now)  # a duplicate needs no filing of its own
    return row


def parent_of(session: Session, actor: Actor, row: LeadProject | None) -> Lead | None:
    """The lead a link points to, if the actor may read it."""
    if row is None or row.parent_lead_id is None:
        return None
    actor = current_actor(session, actor)
    parent = session.get(Lead, row.parent_lead_id)
    return parent if parent is not None and perm.can_read(actor, parent) else None


def links_to(session: Session, lead_id: int) -> list[tuple[Lead, LeadProject]]:
    """Leads that point at this one (same project, increases, merged), oldest first."""
    rows = session.execute(
        select(Lead, LeadProject)
        .join(LeadProject, LeadProject.lead_id == Lead.id)
        .where(LeadProject.parent_lead_id == lead_id)
        .order_by(Lead.created_at, Lead.id)
    ).all()
    return [(lead, row) for lead, row in rows]


def same_firm_leads(session: Session, actor: Actor, lead: Lead) -> list[Lead]:
    """Other leads of the same firm the actor may read (the choices of a link), oldest first."""
    actor = current_actor(session, actor)
    ref = CompanyRef(lead.company_id, lead.company_name, lead.uscc)
    conditions = []
    if ref.company_id:
        conditions.append(Lead.company_id == ref.company_id)
    if ref.uscc:
        conditions.append(Lead.uscc == ref.uscc)
    if ref.name_key:
        conditions.append(Lead.name_key == ref.name_key)
    if not conditions:
        return []
    merged = select(LeadProject.lead_id).where(LeadProject.link == LINK_MERGED)
    q = (
        perm.visible_leads(actor)
        .where(Lead.id != lead.id, Lead.id.not_in(merged))
        .where(or_(*conditions))
        .order_by(Lead.created_at, Lead.id)
        .limit(50)
    )
    return list(session.scalars(q))
