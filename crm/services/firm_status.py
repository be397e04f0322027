"""A firm's CRM status (owner, stage, 流失/搁置 reason) for pages that list firms: 名录 rows,
and the check that warns before a landed, lost or paused firm is put on a list.

Why a query of its own: the 首报首谈 holder (crm.services.lead_holders) ignores lost and expired
leads on purpose; a 名录 must show them, because a lost firm is exactly what a reader asks about.
The latest lead naming the firm (same graph id, credit code or name key) decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..models import Lead
from ..settings import CrmSettings
from .lead_holders import CompanyRef, _names_any, names_firm


@dataclass(frozen=True)
class CrmStatus:
    lead_id: int
    stage: str
    owner: str | None
    reason: str | None  # why it was lost or paused
    flagged: bool  # landed, lost or paused: adding it to a 名录 needs a reason

    @property
    def text(self) -> str:
        who = f"，负责人{self.owner}" if self.owner else ""
        why = f"（{self.reason}）" if self.reason else ""
        return f"{self.stage}{why}{who}"


def flagged_stage(stage: str, settings: CrmSettings) -> bool:
    """落地 and later, 流失 and 搁置: a firm in one of these is not a plain target any more."""
    stages = settings.stages
    landed = stages.index("落地") if "落地" in stages else max(0, len(stages) - 2)
    return stage in stages[landed:] or stage in (settings.lost_stage, settings.paused_stage)


def statuses(
    session: Session, refs: Iterable[CompanyRef], settings: CrmSettings
) -> dict[str | None, CrmStatus]:
    """company_id -> the CRM status of the latest lead naming it. One SELECT for all firms."""
    refs = list(refs)
    if not refs:
        return {}
    leads = list(
        session.scalars(
            select(Lead)
            .options(joinedload(Lead.owner))
            .where(_names_any(refs))
            .order_by(Lead.created_at.desc(), Lead.id.desc())
        )
    )
    out: dict[str | None, CrmStatus] = {}
    for ref in refs:
        lead = next((ld for ld in leads if names_firm(ld, ref)), None)
        if lead is None:
            continue
        paused_or_lost = lead.stage in (settings.lost_stage, settings.paused_stage)
        out[ref.company_id] = CrmStatus(
            lead.id,
            lead.stage,
            lead.owner.display_name if lead.owner else None,
            lead.stage_reason if paused_or_lost else None,
            flagged_stage(lead.stage, settings),
        )
    return out
