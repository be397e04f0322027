"""产业链图谱: sector overviews and the chain-gap graph with its node side panel."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from graph.gaps import format_wan
from graph.targets import FACTOR_LABELS

from .. import backend
from ..access import may_create_lead
from ..crm_calls import held_companies
from ..graphview import build_network, graph_payload, top_target_names, zone_node_ids

bp = Blueprint("chains", __name__, url_prefix="/chains")


@bp.before_request
@login_required
def _login():
    return None


def _zone(svc, zone_id: str | None):
    """The selected zone, or None; an unknown id is a 404, not a silent 'all zones'."""
    if not zone_id:
        return None
    zone = next((z for z in svc.zones() if z.id == zone_id), None)
    if zone is None:
        abort(404, "园区不存在")
    return zone


@bp.get("/")
def index():
    """Every sector with the gap counts of its chains: where a recruiter starts."""
    svc = backend.chain_service()
    sectors = [(s, svc.sector_overview(s.id)) for s in svc.sectors()]
    return render_template("chains/index.html", sectors=sectors)


@bp.get("/sector/<sector_id>")
def sector(sector_id: str):
    svc = backend.chain_service()
    reports = svc.sector_overview(sector_id)
    current = next(s for s in svc.sectors() if s.id == sector_id)
    return render_template("chains/sector.html", sector=current, reports=reports)


@bp.get("/graph")
def pick():
    """Target of the filter form: go to the chosen chain (and zone)."""
    svc = backend.chain_service()
    chain_id = request.args.get("chain") or ""
    sector_id = request.args.get("sector") or ""
    if not chain_id:
        chains = svc.chains(sector_id or None)
        if not chains:
            abort(404, "没有符合条件的产业链")
        chain_id = chains[0].id
    elif sector_id and svc.chain(chain_id).sector_id != sector_id:
        # the sector changed but the chain list did not follow (no JavaScript): first chain of it
        chains = svc.chains(sector_id)
        chain_id = chains[0].id if chains else chain_id
    zone = request.args.get("zone") or None
    return redirect(url_for("chains.graph", chain_id=chain_id, zone=zone))


@bp.get("/<chain_id>")
def graph(chain_id: str):
    svc = backend.chain_service()
    report = svc.gap_report(chain_id)
    zone = _zone(svc, request.args.get("zone"))
    highlight = zone_node_ids(svc, report, zone.id) if zone else None
    tops = top_target_names(svc.chain_targets(chain_id))
    payload = graph_payload(build_network(report, zone_nodes=highlight, top_targets=tops))
    return render_template(
        "chains/graph.html",
        report=report,
        payload=payload,
        zone=zone,
        sectors=svc.sectors(),
        all_chains=svc.chains(),
        zones=svc.zones(),
        highlight_count=len(highlight) if highlight is not None else None,
    )


@bp.get("/nodes/<node_id>/panel")
def node_panel(node_id: str):
    """JSON for the side panel: figures, local firms (optionally of one zone), top targets."""
    svc = backend.chain_service()
    zone = _zone(svc, request.args.get("zone"))
    detail = svc.node_detail(node_id)
    zones = {z.id: z.name for z in svc.zones()}
    firms = [c for c in detail.local_firms if zone is None or c.zone_id == zone.id]
    gap = detail.gap

    actor = current_user.orm
    can_lead = may_create_lead(actor)
    held = held_companies(actor, detail.targets) if can_lead else {}
    return jsonify(
        node={
            "id": gap.node_id,
            "name": gap.name,
            "stage": gap.stage,
            "status": gap.status,
            "reason": gap.reason,
            "why": gap.why,
            "is_group": gap.is_group,
            "parent_id": gap.parent_id,
            "importance": gap.importance,
            "criticality": gap.criticality,
            "downstream_share": gap.downstream_share,
            "local_firms": gap.local_firms,
            "local_output": format_wan(gap.local_output),
            "qualified_firms": gap.qualified_firms,
            "outside_firms": gap.outside_firms,
            "chain": detail.chain.name,
        },
        zone=zone.name if zone else None,
        local_firms=[
            {
                "id": c.id,
                "name": c.display_name,
                "zone": zones.get(c.zone_id or "", ""),
                "revenue": format_wan(c.revenue) if c.revenue is not None else "",
                "qualifications": list(c.qualifications),
                "url": url_for("companies.show", company_id=c.id),
            }
            for c in firms[:20]
        ],
        local_firms_total=len(firms),
        targets=[
            {
                "company_id": t.company_id,
                "company_name": t.company_name,
                "score": round(t.score, 1),
                "place": f"{t.province}{t.city if t.city != t.province else ''}",
                "reason": t.reason,
                "node_id": t.node_id,
                "qualifications": list(t.qualifications),
                "factors": [
                    {"label": FACTOR_LABELS.get(k, k), "value": round(v, 2)} for k, v in t.factors.items()
                ],
                "url": url_for("companies.show", company_id=t.company_id),
                "held": held[t.company_id].text if t.company_id in held else None,
            }
            for t in detail.targets
        ],
        targets_url=url_for("targets.index", chain=gap.chain_id, node=gap.node_id),
        lead_url=url_for("targets.create_lead") if can_lead else None,
    )
