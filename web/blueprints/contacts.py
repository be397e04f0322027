"""Contacts (联系人) of a company: the panel on the lead and company pages (partials
leads/_contacts.html and companies/_contacts.html), add / edit / delete forms and the audited
"查看完整信息". Views parse, call crm.services.contacts / crm.queries.contacts, render."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.errors import PermissionDenied, StaleEdit, ValidationError
from crm.masking import MASKED_FIELDS
from crm.queries import contacts as cq
from crm.services import contacts

from .. import backend
from ..loop import contact_policy
from ..params import parse_int
from .auth import _safe_next

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.before_request
@login_required
def _login():
    return None


def _back(default: str):
    return redirect(_safe_next(request.form.get("next")) or default)


def _values() -> dict[str, str]:
    """The form's contact fields; on a form shown masked, an empty detail means "unchanged"."""
    values = {name: request.form.get(name, "") for name in contacts.FIELDS if name in request.form}
    if request.form.get("masked") == "1":
        values = {k: v for k, v in values.items() if k not in MASKED_FIELDS or v.strip()}
    return values


def _home(contact) -> str:
    if contact.company_id:
        return url_for("companies.show", company_id=contact.company_id)
    return url_for("leads.show", lead_id=contact.lead_id)


@bp.post("/")
def add():
    """New contact on a lead (form field lead_id) or a graph company (company_id)."""
    lead_id = parse_int(request.form.get("lead_id"))
    company_id = (request.form.get("company_id") or "").strip() or None
    if lead_id is not None:
        default = url_for("leads.show", lead_id=lead_id)
    elif company_id:
        default = url_for("companies.show", company_id=company_id)
    else:
        default = url_for("home.index")
    try:
        with backend.unit_of_work() as session:
            contact = contacts.add_contact(
                session,
                current_user.orm,
                _values(),
                lead_id=lead_id,
                company_id=None if lead_id is not None else company_id,
                company_name=request.form.get("company_name", ""),
                ip=request.remote_addr,
            )
    except ValidationError as exc:
        flash(f"联系人未保存：{exc}", "error")
        return _back(default)
    flash(f"已添加联系人「{contact.name}」。", "success")
    return _back(default)


@bp.post("/<int:contact_id>")
def update(contact_id: int):
    version = parse_int(request.form.get("version"))
    try:
        with backend.unit_of_work() as session:
            contact = contacts.update_contact(
                session,
                current_user.orm,
                contact_id,
                _values(),
                expected_version=version,
                ip=request.remote_addr,
            )
    except (ValidationError, StaleEdit) as exc:
        flash(f"联系人未保存：{exc}", "error")
        return _back(url_for("home.index"))
    flash(f"联系人「{contact.name}」已保存。", "success")
    return _back(_home(contact))


@bp.post("/<int:contact_id>/delete")
def delete(contact_id: int):
    with backend.unit_of_work() as session:
        contact = contacts.delete_contact(session, current_user.orm, contact_id, ip=request.remote_addr)
    flash(f"已删除联系人「{contact.name}」。", "success")
    return _back(_home(contact))


@bp.post("/<int:contact_id>/reveal")
def reveal(contact_id: int):
    """查看完整信息: audited in the service; the answer is a page of its own, never cached."""
    with backend.unit_of_work() as session:
        contact = contacts.reveal_contact(
            session, current_user.orm, contact_id, contact_policy(), ip=request.remote_addr
        )
        shown = cq.view(contact, full=True)
    back = _safe_next(request.form.get("next")) or _home(contact)
    response = render_template("contacts/reveal.html", c=shown, back=back)
    return response, 200, {"Cache-Control": "no-store"}


@bp.app_context_processor
def _panels():
    """`contacts_panel(lead=...)` / `contacts_panel(company_id=..., company_name=...)` for the
    partials: the contacts as the user may see them, or None when the user may not."""

    def contacts_panel(lead=None, company_id=None, company_name=""):
        actor = current_user.orm
        session = backend.db()
        try:
            if lead is not None:
                return cq.lead_contacts(session, actor, lead.id, contact_policy())
            return cq.company_contacts(session, actor, company_id, contact_policy(), company_name)
        except PermissionDenied:
            return None

    return {"contacts_panel": contacts_panel, "contact_fields": contacts.LABELS}
