"""首报首谈 filing with the higher level, for projects at or above `[filings] threshold_wan`.

Why: a large project (e.g. ≥ 10 亿元) must be reported upward first (首报首谈) so that districts do
not compete for it; the bureau tracks the filing's status (未申报/已申报/已确认/有争议) with dates
and a note. A project over the threshold without a recorded filing is an action item for the
team's managers (`filing_key`): it is sent when the project crosses the threshold (`sync_item`,
called where a lead's investment is set) and closes once any filing is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from .. import permissions as perm
from ..counting import counts_as_project, uncounted_clause
from ..errors import PermissionDenied, ValidationError
from ..evidence import parse_date
from ..models import MANAGER, InboxMessage, Lead, User, utcnow
from ..models_referrals import (
    FILING_CONFIRMED,
    FILING_DISPUTED,
    FILING_FILED,
    FILING_NONE,
    FILING_STATUS_LABELS,
    Filing,
    LeadProject,
)
from ..settings import CrmSettings
from . import audit, inbox
from ._common import Actor, current_actor, get_lead

ACTION = "filing"


def filing_key(lead_id: int) -> str:
    return f"filing:{lead_id}:file"


def needs_filing(lead: Any, settings: CrmSettings, link: str | None = None) -> bool:
    """A live project (not lost, not a duplicate of another lead) at or above the threshold."""
    return (
        lead.investment is not None
        and float(lead.investment) >= settings.filing_threshold_wan
        and lead.stage != settings.lost_stage
        and counts_as_project(link)
    )


def filing_due_clause(settings: CrmSettings) -> ColumnElement[bool]:
    """`needs_filing` as SQL (the ledger and the board's list)."""
    return and_(
        Lead.investment.is_not(None),
        Lead.investment >= settings.filing_threshold_wan,
        Lead.stage != settings.lost_stage,
        ~uncounted_clause(),
    )


def filing_of(session: Session, lead_id: int) -> Filing | None:
    return session.scalar(select(Filing).where(Filing.lead_id == lead_id))


def _date(label: str, raw: Any) -> date | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise ValidationError(f"{label}格式不正确：{text}（示例：2026-03-01）") from None


def save_filing(
    session: Session,
    actor: Actor,
    lead_id: int,
    data: Mapping[str, Any],
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> Filing:
    """Record the filing's status with its dates: 已申报 needs the filing date, 已确认 also the
    confirmation date, 有争议 the date and a note saying what is disputed."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_edit(actor, lead):
        raise PermissionDenied("您无权修改该线索的首报首谈申报")
    status = str(data.get("status") or "").strip()
    if status not in FILING_STATUS_LABELS:
        raise ValidationError("申报状态只能是未申报、已申报、已确认或有争议")
    filed_on = _date("申报日期", data.get("filed_on"))
    confirmed_on = _date("确认日期", data.get("confirmed_on"))
    disputed_on = _date("争议日期", data.get("disputed_on"))
    note = str(data.get("note") or "").strip() or None
    if note and len(note) > 2000:
        raise ValidationError("说明最多 2000 字")
    today = settings.local_today(now)
    missing = []
    if status in (FILING_FILED, FILING_CONFIRMED, FILING_DISPUTED) and filed_on is None:
        missing.append("申报日期")
    if status == FILING_CONFIRMED and confirmed_on is None:
        missing.append("确认日期")
    if status == FILING_DISPUTED and disputed_on is None:
        missing.append("争议日期")
    if status == FILING_DISPUTED and not note:
        missing.append("争议说明")
    if missing:
        raise ValidationError(f"「{FILING_STATUS_LABELS[status]}」须填写：{'、'.join(missing)}")
    if any(d is not None and d > today for d in (filed_on, confirmed_on, disputed_on)):
        raise ValidationError("日期不能晚于今天")
    if filed_on and confirmed_on and confirmed_on < filed_on:
        raise ValidationError("确认日期不能早于申报日期")
    filing = filing_of(session, lead_id)
    fields = ("status", "filed_on", "confirmed_on", "disputed_on", "note")
    before = None if filing is None else {k: getattr(filing, k) for k in fields}
    if filing is None:
        filing = Filing(lead_id=lead_id)
        session.add(filing)
    filing.status, filing.filed_on, filing.confirmed_on, filing.disputed_on, filing.note = (
        status,
        filed_on,
        confirmed_on if status == FILING_CONFIRMED else None,
        disputed_on if status == FILING_DISPUTED else None,
        note,
    )
    filing.updated_by_id, filing.updated_at = actor.id, now
    session.flush()
    audit.record(session, actor, ACTION, "lead", lead_id, before, {k: getattr(filing, k) for k in fields}, ip)
    sync_item(session, lead, settings, now=now)
    return filing


def sync_item(session: Session, lead: Lead, settings: CrmSettings, *, now: datetime | None = None) -> None:
    """Open the managers' action item when the lead needs a filing and has none; close it when it
    has one (or no longer needs one). Called wherever a lead's investment is set."""
    now = now or utcnow()
    key = filing_key(lead.id)
    filing = filing_of(session, lead.id)
    link = session.scalar(select(LeadProject.link).where(LeadProject.lead_id == lead.id))
    due = needs_filing(lead, settings, link) and (filing is None or filing.status == FILING_NONE)
    if not due:
        inbox.close_action(session, key, now)
        return
    session.flush()
    already = session.scalar(
        select(InboxMessage.id).where(InboxMessage.action_key == key, InboxMessage.done_at.is_(None)).limit(1)
    )
    if already is not None:
        return
    managers = session.scalars(
        select(User).where(User.is_active.is_(True), User.role == MANAGER, User.team_id == lead.team_id)
    ).all()
    for user in managers:
        inbox.notify(
            session,
            user.id,
            "filing_due",
            f"「{lead.company_name}」投资额达到首报首谈申报标准，请向上级申报并登记",
            None,
            lead_id=lead.id,
            action_key=key,
            now=now,
        )
