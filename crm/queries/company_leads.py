"""Every lead a firm ever had, for its company page: open, landed, 流失 (with the reason), paused,
and the leads of records merged into it (re-pointed by crm/services/company_merge.py).

Why a query of its own: the 首报首谈 holder (crm.services.lead_holders) is the one live lead and
the 名录 status (crm.services.firm_status) the latest one; a company page answers "what did we
ever do with this firm". A lead names the firm by its graph id, its credit code, or the normalised
name of its name or a 曾用名 (a lead registered under the old name). The actor sees the rows the
lead read rule (crm.permissions.visibility) lets them read; the others are only counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from graph.identity import normalize_name

from .. import permissions
from ..models import Lead
from ..settings import CrmSettings


@dataclass(frozen=True)
class CompanyLeadRow:
    id: int
    company_name: str  # as the lead registered it (an old name shows the lead came from a merge or rename)
    stage: str
    reason: str | None  # why it was lost or paused
    owner: str | None
    node_name: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CompanyLeads:
    rows: list[CompanyLeadRow]  # newest first
    hidden: int  # leads naming the firm that the actor may not read

    @property
    def total(self) -> int:
        return len(self.rows) + self.hidden


def _names_firm(company_id: str, uscc: str | None, names: Iterable[str]) -> ColumnElement[bool]:
    keys = sorted({k for k in (normalize_name(n) for n in names if n) if k})
    conditions: list[ColumnElement[bool]] = [Lead.company_id == company_id] if company_id else []
    if uscc:
        conditions.append(Lead.uscc == uscc)
    if keys:
        conditions.append(Lead.name_key.in_(keys))
    return or_(*conditions) if conditions else false()


def company_leads(
    session: Session,
    actor: Any,
    company_id: str,
    *,
    name: str = "",
    uscc: str | None = None,
    former_names: Iterable[str] = (),
    settings: CrmSettings,
) -> CompanyLeads:
    """The firm's leads the actor may read (two SELECTs: the rows, and the count of all)."""
    names_firm = _names_firm(company_id, uscc, [name, *former_names])
    leads = session.scalars(
        select(Lead)
        .options(joinedload(Lead.owner))
        .where(names_firm, permissions.visibility(actor))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
    ).all()
    total = session.scalar(select(func.count()).select_from(Lead).where(names_firm)) or 0
    stopped = (settings.lost_stage, settings.paused_stage)
    rows = [
        CompanyLeadRow(
            lead.id,
            lead.company_name,
            lead.stage,
            lead.stage_reason if lead.stage in stopped else None,
            lead.owner.display_name if lead.owner else None,
            lead.node_name,
            lead.created_at,
            lead.updated_at,
        )
        for lead in leads
    ]
    return CompanyLeads(rows, total - len(rows))
