"""Response-time rules as the screens show them: when the next contact is due and whether a lead
is overdue (first contact within N days of assignment, then a contact every M days while active).

Mirrors the rule of [crm] first_contact_days / follow_up_days; the SQL form is `overdue_clause`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_

from crm.models import Lead
from crm.settings import CrmSettings


@dataclass(frozen=True)
class ResponseStatus:
    """What a badge says about a lead's response time."""

    kind: str  # "first" (first contact) or "follow" (regular follow-up)
    due: datetime
    overdue: bool
    days: int  # days overdue (overdue) or days left (not overdue)

    @property
    def label(self) -> str:
        what = "首次联系" if self.kind == "first" else "跟进"
        if self.overdue:
            return f"{what}已超期 {self.days} 天"
        if self.days == 0:
            return f"今日须{what}"
        return f"{self.days} 天内须{what}"

    @property
    def css(self) -> str:
        if self.overdue:
            return "overdue"
        return "due-soon" if self.days <= 2 else "due-later"


def response_status(lead: Lead, settings: CrmSettings, now: datetime) -> ResponseStatus | None:
    """None when no rule applies (pool lead, or a stage that is not worked: 投产, 搁置, 流失)."""
    if lead.owner_id is None or lead.stage not in settings.active_stages:
        return None
    if lead.first_contact_at is None:
        start = lead.assigned_at or lead.created_at
        due = start + timedelta(days=settings.first_contact_days)
        kind = "first"
    else:
        start = max(d for d in (lead.last_contact_at, lead.stage_changed_at) if d is not None)
        due = start + timedelta(days=settings.follow_up_days)
        kind = "follow"
    overdue = now > due
    days = (now - due).days if overdue else (due - now).days
    return ResponseStatus(kind, due, overdue, max(0, days))


def overdue_clause(settings: CrmSettings, now: datetime):
    """SQL condition equal to `response_status(...).overdue` (for sorting and counting)."""
    first_cut = now - timedelta(days=settings.first_contact_days)
    follow_cut = now - timedelta(days=settings.follow_up_days)
    return and_(
        Lead.owner_id.is_not(None),
        Lead.stage.in_(list(settings.active_stages)),
        or_(
            and_(Lead.first_contact_at.is_(None),
                 func.coalesce(Lead.assigned_at, Lead.created_at) < first_cut),
            and_(Lead.first_contact_at.is_not(None), Lead.last_contact_at < follow_cut,
                 Lead.stage_changed_at < follow_cut),
        ),
    )
