"""补链目标 (ranked targets), 目标名录 (target lists: draft, review, versions, export) and
turning a target into a lead. Workflow and permission rules live in the CRM services."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    Response,
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

from graph.model import MISSING, WEAK
from graph.targets import FACTOR_LABELS

from crm.services import access_log

from .. import backend
from ..errors import wants_json
from ..params import parse_int, required_version
from ..ranking import ranked_targets

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
    return {
        "sector": sector_id,
        "chain": chain_id,
        "node": node_id,
        "status": status,
        "top": top,
        "nodes": [n for n in nodes if n.status != "强链"],
    }


@bp.get("/")
def index():
    svc = backend.chain_service()
    f = target_filters(svc)
    rows = ranked_targets(
        svc, chain_id=f["chain"], sector_id=f["sector"], node_id=f["node"], status=f["status"], top=f["top"]
    )
    chains = {c.id: c for c in svc.chains()}
    from ..access import may_create_lead
    from ..crm_calls import draft_lists_for, held_companies, lead_url

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
        weight_text=_weight_text(backend.cfg()),
        filter_text=_filter_text(svc, f),
        printed_at=_local_now(),
    )


def _filter_text(svc, f: dict) -> str:
    """The page's filters in words, for the print header: 产业：…；产业链：…；环节：…；状态：…；前 N 家."""
    sector = next((s.name for s in svc.sectors() if s.id == f["sector"]), "全部产业")
    chain = next((c.name for c in svc.chains() if c.id == f["chain"]), "全部产业链")
    node = next((n.name for n in f["nodes"] if n.node_id == f["node"]), "全部缺口环节")
    status = f["status"] or "缺链和弱链"
    return f"产业：{sector}；产业链：{chain}；环节：{node}；状态：{status}；显示：前 {f['top']} 家"


def _local_now() -> str:
    from datetime import datetime

    from ..localtime import zone_from_config

    return datetime.now(zone_from_config(backend.cfg())).strftime("%Y-%m-%d %H:%M")


def _weight_text(cfg: dict) -> str:
    """The factor weights of [targets] as shares a reader understands: 缺口程度 35%、…"""
    t = cfg.get("targets", {})
    weights = {key: float(t.get(f"weight_{key}", 0) or 0) for key in FACTOR_LABELS}
    total = sum(weights.values())
    if total <= 0:
        return ""
    return "、".join(f"{FACTOR_LABELS[k]} {w / total:.0%}" for k, w in weights.items() if w > 0)


