"""目标名录 (target-company lists): drafts, review by leadership, approved versions, export and
print. Workflow and permission rules live in crm.services.target_lists; rows come from the
ranking through crm.services.from_targets (web.crm_calls passes the chain service)."""

from __future__ import annotations

import io
from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from crm import permissions
from crm.errors import StaleEdit, ValidationError, WorkflowError
from crm.models import TL_APPROVED, TL_SUBMITTED
from crm.queries.contacts import contacts_by_company
from crm.services import access_log, firm_status, target_lists
from crm.services.lead_holders import CompanyRef
from graph.targets import FACTOR_LABELS

from .. import backend
from ..crm_calls import ranked_rows, top_rows
from ..list_export import list_xlsx
from ..localtime import zone_from_config
from ..loop import contact_policy
from ..params import parse_int, required_version

# Same URL prefix as the ranking (/targets/lists/...): a list is built from the ranking's rows.
bp = Blueprint("target_lists", __name__, url_prefix="/targets")


@bp.before_request
@login_required
def _login():
    return None


def _version() -> int | None:
    """The list version the form was loaded with (a concurrent edit is refused as stale)."""
    return required_version()


def _back(list_id: int):
    return redirect(url_for("target_lists.list_show", list_id=list_id))


def _list_action(list_id: int, action, success: str | None):
    """Run one service call as a transaction; rule breaks come back as a flash on the list page."""

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
    refs = [CompanyRef(r.company_id, r.company_name, r.uscc) for r in tl.rows]
    return render_template(
        "lists/show.html",
        tl=tl,
        crm_status=firm_status.statuses(session, refs, backend.crm_settings()),
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

    list_id = parse_int(request.form.get("list_id"))
    if list_id is None:
        abort(400, "请选择名录")
    rows = ranked_rows([(request.form.get("company_id", ""), request.form.get("node_id", ""))])
    with backend.unit_of_work() as session:
        result = target_lists.add_rows(
            session,
            current_user.orm,
            list_id,
            rows,
            settings=backend.crm_settings(),
            reason=request.form.get("reason"),
            ip=request.remote_addr,
        )
    for why in result.skipped:
        flash(why, "warning")
    if result.added:
        flash(f"已将「{result.added[0].company_name}」加入名录。", "success")
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
    return redirect(target or url_for("target_lists.list_show", list_id=list_id))


@bp.post("/lists/<int:list_id>/add-top")
def list_add_top(list_id: int):

    count = int(request.form.get("count", "10")) if request.form.get("count", "10").isdigit() else 10
    count = max(1, min(count, 100))

    def action(session):
        tl = target_lists.get_list(session, current_user.orm, list_id)
        rows = top_rows(tl.chain_id, tl.sector_id, count)
        result = target_lists.add_rows(
            session,
            current_user.orm,
            list_id,
            rows,
            expected_version=_version(),
            settings=backend.crm_settings(),
            ip=request.remote_addr,
        )
        flash(
            f"已加入 {len(result.added)} 家企业"
            + (f"，{len(result.skipped)} 家未加入" if result.skipped else "")
            + "。",
            "success",
        )
        for why in result.skipped:
            flash(why, "warning")

    return _list_action(list_id, action, None)


@bp.post("/lists/<int:list_id>/rows/<int:row_id>/remove")
def list_remove(list_id: int, row_id: int):

    if request.form.get("confirm") != "1":  # two steps: the page asks first (no inline script)
        return redirect(
            url_for("target_lists.list_show", list_id=list_id, remove=row_id, _anchor=f"row-{row_id}")
        )
    return _list_action(
        list_id,
        lambda s: target_lists.remove_rows(
            s, current_user.orm, list_id, [row_id], expected_version=_version(), ip=request.remote_addr
        ),
        "已从名录中移除。",
    )


@bp.post("/lists/<int:list_id>/rows/<int:row_id>/move")
def list_move(list_id: int, row_id: int):

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

    svc = backend.chain_service()
    tl = target_lists.get_list(backend.db(), current_user.orm, list_id)
    sector_name, chain_name = _scope_names(svc, tl)
    found = contacts_by_company(
        backend.db(), current_user.orm, [r.company_id for r in tl.rows], contact_policy()
    )
    data, filename = list_xlsx(tl, sector_name, chain_name, found)
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
    svc = backend.chain_service()
    tl = target_lists.get_list(backend.db(), current_user.orm, list_id)
    sector_name, chain_name = _scope_names(svc, tl)

    now = datetime.now(zone_from_config(backend.cfg()))
    return render_template(
        "lists/print.html",
        tl=tl,
        sector_name=sector_name,
        chain_name=chain_name,
        factor_labels=FACTOR_LABELS,
        now=now.strftime("%Y-%m-%d %H:%M"),
    )
