"""我的线索 (the recruiter's work list and the pool) and the lead page: "四个一", timeline,
comments, audit history, activity logging and stage moves.

Views parse, call a CRM service, render. Permission refusals come from the services and become
the 403 page (web.errors); rule refusals (workflow, gate, stale edit) are explained on the page.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask_login import current_user, login_required

from crm import permissions
from crm.errors import GateNotSatisfied, PermissionDenied, StaleEdit, ValidationError, WorkflowError
from crm.evidence import FACTS, fact_lines, requirement_keys, requirement_label
from crm.key_projects import key_project_status
from crm.models import LEADER, utcnow
from crm.queries import timeline
from crm.queries.response import response_status
from crm.queries.worklist import WorkFilter, leads_version, worklist_rows
from crm.services import (
    access_log,
    activities,
    assignment,
    audit,
    lead_merge,
    leads,
    staffing,
    stage_claims,
    users,
)
from crm.services.leads import allowed_transitions
from crm.services.stage_claims import EvidenceMissing
from crm.workflow import Workflow

from .. import backend
from ..listcache import RenderCache
from ..loop import district, graph_store, loop_settings
from ..params import page_arg, parse_int, required_version
from . import attachments as attachment_views
from .auth import _safe_next

bp = Blueprint("leads", __name__, url_prefix="/leads")

SCOPES = {"mine": "我负责的", "pool": "公共池", "team": "本组全部", "all": "全部线索"}


@bp.before_request
@login_required
def _login():
    return None


def _int(value, default=None):
    return parse_int(value, default)


def _back(lead_id: int | None = None):
    """Where a form post returns: its `next` field (a path on this site) or the lead page."""
    target = _safe_next(request.form.get("next"))
    if target:
        return redirect(target)
    if lead_id is not None:
        return redirect(url_for("leads.show", lead_id=lead_id))
    return redirect(url_for("leads.index"))


def _scopes_for(role: str) -> list[str]:
    if role == "recruiter":
        return ["mine", "pool"]
    if role == "manager":
        return ["team", "mine", "pool"]
    if role == "leader":
        return ["all"]
    return []


@bp.get("/")
def index():
    """我的线索: overdue first, then the nearest due date; the pool as a second tab."""
    actor = current_user.orm
    scopes = _scopes_for(actor.role)
    if not scopes:
        abort(403, "系统管理员不处理线索业务数据")
    scope = request.args.get("scope") or scopes[0]
    if scope not in scopes:
        scope = scopes[0]
    settings = backend.crm_settings()
    stage = request.args.get("stage") or None
    if stage not in (None, *settings.all_stages):
        stage = None
    f = WorkFilter(
        scope=scope,
        stage=stage,
        sector_id=request.args.get("sector") or None,
        key_only=request.args.get("key") == "1",
        overdue_only=request.args.get("overdue") == "1",
        text=(request.args.get("q") or "").strip()[:100] or None,
    )
    # A repeat of the same list by the same session, with no lead in scope changed, is served
    # from the render cache (pending flash messages always render afresh).

    cache = _list_cache()
    key = None
    if "_flashes" not in web_session:
        key = (
            web_session.get("csrf_token"),
            actor.id,
            actor.role,
            actor.team_id,
            request.full_path,
            id(settings),
        )
        version = leads_version(backend.db())
        html = cache.get(key, version)
        if html is not None:
            return html
    result = worklist_rows(
        backend.db(), actor, f, settings, page=page_arg(request.args.get("page")), per_page=50
    )
    nexts: dict[int, str | None] = {}
    forward_of: dict[tuple, str | None] = {}  # the workflow answers per (stage, paused_from), not per row
    for row in result.rows:
        state = (row.stage, row.paused_from)
        if state not in forward_of:
            forward = [s for s in allowed_transitions(row, settings) if s in settings.stages]
            forward_of[state] = (
                forward[0] if forward and _is_forward(row.stage, forward[0], settings) else None
            )
        nexts[row.id] = forward_of[state]
    sectors = backend.chain_service().sectors()
    html = render_template(
        "leads/index.html",
        page=result,
        f=f,
        scopes=scopes,
        scope_labels=SCOPES,
        settings=settings,
        nexts=nexts,
        sectors=sectors,
        today=_today(),
        args=request.args,
        # each row's link is this with its id: one %-format per row, no per-row url_for
        lead_url=url_for("leads.index").replace("%", "%%") + "%d",
    )
    if key is not None and "_flashes" not in web_session:
        cache.put(key, version, html)
    return html


def _list_cache():
    """The app's render cache for lead lists (one per app, shared by its threads)."""

    return current_app.extensions.setdefault("lianzhao.web2.list_cache", RenderCache())