@bp.get("/export.xlsx")
def export():
    """The ranking with the page's filters as a formatted workbook."""
    from datetime import date

    from ..list_export import ranking_xlsx

    svc = backend.chain_service()
    f = target_filters(svc)
    rows = ranked_targets(
        svc, chain_id=f["chain"], sector_id=f["sector"], node_id=f["node"], status=f["status"], top=f["top"]
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
    flash(message, "success")
    return redirect(url or request.referrer or url_for("targets.index"))


# ---- 目标名录: target-company lists ---------------------------------------------------------


def _version() -> int | None:
    """The list version the form was loaded with (a concurrent edit is refused as stale)."""
    return required_version()


def _back(list_id: int):
    return redirect(url_for("targets.list_show", list_id=list_id))


def _list_action(list_id: int, action, success: str | None):
    """Run one service call as a transaction; rule breaks come back as a flash on the list page."""
    from crm.errors import StaleEdit, ValidationError, WorkflowError

    try:
        with backend.unit_of_work() as session:
            result = action(session)
    except (ValidationError, WorkflowError, StaleEdit) as exc:
        flash(str(exc), "error")
        return _back(list_id)
    if success:
        flash(success, "success")
    return result if isinstance(result, Response) else _back(list_id)


def _scope_names(svc, tl) -> tuple[str, str | None]:
    sector = next((s.name for s in svc.sectors() if s.id == tl.sector_id), tl.sector_id)
    chain = next((c.name for c in svc.chains() if c.id == tl.chain_id), tl.chain_id) if tl.chain_id else None
    return sector, chain


@bp.get("/lists")
def lists():
    from crm import permissions
    from crm.models import TL_APPROVED, TL_SUBMITTED
    from crm.services import target_lists

    svc = backend.chain_service()
    actor = current_user.orm
    rows = target_lists.list_lists(backend.db(), actor)
    names = {tl.id: _scope_names(svc, tl) for tl in rows}
    groups = [
        ("编制中", [tl for tl in rows if tl.status in target_lists.EDITABLE_STATES]),
        ("待审批", [tl for tl in rows if tl.status == TL_SUBMITTED]),
        (
            "已批准",
            sorted(
                (tl for tl in rows if tl.status == TL_APPROVED),
                key=lambda tl: (tl.sector_id, tl.chain_id or "", -(tl.version_no or 0)),
            ),
        ),
    ]
    return render_template(
        "lists/index.html",
        groups=groups,
        names=names,
        can_create=permissions.can_manage_target_lists(actor),
        sectors=svc.sectors(),
        all_chains=svc.chains(),
    )


@bp.post("/lists/new")
def list_new():
    from crm.services import target_lists

    svc = backend.chain_service()
    sector_id = request.form.get("sector") or ""
    chain_id = request.form.get("chain") or None
    if not any(s.id == sector_id for s in svc.sectors()):
        abort(400, "请选择产业")
    if chain_id and svc.chain(chain_id).sector_id != sector_id:
        abort(400, "所选产业链不属于该产业")
    with backend.unit_of_work() as session:
        tl = target_lists.create_draft(
            session,
            current_user.orm,
            sector_id=sector_id,
            chain_id=chain_id,
            title=request.form.get("title"),
            ip=request.remote_addr,
        )
    flash(
        f"已新建名录草稿《{tl.title}》。可在「补链目标」页面逐个加入企业，或在下方一键加入排名靠前的企业。",
        "success",
    )
    return _back(tl.id)


@bp.post("/lists/<int:list_id>/new-version")
def list_new_version(list_id: int):
    from crm.services import target_lists

    def action(session):
        base = target_lists.get_list(session, current_user.orm, list_id)
        tl = target_lists.create_draft(
            session,
            current_user.orm,
            sector_id=base.sector_id,
            chain_id=base.chain_id,
            based_on_id=list_id,
            ip=request.remote_addr,
        )
        session.flush()
        return _back(tl.id)

    return _list_action(list_id, action, "已以该批准版本为基础新建草稿。")


@bp.get("/lists/<int:list_id>")
def list_show(list_id: int):
    from crm import permissions
    from crm.models import TL_SUBMITTED
    from crm.services import target_lists

    svc = backend.chain_service()
    actor = current_user.orm
    session = backend.db()
    tl = target_lists.get_list(session, actor, list_id)
    versions = target_lists.approved_versions(session, actor, tl.sector_id, tl.chain_id)
    can_edit = (
        permissions.can_manage_target_lists(actor)
        and tl.team_id == actor.team_id
        and tl.status in target_lists.EDITABLE_STATES
    )
    can_review = permissions.can_review_target_lists(actor) and tl.status == TL_SUBMITTED
    sector_name, chain_name = _scope_names(svc, tl)
    return render_template(
        "lists/show.html",
        tl=tl,
        versions=versions,
        can_edit=can_edit,
        can_review=can_review,
        can_new_version=permissions.can_manage_target_lists(actor) and tl.status == "approved",
        sector_name=sector_name,
        chain_name=chain_name,
        factor_labels=FACTOR_LABELS,
        targets_url=url_for("targets.index", sector=tl.sector_id, chain=tl.chain_id or None),
        confirm_remove=request.args.get("remove", type=int) if can_edit else None,
    )


@bp.post("/lists/add")
def list_add():
    """From the ranking page: add one target (company on node) to a chosen draft list."""
    from crm.services import target_lists

    from ..crm_calls import ranked_rows

    list_id = parse_int(request.form.get("list_id"))
    if list_id is None:
        abort(400, "请选择名录")
    rows = ranked_rows([(request.form.get("company_id", ""), request.form.get("node_id", ""))])
    with backend.unit_of_work() as session:
        result = target_lists.add_rows(session, current_user.orm, list_id, rows, ip=request.remote_addr)
    for why in result.skipped:
        flash(why, "warning")
    if result.added:
        flash(f"已将「{result.added[0].company_name}」加入名录。", "success")
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    return redirect(target or url_for("targets.list_show", list_id=list_id))


@bp.post("/lists/<int:list_id>/add-top")
def list_add_top(list_id: int):
    from crm.services import target_lists

    from ..crm_calls import top_rows

    count = int(request.form.get("count", "10")) if request.form.get("count", "10").isdigit() else 10
    count = max(1, min(count, 100))

    def action(session):
        tl = target_lists.get_list(session, current_user.orm, list_id)
        rows = top_rows(tl.chain_id, tl.sector_id, count)
        result = target_lists.add_rows(
            session, current_user.orm, list_id, rows, expected_version=_version(), ip=request.remote_addr
        )
        flash(
            f"已加入 {len(result.added)} 家企业"
            + (f"，{len(result.skipped)} 家已在名录中" if result.skipped else "")
            + "。",
            "success",
        )

    return _list_action(list_id, action, None)


@bp.post("/lists/<int:list_id>/rows/<int:row_id>/remove")
def list_remove(list_id: int, row_id: int):
    from crm.services import target_lists

    if request.form.get("confirm") != "1":  # two steps: the page asks first (no inline script)
        return redirect(url_for("targets.list_show", list_id=list_id, remove=row_id, _anchor=f"row-{row_id}"))
    return _list_action(
        list_id,
        lambda s: target_lists.remove_rows(
            s, current_user.orm, list_id, [row_id], expected_version=_version(), ip=request.remote_addr
        ),
        "已从名录中移除。",
    )


@bp.post("/lists/<int:list_id>/rows/<int:row_id>/move")
def list_move(list_id: int, row_id: int):
    from crm.services import target_lists

    step = -1 if request.form.get("direction") == "up" else 1

    def action(session):
        tl = target_lists.get_list(session, current_user.orm, list_id)
        order = [r.id for r in sorted(tl.rows, key=lambda r: r.position)]
        if row_id not in order:
            abort(404, "该行不在名录中")
        i = order.index(row_id)
        j = i + step
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
            target_lists.reorder(
                session, current_user.orm, list_id, order, expected_version=_version(), ip=request.remote_addr
            )

    return _list_action(list_id, action, None)


@bp.post("/lists/<int:list_id>/rows/<int:row_id>/note")
def list_note(list_id: int, row_id: int):
    from crm.services import target_lists

    return _list_action(
        list_id,
        lambda s: target_lists.annotate(
            s,
            current_user.orm,
            list_id,
            row_id,
            request.form.get("note"),
            expected_version=_version(),
            ip=request.remote_addr,
        ),
        "批注已保存。",
    )


@bp.post("/lists/<int:list_id>/submit")
def list_submit(list_id: int):
    from crm.services import target_lists

    return _list_action(
        list_id,
        lambda s: target_lists.submit(
            s,
            current_user.orm,
            list_id,
            request.form.get("comment"),
            expected_version=_version(),
            ip=request.remote_addr,
        ),
        "已提交区领导审批。",
    )


@bp.post("/lists/<int:list_id>/return")
def list_return(list_id: int):
    from crm.services import target_lists

    return _list_action(
        list_id,
        lambda s: target_lists.return_list(
            s,
            current_user.orm,
            list_id,
            request.form.get("comment", ""),
            expected_version=_version(),
            ip=request.remote_addr,
        ),
        "已退回，意见已通知编制人。",
    )


@bp.post("/lists/<int:list_id>/approve")
def list_approve(list_id: int):
    from crm.services import target_lists

    return _list_action(
        list_id,
        lambda s: target_lists.approve(
            s,
            current_user.orm,
            list_id,
            request.form.get("comment"),
            expected_version=_version(),
            ip=request.remote_addr,
        ),
        "已批准，名录已定版。",
    )


@bp.get("/lists/<int:list_id>/export.xlsx")
def list_export(list_id: int):
    from crm.services import target_lists

    from ..list_export import list_xlsx

    svc = backend.chain_service()
    tl = target_lists.get_list(backend.db(), current_user.orm, list_id)
    sector_name, chain_name = _scope_names(svc, tl)
    data, filename = list_xlsx(tl, sector_name, chain_name)
    with backend.unit_of_work() as s:
        access_log.record_export(
            s,
            current_user.orm,
            "target_list",
            tl.id,
            {"format": "xlsx", "rows": len(tl.rows)},
            request.remote_addr,
        )
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=filename,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@bp.get("/lists/<int:list_id>/print")
def list_print(list_id: int):
    from crm.services import target_lists

    svc = backend.chain_service()
    tl = target_lists.get_list(backend.db(), current_user.orm, list_id)
    sector_name, chain_name = _scope_names(svc, tl)
    from datetime import datetime

    from ..localtime import zone_from_config

    now = datetime.now(zone_from_config(backend.cfg()))
    return render_template(
        "lists/print.html",
        tl=tl,
        sector_name=sector_name,
        chain_name=chain_name,
        factor_labels=FACTOR_LABELS,
        now=now.strftime("%Y-%m-%d %H:%M"),
    )
