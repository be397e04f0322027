"""补链目标: the ranking across chains with its filters, its print view and workbook, and
turning a target into a lead. 目标名录 (lists built from it) are in target_lists.py."""

from __future__ import annotations

import io
from datetime import date, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from crm.services import access_log
from graph.model import MISSING, WEAK
from graph.targets import FACTOR_LABELS, coverage_sentence

from .. import backend
from ..access import may_create_lead
from ..crm_calls import create_lead_from_target, draft_lists_for, held_companies, lead_url
from ..errors import wants_json
from ..list_export import ranking_xlsx
from ..localtime import zone_from_config

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
    try:  # the leader's default view: at most [targets] per_node per gap node; 0 shows all
        per_node = max(0, int(request.args.get("per_node", svc.per_node)))
    except ValueError:
        per_node = svc.per_node
    return {
        "sector": sector_id,
        "chain": chain_id,
        "node": node_id,
        "status": status,
        "top": top,
        "per_node": per_node,
        "nodes": [n for n in nodes if n.status in (MISSING, WEAK) and not n.is_group],
    }


@bp.get("/")
def index():
    svc = backend.chain_service()
    f = target_filters(svc)
    rows = svc.targets(
        f["chain"],
        sector_id=f["sector"],
        node_id=f["node"],
        status=f["status"],
        top=f["top"],
        per_node=f["per_node"],
    )
    chains = {c.id: c for c in svc.chains()}

    actor = current_user.orm
    drafts = draft_lists_for(actor)
    can_lead = may_create_lead(actor)
    return render_template(
        "targets/index.html",
        rows=rows,
        f=f,
        sectors=svc.sectors(),
        all_chains=svc.chains(),
        chains=chains,
        factor_labels=FACTOR_LABELS,
        page_sizes=PAGE_SIZES,
        drafts=drafts,
        can_create_lead=can_lead,
        held=held_companies(actor, rows) if can_lead else {},
        lead_link=lead_url,
        weight_text=_weight_text(svc.weights.as_dict()),
        coverage_text=coverage_sentence(svc.factor_coverage(f["chain"], f["sector"])),
        filter_text=_filter_text(svc, f),
        printed_at=_local_now(),
    )


def _filter_text(svc, f: dict) -> str:
    """The page's filters in words, for the print header: 产业：…；产业链：…；环节：…；状态：…；前 N 家."""
    sector = next((s.name for s in svc.sectors() if s.id == f["sector"]), "全部产业")
    chain = next((c.name for c in svc.chains() if c.id == f["chain"]), "全部产业链")
    node = next((n.name for n in f["nodes"] if n.node_id == f["node"]), "全部缺口环节")
    status = f["status"] or "缺链和弱链"
    each = f"每个环节至多 {f['per_node']} 家，" if f.get("per_node") else ""
    return f"产业：{sector}；产业链：{chain}；环节：{node}；状态：{status}；显示：{each}前 {f['top']} 家"


def _local_now() -> str:

    return datetime.now(zone_from_config(backend.cfg())).strftime("%Y-%m-%d %H:%M")


def _weight_text(weights: dict[str, float]) -> str:
    """The factor weights of [targets] as shares a reader understands: 缺口程度 35%、…"""
    total = sum(weights.values())
    if total <= 0:
        return ""
    return "、".join(f"{FACTOR_LABELS[k]} {w / total:.0%}" for k, w in weights.items() if w > 0)


@bp.get("/export.xlsx")
def export():
    """The ranking with the page's filters as a formatted workbook."""

    svc = backend.chain_service()
    f = target_filters(svc)
    rows = svc.targets(
        f["chain"],
        sector_id=f["sector"],
        node_id=f["node"],
        status=f["status"],
        top=f["top"],
        per_node=f["per_node"],
    )
    names = {c.id: c.name for c in svc.chains()}
    scope = (
        names.get(f["chain"])
        if f["chain"]
        else next((s.name for s in svc.sectors() if s.id == f["sector"]), "全部产业")
    )
    title = f"补链目标（{scope}，前{f['top']}家，{date.today():%Y-%m-%d}）"
    data = ranking_xlsx(rows, names, title)
    with backend.unit_of_work() as s:
        access_log.record_export(
            s,
            current_user.orm,
            "ranking",
            f["chain"] or f["sector"],
            {"rows": len(rows)},
            request.remote_addr,
        )
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"补链目标_{date.today():%Y%m%d}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.post("/lead")
def create_lead():
    """Turn a ranked target into a lead (JSON from the graph panel, or a form)."""

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
    flash(message, "success")
    return redirect(url or request.referrer or url_for("targets.index"))
