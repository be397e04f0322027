"""Contacts (联系人) of a company: add, change, delete, and open one in full (audited).

Who may see or change the contacts of a company is crm.permissions (can_read_contacts /
can_edit_contacts) given whether the actor may read or edit a lead on it; which roles see phone
numbers and e-mail in full is the ContactPolicy of crm.masking. Audit entries keep the masked
values only: the log must not become a second copy of the personal details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions as perm
from ..errors import NotFound, PermissionDenied, StaleEdit, ValidationError
from ..masking import ContactPolicy, contact_values, mask_text
from ..models import Lead, utcnow
from ..models_contacts import Contact
from . import audit
from ._common import Actor, current_actor, flush_or_stale, get_lead

FIELDS = ("name", "title", "mobile", "landline", "email", "wechat", "notes")
LABELS = {
    "name": "姓名",
    "title": "职务",
    "mobile": "手机",
    "landline": "座机",
    "email": "邮箱",
    "wechat": "微信",
    "notes": "备注",
}
LIMITS = {"name": 100, "title": 100, "mobile": 20, "landline": 40, "email": 200, "wechat": 64, "notes": 2000}
REVEAL = "reveal"
DELETE = "delete"

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^(0\d{2,3})-?(\d{7,8})(?:(?:转|-|#|ext)(\d{1,6}))?$")
SERVICE_NUMBER = re.compile(r"^([48]00)-?(\d{3})-?(\d{4})$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
WECHAT = re.compile(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$")


# ----------------------------------------------------------------------------- validation


def normalize_mobile(raw: str) -> str:
    """11 digits starting 13–19; spaces, dashes and a +86 / 0086 prefix are dropped."""
    digits = re.sub(r"[\s\-()]", "", raw)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
    if not MOBILE.match(digits):
        raise ValidationError("手机号码应为 11 位数字，以 13 至 19 开头，例如 13812345678")
    return digits


def normalize_landline(raw: str) -> str:
    """区号-号码 (010-81234567, 0316-1234567, with 转 and an extension) or a 400/800 number."""
    text = re.sub(r"[\s()（）]", "", raw).replace("—", "-").replace("－", "-")
    m = LANDLINE.match(text)
    if m:
        ext = f"转{m.group(3)}" if m.group(3) else ""
        return f"{m.group(1)}-{m.group(2)}{ext}"
    m = SERVICE_NUMBER.match(text)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    raise ValidationError("座机号码应为“区号-号码”，例如 010-81234567 或 0316-1234567转801")


def normalize_email(raw: str) -> str:
    value = raw.strip()
    if not EMAIL.match(value):
        raise ValidationError("邮箱格式不正确，例如 zhang@example.com")
    return value


def normalize_wechat(raw: str) -> str:
    value = raw.strip()
    if WECHAT.match(value):
        return value
    try:
        return normalize_mobile(value)  # a 微信 bound to the mobile number
    except ValidationError:
        raise ValidationError(
            "微信号应为 6 至 20 位字母、数字、下划线或减号，以字母开头（也可填写绑定的手机号）"
        ) from None


NORMALIZERS = {
    "mobile": normalize_mobile,
    "landline": normalize_landline,
    "email": normalize_email,
    "wechat": normalize_wechat,
}


def clean(values: dict[str, Any]) -> dict[str, str | None]:
    """The contact fields of a form, trimmed and checked; 姓名 is required."""
    out: dict[str, str | None] = {}
    for name in FIELDS:
        if name not in values:
            continue
        raw = values.get(name)
        text = None if raw is None else str(raw).strip() or None
        if text is not None and len(text) > LIMITS[name] * 2:
            raise ValidationError(f"{LABELS[name]}不能超过 {LIMITS[name]} 个字符")
        if text is not None and name in NORMALIZERS:
            text = NORMALIZERS[name](text)
        if text is not None and len(text) > LIMITS[name]:
            raise ValidationError(f"{LABELS[name]}不能超过 {LIMITS[name]} 个字符")
        out[name] = text
    return out


# ----------------------------------------------------------------------------- access


@dataclass(frozen=True)
class Scope:
    """Whose contacts: a graph company (shared by its leads) or, for a lead without a graph
    company, the lead itself; with what the actor may do there."""

    company_id: str | None
    lead_id: int | None
    company_name: str
    may_read: bool
    may_edit: bool


def _company_leads(session: Session, company_id: str) -> list[Lead]:
    return list(session.scalars(select(Lead).where(Lead.company_id == company_id).limit(200)))


def scope_for_company(session: Session, actor: Any, company_id: str, company_name: str = "") -> Scope:
    leads = _company_leads(session, company_id)
    reads = any(perm.can_read(actor, lead) for lead in leads)
    edits = any(perm.can_edit(actor, lead) for lead in leads)
    name = company_name or (leads[0].company_name if leads else company_id)
    return Scope(
        company_id,
        None,
        name,
        perm.can_read_contacts(actor, reads),
        perm.can_edit_contacts(actor, edits),
    )


def scope_for_lead(session: Session, actor: Any, lead: Lead) -> Scope:
    """A lead's contacts: its graph company's, or its own when it has none."""
    if lead.company_id:
        return scope_for_company(session, actor, lead.company_id, lead.company_name)
    return Scope(
        None,
        lead.id,
        lead.company_name,
        perm.can_read_contacts(actor, perm.can_read(actor, lead)),
        perm.can_edit_contacts(actor, perm.can_edit(actor, lead)),
    )


def scope_of(session: Session, actor: Any, contact: Contact) -> Scope:
    if contact.company_id:
        return scope_for_company(session, actor, contact.company_id, contact.company_name)
    return scope_for_lead(session, actor, get_lead(session, contact.lead_id))  # type: ignore[arg-type]


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"联系人不存在（编号 {contact_id}）")
    return contact


def _masked_snapshot(contact: Contact) -> dict[str, Any]:
    """What the audit log keeps of a contact: who, and the details masked."""
    return {
        "company_id": contact.company_id,
        "lead_id": contact.lead_id,
        "name": contact.name,
        "title": contact.title,
        **contact_values(contact, full=False),
        "notes": mask_text(contact.notes) or None,
    }


# ----------------------------------------------------------------------------- writes


def add_contact(
    session: Session,
    actor: Actor,
    values: dict[str, Any],
    *,
    company_id: str | None = None,
    lead_id: int | None = None,
    company_name: str = "",
    ip: str | None = None,
    now: datetime | None = None,
) -> Contact:
    """A new contact on a graph company, or on a lead (its company's when it has one)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    if lead_id is not None:
        scope = scope_for_lead(session, actor, get_lead(session, lead_id))
    elif company_id:
        scope = scope_for_company(session, actor, company_id, company_name)
    else:
        raise ValidationError("联系人须属于一家企业或一条线索")
    if not scope.may_edit:
        raise PermissionDenied("您无权为该企业登记联系人")
    data = clean({name: values.get(name) for name in FIELDS})
    if not data.get("name"):
        raise ValidationError("请填写联系人姓名")
    contact = Contact(
        company_id=scope.company_id,
        lead_id=scope.lead_id,
        company_name=scope.company_name[:200],
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        **data,
    )
    session.add(contact)
    session.flush()
    audit.record(session, actor, audit.CREATE, "contact", contact.id, None, _masked_snapshot(contact), ip)
    return contact


def update_contact(
    session: Session,
    actor: Actor,
    contact_id: int,
    values: dict[str, Any],
    *,
    expected_version: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Contact:
    """Change the given fields; `expected_version` (the form's) refuses a stale edit."""
    actor = current_actor(session, actor)
    contact = get_contact(session, contact_id)
    if not scope_of(session, actor, contact).may_edit:
        raise PermissionDenied("您无权修改该联系人")
    if expected_version is not None and expected_version != contact.version:
        raise StaleEdit(f"联系人「{contact.name}」")
    data = clean({k: v for k, v in values.items() if k in FIELDS})
    if "name" in data and not data["name"]:
        raise ValidationError("请填写联系人姓名")
    before = _masked_snapshot(contact)
    for name, value in data.items():
        setattr(contact, name, value)
    contact.updated_at = now or utcnow()
    flush_or_stale(session, f"联系人「{contact.name}」")
    old, new = audit.diff(before, _masked_snapshot(contact))
    if old or new:
        audit.record(session, actor, audit.UPDATE, "contact", contact.id, old, new, ip)
    return contact


def delete_contact(session: Session, actor: Actor, contact_id: int, *, ip: str | None = None) -> Contact:
    actor = current_actor(session, actor)
    contact = get_contact(session, contact_id)
    if not scope_of(session, actor, contact).may_edit:
        raise PermissionDenied("您无权删除该联系人")
    audit.record(session, actor, DELETE, "contact", contact.id, _masked_snapshot(contact), None, ip)
    session.delete(contact)
    session.flush()
    return contact


def reveal_contact(
    session: Session, actor: Actor, contact_id: int, policy: ContactPolicy, *, ip: str | None = None
) -> Contact:
    """Open one contact in full: allowed to roles of [contacts] reveal_roles (and full_view_roles)
    on a company whose contacts they may read; every opening is audited (who, which, when)."""
    actor = current_actor(session, actor)
    contact = get_contact(session, contact_id)
    if not scope_of(session, actor, contact).may_read:
        raise PermissionDenied("您无权查看该企业的联系人")
    if not policy.may_reveal(actor):
        raise PermissionDenied("您的角色不能查看联系人的完整信息（个人信息保护）")
    audit.record(
        session,
        actor,
        REVEAL,
        "contact",
        contact.id,
        None,
        {"name": contact.name, "company_id": contact.company_id, "lead_id": contact.lead_id},
        ip,
    )
    return contact
