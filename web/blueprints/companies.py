"""Company page: the firm's data, its chain nodes, supply ties with local firms, its lead."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from graph.targets import FACTOR_LABELS

from .. import backend
from ..access import may_create_lead
from ..crm_calls import lead_for_company

bp = Blueprint("companies", __name__, url_prefix="/companies")


@bp.before_request
@login_required
def _login():
    return None


@bp.get("/<company_id>")
def show(company_id: str):
    svc = backend.chain_service()
    detail = svc.company_detail(company_id)
    chains = {c.id: c for c in svc.chains()}
    lead = lead_for_company(current_user.orm, detail.company)
    scores = []
    if not detail.company.is_local:  # where the firm ranks as a 补链 target (cached rankings)
        scores = svc.company_targets(company_id, sorted({n.chain_id for n in detail.nodes}))

    return render_template(
        "companies/show.html",
        d=detail,
        c=detail.company,
        chains=chains,
        lead=lead,
        scores=scores,
        factor_labels=FACTOR_LABELS,
        can_create_lead=may_create_lead(current_user.orm),
    )
