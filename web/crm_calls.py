"""The web's calls into CRM services that need more than one line of glue.

Views stay thin: they parse input, call one function here or a service directly, and render.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from . import backend


@dataclass
class LeadRef:
    """What the company page shows about a lead: enough to link to it, or who holds it."""

    id: int
    stage: str
    owner_name: str | None
    holder: str
    protected_until: object
    readable: bool
    url: str | None


def lead_url(lead_id: int) -> str | None:
    """Link to a lead's page once web part 2 registers it."""
    from flask import current_app

    if "leads.show" in current_app.view_functions:
        return url_for("leads.show", lead_id=lead_id)
    return None


def lead_for_company(actor, company) -> LeadRef | None:
    """The lead that holds this firm under 首报首谈, with details only if the actor may read it."""
    from crm import permissions
    from crm.services.leads import find_holder

    settings = backend.crm_settings()
    holder = find_holder(
        backend.db(), company_name=company.display_name, uscc=company.uscc, lost_stage=settings.lost_stage
    )
    if holder is None:
        return None
    readable = permissions.can_read(actor, holder)
    who = holder.registered_by.label if holder.registered_by else "其他用户"
    return LeadRef(
        holder.id,
        holder.stage,
        holder.owner.display_name if holder.owner else None,
        who,
        holder.protected_until,
        readable,
        lead_url(holder.id) if readable else None,
    )


def create_lead_from_target(actor, company_id: str, node_id: str):
    """Register a ranked target as a lead carrying its gap reason and score (精准补链 channel).

    Returns (lead, url). DuplicateLead (首报首谈) and PermissionDenied come from the service.
    """
    from crm.services import leads
    from graph.service import NotFoundError

    svc = backend.chain_service()
    detail = svc.node_detail(node_id, top=None)
    target = next((t for t in detail.targets if t.company_id == company_id), None)
    if target is None:
        raise NotFoundError("该企业不在此环节的补链目标中，可能数据已更新，请刷新页面")
    sector = next((s for s in svc.sectors() if s.id == detail.chain.sector_id), None)
    settings = backend.crm_settings()
    channel = "精准补链" if "精准补链" in settings.channels else settings.channels[0]
    data = {
        "company_id": target.company_id,
        "company_name": target.company_name,
        "uscc": target.uscc,
        "sector_id": detail.chain.sector_id,
        "sector_name": sector.name if sector else None,
        "chain_id": detail.chain.id,
        "chain_name": detail.chain.name,
        "node_id": target.node_id,
        "node_name": target.node_name,
        "gap_status": target.status,
        "gap_reason": target.reason,
        "gap_score": round(target.score, 2),
        "channel": channel,
    }
    from flask import request

    from crm.errors import DuplicateLead

    try:
        with backend.unit_of_work() as session:
            lead = leads.create_lead(session, actor, data, settings=settings, ip=request.remote_addr)
    except DuplicateLead as exc:
        _reword_own_duplicate(exc, actor)
        raise
    return lead, lead_url(lead.id)


def _reword_own_duplicate(exc, actor) -> None:
    """The 409 must not name the user to themself in the third person."""
    from crm.models import Lead

    holder = backend.db().get(Lead, exc.lead_id)
    if holder is not None and holder.registered_by_id == actor.id:
        from .localtime import format_local, zone_from_config

        until = format_local(exc.protected_until, zone_from_config(backend.cfg()), "%Y-%m-%d")
        exc.args = (f"您已登记该企业为线索（线索编号 {exc.lead_id}），首报首谈保护期至{until}，无须重复登记",)


def held_companies(actor, targets) -> dict:
    """company_id -> HeldBy for the ranked targets (or companies) on a page, in one query."""
    from crm.services.lead_holders import CompanyRef, holders_for_companies

    refs = {}
    for t in targets:
        cid = getattr(t, "company_id", None) or getattr(t, "id", None)
        name = getattr(t, "company_name", None) or getattr(t, "display_name", None)
        refs.setdefault(cid, CompanyRef(cid, name, getattr(t, "uscc", None)))
    return holders_for_companies(
        backend.db(), actor, refs.values(), lost_stage=backend.crm_settings().lost_stage
    )


# ---- target lists ------------------------------------------------------------------------


def draft_lists_for(actor) -> list:
    """Draft or returned lists of the actor's team that a manager may add rows to."""
    from crm import permissions
    from crm.services import target_lists

    if not permissions.can_manage_target_lists(actor):
        return []
    session = backend.db()
    return [
        tl
        for tl in target_lists.list_lists(session, actor)
        if tl.status in target_lists.EDITABLE_STATES and tl.team_id == actor.team_id
    ]


def target_row(target, chain_name: str) -> dict:
    """A ranked target as the row dict the target-list service stores (score, factors, reason)."""
    return {
        "company_id": target.company_id,
        "company_name": target.company_name,
        "uscc": target.uscc,
        "chain_id": target.chain_id,
        "chain_name": chain_name,
        "node_id": target.node_id,
        "node_name": target.node_name,
        "status": target.status,
        "score": round(target.score, 2),
        "factors": {k: round(v, 4) for k, v in target.factors.items()},
        "reason": target.reason,
    }


def ranked_rows(company_node_pairs) -> list[dict]:
    """Look the (company_id, node_id) pairs up in the current ranking; unknown pairs are refused."""
    from graph.service import NotFoundError

    svc = backend.chain_service()
    chains = {c.id: c.name for c in svc.chains()}
    rows = []
    for company_id, node_id in company_node_pairs:
        detail = svc.node_detail(node_id, top=None)
        target = next((t for t in detail.targets if t.company_id == company_id), None)
        if target is None:
            raise NotFoundError("该企业不在此环节的补链目标中，可能数据已更新，请刷新页面")
        rows.append(target_row(target, chains.get(target.chain_id, target.chain_id)))
    return rows


def top_rows(chain_id: str | None, sector_id: str | None, count: int) -> list[dict]:
    """The best `count` ranked targets of a chain (or a whole sector) as target-list rows."""
    svc = backend.chain_service()
    chains = {c.id: c.name for c in svc.chains()}
    targets = svc.targets(chain_id, sector_id=None if chain_id else sector_id, top=count)
    return [target_row(t, chains.get(t.chain_id, t.chain_id)) for t in targets]
