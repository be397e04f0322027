"""筑巢 pages: the space register (list, map, one resource), its import, a lead's needs with the
fitting resources and holds, the printable 准入评估表, and the area dashboard.

Views parse, call crm.services.spaces* / crm.queries.spaces and render. Errors of the kinds in
graph/errors.py become a flash message (forms) or the error page with the kind's status.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm import permissions
from crm.models_spaces import KIND_LABELS, STATUSES, LeadSpaceNeed
from crm.queries import spaces as q
from crm.services import spaces, spaces_holds, spaces_import, spaces_needs
from crm.services.spaces_match import ZoneFocus, failures, match
from crm.services.spaces_settings import PURPOSES, SpacesSettings
from graph.errors import Conflict, InvalidInput, LianzhaoError, NotFound, PermissionDenied
from seed.zone_maps import load_zone_maps

from .. import backend
from ..errors import render_error
from ..spaces_map import HEIGHT, WIDTH, markers

bp = Blueprint("spaces", __name__, url_prefix="/spaces")
EXT = "lianzhao_spaces"
STATUS_CODES = {InvalidInput: 400, PermissionDenied: 403, NotFound: 404, Conflict: 409}


@bp.before_request
@login_required
def _login():
    if not spaces.can_read(current_user.orm):
        abort(403, "空间资源库仅供业务人员使用")
    return None


@bp.errorhandler(LianzhaoError)
def _lianzhao_error(exc: LianzhaoError):
    code = next((c for kind, c in STATUS_CODES.items() if isinstance(exc, kind)), 400)
    return render_error(code, str(exc))


def settings() -> SpacesSettings:
    """[spaces] of this app's config, read once per app."""
    ext = current_app.extensions
    if EXT not in ext:
        ext[EXT] = SpacesSettings.from_config(backend.cfg())
    return ext[EXT]


def _zones():
    return backend.chain_service().zones()


def zone_names() -> dict[str, str]:
    return {z.id: z.name for z in _zones()}


def zone_focus() -> dict[str, ZoneFocus]:
    return {z.id: ZoneFocus(z.id, z.name, tuple(z.focus_sectors), tuple(z.focus)) for z in _zones()}


def _float(value):
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _filter_from_args() -> tuple[q.SpaceFilter, int | None]:
    kind = request.args.get("kind") or None
    status = request.args.get("status") or None
    f = q.SpaceFilter(
        kind=kind if kind in KIND_LABELS else None,
        status=status if status in STATUSES else None,
        zone_id=request.args.get("zone") or None,
        min_m2=_float(request.args.get("min_m2")),
        max_m2=_float(request.args.get("max_m2")),
        text=(request.args.get("q") or "").strip()[:100] or None,
    )
    return f, _int(request.args.get("lead"))


def _sweep() -> None:
    """Free lapsed holds (with their inbox notices) before the register is shown."""
    with backend.unit_of_work() as session:
        spaces_holds.expire_due(session)


def _fits(session, actor, lead_id):
    if lead_id is None:
        return None, None
    matches = spaces_needs.match_for_lead(
        session, actor, lead_id, settings=settings(), zones=zone_focus(), limit=10_000
    )
    lead, _need = spaces_needs.get_need(session, actor, lead_id)
    return lead, {m.resource_id: m for m in matches}


def _common(view: str):
    _sweep()
    actor, session = current_user.orm, backend.db()
    f, lead_id = _filter_from_args()
    lead, fits = _fits(session, actor, lead_id)
    if fits is not None:
        f.ids = tuple(fits)
    rows = q.list_resources(session, f, sort=request.args.get("sort") or "code")
    return dict(
        view=view,
        rows=rows,
        f=f,
        fit_lead=lead,
        fits=fits,
        zones=zone_names(),
        kinds=KIND_LABELS,
        statuses=STATUSES,
        can_edit=spaces.can_edit(actor, settings()),
        args={k: v for k, v in request.args.items() if v},
    )


@bp.get("/")
def index():
    return render_template("spaces/index.html", **_common("list"))


@bp.get("/map")
def map_view():
    ctx = _common("map")
    shapes = load_zone_maps()
    fitting = set(ctx["fits"]) if ctx["fits"] is not None else None
    svc = backend.chain_service()
    focus = {}
    known = {s.id for s in svc.sectors()}
    for z in _zones():
        gaps = []
        sectors = [s for s in z.focus_sectors if s in known]
        for sector_id in sectors:
            for report in svc.sector_overview(sector_id):
                gaps += [g.name for g in report.critical_gaps(3) if g.status == "缺链"]
        chains = [c.name for s in sectors for c in svc.chains(s)]
        focus[z.id] = {"zone": z, "chains": chains, "gaps": gaps[:6]}
    summary = {}
    for row in q.zone_summary(backend.db()):
        entry = summary.setdefault(row.zone_id, {"free": 0, "total": 0})
        entry["free"] += row.count["可招商"]
        entry["total"] += sum(row.count.values())
    return render_template(
        "spaces/map.html",
        shapes=shapes,
        markers=markers(ctx["rows"], shapes, fitting),
        width=WIDTH,
        height=HEIGHT,
        focus=focus,
        summary=summary,
        **ctx,
    )


