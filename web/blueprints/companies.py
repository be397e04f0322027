"""Company directory (/companies/), company page (the firm's registry data, its nodes with the
placement evidence, supply ties, every lead it ever had), the 待确认 queue with one-click
confirmation, and the 疑似重复 list with a merge (confirm page showing both firms side by side)."""

from __future__ import annotations

import io
import math
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from crm.tables import Column, table_bytes
from graph.directory import (
    SORTS,
    CompanyQuery,
    Confirmation,
    all_companies,
    confirm_placements,
    search_companies,
)
from graph.duplicates import find_duplicates
from graph.errors import LianzhaoError
from graph.model import QUALIFICATIONS
from graph.targets import FACTOR_LABELS

from .. import backend
from ..access import may_confirm_placement, may_create_lead, may_force_merge, may_merge_companies
from ..crm_calls import lead_for_company, leads_of_company, merge_companies, merge_plan

bp = Blueprint("companies", __name__, url_prefix="/companies")
PAGE_SIZE = 50
LOCAL_CHOICES = {"": None, "local": True, "outside": False}


@bp.before_request
@login_required
def _login():
    return None


def _query() -> tuple[CompanyQuery, dict]:
    args = {
        k: (request.args.get(k) or "").strip() for k in ("q", "local", "node", "qual", "zone", "province")
    }
    args["status"] = request.args.get("status") or ""  # "" alive only, "all"
    args["pending"] = request.args.get("pending") or ""
    args["sort"] = request.args.get("sort") or ""
    query = CompanyQuery(
        text=args["q"],
        local=LOCAL_CHOICES.get(args["local"]),
        node_id=args["node"] or None,
        pending=True if args["pending"] else None,
        include_inactive=args["status"] == "all",
        qualification=args["qual"] if args["qual"] in QUALIFICATIONS else "",
        zone_id=args["zone"],
        province=args["province"],
    )
    return query, args


@bp.get("/")
def index():
    svc = backend.chain_service()
    query, args = _query()
    found = search_companies(svc.store, query, sort=args["sort"] if args["sort"] in SORTS else "")
    pages = max(1, math.ceil(len(found) / PAGE_SIZE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    nodes = {n.id: n for n in svc.store.nodes()}
    return render_template(
        "companies/index.html",
        can_merge=may_merge_companies(current_user.orm),
        companies=shown,
        total=len(found),
        page={"page": page, "pages": pages},
        args={k: v for k, v in args.items() if v},
        f=args,
        nodes=nodes,
        zones=svc.zones(),
        qualifications=QUALIFICATIONS,
    )


@bp.get("/export.xlsx")
def export():
    svc = backend.chain_service()
    query, args = _query()
    found = search_companies(svc.store, query, sort=args["sort"] if args["sort"] in SORTS else "")
    columns = [
        Column("id", "企业id"),
        Column("display_name", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("status", "登记状态"),
        Column("province", "省份"),
        Column("city", "城市"),
        Column("district", "区县"),
        Column("local", "本地"),
        Column("registered_capital", "注册资本(万元)", "number"),
        Column("revenue", "营业收入(万元)", "number"),
        Column("qualifications", "资质"),
        Column("nodes", "产业链环节"),
        Column("products", "主营产品"),
    ]
    rows = [
        {
            **{c.key: getattr(company, c.key, "") for c in columns if hasattr(company, c.key)},
            "display_name": company.display_name,
            "local": "是" if company.is_local else "否",
            "qualifications": "、".join(company.qualifications),
            "nodes": "；".join(company.node_ids),
        }
        for company in found
    ]
    data = table_bytes(rows, columns, "xlsx", title=f"企业名录（{date.today():%Y-%m-%d}，{len(rows)} 家）")
    response = send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"企业名录_{date.today():%Y%m%d}.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/duplicates")
def duplicates():
    """疑似重复: groups of firms that are probably one, each pair with a merge button."""
    if not may_merge_companies(current_user.orm):
        abort(403)
    companies = all_companies(backend.chain_service().store)
    by_id = {c.id: c for c in companies}
    groups = [(g, [by_id[i] for i in g.company_ids]) for g in find_duplicates(companies)]
    return render_template("companies/duplicates.html", groups=groups)


@bp.route("/merge", methods=["GET", "POST"])
def merge():
    """GET: both firms side by side with what the merge will do; POST (CSRF): merge them."""
    actor = current_user.orm
    if not may_merge_companies(actor):
        abort(403)
    source = request.form if request.method == "POST" else request.args
    keep_id, merged_id = (source.get("keep") or "").strip(), (source.get("merged") or "").strip()
    if request.method == "POST":
        try:
            result = merge_companies(actor, keep_id, merged_id, force=bool(request.form.get("force")))
        except LianzhaoError as exc:
            flash(str(exc), "error")
            return redirect(url_for("companies.merge", keep=keep_id, merged=merged_id))
        flash(result.message, "success")
        return redirect(url_for("companies.show", company_id=result.plan.keep.id))
    try:
        plan = merge_plan(keep_id, merged_id)
    except LianzhaoError as exc:
        flash(str(exc), "error")
        return redirect(url_for("companies.duplicates"))
    return render_template(
        "companies/merge.html", plan=plan, can_force=may_force_merge(actor), nodes=_node_names()
    )


def _node_names() -> dict[str, str]:
    return {n.id: n.name for n in backend.chain_service().store.nodes()}


@bp.get("/<company_id>")
def show(company_id: str):
    svc = backend.chain_service()
    detail = svc.company_detail(company_id)
    if detail.company.id != company_id:  # merged into another firm: its page
        return redirect(url_for("companies.show", company_id=detail.company.id))
    chains = {c.id: c for c in svc.chains()}
    lead = lead_for_company(current_user.orm, detail.company)
    history = leads_of_company(current_user.orm, detail.company)
    scores = []
    if not detail.company.is_local and detail.company.active:  # where it ranks as a 补链 target
        scores = svc.company_targets(company_id, sorted({n.chain_id for n in detail.nodes}))
    nodes = {n.id: n for n in svc.store.nodes()}
    return render_template(
        "companies/show.html",
        d=detail,
        c=detail.company,
        chains=chains,
        nodes=nodes,
        placements=detail.company.placement_list(),
        lead=lead,
        history=history,
        scores=scores,
        factor_labels=FACTOR_LABELS,
        can_create_lead=may_create_lead(current_user.orm),
        can_confirm=may_confirm_placement(current_user.orm),
    )


@bp.post("/<company_id>/confirm")
def confirm(company_id: str):
    """One click: put the firm on the chosen node(s) as confirmed (待确认 -> placed)."""
    if not may_confirm_placement(current_user.orm):
        abort(403)
    svc = backend.chain_service()
    node_ids = tuple(n for n in request.form.getlist("node_id") if n)
    try:
        confirm_placements(
            svc.store, [Confirmation(company_id, node_ids, 1)], (n.id for n in svc.store.nodes())
        )
    except LianzhaoError as exc:
        flash(str(exc).replace("第 1 行：", ""), "error")
    else:
        flash("已确认产业链环节。", "success")
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("companies.show", company_id=company_id)
    return redirect(target)
