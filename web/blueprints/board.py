"""团队看板 for managers: a kanban by stage, an overdue column, the shared pool, assignment with a
reason and bulk actions. Leaders may look (read-only). All writes go through crm services;
a bulk action is one transaction, so a refused lead leaves every lead as it was."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from crm import permissions
from crm.errors import CrmError, PermissionDenied, StaleEdit, ValidationError
from crm.models import Lead
from crm.queries.worklist import WorkFilter, board
from crm.services import assignment, stage_claims, users
from crm.services.leads import allowed_transitions

from .. import backend
from ..loop import district, graph_store, loop_settings
from ..params import parse_int, required_version
from .auth import _safe_next

bp = Blueprint("board", __name__, url_prefix="/board")

BULK_ACTIONS = {"assign": "分派给", "release": "退回公共池", "move": "变更阶段", "auto": "按规则自动分派"}


@bp.before_request
@login_required
def _login():
    if current_user.role not in ("manager", "leader"):
        abort(403, "团队看板仅供招商经理和区领导使用")
    return None


def _int(value):
    return parse_int(value)


def _members(session, actor):
    """Active recruiters and managers of the manager's team: who can take a lead."""

    if actor.role != "manager":
        return []
    return [
        u
        for u in users.list_users(session, actor, include_inactive=False)
        if permissions.can_be_assignee(actor, u)
    ]


@bp.get("/")
def index():
    actor = current_user.orm
    session = backend.db()
    settings = backend.crm_settings()
    f = WorkFilter(
        sector_id=request.args.get("sector") or None,
        owner_id=_int(request.args.get("owner")),
        key_only=request.args.get("key") == "1",
        text=(request.args.get("q") or "").strip()[:100] or None,
    )
    data = board(session, actor, f, settings, per_column=10)
    members = _members(session, actor)

    nexts: dict[int, str | None] = {}
    forward_of: dict[tuple, str | None] = {}  # the workflow answers per (stage, paused_from), not per card
    for column in data.columns + [data.overdue]:
        for row in column.rows:
            state = (row.stage, row.paused_from)
            if state not in forward_of:
                forward = [
                    s
                    for s in allowed_transitions(row, settings)
                    if s in settings.stages
                    and row.stage in settings.stages
                    and settings.stages.index(s) > settings.stages.index(row.stage)
                ]
                forward_of[state] = forward[0] if forward else None
            nexts[row.id] = forward_of[state]
    return render_template(
        "board/index.html",
        board=data,
        f=f,
        members=members,
        nexts=nexts,
        settings=settings,
        sectors=backend.chain_service().sectors(),
        bulk_actions=BULK_ACTIONS,
        editable=actor.role == "manager",
        here=request.full_path,
        lead_base=url_for("leads.index"),
        tok=generate_csrf(),
        key_min=settings.four_ones.key_investment_min,
    )


def _back():
    return redirect(_safe_next(request.form.get("next")) or url_for("board.index"))


@bp.post("/assign")
def assign():
    """Assign (pool) or reassign (owned; a reason is required) one lead."""

    lead_id, assignee_id = _int(request.form.get("lead_id")), _int(request.form.get("assignee_id"))
    if lead_id is None or assignee_id is None:
        flash("请选择线索和负责人。", "error")
        return _back()
    try:
        with backend.unit_of_work() as session:
            lead = assignment.assign_lead(
                session,
                current_user.orm,
                lead_id,
                assignee_id,
                request.form.get("reason"),
                expected_version=required_version(),
                ip=request.remote_addr,
            )
            who = lead.owner.display_name if lead.owner else ""
    except (ValidationError, StaleEdit) as exc:
        flash(f"{'未改派' if getattr(exc, 'reassignment', False) else '未分派'}：{exc}", "error")
        return _back()
    flash(f"已将「{lead.company_name}」分派给{who}，对方会在收件箱中收到通知。", "success")
    return _back()


@bp.post("/bulk")
def bulk():
    """Apply one action to the ticked leads, all or nothing."""

    action = request.form.get("action", "")
    # A lead may be ticked twice (its stage column and 超期): each is acted on once, in order.
    ids = list(dict.fromkeys(i for i in (_int(v) for v in request.form.getlist("lead_ids")) if i is not None))
    if action not in BULK_ACTIONS:
        flash("请选择批量操作。", "error")
        return _back()
    if not ids:
        flash("请先勾选线索。", "error")
        return _back()
    reason = (request.form.get("reason") or "").strip() or None
    settings = backend.crm_settings()
    actor = current_user.orm
    done = 0
    current = None
    try:
        with backend.unit_of_work() as session:
            if action == "auto":
                results = assignment.auto_assign(
                    session, actor, ids, settings=settings, ip=request.remote_addr
                )
                done = sum(1 for _lead, user in results if user is not None)
            else:
                assignee_id = _int(request.form.get("assignee_id"))
                target = request.form.get("target", "")
                if action == "assign" and assignee_id is None:
                    raise _Refused("请选择要分派给谁。")
                for lead_id in ids:
                    current = lead_id
                    if action == "assign":
                        assignment.assign_lead(
                            session, actor, lead_id, assignee_id, reason, ip=request.remote_addr
                        )
                    elif action == "release":
                        assignment.release_to_pool(
                            session, actor, lead_id, reason or "", ip=request.remote_addr
                        )
                    else:
                        stage_claims.move(
                            session,
                            actor,
                            lead_id,
                            target,
                            reason,
                            settings=settings,
                            loop=loop_settings(),
                            graph=graph_store(),
                            district=district(),
                            ip=request.remote_addr,
                        )
                    done += 1
    except PermissionDenied:
        raise
    except _Refused as exc:
        flash(str(exc), "error")
        return _back()
    except CrmError as exc:
        which = _lead_label(current)
        flash(f"批量操作未执行（全部线索保持原样）：{which}{exc}", "error")
        return _back()
    flash(f"批量{BULK_ACTIONS[action]}：已处理 {done} 条线索。", "success")
    return _back()


class _Refused(Exception):
    """Bad bulk input found before any lead was touched."""


def _lead_label(lead_id):
    if lead_id is None:
        return ""

    lead = backend.db().get(Lead, lead_id)
    return f"「{lead.company_name}」：" if lead is not None else ""
