"""补链目标 (ranked targets), 目标名录 (target lists: draft, review, versions, export) and
turning a target into a lead. Workflow and permission rules live in the CRM services."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import current_user, login_required

from graph.model import MISSING, WEAK
from graph.targets import FACTOR_LABELS

from .. import backend
from ..errors import wants_json

bp = Blueprint("targets", __name__, url_prefix="/targets")

PAGE_SIZES = (50, 100, 200)


@bp.before_request
@login_required
def _login():
    return None


def target_filters(svc) -> dict:
    """Parse and check the ranking filters; unknown ids are 404s, not empty lists."""
    sector_id = request.args.get("sector") or None
    chain_id = request.args.get("chain") or None
    node_id = request.args.get("node") or None
    status = request.args.get("status") or None
    if status not in (None, MISSING, WEAK):
        abort(400, "状态只能是缺链或弱链")
    if sector_id and not any(s.id == sector_id for s in svc.sectors()):
        abort(404, "产业不存在")
    nodes = []
    if chain_id:
        chain = svc.chain(chain_id)
        if sector_id and chain.sector_id != sector_id:
            chain_id = None  # the sector changed; the stale chain choice is dropped
        else:
            nodes = svc.gap_report(chain_id).nodes
    if node_id and not any(n.node_id == node_id for n in nodes):
        node_id = None
    try:
        top = int(request.args.get("top", PAGE_SIZES[0]))
    except ValueError:
        top = PAGE_SIZES[0]
    top = top if top in PAGE_SIZES else PAGE_SIZES[0]
    return {"sector": sector_id, "chain": chain_id, "node": node_id, "status": status, "top": top,
            "nodes": [n for n in nodes if n.status != "强链"]}


@bp.get("/")
def index():
    svc = backend.chain_service()
    f = target_filters(svc)
    rows = svc.targets(f["chain"], sector_id=f["sector"], node_id=f["node"], status=f["status"], top=f["top"])
    chains = {c.id: c for c in svc.chains()}
    from ..crm_calls import draft_lists_for

    drafts = draft_lists_for(current_user.orm)
    return render_template("targets/index.html", rows=rows, f=f, sectors=svc.sectors(),
                           all_chains=svc.chains(), chains=chains, factor_labels=FACTOR_LABELS,
                           page_sizes=PAGE_SIZES, drafts=drafts)


@bp.post("/lead")
def create_lead():
    """Turn a ranked target into a lead (JSON from the graph panel, or a form)."""
    from ..crm_calls import create_lead_from_target

    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    company_id = str(data.get("company_id") or "").strip()
    node_id = str(data.get("node_id") or "").strip()
    if not company_id or not node_id:
        abort(400, "缺少企业或环节")
    lead, url = create_lead_from_target(current_user.orm, company_id, node_id)
    message = f"已创建线索（编号 {lead.id}），阶段「{lead.stage}」。"
    if wants_json():
        return jsonify(ok=True, lead_id=lead.id, message=message, lead_url=url)
    from flask import flash, redirect, url_for

    flash(message, "success")
    return redirect(url or request.referrer or url_for("targets.index"))


@bp.get("/lists")
def lists():
    from ..crm_calls import list_target_lists

    return render_template("lists/index.html", groups=list_target_lists(current_user.orm))
