"""首报首谈: which live lead holds a firm. The one rule registration and every page use.

A lead holds a firm when it names the same firm — same graph company id, same credit code or
same normalised name — is not lost, and its protection has not expired. Registration refuses a
held firm (crm.services.leads.create_lead); pages that offer 转为线索 (补链目标, the graph side
panel, a company page) show "已登记线索" for a held firm instead. Both go through `find_holder`
/ `holders_for_companies` below, so a page never shows a firm as held while registering it is
allowed (they used to differ: registration ignored the company id).

The answer is safe for any actor: it names the holder (who registered it) and gives the lead id
only to actors allowed to read the lead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session, joinedload

from graph.identity import normalize_name

from .. import permissions
from ..errors import DuplicateLead
from ..models import Lead, utcnow


@dataclass(frozen=True)
class CompanyRef:
    """A firm as the graph or a form knows it: its id, name and credit code (any may match a lead)."""

    company_id: str | None
    name: str | None = None
    uscc: str | None = None

    @property
    def name_key(self) -> str | None:
        return normalize_name(self.name) if self.name else None


@dataclass(frozen=True)
class HeldBy:
    """What a page may show about the lead holding a firm."""

    holder: str  # 张三（招商专员）
    is_self: bool  # the actor registered it
    lead_id: int | None  # only when the actor may read the lead

    @property
    def text(self) -> str:
        return "已登记线索（持有人：您本人）" if self.is_self else f"已登记线索（持有人：{self.holder}）"


# ----------------------------------------------------------------------------- the rule


def names_firm(lead: Any, ref: CompanyRef) -> bool:
    """Does this lead name the firm? (The Python form of `_names_any`.)"""
    key = ref.name_key
    return bool(
        (ref.company_id and lead.company_id == ref.company_id)
        or (ref.uscc and lead.uscc == ref.uscc)
        or (key and lead.name_key == key)
    )


def _names_any(refs: Iterable[CompanyRef]) -> ColumnElement[bool]:
    """SQL: the lead names one of these firms (same company id, credit code or name key)."""
    refs = list(refs)
    ids = {r.company_id for r in refs if r.company_id}
    usccs = {r.uscc for r in refs if r.uscc}
    keys = {k for k in (r.name_key for r in refs) if k}
    conditions = []
    if ids:
        conditions.append(Lead.company_id.in_(ids))
    if usccs:
        conditions.append(Lead.uscc.in_(usccs))
    if keys:
        conditions.append(Lead.name_key.in_(keys))
    return or_(*conditions) if conditions else false()


def holding(now: datetime, lost_stage: str) -> ColumnElement[bool]:
    """SQL: the lead still protects its firm (not lost, protection not expired)."""
    return (Lead.protected_until > now) & (Lead.stage != lost_stage)


def find_holder(
    session: Session,
    ref: CompanyRef,
    *,
    lost_stage: str,
    now: datetime | None = None,
    exclude_id: int | None = None,
) -> Lead | None:
    """The earliest live lead that holds this firm under 首报首谈, or None."""
    if not (ref.company_id or ref.uscc or ref.name_key):
        return None
    query = (
        select(Lead)
        .where(_names_any([ref]), holding(now or utcnow(), lost_stage))
        .order_by(Lead.created_at, Lead.id)
        .limit(1)
    )
    if exclude_id is not None:
        query = query.where(Lead.id != exclude_id)
    return session.scalar(query)


def duplicate_error(holder: Lead) -> DuplicateLead:
    """The DuplicateLead refusal for a held firm: who holds it, since when, until when."""
    who = holder.registered_by.label if holder.registered_by else "其他用户"
    return DuplicateLead(
        holder.company_name,
        who,
        holder.created_at,
        holder.protected_until,
        holder.id,
        holder.registered_by_id,
    )


def holders_for_companies(
    session: Session,
    actor: Any,
    companies: Iterable[CompanyRef],
    *,
    lost_stage: str,
    now: datetime | None = None,
) -> dict[str | None, HeldBy]:
    """company_id -> HeldBy for each firm held by a live lead. One SELECT for all firms."""
    refs = list(companies)
    if not refs:
        return {}
    query = (
        select(Lead)
        .options(joinedload(Lead.registered_by))
        .where(_names_any(refs), holding(now or utcnow(), lost_stage))
        .order_by(Lead.created_at, Lead.id)
    )
    leads = list(session.scalars(query))
    out: dict[str | None, HeldBy] = {}
    actor_id = getattr(actor, "id", None)
    for ref in refs:
        lead = next((ld for ld in leads if names_firm(ld, ref)), None)
        if lead is None:
            continue
        who = lead.registered_by.label if lead.registered_by else "其他用户"
        out[ref.company_id] = HeldBy(
            who,
            actor_id is not None and lead.registered_by_id == actor_id,
            lead.id if permissions.can_read(actor, lead) else None,
        )
    return out


def refs_for(items: Iterable[Any]) -> list[CompanyRef]:
    """CompanyRefs of a page's ranked targets or graph companies (one per company id)."""
    refs: dict[str | None, CompanyRef] = {}
    for t in items:
        cid = getattr(t, "company_id", None) or getattr(t, "id", None)
        name = getattr(t, "company_name", None) or getattr(t, "display_name", None)
        refs.setdefault(cid, CompanyRef(cid, name, getattr(t, "uscc", None)))
    return list(refs.values())


@dataclass
class LeadRef:
    """What a company page shows about the lead holding the firm: a link, or only who holds it."""

    id: int
    stage: str
    owner_name: str | None
    holder: str
    protected_until: datetime | None
    readable: bool


def lead_for_company(session: Session, actor: Any, ref: CompanyRef, *, lost_stage: str) -> LeadRef | None:
    """The lead that holds this firm, with details only if the actor may read it."""
    holder = find_holder(session, ref, lost_stage=lost_stage)
    if holder is None:
        return None
    return LeadRef(
        holder.id,
        holder.stage,
        holder.owner.display_name if holder.owner else None,
        holder.registered_by.label if holder.registered_by else "其他用户",
        holder.protected_until,
        permissions.can_read(actor, holder),
    )
