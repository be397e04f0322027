"""Response-time badges: the CRM's rule (crm.services.overdue) worded for the screens.

The SQL form of the same rule is crm.services.overdue.overdue_condition (sorting, counting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..models import Lead
from ..services.overdue import FIRST_CONTACT, due_status
from ..settings import CrmSettings


@dataclass(frozen=True)
class ResponseStatus:
    """What a badge says about a lead's response time."""

    kind: str  # "first" (first contact) or "follow" (regular follow-up)
    due: datetime
    overdue: bool
    days: int  # days overdue (overdue) or whole days left (not overdue)

    @property
    def label(self) -> str:
        what = "首次联系" if self.kind == "first" else "跟进"
        if self.overdue:
            return f"{what}已超期 {self.days} 天" if self.days else f"{what}已超期"
        if self.days == 0:
            return f"今日须{what}"
        return f"{self.days} 天内须{what}"

    @property
    def css(self) -> str:
        if self.overdue:
            return "overdue"
        return "due-soon" if self.days <= 2 else "due-later"


def response_status(lead: Lead | Any, settings: CrmSettings, now: datetime) -> ResponseStatus | None:
    """None when no rule applies (pool lead, or a stage that is not worked: 投产, 搁置, 流失).
    `lead`: a Lead or a row with its owner, stage and date fields (the list pages' plain rows)."""
    status = due_status(lead, settings, now)
    if status.due_at is None:
        return None
    kind = "first" if status.reason == FIRST_CONTACT else "follow"
    days = status.days_overdue if status.overdue else (status.due_at - now).days
    return ResponseStatus(kind, status.due_at, status.overdue, max(0, days))
