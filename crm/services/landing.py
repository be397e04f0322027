"""A confirmed 落地 changes the chain graph: the landed entity becomes a local firm on the lead's node.

Why in the CRM: the fact that a firm landed is the CRM's (a confirmed stage claim); the graph only
stores firms. The store is passed in (any graph.store.GraphStore); its data version changes with
the write, so gap reports, the chain-gap graph, rankings and the dashboard follow at once.

Which firm: the lead's own graph firm when the entity given is that firm (same credit code, or
no credit code given), marked local; otherwise the new local entity (a subsidiary registered in
the district) as a firm of its own, found by credit code or name if the graph already has it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from graph.identity import normalize_name
from graph.model import Company


def landed_company_id(uscc: str | None, lead_id: int) -> str:
    """Graph id of a landed entity the graph did not know: by credit code, else by lead."""
    return f"landed-{uscc}" if uscc else f"landed-lead-{lead_id}"


def land_firm(store: Any, lead: Any, facts: Mapping[str, Any], district: Mapping[str, Any]) -> str:
    """Write the landed firm into the graph; returns its graph id."""
    uscc = facts.get("entity_uscc")
    name = (facts.get("entity_name") or lead.company_name or "").strip()
    place: dict[str, Any] = {
        "province": str(district.get("province", "")),
        "city": str(district.get("city", "")),
        "district": str(district.get("district", "")),
        "is_local": True,
    }
    capital = facts.get("registered_capital")
    nodes = (lead.node_id,) if lead.node_id else ()
    own = store.company(lead.company_id) if lead.company_id else None
    if own is not None and (not uscc or uscc == own.uscc):
        firm = own
    else:
        hits = store.match_companies([uscc] if uscc else [], [normalize_name(name)] if name else [])
        hit = hits.get(uscc) if uscc else None
        hit = hit or hits.get(normalize_name(name))
        firm = store.company(hit) if hit else None
        if firm is not None and uscc and firm.uscc and firm.uscc != uscc:
            firm = None  # same name, another entity
    if firm is None:
        firm = Company(id=landed_company_id(uscc, lead.id), name=name, uscc=uscc, **place)
    updated = dataclasses.replace(
        firm,
        **place,
        uscc=firm.uscc or uscc,
        registered_capital=capital if capital is not None else firm.registered_capital,
        node_ids=tuple(dict.fromkeys((*firm.node_ids, *nodes))),
    )
    store.upsert_companies([updated])
    return updated.id
