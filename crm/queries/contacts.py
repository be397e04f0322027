"""Read side of contacts: a company's or a lead's contacts, and those of many companies at once
(lists, exports, the API), each as a `ContactView` whose details are full or masked by the one
rule in crm.masking. Nothing here returns a Contact's raw phone number to a caller that may not
see it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..errors import PermissionDenied
from ..masking import ContactPolicy, contact_values
from ..models import Lead
from ..models_contacts import Contact
from ..permissions import can_read_contacts, visibility
from ..services._common import Actor, current_actor, get_lead
from ..services.contacts import Scope, scope_for_company, scope_for_lead


@dataclass(frozen=True)
class ContactView:
    id: int
    version: int
    company_id: str | None
    lead_id: int | None
    company_name: str
    name: str
    title: str
    mobile: str
    landline: str
    email: str
    wechat: str
    notes: str
    full: bool  # details shown in full (else masked)


@dataclass(frozen=True)
class ContactList:
    scope: Scope
    items: list[ContactView]
    full: bool
    may_reveal: bool


def view(contact: Contact, full: bool) -> ContactView:
    return ContactView(
        id=contact.id,
        version=contact.version,
        company_id=contact.company_id,
        lead_id=contact.lead_id,
        company_name=contact.company_name,
        name=contact.name,
        title=contact.title or "",
        notes=contact.notes or "",
        full=full,
        **contact_values(contact, full),
    )


def _rows(session: Session, scope: Scope) -> list[Contact]:
    if scope.company_id:
        where = Contact.company_id == scope.company_id
    else:
        where = Contact.lead_id == scope.lead_id
    return list(session.scalars(select(Contact).where(where).order_by(Contact.id)))


def _listing(session: Session, actor: Any, scope: Scope, policy: ContactPolicy) -> ContactList:
    if not scope.may_read:
        raise PermissionDenied("您无权查看该企业的联系人")
    full = policy.sees_full(actor)
    items = [view(c, full) for c in _rows(session, scope)]
    return ContactList(scope, items, full, not full and policy.may_reveal(actor))


def company_contacts(
    session: Session, actor: Actor, company_id: str, policy: ContactPolicy, company_name: str = ""
) -> ContactList:
    """A graph company's contacts (PermissionDenied if the actor may not see them)."""
    actor = current_actor(session, actor)
    return _listing(session, actor, scope_for_company(session, actor, company_id, company_name), policy)


def lead_contacts(session: Session, actor: Actor, lead_id: int, policy: ContactPolicy) -> ContactList:
    """The contacts shown on a lead page: its graph company's, or the lead's own."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    return _listing(session, actor, scope_for_lead(session, actor, lead), policy)


def contacts_by_company(
    session: Session, actor: Actor, company_ids: Iterable[str], policy: ContactPolicy
) -> dict[str, list[ContactView]]:
    """company_id -> its contacts as the actor may see them, for the companies whose contacts the
    actor may read (one query for the readable leads, one for the contacts)."""
    actor = current_actor(session, actor)
    ids = sorted({c for c in company_ids if c})
    if not ids:
        return {}
    if can_read_contacts(actor, False):  # managers and leaders: every company
        readable = set(ids)
    else:
        readable = set(
            session.scalars(
                select(Lead.company_id).where(visibility(actor), Lead.company_id.in_(ids)).distinct()
            )
        )
        readable = {c for c in readable if c and can_read_contacts(actor, True)}
    if not readable:
        return {}
    full = policy.sees_full(actor)
    out: dict[str, list[ContactView]] = {}
    rows = session.scalars(
        select(Contact).where(Contact.company_id.in_(sorted(readable))).order_by(Contact.id)
    )
    for contact in rows:
        out.setdefault(contact.company_id, []).append(view(contact, full))  # type: ignore[arg-type]
    return out


def contacts_of_leads(
    session: Session, actor: Actor, leads: Iterable[Lead], policy: ContactPolicy
) -> dict[int, list[ContactView]]:
    """lead id -> its contacts (company's or own) as the actor may see them, for readable leads."""
    actor = current_actor(session, actor)
    leads = list(leads)
    by_company = contacts_by_company(session, actor, [x.company_id for x in leads if x.company_id], policy)
    own_ids = [x.id for x in leads if not x.company_id]
    own: dict[int, list[ContactView]] = {}
    if own_ids and can_read_contacts(actor, True):
        if can_read_contacts(actor, False):  # managers and leaders
            readable = set(own_ids)
        else:
            readable = set(session.scalars(select(Lead.id).where(visibility(actor), Lead.id.in_(own_ids))))
        full = policy.sees_full(actor)
        rows = session.scalars(
            select(Contact).where(Contact.lead_id.in_(sorted(readable))).order_by(Contact.id)
        )
        for contact in rows:
            own.setdefault(contact.lead_id, []).append(view(contact, full))  # type: ignore[arg-type]
    return {x.id: (by_company.get(x.company_id, []) if x.company_id else own.get(x.id, [])) for x in leads}


def readable_contacts(session: Session, actor: Actor, policy: ContactPolicy) -> list[ContactView]:
    """Every contact the actor may see (the full export): managers and leaders all; a recruiter
    those of the companies and leads they may read."""
    actor = current_actor(session, actor)
    full = policy.sees_full(actor)
    if can_read_contacts(actor, False):
        query = select(Contact)
    elif can_read_contacts(actor, True):
        readable = visibility(actor)
        companies = select(Lead.company_id).where(readable, Lead.company_id.is_not(None))
        own = select(Lead.id).where(readable)
        query = select(Contact).where(or_(Contact.company_id.in_(companies), Contact.lead_id.in_(own)))
    else:
        return []
    return [view(c, full) for c in session.scalars(query.order_by(Contact.id))]
