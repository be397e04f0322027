"""Read side of 筑巢: the register filtered, and area per zone, kind and status for the dashboard.

Who may read is decided by crm.services.spaces.can_read (every business role reads the whole
register); callers check it before they call these.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from crm.models import Lead
from crm.models_spaces import (
    AVAILABLE,
    HELD,
    KINDS,
    OCCUPIED,
    SIGNED,
    SQM_PER_MU,
    STATUSES,
    LeadSpaceNeed,
    SpaceResource,
)

SORTS = {
    "code": (SpaceResource.code.asc(),),
    "area": (
        func.coalesce(SpaceResource.area_m2, SpaceResource.area_mu * SQM_PER_MU).desc(),
        SpaceResource.code,
    ),
    "zone": (SpaceResource.zone_id.asc(), SpaceResource.code),
    "status": (SpaceResource.status.asc(), SpaceResource.code),
}


@dataclass
class SpaceFilter:
    kind: str | None = None
    status: str | None = None
    zone_id: str | None = None
    min_m2: float | None = None  # area in ㎡ (land converted from 亩)
    max_m2: float | None = None
    text: str | None = None  # part of the code, name, park or address
    ids: tuple[int, ...] | None = None  # only these (e.g. the resources that fit a lead)


def _filtered(f: SpaceFilter) -> Select:
    query = select(SpaceResource)
    if f.kind:
        query = query.where(SpaceResource.kind == f.kind)
    if f.status:
        query = query.where(SpaceResource.status == f.status)
    if f.zone_id:
        query = query.where(SpaceResource.zone_id == f.zone_id)
    size = func.coalesce(SpaceResource.area_m2, SpaceResource.area_mu * SQM_PER_MU)
    if f.min_m2 is not None:
        query = query.where(size >= f.min_m2)
    if f.max_m2 is not None:
        query = query.where(size <= f.max_m2)
    if f.text and f.text.strip():
        needle = f.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{needle}%"
        query = query.where(
            or_(
                SpaceResource.code.like(like, escape="\\"),
                SpaceResource.name.like(like, escape="\\"),
                SpaceResource.park.like(like, escape="\\"),
                SpaceResource.address.like(like, escape="\\"),
            )
        )
    if f.ids is not None:
        query = query.where(SpaceResource.id.in_(list(f.ids) or [-1]))
    return query


def list_resources(
    session: Session, f: SpaceFilter | None = None, *, sort: str = "code", limit: int = 2000
) -> list[SpaceResource]:
    """The register as filtered, with each resource's lead loaded (for 锁定/签约 to show whose)."""
    query = _filtered(f or SpaceFilter()).options(joinedload(SpaceResource.lead))
    return list(session.scalars(query.order_by(*SORTS.get(sort, SORTS["code"])).limit(limit)))


@dataclass
class ZoneRow:
    zone_id: str | None
    kind: str
    count: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    area_m2: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0.0))

    @property
    def free_m2(self) -> float:
        return self.area_m2[AVAILABLE]

    @property
    def held_m2(self) -> float:
        return self.area_m2[HELD]

    @property
    def signed_m2(self) -> float:
        return self.area_m2[SIGNED] + self.area_m2[OCCUPIED]


def zone_summary(session: Session) -> list[ZoneRow]:
    """Count and area (㎡; land converted from 亩) per zone, kind and status: one GROUP BY."""
    size = func.coalesce(SpaceResource.area_m2, SpaceResource.area_mu * SQM_PER_MU, 0)
    rows = session.execute(
        select(
            SpaceResource.zone_id, SpaceResource.kind, SpaceResource.status, func.count(), func.sum(size)
        ).group_by(SpaceResource.zone_id, SpaceResource.kind, SpaceResource.status)
    ).all()
    table: dict[tuple, ZoneRow] = {}
    for zone_id, kind, status, count, area in rows:
        row = table.setdefault((zone_id or "", kind), ZoneRow(zone_id, kind))
        row.count[status] = row.count.get(status, 0) + int(count)
        row.area_m2[status] = row.area_m2.get(status, 0.0) + float(area or 0)
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(table.values(), key=lambda r: (r.zone_id or "~", order.get(r.kind, 9)))


def leads_with_needs(session: Session, stage: str, visible: Any) -> list[tuple[Lead, LeadSpaceNeed | None]]:
    """Leads in `stage` the actor may read (`visible`: the leads visibility WHERE clause) that have
    structured needs or a land/floor figure, with their needs row."""
    query = (
        select(Lead, LeadSpaceNeed)
        .outerjoin(LeadSpaceNeed, LeadSpaceNeed.lead_id == Lead.id)
        .where(Lead.stage == stage, visible)
        .where(or_(LeadSpaceNeed.lead_id.is_not(None), Lead.land_mu.is_not(None), Lead.floor_m2.is_not(None)))
        .order_by(Lead.updated_at.desc())
        .limit(200)
    )
    return [(lead, need) for lead, need in session.execute(query)]


def held_by_lead(session: Session, lead_ids: list[int]) -> dict[int, list[SpaceResource]]:
    out: dict[int, list[SpaceResource]] = defaultdict(list)
    if lead_ids:
        for r in session.scalars(
            select(SpaceResource).where(SpaceResource.lead_id.in_(lead_ids)).order_by(SpaceResource.code)
        ):
            if r.lead_id is not None:
                out[r.lead_id].append(r)
    return out
