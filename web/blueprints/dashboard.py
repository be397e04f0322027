"""领导驾驶舱: chain gaps filled vs open, leads by stage, key projects and their "四个一",
overdue per team, investment signed and landed. Charts are SVG drawn by the template on the
server (no chart library, prints as it shows)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from crm.models import utcnow
from crm.queries import dashboard as queries
from graph.gaps import format_wan

from .. import backend
from .monitoring import dashboard_panel

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.before_request
@login_required
def _login():
    if current_user.role not in ("leader", "manager"):
        abort(403, "领导驾驶舱仅供区领导和招商经理查看")
    return None


@bp.get("/")
def index():
    svc = backend.chain_service()
    sectors = svc.sectors()
    sector_id = request.args.get("sector") or None
    if sector_id and not any(s.id == sector_id for s in sectors):
        abort(404, "产业不存在")
    settings = backend.crm_settings()
    data = queries.build(backend.db(), current_user.orm, settings, svc, sector_id=sector_id)

    return render_template(
        "dashboard/index.html",
        d=data,
        settings=settings,
        sectors=sectors,
        sector_id=sector_id,
        labels=settings.four_ones.labels,
        signed_stages=queries.milestone_stages(settings)[0],
        landed_stages=queries.milestone_stages(settings)[1],
        now=utcnow(),
        sector_rows=_sector_rows,
        chain_rows=_chain_rows,
        money_rows=_money_rows,
        wan=_wan,
        panel=dashboard_panel(request.args),
    )


def _sector_rows(sectors):
    return [(s.name, s.filled, s.open, s.gaps) for s in sectors]


def _chain_rows(chains):
    return [(c.chain_name, c.filled, c.open, c.gaps) for c in chains]


def _money_rows(rows, index):
    return [(row[0], row[index]) for row in rows]


def _wan(value):

    return format_wan(float(value or 0))
