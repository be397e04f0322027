"""Read side of referrers and filings: the 引荐项目台账 (for reward decisions) and the 首报首谈
申报台账. Rows start from `visible_leads(actor)`; investment is the CONFIRMED figure: the lead's
investment once its 签约 is confirmed (a stage only moves when its claim is confirmed,
crm.services.stage_claims, and the confirmation writes the agreed investment), counted once
(crm.counting). Pending claims are shown apart, never in the confirmed column.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from ..counting import amounts_for, milestone_stages, uncounted_clause
from ..models import Lead
from ..models_referrals import FILING_NONE, FILING_STATUS_LABELS, REF_STATUS_LABELS, Filing, Referral
from ..permissions import visible_leads
from ..services._common import Actor, current_actor
from ..services.filings import filing_due_clause, needs_filing
from ..settings import CrmSettings


@dataclass
class ReferralRow:
    lead: Lead
    referral: Referral
    confirmed_investment: float | None  # 万元: signed (confirmed) and counted once; None before 签约
    landed: bool
    pending_stage: str | None
    counts: bool  # False: a duplicate of another lead (its project is counted there)


def referral_ledger(
    session: Session, actor: Actor, settings: CrmSettings, *, status: str | None = None, limit: int = 2000
) -> list[ReferralRow]:
    """Projects with a referrer, biggest confirmed investment first."""
    actor = current_actor(session, actor)
    q = (
        visible_leads(actor)
        .join(Referral, Referral.lead_id == Lead.id)
        .where(~uncounted_clause())
        .add_columns(Referral)
    )
    if status in REF_STATUS_LABELS:
        q = q.where(Referral.status == status)
    rows = session.execute(q.order_by(Lead.id).limit(limit)).all()
    amounts = amounts_for(session, [lead.id for lead, _ in rows])
    signed, landed = milestone_stages(settings)
    out = []
    for lead, ref in rows:
        counts, amount = amounts.get(lead.id, (True, 0.0))
        out.append(
            ReferralRow(
                lead,
                ref,
                amount if lead.stage in signed else None,
                lead.stage in landed,
                lead.pending_stage,
                counts,
            )
        )
    out.sort(key=lambda r: (-(r.confirmed_investment or -1), r.lead.id))
    return out


@dataclass
class FilingRow:
    lead: Lead
    filing: Filing | None
    due: bool  # at or above the threshold (must be filed)
    counted_investment: float

    @property
    def status(self) -> str:
        return self.filing.status if self.filing else FILING_NONE

    @property
    def status_label(self) -> str:
        return FILING_STATUS_LABELS[self.status]

    @property
    def missing(self) -> bool:
        """Due and not filed: the manager's action item."""
        return self.due and self.status == FILING_NONE


def filing_ledger(
    session: Session, actor: Actor, settings: CrmSettings, limit: int = 2000
) -> list[FilingRow]:
    """Projects at or above the threshold, and every project with a filing recorded; those still
    to be filed first."""
    actor = current_actor(session, actor)
    filed = select(Filing.lead_id).where(Filing.status != FILING_NONE)
    leads = list(
        session.scalars(
            visible_leads(actor)
            .where(or_(filing_due_clause(settings), Lead.id.in_(filed)))
            .order_by(Lead.investment.desc().nulls_last(), Lead.id)
            .limit(limit)
            .options(selectinload(Lead.owner), selectinload(Lead.team))
        )
    )
    ids = [lead.id for lead in leads]
    filings = (
        {f.lead_id: f for f in session.scalars(select(Filing).where(Filing.lead_id.in_(ids)))} if ids else {}
    )
    amounts = amounts_for(session, ids)
    rows = [
        FilingRow(
            lead, filings.get(lead.id), needs_filing(lead, settings), amounts.get(lead.id, (True, 0.0))[1]
        )
        for lead in leads
    ]
    rows.sort(key=lambda r: (not r.missing, -(r.lead.investment or 0), r.lead.id))
    return rows


def missing_filings(
    session: Session, actor: Actor, settings: CrmSettings, limit: int = 50
) -> list[FilingRow]:
    """Projects the actor may read that must be filed and are not (the manager's board)."""
    return [r for r in filing_ledger(session, actor, settings) if r.missing][:limit]
