"""Glue between views and the CRM: the request's session, settings and chain service passed to
crm functions, and the wording only a page needs. No rules here (they are in crm/)."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from crm.errors import DuplicateLead
from crm.models import Lead
from crm.queries import company_leads
from crm.services import company_merge, from_targets, lead_holders, target_lists
from crm.services.lead_holders import CompanyRef, HeldBy, LeadRef

from . import backend
from .localtime import format_local, zone_from_config


def lead_url(lead_id: int) -> str:
    return url_for("leads.show", lead_id=lead_id)


def lead_for_company(actor: Any, company: Any) -> LeadRef | None:
    """The lead that holds this graph company under 首报首谈 (details only if readable)."""
    ref = CompanyRef(company.id, company.display_name, company.uscc)
    return lead_holders.lead_for_company(
        backend.db(), actor, ref, lost_stage=backend.crm_settings().lost_stage
    )


def leads_of_company(actor: Any, company: Any) -> company_leads.CompanyLeads:
    """Every lead the firm ever had that the actor may read, and how many others there are."""
    return company_leads.company_leads(
        backend.db(),
        actor,
        company.id,
        name=company.name,
        uscc=company.uscc,
        former_names=company.former_names,
        settings=backend.crm_settings(),
    )


def merge_plan(keep_id: str, merged_id: str) -> company_merge.MergePlan:
    return company_merge.plan_merge(
        backend.db(), backend.chain_service().store, keep_id, merged_id, settings=backend.crm_settings()
    )


def merge_companies(actor: Any, keep_id: str, merged_id: str, force: bool) -> company_merge.MergeResult:
    with backend.unit_of_work() as session:
        return company_merge.merge(
            session,
            actor,
            backend.chain_service().store,
            keep_id,
            merged_id,
            settings=backend.crm_settings(),
            force=force,
            ip=request.remote_addr,
        )


def held_companies(actor: Any, targets: Any) -> dict[str | None, HeldBy]:
    """company_id -> HeldBy for the ranked targets (or companies) on a page, in one query."""
    return lead_holders.holders_for_companies(
        backend.db(), actor, lead_holders.refs_for(targets), lost_stage=backend.crm_settings().lost_stage
    )


def create_lead_from_target(actor: Any, company_id: str, node_id: str) -> tuple[Lead, str]:
    """Register a ranked target as a lead; returns (lead, its url). DuplicateLead (首报首谈)
    and PermissionDenied come from the service; a DuplicateLead of the actor's own lead is
    reworded so the page does not name the user to themself in the third person."""
    try:
        with backend.unit_of_work() as session:
            lead = from_targets.create_lead_from_target(
                session,
                actor,
                backend.chain_service(),
                company_id,
                node_id,
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
    except DuplicateLead as exc:
        if exc.holder_user_id is not None and exc.holder_user_id == actor.id:
            until = format_local(exc.protected_until, zone_from_config(backend.cfg()), "%Y-%m-%d")
            exc.args = (
                f"您已登记该企业为线索（线索编号 {exc.lead_id}），首报首谈保护期至{until}，无须重复登记",
            )
        raise
    return lead, lead_url(lead.id)


def draft_lists_for(actor: Any) -> list[Any]:
    return target_lists.draft_lists_for(backend.db(), actor)


def ranked_rows(company_node_pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return from_targets.ranked_rows(backend.chain_service(), company_node_pairs)


def top_rows(chain_id: str | None, sector_id: str | None, count: int) -> list[dict[str, Any]]:
    return from_targets.top_rows(backend.chain_service(), chain_id, sector_id, count)