def _is_forward(current: str, target: str, settings) -> bool:
    stages = settings.stages
    if target not in stages:
        return False
    if current not in stages:
        return target in stages  # resuming from 搁置 / reopening
    return stages.index(target) > stages.index(current)


def _today():
    """The district's calendar day (the same day the activity service checks against)."""

    return backend.crm_settings().local_today(utcnow())


@bp.get("/<int:lead_id>")
def show(lead_id: int):
    survivor = lead_merge.merged_into(backend.db(), lead_id)
    if survivor is not None:  # a merged lead (已合并) is kept; its address leads to the survivor
        flash(f"线索 {lead_id} 已合并到本线索。", "info")
        return redirect(url_for("leads.show", lead_id=survivor))
    page = _render_lead(lead_id)  # PermissionDenied -> 403, nothing logged
    with backend.unit_of_work() as s:
        access_log.record_view(s, current_user.orm, "lead", lead_id, request.remote_addr)
    return page


def _render_lead(lead_id: int, *, gate=None, evidence=None, facts=None, status: int = 200):

    actor = current_user.orm
    session = backend.db()
    settings = backend.crm_settings()
    lead = leads.get_lead(session, actor, lead_id)  # PermissionDenied -> 403
    acts = activities.list_activities(session, actor, lead_id)
    changes = leads.stage_history(session, actor, lead_id)
    comments = activities.list_comments(session, actor, lead_id)
    claims = stage_claims.claims_of(session, actor, lead_id)
    events = timeline.merge(
        session, acts, changes, assignment.assignment_history(session, actor, lead_id), claims
    )
    try:
        audit_page = audit.list_entries(session, actor, entity="lead", entity_id=lead_id, per_page=100)
        audit_lines = audit.describe(session, audit_page.items, sectors=_sector_names())
    except PermissionDenied:
        audit_page, audit_lines = None, []
    workflow = Workflow.from_settings(settings)
    loop = loop_settings()
    targets = leads.allowed_transitions(lead, settings)
    moves = []
    for t in targets:
        claim = stage_claims.needs_claim(loop, settings, lead.stage, t)
        reqs = loop.evidence.requirements(t) if claim else ()
        moves.append(
            {
                "stage": t,
                "reason": workflow.needs_reason(lead.stage, t),
                "forward": lead.stage in settings.stages and _is_forward(lead.stage, t, settings),
                "claim": claim,
                "requirements": [requirement_label(r) for r in reqs],
                "facts": [(k, *FACTS[k]) for k in requirement_keys(reqs) if FACTS[k][1] != "file"],
                "files": any(FACTS[k][1] == "file" for k in requirement_keys(reqs)),
            }
        )
    pending = next((c for c in claims if c.status == "pending"), None)
    key = key_project_status(lead, settings.four_ones)
    can_edit = permissions.can_edit(actor, lead)
    people = users.list_users(session, actor, include_inactive=False) if can_edit else []
    can_assign = permissions.can_assign(actor, lead)
    assignees = [u for u in people if permissions.can_be_assignee(actor, u)] if can_assign else []
    return render_template(
        "leads/show.html",
        lead=lead,
        events=events,
        comments=comments,
        audit_page=audit_page,
        moves=moves,
        key=key,
        can_edit=can_edit,
        can_comment=permissions.can_comment(actor, lead),
        can_flag=permissions.can_flag_key(actor, lead),
        can_claim=permissions.can_claim(actor, lead),
        can_assign=can_assign,
        assignees=assignees,
        can_release=lead.owner_id is not None and (can_assign or lead.owner_id == actor.id),
        leaders=[u for u in people if u.role == LEADER],
        officers=[u for u in people if staffing.may_be_case_officer(u, lead.team_id)],
        labels=settings.four_ones.labels,
        gate_stage=settings.four_ones.gate_stage,
        key_min=settings.four_ones.key_investment_min,
        settings=settings,
        gate=gate,
        evidence=evidence,
        facts_in=facts or {},
        claims=claims,
        pending=pending,
        can_decide=pending is not None and stage_claims.may_decide(actor, lead, loop, settings),
        fact_lines=fact_lines,
        response=response_status(lead, settings, _now()),
        today=_today(),
        audit_lines=audit_lines,
        attachments=attachment_views.panel(actor, lead, acts, claims),
    ), status


