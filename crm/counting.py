"""A project counts once: the one rule every investment total and project count calls.

- a lead linked to an earlier lead of the same firm as the same project (`same`), or merged into
  another (`merged`), adds nothing: the earlier (surviving) lead carries the project;
- a lead marked as an increase of an earlier project (增资扩产, `increase`) is a project of its own
  but adds only the increase: its investment minus the investment of the lead it increases (the
  increase lead records the firm's total after the increase), never below zero;
- every other lead counts with its own investment.

The SQL form (`counted`) and the Python form (`counted_amount`) sit side by side, as in
crm.permissions; tests/crm/test_project_count.py checks they agree. Dashboard (crm.queries.dashboard),
the period figures and project ledger (crm.queries.monitoring), the reports built from them
(crm.reports) and the referral ledger (crm.queries.referrals) all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from .models import Lead
from .models_referrals import LINK_INCREASE, LINK_MERGED, LINK_SAME, LeadProject
from .settings import CrmSettings

NOT_COUNTED = (LINK_SAME, LINK_MERGED)


def counted_amount(investment: float | None, link: str | None, parent_investment: float | None) -> float:
    """What one lead adds to an investment total (万元).

    >>> counted_amount(5000, None, None), counted_amount(5000, "same", 5000)
    (5000.0, 0.0)
    >>> counted_amount(8000, "increase", 5000), counted_amount(4000, "increase", 5000)
    (3000.0, 0.0)
    """
    if link in NOT_COUNTED:
        return 0.0
    own = float(investment or 0)
    if link == LINK_INCREASE:
        return max(0.0, own - float(parent_investment or 0))
    return own


def counts_as_project(link: str | None) -> bool:
    """Whether a lead counts as a project of its own (a same-project or merged lead does not)."""
    return link not in NOT_COUNTED


@dataclass(frozen=True)
class Counted:
    """The SQL form, to be added to a SELECT of leads that outer-joins `joined(...)`."""

    counts: ColumnElement[bool]
    amount: ColumnElement[Any]


def counted(query: Select[Any]) -> tuple[Select[Any], Counted]:
    """`query` (a SELECT from leads) outer-joined to each lead's project link and the lead it
    points to, and the two columns of the rule: whether it counts, and what it adds (万元)."""
    link = aliased(LeadProject)
    parent = aliased(Lead)
    joined = query.outerjoin(link, link.lead_id == Lead.id).outerjoin(
        parent, parent.id == link.parent_lead_id
    )
    own = Lead.investment
    amount = case(
        (link.link.in_(NOT_COUNTED), 0.0),
        (
            link.link == LINK_INCREASE,
            case(
                (own - parent.investment > 0, own - parent.investment),
                (parent.investment.is_(None), own),
                else_=0.0,
            ),
        ),
        else_=own,
    )
    counts = or_(link.link.is_(None), link.link.not_in(NOT_COUNTED))
    return joined, Counted(counts, amount)


def count_and_total(session: Session, *where: ColumnElement[bool]) -> tuple[int, float]:
    """How many projects the leads matching `where` are, and their investment (万元), by the rule."""
    joined, c = counted(select(Lead.id))
    n, total = session.execute(
        joined.with_only_columns(func.count(), func.coalesce(func.sum(c.amount), 0)).where(c.counts, *where)
    ).one()
    return int(n), float(total or 0)


def counted_subquery(query: Select[Any]) -> Any:
    """A subquery of `query`'s leads with two more columns: `counts_once` and `counted_investment`."""
    joined, c = counted(query)
    return (
        joined.add_columns(c.counts.label("counts_once"), c.amount.label("counted_investment"))
        .order_by(None)
        .subquery()
    )


def amounts_for(session: Session, lead_ids: list[int]) -> dict[int, tuple[bool, float]]:
    """(counts, amount) of each lead, by the Python form (ledgers that list rows one by one)."""
    if not lead_ids:
        return {}
    parent = aliased(Lead)
    rows = session.execute(
        select(Lead.id, Lead.investment, LeadProject.link, parent.investment)
        .outerjoin(LeadProject, LeadProject.lead_id == Lead.id)
        .outerjoin(parent, parent.id == LeadProject.parent_lead_id)
        .where(Lead.id.in_(lead_ids))
    )
    return {
        lead_id: (counts_as_project(link), counted_amount(inv, link, parent_inv))
        for lead_id, inv, link, parent_inv in rows
    }


def merged_clause() -> ColumnElement[bool]:
    """Leads merged into another (已合并): kept for the record, out of work lists and counts."""
    return Lead.id.in_(select(LeadProject.lead_id).where(LeadProject.link == LINK_MERGED))


def uncounted_clause() -> ColumnElement[bool]:
    """`not counts_as_project(link)` as SQL: same-project and merged leads (lists of projects skip them)."""
    return Lead.id.in_(select(LeadProject.lead_id).where(LeadProject.link.in_(NOT_COUNTED)))


def milestones(settings: CrmSettings) -> tuple[str, str]:
    """The stages whose entry counts as signed (签约) and landed (落地); with other stage names, the
    third and second to last. Every figure, ledger and the landing on the graph use this one."""
    stages = list(settings.stages)
    signed = "签约" if "签约" in stages else stages[max(0, len(stages) - 3)]
    landed = "落地" if "落地" in stages else stages[max(0, len(stages) - 2)]
    return signed, landed


def milestone_stages(settings: CrmSettings) -> tuple[list[str], list[str]]:
    """Stages that count as signed (签约 and later) and landed (落地 and later)."""
    stages = list(settings.stages)
    signed, landed = milestones(settings)
    return stages[stages.index(signed) :], stages[stages.index(landed) :]
