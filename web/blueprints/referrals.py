"""引荐人, 首报首谈 filings, "a project counts once" links, lead merge and take-over requests.

Views parse, call crm.services.referrals / filings / projects / lead_merge / takeover and the
ledgers of crm.queries.referrals, render. The lead page shows these through its partials
(leads/_referral.html, leads/_filing.html, leads/_project_links.html), fed by `referral_box`.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm import permissions
from crm.errors import StaleEdit, ValidationError, WorkflowError
from crm.ledgers import filing_ledger_xlsx, referral_ledger_xlsx
from crm.models import utcnow
from crm.models_referrals import (
    FILING_STATUS_LABELS,
    LINK_LABELS,
    LINK_MERGED,
    REF_STATUS_LABELS,
    REFERRER_KINDS,
    TO_PENDING,
)
from crm.queries import referrals as ledgers
from crm.services import access_log, filings, lead_merge, projects, referrals, takeover
from crm.services.leads import get_lead

from .. import backend
from ..access import may_open
from ..params import parse_int
from .auth import _safe_next

bp = Blueprint("referrals", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _login():
    if not may_open(current_user.orm, "leads"):
        abort(403, "系统管理员不处理线索业务数据")
    return None


def _back(lead_id: int | None = None):
    target = _safe_next(request.form.get("next"))
    if target:
        return redirect(target)
    if lead_id is not None:
        return redirect(url_for("leads.show", lead_id=lead_id))
    return redirect(url_for("leads.index"))


def _today():
    return backend.crm_settings().local_today(utcnow())


def _download(data: bytes, filename: str) -> Response:
    resp = Response(data, mimetype=XLSX)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# ----------------------------------------------------------------------------- the lead page


@bp.app_context_processor
def _referral_box():
    """`referral_box(lead)` for the lead page partials: referrer, filing, project links, take-overs."""

    def referral_box(lead):
        cache = g.setdefault("referral_box", {})  # three partials ask: one set of reads per request
        if lead.id not in cache:
            cache[lead.id] = _box(lead)
        return cache[lead.id]

    def _box(lead):
        actor = current_user.orm
        session = backend.db()
        settings = backend.crm_settings()
        project = projects.project_of(session, lead.id)
        parent = projects.parent_of(session, actor, project)
        can_edit = permissions.can_edit(actor, lead)
        filing = filings.filing_of(session, lead.id)
        link = project.link if project else None
        return {
            "referral": referrals.referral_of(session, actor, lead.id),
            "may_confirm": referrals.may_confirm(actor, lead),
            "can_edit": can_edit,
            "kinds": REFERRER_KINDS,
            "ref_statuses": REF_STATUS_LABELS,
            "filing": filing,
            "filing_statuses": FILING_STATUS_LABELS,
            "needs_filing": filings.needs_filing(lead, settings, link),
            "threshold": settings.filing_threshold_wan,
            "project": project,
            "parent": parent,
            "children": [
                (child, row)
                for child, row in projects.links_to(session, lead.id)
                if permissions.can_read(actor, child)
            ],
            "same_firm": projects.same_firm_leads(session, actor, lead) if can_edit else [],
            "link_labels": {k: v for k, v in LINK_LABELS.items() if k != LINK_MERGED},
            "takeovers": takeover.requests_on(session, actor, lead.id),
            "may_decide_takeover": takeover.may_decide(actor, lead),
            "may_merge_here": actor.role == "manager" and can_edit,
            "pending": TO_PENDING,
        }

    return {"referral_box": referral_box}


@bp.app_context_processor
def _board_box():
    """`board_referrals()` for the manager's board: take-over requests to decide, projects over the
    首报首谈 threshold not filed, and how many groups of suspected duplicate leads there are."""

    def board_referrals():
        actor = current_user.orm
        if getattr(actor, "role", None) != "manager":
            return None
        session, settings = backend.db(), backend.crm_settings()
        return {
            "takeovers": takeover.pending_for(session, actor),
            "filings": ledgers.missing_filings(session, actor, settings),
            "duplicates": len(lead_merge.suspected_duplicates(session, actor, settings)),
        }

    return {"board_referrals": board_referrals}


@bp.post("/leads/<int:lead_id>/referral")
def save_referral(lead_id: int):
    form = request.form
    try:
        with backend.unit_of_work() as session:
            ref = referrals.save_referral(
                session,
                current_user.orm,
                lead_id,
                {k: form.get(k) for k in referrals.FIELDS},
                ip=request.remote_addr,
            )
            message = f"引荐人「{ref.referrer_name}」已保存（{ref.status_label}）。"
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(f"引荐人未保存：{exc}", "error")
        return _back(lead_id)
    flash(message, "success")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/referral/<action>")
def decide_referral(lead_id: int, action: str):
    if action not in ("confirm", "reject"):
        abort(404)
    try:
        with backend.unit_of_work() as session:
            ref = referrals.decide(
                session,
                current_user.orm,
                lead_id,
                action == "confirm",
                request.form.get("note"),
                ip=request.remote_addr,
            )
            message = f"引荐人「{ref.referrer_name}」：{ref.status_label}。"
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(str(exc), "error")
        return _back(lead_id)
    flash(message, "success")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/filing")
def save_filing(lead_id: int):
    form = request.form
    try:
        with backend.unit_of_work() as session:
            f = filings.save_filing(
                session,
                current_user.orm,
                lead_id,
                {k: form.get(k) for k in ("status", "filed_on", "confirmed_on", "disputed_on", "note")},
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
            message = f"首报首谈申报状态已保存：{f.status_label}。"
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(f"申报状态未保存：{exc}", "error")
        return _back(lead_id)
    flash(message, "success")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/project")
def save_project(lead_id: int):
    form = request.form
    try:
        with backend.unit_of_work() as session:
            row = projects.save_project(
                session,
                current_user.orm,
                lead_id,
                project_name=form.get("project_name"),
                parent_lead_id=parse_int(form.get("parent_lead_id")),
                link=form.get("link"),
                note=form.get("note"),
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
            message = "项目信息已保存。" + (
                f"已关联到线索 {row.parent_lead_id}：{row.link_label}。" if row.link else ""
            )
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(f"项目关联未保存：{exc}", "error")
        return _back(lead_id)
    flash(message, "success")
    return _back(lead_id)


# ----------------------------------------------------------------------------- take-over requests


@bp.get("/leads/<int:lead_id>/takeover")
def takeover_form(lead_id: int):
    """The form a 首报首谈 refusal links to: the requester may not be able to read the lead."""
    lead = takeover.target_of(backend.db(), current_user.orm, lead_id)  # NotFound -> 404
    return render_template("leads/takeover.html", lead_id=lead_id, lead=lead)


@bp.post("/leads/<int:lead_id>/takeover")
def request_takeover(lead_id: int):
    try:
        with backend.unit_of_work() as session:
            takeover.request_takeover(
                session, current_user.orm, lead_id, request.form.get("reason", ""), ip=request.remote_addr
            )
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(f"未提交接手申请：{exc}", "error")
        return redirect(url_for("referrals.takeover_form", lead_id=lead_id))
    flash("接手申请已提交，招商经理决定后会通知您。", "success")
    return redirect(url_for("inbox.index"))


@bp.post("/takeovers/<int:request_id>/<action>")
def decide_takeover(request_id: int, action: str):
    if action not in ("grant", "refuse"):
        abort(404)
    try:
        with backend.unit_of_work() as session:
            req = takeover.decide(
                session,
                current_user.orm,
                request_id,
                action == "grant",
                request.form.get("note"),
                ip=request.remote_addr,
            )
            lead_id, message = req.lead_id, f"接手申请：{req.status_label}。"
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(str(exc), "error")
        return _back()
    flash(message, "success")
    return _back(lead_id)


# ----------------------------------------------------------------------------- duplicates and merge


@bp.get("/leads/duplicates")
def duplicates():
    """疑似重复线索: open leads of the same firm the manager may merge."""
    actor = current_user.orm
    if actor.role != "manager":
        abort(403, "只有招商经理可以合并线索")
    groups = lead_merge.suspected_duplicates(backend.db(), actor, backend.crm_settings())
    return render_template("leads/duplicates.html", groups=groups)


@bp.get("/leads/merge")
def merge_confirm():
    """The confirm step: both leads side by side, the survivor chosen, what will move."""
    actor = current_user.orm
    session = backend.db()
    keep_id, gone_id = parse_int(request.args.get("keep")), parse_int(request.args.get("gone"))
    if keep_id is None or gone_id is None or keep_id == gone_id:
        abort(400, "请选择两条不同的线索")
    keep, gone = get_lead(session, actor, keep_id), get_lead(session, actor, gone_id)
    if not lead_merge.may_merge(actor, keep, gone):
        abort(403, "只有可同时管理这两条线索的招商经理可以合并")
    return render_template("leads/merge.html", keep=keep, gone=gone)


@bp.post("/leads/merge")
def merge():
    keep_id, gone_id = parse_int(request.form.get("keep")), parse_int(request.form.get("gone"))
    if keep_id is None or gone_id is None:
        abort(400, "请选择两条不同的线索")
    try:
        with backend.unit_of_work() as session:
            result = lead_merge.merge_leads(
                session,
                current_user.orm,
                keep_id,
                gone_id,
                request.form.get("reason"),
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
            moved = sum(result.moved.values())
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(f"未合并：{exc}", "error")
        return redirect(url_for("referrals.merge_confirm", keep=keep_id, gone=gone_id))
    flash(f"已将线索 {gone_id} 并入线索 {keep_id}，迁移记录 {moved} 条；原线索保留为“已合并”。", "success")
    return redirect(url_for("leads.show", lead_id=keep_id))


# ----------------------------------------------------------------------------- ledgers


@bp.get("/ledgers/referrals")
def referral_ledger():
    status = request.args.get("status") or None
    if status is not None and status not in REF_STATUS_LABELS:
        abort(400, "认定状态无效")
    rows = ledgers.referral_ledger(backend.db(), current_user.orm, backend.crm_settings(), status=status)
    return render_template("ledgers/referrals.html", rows=rows, status=status, statuses=REF_STATUS_LABELS)


@bp.get("/ledgers/referrals.xlsx")
def referral_ledger_export():
    status = request.args.get("status") or None
    if status is not None and status not in REF_STATUS_LABELS:
        abort(400, "认定状态无效")
    settings = backend.crm_settings()
    rows = ledgers.referral_ledger(backend.db(), current_user.orm, settings, status=status)
    with backend.unit_of_work() as session:
        access_log.record_export(
            session, current_user.orm, "referral_ledger", None, {"rows": len(rows)}, request.remote_addr
        )
    return _download(referral_ledger_xlsx(rows, settings, _today()), f"引荐项目台账_{_today():%Y%m%d}.xlsx")


@bp.get("/ledgers/filings")
def filing_ledger():
    settings = backend.crm_settings()
    rows = ledgers.filing_ledger(backend.db(), current_user.orm, settings)
    return render_template("ledgers/filings.html", rows=rows, threshold=settings.filing_threshold_wan)


@bp.get("/ledgers/filings.xlsx")
def filing_ledger_export():
    settings = backend.crm_settings()
    rows = ledgers.filing_ledger(backend.db(), current_user.orm, settings)
    with backend.unit_of_work() as session:
        access_log.record_export(
            session, current_user.orm, "filing_ledger", None, {"rows": len(rows)}, request.remote_addr
        )
    return _download(filing_ledger_xlsx(rows, settings, _today()), f"首报首谈申报台账_{_today():%Y%m%d}.xlsx")