def _sector_names() -> dict[str, str]:
    """Sector id -> name, for the readable audit history."""
    return {s.id: s.name for s in backend.chain_service().sectors()}


def _now():

    return utcnow()


def _version():
    return required_version()


@bp.post("/<int:lead_id>/activities")
def add_activity(lead_id: int):

    form = request.form
    try:
        with backend.unit_of_work() as session:
            act = activities.add_activity(
                session,
                current_user.orm,
                lead_id,
                kind=form.get("kind", ""),
                occurred_on=form.get("occurred_on") or None,
                participants=form.get("participants"),
                outcome=form.get("outcome"),
                next_step=form.get("next_step"),
                due_date=form.get("due_date") or None,
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
    except (ValidationError, StaleEdit) as exc:
        flash(f"跟进记录未保存：{exc}", "error")
        return _back(lead_id)
    flash(f"已登记{act.kind}（{act.occurred_on:%Y-%m-%d}）。", "success")
    return _back(lead_id)


@bp.post("/<int:lead_id>/stage")
def move(lead_id: int):
    """Move to another stage; into a stage that asks for facts, a claim (crm.services.stage_claims).
    The "四个一" gate's and the missing facts' refusals re-render the lead page explaining what is
    missing; other refusals come back as a message where the user was."""

    target = request.form.get("target", "")
    reason = request.form.get("reason")
    facts = {k: request.form.get(k, "") for k in FACTS if FACTS[k][1] != "file"}
    uploads = attachment_views.chosen_files("claim_files")
    try:
        with backend.unit_of_work() as session:
            added = attachment_views.store_uploads(session, lead_id, uploads)  # the agreement file
            result = stage_claims.move(
                session,
                current_user.orm,
                lead_id,
                target,
                reason,
                facts=facts,
                attachment_ids=[*request.form.getlist("attachment_ids"), *(a.id for a in added)],
                expected_version=_version(),
                settings=backend.crm_settings(),
                loop=loop_settings(),
                graph=graph_store(),
                district=district(),
                ip=request.remote_addr,
            )
    except GateNotSatisfied as exc:
        return _render_lead(lead_id, gate=exc, status=409)
    except EvidenceMissing as exc:
        return _render_lead(lead_id, evidence=exc, facts=facts, status=422)
    except (WorkflowError, StaleEdit, ValidationError) as exc:
        flash(str(exc), "error")
        return _back(lead_id)
    lead = result.lead
    if result.pending:
        flash(f"已申报「{lead.company_name}」进入「{target}」，待确认后计入统计。", "success")
    else:
        flash(f"「{lead.company_name}」已进入「{lead.stage}」阶段。", "success")
    return _back(lead_id)


@bp.post("/<int:lead_id>/claims/<int:claim_id>/confirm", defaults={"action": "confirm"})
@bp.post("/<int:lead_id>/claims/<int:claim_id>/return", defaults={"action": "return"})
@bp.post("/<int:lead_id>/claims/<int:claim_id>/withdraw", defaults={"action": "withdraw"})
def decide_claim(lead_id: int, claim_id: int, action: str):
    """Confirm, return (with a reason) or withdraw a stage claim."""

    settings, loop = backend.crm_settings(), loop_settings()
    try:
        with backend.unit_of_work() as session:
            if action == "confirm":
                claim = stage_claims.confirm(
                    session,
                    current_user.orm,
                    claim_id,
                    settings=settings,
                    loop=loop,
                    graph=graph_store(),
                    district=district(),
                    ip=request.remote_addr,
                )
                message = f"已确认「{claim.lead.company_name}」进入「{claim.to_stage}」。"
            elif action == "return":
                claim = stage_claims.return_claim(
                    session,
                    current_user.orm,
                    claim_id,
                    request.form.get("reason", ""),
                    settings=settings,
                    loop=loop,
                    ip=request.remote_addr,
                )
                message = f"已退回「{claim.lead.company_name}」进入「{claim.to_stage}」的申报。"
            else:
                claim = stage_claims.withdraw(session, current_user.orm, claim_id, ip=request.remote_addr)
                message = "已撤回阶段申报。"
    except (WorkflowError, ValidationError, StaleEdit) as exc:
        flash(str(exc), "error")
        return _back(lead_id)
    flash(message, "success")
    return _back(lead_id)


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


@bp.post("/<int:lead_id>/four-ones")
def save_four_ones(lead_id: int):
    """Save the "四个一" items (sponsor, task force, case officer, service plan)."""

    form = request.form
    changes = {
        "sponsor_user_id": form.get("sponsor_user_id") or None,
        "sponsor_name": form.get("sponsor_name"),
        "task_force_department": form.get("task_force_department"),
        "task_force_members": form.get("task_force_members", ""),
        "case_officer_user_id": form.get("case_officer_user_id") or None,
        "case_officer_name": form.get("case_officer_name"),
        "service_plan": {
            "needs": (form.get("needs") or "").strip(),
            "policy_support": (form.get("policy_support") or "").strip(),
            "milestones": _lines(form.get("milestones")),
        },
    }
    for uid in ("sponsor_user_id", "case_officer_user_id"):
        if changes[uid] is not None and _int(changes[uid]) is None:
            flash("所选用户无效", "error")
            return _back(lead_id)
    try:
        with backend.unit_of_work() as session:
            lead = leads.update_lead(
                session,
                current_user.orm,
                lead_id,
                changes,
                expected_version=_version(),
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
            missing = key_project_status(lead, backend.crm_settings().four_ones).missing
    except (ValidationError, StaleEdit) as exc:
        flash(f"“四个一”未保存：{exc}", "error")
        return _back(lead_id)
    if missing:
        flash(f"“四个一”已保存，尚缺：{'、'.join(missing)}。", "warning")
    else:
        flash("“四个一”已保存。", "success")
    return _back(lead_id)


@bp.post("/<int:lead_id>/details")
def save_details(lead_id: int):
    """Project figures, priority, zone, notes and (managers) the key-project flag."""

    form = request.form
    changes = {
        name: form.get(name)
        for name in (
            "investment",
            "expected_output",
            "land_mu",
            "floor_m2",
            "zone",
            "priority",
            "notes",
            "uscc",
            "channel",
        )
        if name in form
    }
    session = backend.db()
    lead = leads.get_lead(session, current_user.orm, lead_id)
    if permissions.can_flag_key(current_user.orm, lead):
        changes["key_flag"] = form.get("key_flag") == "1"
    try:
        with backend.unit_of_work() as session:
            leads.update_lead(
                session,
                current_user.orm,
                lead_id,
                changes,
                expected_version=_version(),
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
    except (ValidationError, StaleEdit) as exc:
        flash(f"项目信息未保存：{exc}", "error")
        return _back(lead_id)
    flash("项目信息已保存。", "success")
    return _back(lead_id)


@bp.post("/<int:lead_id>/comments")
def comment(lead_id: int):

    try:
        with backend.unit_of_work() as session:
            activities.add_comment(
                session, current_user.orm, lead_id, request.form.get("body", ""), ip=request.remote_addr
            )
    except ValidationError as exc:
        flash(str(exc), "error")
        return _back(lead_id)
    flash("批注已发布，负责人会在收件箱中看到。", "success")
    return _back(lead_id)


@bp.post("/<int:lead_id>/claim")
def claim(lead_id: int):
    """A recruiter takes a pool lead of their own team."""

    try:
        with backend.unit_of_work() as session:
            lead = assignment.claim_lead(session, current_user.orm, lead_id, ip=request.remote_addr)
    except (ValidationError, StaleEdit) as exc:
        flash(str(exc), "error")
        return _back(lead_id)
    flash(
        f"已认领「{lead.company_name}」，请在 {backend.crm_settings().first_contact_days} 天内首次联系。",
        "success",
    )
    return _back(lead_id)


@bp.post("/<int:lead_id>/release")
def release(lead_id: int):
    """The owner gives a lead back to the pool (or the manager takes it back), with a reason."""

    try:
        with backend.unit_of_work() as session:
            lead = assignment.release_to_pool(
                session, current_user.orm, lead_id, request.form.get("reason", ""), ip=request.remote_addr
            )
    except (ValidationError, StaleEdit) as exc:
        flash(f"未退回：{exc}", "error")
        return _back(lead_id)
    flash(f"「{lead.company_name}」已退回公共池。", "success")
    if _safe_next(request.form.get("next")):
        return _back(lead_id)
    return redirect(url_for("leads.index"))