@bp.get("/<int:resource_id>")
def show(resource_id: int):
    actor, session = current_user.orm, backend.db()
    resource = spaces.get(session, actor, resource_id)
    lines, holds = spaces.history(session, actor, resource_id)
    lead_id = _int(request.args.get("lead"))
    fit = None
    if lead_id is not None:
        lead, fits = _fits(session, actor, lead_id)
        fit = fits.get(resource_id) if fits is not None else None
        if fit is None:
            need = spaces_needs.to_need(lead, spaces_needs.get_need(session, actor, lead_id)[1])
            rows = [r for r in spaces_needs.plain_resources(session) if r.id == resource_id]
            fit = {"misses": failures(need, rows[0], spaces_needs.rules(settings()))} if rows else None
    return render_template(
        "spaces/show.html",
        r=resource,
        lines=lines,
        holds=holds,
        fit=fit,
        lead_id=lead_id,
        zones=zone_names(),
        can_edit=spaces.can_edit(actor, settings()),
        manual_statuses=spaces.MANUAL_STATUSES,
        hold_days=settings().hold_days,
    )


def _form_data() -> dict:
    data = {f.name: request.form.get(f.name, "") for f in spaces.FIELDS if f.type != "bool"}
    data["synthetic"] = request.form.get("synthetic") == "1"
    return data


def _form(resource=None, values=None, status=200):
    return render_template(
        "spaces/form.html",
        r=resource,
        values=values or {},
        fields=spaces.FIELDS,
        zones=zone_names(),
        kinds=KIND_LABELS,
        s=settings(),
        ownerships=spaces.OWNERSHIPS,
        fit_outs=spaces.FIT_OUTS,
    ), status


@bp.route("/new", methods=["GET", "POST"])
def new():
    if not spaces.can_edit(current_user.orm, settings()):
        abort(403)
    if request.method == "GET":
        return _form()
    data = _form_data()
    try:
        with backend.unit_of_work() as session:
            r = spaces.create(
                session,
                current_user.orm,
                data,
                settings=settings(),
                zones=zone_names(),
                ip=request.remote_addr,
            )
            rid = r.id
    except (InvalidInput, Conflict) as exc:
        flash(f"未保存：{exc}", "error")
        return _form(None, data, 400)
    flash("已登记空间资源。", "success")
    return redirect(url_for("spaces.show", resource_id=rid))


@bp.route("/<int:resource_id>/edit", methods=["GET", "POST"])
def edit(resource_id: int):
    actor = current_user.orm
    if not spaces.can_edit(actor, settings()):
        abort(403)
    resource = spaces.get(backend.db(), actor, resource_id)
    if request.method == "GET":
        return _form(resource, {f.name: getattr(resource, f.name) for f in spaces.FIELDS})
    data = _form_data()
    try:
        with backend.unit_of_work() as session:
            spaces.update(
                session,
                actor,
                resource_id,
                data,
                settings=settings(),
                zones=zone_names(),
                expected_version=_int(request.form.get("version")),
                ip=request.remote_addr,
            )
    except (InvalidInput, Conflict) as exc:
        flash(f"未保存：{exc}", "error")
        return _form(resource, data, 400)
    flash("已保存。", "success")
    return redirect(url_for("spaces.show", resource_id=resource_id))


@bp.post("/<int:resource_id>/status")
def set_status(resource_id: int):
    try:
        with backend.unit_of_work() as session:
            spaces.set_status(
                session,
                current_user.orm,
                resource_id,
                request.form.get("status", ""),
                settings=settings(),
                ip=request.remote_addr,
            )
        flash("状态已更新。", "success")
    except (InvalidInput, Conflict) as exc:
        flash(f"未更新：{exc}", "error")
    return redirect(url_for("spaces.show", resource_id=resource_id))


def _back(default: str):
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/spaces/") and "//" not in target else default)


@bp.post("/<int:resource_id>/hold")
def hold(resource_id: int):
    lead_id = _int(request.form.get("lead_id"))
    if lead_id is None:
        flash("请选择要锁定的线索。", "error")
        return _back(url_for("spaces.show", resource_id=resource_id))
    try:
        with backend.unit_of_work() as session:
            h = spaces_holds.hold(
                session, current_user.orm, resource_id, lead_id, settings=settings(), ip=request.remote_addr
            )
            until = h.expires_at
        flash(f"已为线索意向锁定，有效期至 {until:%Y-%m-%d}。", "success")
    except Conflict as exc:
        flash(f"未锁定：{exc}", "error")
    return _back(url_for("spaces.need", lead_id=lead_id))


@bp.post("/<int:resource_id>/release")
def release(resource_id: int):
    try:
        with backend.unit_of_work() as session:
            spaces_holds.release(
                session,
                current_user.orm,
                resource_id,
                settings=settings(),
                reason=request.form.get("reason"),
                ip=request.remote_addr,
            )
        flash("已释放锁定。", "success")
    except Conflict as exc:
        flash(f"未释放：{exc}", "error")
    return _back(url_for("spaces.show", resource_id=resource_id))


