"""The web's calls into CRM services that need more than one line of glue.

Views stay thin: they parse input, call one function here or a service directly, and render.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from . import backend


@dataclass
class LeadRef:
    """What the company page shows about a lead: enough to link to it."""

    id: int
    stage: str
    owner: object | None
    url: str | None


def _lead_url(lead_id: int) -> str | None:
    from flask import current_app

    if "leads.show" in current_app.view_functions:
        return url_for("leads.show", lead_id=lead_id)
    return None


def lead_for_company(actor, company) -> LeadRef | None:
    """The company's active lead, if any (首报首谈 keeps it to one)."""
    from crm.models import Lead
    from sqlalchemy import select

    session = backend.db()
    lead = session.scalars(select(Lead).where(Lead.company_id == company.id)
                           .order_by(Lead.id.desc())).first()
    if lead is None:
        return None
    return LeadRef(lead.id, lead.stage, lead.owner, _lead_url(lead.id))


# ---- target lists and leads: wired to crm.services.target_lists / leads as they land ---------

def draft_lists_for(actor) -> list:
    """Draft or returned lists the actor may add rows to (managers); empty for other roles."""
    return []


def list_target_lists(actor) -> list:
    return []


def create_lead_from_target(actor, company_id: str, node_id: str):
    from crm.errors import CrmError

    raise CrmError("线索服务尚未启用")
