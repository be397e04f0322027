"""领导驾驶舱 aggregates: gaps filled vs open per sector and chain, leads by stage, key projects
and their "四个一", overdue per team, investment signed and landed. Read-only; starts from
`visible_leads(actor)` so a manager's dashboard covers what the manager may read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from graph.model import MISSING, WEAK

from ..counting import counted_subquery, milestone_stages, uncounted_clause
from ..key_projects import FOUR_ONES_COLUMNS, count_ready, four_ones_missing, key_clause
from ..models import Lead, Team, User, utcnow
from ..permissions import visible_leads
from ..services._common import Actor, current_actor
from ..services.overdue import overdue_condition
from ..settings import CrmSettings

__all__ = ["Dashboard", "build", "gap_coverage", "milestone_stages"]


@dataclass
class ChainGaps:
    chain_id: str
    chain_name: str
    sector_id: str
    gaps: int  # 缺链 + 弱链 nodes
    filled: int  # of which a lead has reached 落地
    missing: int
    weak: int

    @property
    def open(self) -> int:
        return self.gaps - self.filled


@dataclass
class SectorGaps:
    sector_id: str
    name: str
    chains: list[ChainGaps] = field(default_factory=list)

    @property
    def gaps(self) -> int:
        return sum(c.gaps for c in self.chains)

    @property
    def filled(self) -> int:
        return sum(c.filled for c in self.chains)

    @property
    def open(self) -> int:
        return self.gaps - self.filled


@dataclass(slots=True)
class KeyProject:
    """One line of the key-project table: the shown columns of the lead as a plain row (no ORM
    object, issue 16) and what it lacks of the "四个一"."""

    id: int
    company_name: str
    chain_name: str | None
    node_name: str | None
    stage: str
    investment: float | None
    sponsor_user_id: int | None
    sponsor_user_name: str | None  # the sponsoring leader's display name, if a user
    sponsor_name: str | None  # else the name typed in
    owner_id: int | None
    owner_name: str | None
    missing: list[str]


# What the key-project table shows, plus what `four_ones_missing` reads.
_OWNER, _SPONSOR = aliased(User), aliased(User)
_KEY_COLUMNS = (
    Lead.id,
    Lead.company_name,
    Lead.chain_name,
    Lead.node_name,
    Lead.stage,
    Lead.investment,
    Lead.owner_id,
    _OWNER.display_name.label("owner_name"),
    _SPONSOR.display_name.label("sponsor_user_name"),
    *FOUR_ONES_COLUMNS,
)


@dataclass
class Money:
    count: int
    investment: float  # 万元


@dataclass
class Dashboard:
    sectors: list[SectorGaps]
    by_stage: list[tuple[str, int]]
    key_projects: list[KeyProject]
    key_total: int
    key_ready: int
    overdue_by_team: list[tuple[str, int]]
    signed: Money
    landed: Money
    money_by_sector: list[tuple[str, float, float]]  # (sector name, signed 万元, landed 万元)
    # Claimed but not yet confirmed (crm.services.stage_claims): shown apart, never in the totals.
    pending_signed: Money = field(default_factory=lambda: Money(0, 0.0))
    pending_landed: Money = field(default_factory=lambda: Money(0, 0.0))


def gap_coverage(chain_service: Any, landed_nodes: set[str]) -> list[SectorGaps]:
    """Gaps per chain as the graph shows them now, plus the nodes a confirmed landing filled.

    A landed firm is local on its node (crm.services.landing), so the node may no longer be a
    gap in the graph: it still counts among the gaps, as filled, so 已补 / 总数 stays the plan's
    baseline and agrees with the chain-gap graph (the node shows its new status there)."""
    names = {s.id: s.name for s in chain_service.sectors()}
    sectors: dict[str, SectorGaps] = {}
    for sector in chain_service.sectors():
        sectors[sector.id] = SectorGaps(sector.id, sector.name)
    for chain in chain_service.chains():
        report = chain_service.gap_report(chain.id)
        gap_nodes = [n for n in report.nodes if n.status in (MISSING, WEAK)]
        landed_here = landed_nodes & {n.node_id for n in report.nodes}
        open_nodes = [n for n in gap_nodes if n.node_id not in landed_here]
        row = ChainGaps(
            chain.id,
            chain.name,
            chain.sector_id,
            len(open_nodes) + len(landed_here),
            len(landed_here),
            sum(1 for n in open_nodes if n.status == MISSING),
            sum(1 for n in open_nodes if n.status == WEAK),
        )
        sectors.setdefault(
            chain.sector_id, SectorGaps(chain.sector_id, names.get(chain.sector_id, chain.sector_id))
        )
        sectors[chain.sector_id].chains.append(row)
    return [s for s in sectors.values() if s.chains]


def build(
    session: Session,
    actor: Actor,
    settings: CrmSettings,
    chain_service: Any,
    *,
    now: datetime | None = None,
    key_limit: int = 30,
    sector_id: str | None = None,
) -> Dashboard:
    now = now or utcnow()
    actor = current_actor(session, actor)
    base = visible_leads(actor)
    if sector_id:
        base = base.where(Lead.sector_id == sector_id)
    # A project counts once (crm.counting): linked duplicates and merged leads add nothing,
    # an increase (增资扩产) only its increase.
    sub = counted_subquery(base)
    once = sub.c.counts_once
    signed_stages, landed_stages = milestone_stages(settings)

    counts: dict[str, int] = dict(
        session.execute(select(sub.c.stage, func.count()).where(once).group_by(sub.c.stage)).all()
    )
    by_stage = [(stage, counts.get(stage, 0)) for stage in settings.all_stages]

    # Filled gaps: nodes of leads whose 落地 is confirmed, registered on a gap (or still on one).
    landed_nodes = {
        n
        for (n,) in session.execute(
            select(sub.c.node_id).where(sub.c.stage.in_(landed_stages), sub.c.node_id.is_not(None)).distinct()
        )
    }
    sectors = gap_coverage(chain_service, landed_nodes)
    if sector_id:
        sectors = [s for s in sectors if s.sector_id == sector_id]

    # Key projects, biggest first; the ready count uses the "四个一" rule (crm.key_projects).
    key_q = base.where(
        key_clause(settings.four_ones), Lead.stage.not_in([settings.lost_stage]), ~uncounted_clause()
    )
    key_total = session.scalar(select(func.count()).select_from(key_q.order_by(None).subquery())) or 0
    key_ready = count_ready(session, key_q, settings.four_ones)
    shown = session.execute(
        key_q.with_only_columns(*_KEY_COLUMNS)
        .outerjoin(_OWNER, _OWNER.id == Lead.owner_id)
        .outerjoin(_SPONSOR, _SPONSOR.id == Lead.sponsor_user_id)
        .order_by(Lead.investment.desc().nulls_last(), Lead.id)
        .limit(key_limit)
    ).mappings()
    projects = [
        KeyProject(
            r["id"],
            r["company_name"],
            r["chain_name"],
            r["node_name"],
            r["stage"],
            r["investment"],
            r["sponsor_user_id"],
            r["sponsor_user_name"],
            r["sponsor_name"],
            r["owner_id"],
            r["owner_name"],
            four_ones_missing(r, settings.four_ones),
        )
        for r in shown
    ]

    late = base.where(overdue_condition(settings, now)).order_by(None).subquery()
    team_names = {t.id: t.name for t in session.scalars(select(Team))}
    overdue = [
        (team_names.get(team_id, "（未分组）"), n)
        for team_id, n in session.execute(select(late.c.team_id, func.count()).group_by(late.c.team_id)).all()
    ]
    overdue.sort(key=lambda item: -item[1])

    def money(stages: list[str]) -> Money:
        n, total = session.execute(
            select(func.count(), func.coalesce(func.sum(sub.c.counted_investment), 0)).where(
                once, sub.c.stage.in_(stages)
            )
        ).one()
        return Money(int(n), float(total))

    # Bars are labelled with the graph's sector names: a lead's own sector_name may be empty
    # (registered by hand or imported) and its id ("medical") means nothing to a reader.
    sector_names = {s.id: s.name for s in chain_service.sectors()}
    per_sector: dict[str | None, list[Any]] = {}
    for sid, name, stage, total in session.execute(
        select(
            sub.c.sector_id,
            func.max(sub.c.sector_name),
            sub.c.stage,
            func.coalesce(func.sum(sub.c.counted_investment), 0),
        )
        .where(once, sub.c.stage.in_(signed_stages))
        .group_by(sub.c.sector_id, sub.c.stage)
    ).all():
        entry = per_sector.setdefault(sid, [sector_names.get(sid) or name or sid or "（未填产业）", 0.0, 0.0])
        entry[1] += float(total)
        if stage in landed_stages:
            entry[2] += float(total)
    money_by_sector = sorted((tuple(v) for v in per_sector.values()), key=lambda v: -v[1])

    def pending(stages: list[str]) -> Money:
        n, total = session.execute(
            select(func.count(), func.coalesce(func.sum(sub.c.counted_investment), 0)).where(
                once, sub.c.pending_stage.in_(stages), sub.c.stage.not_in(stages)
            )
        ).one()
        return Money(int(n), float(total))

    return Dashboard(
        sectors,
        by_stage,
        projects,
        key_total,
        key_ready,
        overdue,
        money(signed_stages),
        money(landed_stages),
        money_by_sector,
        pending(signed_stages),
        pending(landed_stages),
    )