@bp.route("/import", methods=["GET", "POST"])
def import_view():
    if not spaces.can_edit(current_user.orm, settings()):
        abort(403)
    report = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("请选择要导入的 XLSX 或 CSV 文件。", "error")
            return render_template("spaces/import.html", report=None), 400
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            flash("只能导入 .xlsx 或 .csv 文件。", "error")
            return render_template("spaces/import.html", report=None), 400
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"upload{suffix}"
            upload.save(path)
            try:
                with backend.unit_of_work() as session:
                    report = spaces_import.import_file(
                        session,
                        current_user.orm,
                        path,
                        settings=settings(),
                        zones=zone_names(),
                        partial=request.form.get("partial") == "1",
                        ip=request.remote_addr,
                    )
            except InvalidInput as exc:
                flash(f"未导入：{exc}", "error")
                return render_template("spaces/import.html", report=None), 400
        flash(report.summary(), "success" if report.committed else "error")
    return render_template("spaces/import.html", report=report)


@bp.get("/template.xlsx")
def template():
    response = current_app.response_class(
        spaces_import.template_xlsx(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = (
        "attachment; filename*=UTF-8''%E7%A9%BA%E9%97%B4%E8%B5%84%E6%BA%90%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


NEED_FORM_FIELDS = (*spaces_needs.NUMBERS, "kind", "purpose", "planned_start")


@bp.route("/lead/<int:lead_id>", methods=["GET", "POST"])
def need(lead_id: int):
    actor, session = current_user.orm, backend.db()
    if request.method == "POST":
        data = {k: request.form.get(k, "") for k in NEED_FORM_FIELDS}
        data["wanted_zones"] = request.form.getlist("wanted_zones")
        data["vetoes"] = request.form.getlist("vetoes")
        try:
            with backend.unit_of_work() as s:
                spaces_needs.save_need(
                    s,
                    actor,
                    lead_id,
                    data,
                    settings=settings(),
                    zones=zone_names(),
                    expected_version=_int(request.form.get("version")),
                    ip=request.remote_addr,
                )
            flash("已保存用地用房需求。", "success")
        except (InvalidInput, Conflict) as exc:
            flash(f"未保存：{exc}", "error")
        return redirect(url_for("spaces.need", lead_id=lead_id))
    _sweep()
    lead, row, assessment = spaces_needs.admission_for_lead(session, actor, lead_id, settings=settings())
    matches = spaces_needs.match_for_lead(session, actor, lead_id, settings=settings(), zones=zone_focus())
    held = spaces_holds.holds_of_lead(session, actor, lead_id)
    return render_template(
        "spaces/need.html",
        lead=lead,
        need=row,
        assessment=assessment,
        matches=matches,
        held=held,
        zones=zone_names(),
        kinds=KIND_LABELS,
        purposes=PURPOSES,
        vetoes=settings().admission.vetoes,
        labels=spaces_needs.NUMBERS,
        can_hold=spaces_holds.can_hold(actor, lead, settings()),
        can_edit=permissions.can_edit(actor, lead),
    )


@bp.get("/lead/<int:lead_id>/admission")
def admission(lead_id: int):
    lead, row, assessment = spaces_needs.admission_for_lead(
        backend.db(), current_user.orm, lead_id, settings=settings()
    )
    return render_template(
        "spaces/admission.html", lead=lead, need=row, a=assessment, rules=settings().admission
    )


@bp.get("/dashboard")
def dashboard():
    actor, session = current_user.orm, backend.db()
    rows = q.zone_summary(session)
    gate = backend.crm_settings().four_ones.gate_stage
    negotiating = []
    pairs = q.leads_with_needs(session, gate, permissions.visibility(actor))
    held = q.held_by_lead(session, [lead.id for lead, _n in pairs])
    resources = spaces_needs.plain_resources(session)
    focus = zone_focus()
    for lead, need_row in pairs:
        found = match(
            spaces_needs.to_need(lead, need_row), resources, focus, spaces_needs.rules(settings()), limit=3
        )
        negotiating.append({"lead": lead, "matches": found, "held": held.get(lead.id, [])})
    return render_template(
        "spaces/dashboard.html",
        rows=rows,
        zones=zone_names(),
        kinds=KIND_LABELS,
        negotiating=negotiating,
        gate=gate,
    )


@bp.app_context_processor
def _lead_box():
    """`space_box(lead)` for the lead page: its 准入评估 line and what it holds."""

    def space_box(lead):
        if not spaces.can_read(current_user.orm):
            return None
        session = backend.db()
        row = session.get(LeadSpaceNeed, lead.id)
        held = q.held_by_lead(session, [lead.id]).get(lead.id, [])
        return {"assessment": spaces_needs.admission(lead, row, settings()), "held": held, "need": row}

    return {"space_box": space_box}
