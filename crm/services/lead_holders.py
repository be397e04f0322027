"""Which of a page's companies are already held as leads (首报首谈), in one query.

Pages that offer 转为线索 (补链目标, the graph side panel, a company page) show "已登记线索" for
a held firm instead. The answer is safe for any actor: it names the holder (who registered it)
and gives the lead id only to actors allowed to read the lead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from graph.identity import normalize_name

from .. import permissions
from ..models import Lead, utcnow


@dataclass(frozen=True)
class CompanyRef:
    """A firm as the graph knows it: its id, name and credit code (any may match a lead)."""

    company_id: str
    name: str | None = None
    uscc: str | None = None


@dataclass(frozen=True)
class HeldBy:
    """What a page may show about the lead holding a firm."""

    holder: str  # 张三（招商专员）
    is_self: bool  # the actor registered it
    lead_id: int | None  # only when the actor may read the lead

    @property
    def text(self) -> str:
        return "已登记线索（持有人：您本人）" if self.is_self else f"已登记线索（持有人：{self.holder}）"


def holders_for_companies(
    session: Session,
    actor,
    companies: Iterable[CompanyRef],
    *,
    lost_stage: str = "流失",
    now: datetime | None = None,
) -> dict[str, HeldBy]:
    """company_id -> HeldBy for each firm held by a live lead (same graph id, credit code or
    normalised name; not lost; protection not expired). One SELECT for all firms."""
    refs = list(companies)
    if not refs:
        return {}
    now = now or utcnow()
    ids = {r.company_id for r in refs if r.company_id}
    usccs = {r.uscc for r in refs if r.uscc}
    names = {normalize_name(r.name) for r in refs if r.name}
    conditions = []
    if ids:
        conditions.append(Lead.company_id.in_(ids))
    if usccs:
        conditions.append(Lead.uscc.in_(usccs))
    if names:
        conditions.append(Lead.name_key.in_(names))
    query = (
        select(Lead)
        .options(joinedload(Lead.registered_by))
        .where(or_(*conditions), Lead.protected_until > now, Lead.stage != lost_stage)
        .order_by(Lead.created_at, Lead.id)
    )
    leads = list(session.scalars(query))
    out: dict[str, HeldBy] = {}
    actor_id = getattr(actor, "id", None)
    for ref in refs:
        key = normalize_name(ref.name) if ref.name else None
        lead = next(
            (
                ld
                for ld in leads
                if (ref.company_id and ld.company_id == ref.company_id)
                or (ref.uscc and ld.uscc == ref.uscc)
                or (key and ld.name_key == key)
            ),
            None,
        )
        if lead is None:
            continue
        who = lead.registered_by.label if lead.registered_by else "其他用户"
        out[ref.company_id] = HeldBy(
            who,
            actor_id is not None and lead.registered_by_id == actor_id,
            lead.id if permissions.can_read(actor, lead) else None,
        )
    return out
