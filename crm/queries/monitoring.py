"""监测 read side: the indicator board, the task and project ledgers, and the period summary that
both the dashboard and the weekly/monthly report show (one function, so their numbers agree).

Lead-based figures start from `visible_leads(actor)`, so a manager sees the team's numbers and a
leader the district's. Stage dates come from the stage history (stage_changes): the CRM has no
separate stage confirmation yet (issue 13), so the date a stage was entered is its confirmed date.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from graph.model import MISSING, WEAK

from ..counting import amounts_for, count_and_total, uncounted_clause
from ..counting import milestones as milestone_stages
from ..key_projects import four_ones_missing, is_key_project
from ..masking import mask_text
from ..models import Activity, Lead, StageChange, User, utcnow
from ..models_monitoring import Designation, IndicatorValue, LeadCoordination, TaskReport
from ..monitoring import (
    Assessment,
    IndicatorDef,
    MonitoringSettings,
    Period,
    Plan,
    TaskDef,
    assess,
    parse_period,
    task_overdue,
    yoy,
)
from ..permissions import visible_leads
from ..services._common import Actor, current_actor
from ..services.overdue import overdue_condition
from ..settings import CrmSettings


def utc_bounds(period: Period, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a period of local dates, as the naive UTC the CRM stores."""
    tz = ZoneInfo(timezone)

    def conv(day: date) -> datetime:
        return datetime.combine(day, time(), tz).astimezone(UTC).replace(tzinfo=None)

    return conv(period.start), conv(period.end + timedelta(days=1))


# ---- indicators ---------------------------------------------------------------------------------
@dataclass
class IndicatorRow:
    ind: IndicatorDef
    year: int
    latest: IndicatorValue | None  # newest period of the year with a value
    assessment: Assessment
    last_year_value: float | None  # the same period a year earlier (同比)
    growth: float | None
    computed: int | None  # from firm designations, when the indicator says how
    series: list[tuple[str, float]]  # (period key, value) of the year and the one before

    @property
    def target(self):
        return self.ind.target(self.year)


def current_values(session: Session, indicator_ids: list[str] | None = None) -> list[IndicatorValue]:
    """The current row of every (indicator, period): the newest entry; older ones are corrections' history."""
    newest = select(func.max(IndicatorValue.id)).group_by(
        IndicatorValue.indicator_id, IndicatorValue.period_key
    )
    q = select(IndicatorValue).where(IndicatorValue.id.in_(newest))
    if indicator_ids is not None:
        q = q.where(IndicatorValue.indicator_id.in_(indicator_ids))
    return list(
        session.scalars(q.order_by(IndicatorValue.indicator_id, IndicatorValue.period_end, IndicatorValue.id))
    )


def value_history(session: Session, indicator_id: str) -> list[IndicatorValue]:
    """Every entry of an indicator, newest first (corrections included)."""
    return list(
        session.scalars(
            select(IndicatorValue)
            .where(IndicatorValue.indicator_id == indicator_id)
            .order_by(IndicatorValue.period_end.desc(), IndicatorValue.id.desc())
        )
    )


def computed_value(session: Session, ind: IndicatorDef, year: int) -> int | None:
    """Firms counted from designations: holding one by the year's end (stock) or first designated
    from `since` up to the year (new_since)."""
    c = ind.computed
    if c is None:
        return None
    q = select(func.count(func.distinct(Designation.name_key))).where(
        Designation.kind.in_(c.kinds), Designation.year <= year
    )
    if c.mode == "new_since":
        first = (
            select(Designation.name_key, func.min(Designation.year).label("first"))
            .where(Designation.kind.in_(c.kinds))
            .group_by(Designation.name_key)
            .subquery()
        )
        q = (
            select(func.count())
            .select_from(first)
            .where(first.c.first >= (c.since or year), first.c.first <= year)
        )
    return int(session.scalar(q) or 0)


def indicator_board(
    session: Session, plan: Plan, msettings: MonitoringSettings, year: int, upto: date | None = None
) -> list[IndicatorRow]:
    """Each indicator for a year: latest value (up to `upto`), progress, 同比, off-track mark, trend."""
    by_ind: dict[str, dict[str, IndicatorValue]] = defaultdict(dict)
    for v in current_values(session):
        by_ind[v.indicator_id][v.period_key] = v
    rows = []
    for ind in plan.indicators:
        values = by_ind.get(ind.id, {})
        in_year = [
            v for v in values.values() if v.period_end.year == year and (upto is None or v.period_end <= upto)
        ]
        # the newest period; at equal ends the finer period (a quarter's month) loses to the quarter
        rank = {"year": 0, "quarter": 1, "month": 2}
        latest = max(in_year, key=lambda v: (v.period_end, -rank.get(v.period_kind, 3)), default=None)
        baseline_row = values.get(str(year - 1))
        baseline = baseline_row.value if baseline_row else None
        if latest is not None:
            period = parse_period(latest.period_key)
            assessment = assess(ind, latest.value, period, msettings.off_track, baseline)
            ago = values.get(period.year_ago().key)
            last_year = ago.value if ago else None
        else:
            assessment = assess(ind, None, parse_period(str(year)), msettings.off_track)
            last_year = None
        series = sorted(
            ((v.period_key, v.value) for v in values.values() if v.period_end.year in (year - 1, year)),
            key=lambda kv: parse_period(kv[0]).end,
        )
        rows.append(
            IndicatorRow(
                ind,
                year,
                latest,
                assessment,
                last_year,
                yoy(latest.value if latest else None, last_year),
                computed_value(session, ind, year),
                series,
            )
        )
    return rows


# ---- task ledger --------------------------------------------------------------------------------
@dataclass
class TaskRow:
    task: TaskDef
    latest: TaskReport | None
    overdue: bool
    reports: int


def task_ledger(session: Session, plan: Plan, today: date) -> list[TaskRow]:
    reports: dict[str, list[TaskReport]] = defaultdict(list)
    for r in session.scalars(select(TaskReport).order_by(TaskReport.reported_at, TaskReport.id)):
        reports[r.task_id].append(r)
    rows = []
    for task in plan.tasks:
        mine = reports.get(task.id, [])
        latest = mine[-1] if mine else None
        rows.append(
            TaskRow(task, latest, task_overdue(task, latest.status if latest else None, today), len(mine))
        )
    return rows


def task_history(session: Session, task_id: str) -> list[TaskReport]:
    return list(
        session.scalars(
            select(TaskReport).where(TaskReport.task_id == task_id).order_by(TaskReport.id.desc())
        )
    )


# ---- project ledger -----------------------------------------------------------------------------
@dataclass
class ProjectFilter:
    sector_id: str | None = None
    stage: str | None = None
    key_only: bool = False
    period: Period | None = None  # leads created or changing stage in the period


@dataclass
class ProjectRow:
    lead: Lead
    key: bool
    four_missing: list[str]
    stage_dates: list[tuple[str, date]]  # (stage, local date entered), from the stage history
    signed_investment: float | None  # 万元, when the project has reached 签约
    landed_investment: float | None  # 万元, when it has reached 落地
    latest_progress: str
    next_step: str
    issue: str
    solver: str
    owner_name: str
    sponsor: str


def _local_date(value: datetime, timezone: str) -> date:
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


def project_ledger(
    session: Session,
    actor: Actor,
    settings: CrmSettings,
    f: ProjectFilter,
    limit: int = 5000,
    *,
    mask: bool = False,
) -> list[ProjectRow]:
    """Every lead the actor may read, as the row a bureau reports upward. `mask`: phone numbers
    and e-mail addresses in the progress texts masked (crm.masking, for roles that do not see
    contact details in full)."""
    shown = mask_text if mask else (lambda text: text or "")
    actor = current_actor(session, actor)
    q = visible_leads(actor)
    if f.sector_id:
        q = q.where(Lead.sector_id == f.sector_id)
    if f.stage:
        q = q.where(Lead.stage == f.stage)
    if f.key_only:  # candidates in SQL, the rule itself (is_key_project) in Python
        q = q.where(or_(Lead.key_flag.is_(True), Lead.investment.is_not(None)))
    if f.period:
        start, end = utc_bounds(f.period, settings.timezone)
        moved = select(StageChange.lead_id).where(
            StageChange.changed_at >= start, StageChange.changed_at < end
        )
        q = q.where(or_(Lead.id.in_(moved), (Lead.created_at >= start) & (Lead.created_at < end)))
    q = q.where(~uncounted_clause())  # a project counts once: its duplicates and merged leads are not rows
    leads = [
        lead
        for lead in session.scalars(
            q.order_by(Lead.sector_id, Lead.investment.desc().nulls_last(), Lead.id).limit(limit)
        )
        if not f.key_only or is_key_project(lead.investment, lead.key_flag, settings.four_ones)
    ]
    ids = [lead.id for lead in leads]
    if not ids:
        return []
    amounts = amounts_for(session, ids)
    history: dict[int, list[tuple[str, date]]] = defaultdict(list)
    for lead_id, stage, at in session.execute(
        select(StageChange.lead_id, StageChange.to_stage, StageChange.changed_at)
        .where(StageChange.lead_id.in_(ids))
        .order_by(StageChange.lead_id, StageChange.id)
    ):
        history[lead_id].append((stage, _local_date(at, settings.timezone)))
    latest: dict[int, Activity] = {}
    for act in session.scalars(
        select(Activity)
        .where(Activity.lead_id.in_(ids))
        .order_by(Activity.lead_id, Activity.occurred_on, Activity.id)
    ):
        latest[act.lead_id] = act
    coord = {
        c.lead_id: c
        for c in session.scalars(select(LeadCoordination).where(LeadCoordination.lead_id.in_(ids)))
    }
    names = dict(session.execute(select(User.id, User.display_name)).all())
    signed, landed = milestone_stages(settings)
    order = list(settings.stages)
    rows = []
    for lead in leads:
        reached = lead.stage in order and order.index(lead.stage) >= order.index(signed)
        reached_landed = lead.stage in order and order.index(lead.stage) >= order.index(landed)
        last = latest.get(lead.id)
        c = coord.get(lead.id)
        key = is_key_project(lead.investment, lead.key_flag, settings.four_ones)
        rows.append(
            ProjectRow(
                lead,
                key,
                four_ones_missing(lead, settings.four_ones) if key else [],
                history.get(lead.id, []),
                amounts[lead.id][1] if reached else None,
                amounts[lead.id][1] if reached_landed else None,
                shown(f"{last.occurred_on:%Y-%m-%d} {last.kind}：{last.outcome or ''}".strip())
                if last
                else "",
                shown(last.next_step) if last else "",
                (c.issue or "") if c else "",
                (c.solver or "") if c else "",
                names.get(lead.owner_id, "公共池") if lead.owner_id else "公共池",
                names.get(lead.sponsor_user_id) or lead.sponsor_name or ""
                if lead.sponsor_user_id
                else lead.sponsor_name or "",
            )
        )
    return rows


# ---- period summary (dashboard and reports) -----------------------------------------------------
@dataclass
class Figures:
    """Lead work in one period; every number of the dashboard's period panel and the report."""

    new_leads: int = 0
    contacts: dict[str, int] = field(default_factory=dict)  # activity kind -> count
    stage_changes: int = 0
    signed_count: int = 0
    signed_investment: float = 0.0  # 万元
    landed_count: int = 0
    landed_investment: float = 0.0  # 万元
    gaps_filled: int = 0

    @property
    def visits(self) -> int:
        return self.contacts.get("拜访", 0)

    @property
    def meetings(self) -> int:
        return self.contacts.get("会议", 0)


@dataclass
class KeyItem:
    lead: Lead
    missing: list[str]
    coordination: str


def _figures(
    session: Session, base: Any, settings: CrmSettings, period: Period, gap_nodes: set[str] | None
) -> Figures:
    start, end = utc_bounds(period, settings.timezone)
    ids = base.with_only_columns(Lead.id).order_by(None)
    fig = Figures()
    fig.new_leads = int(
        session.scalar(
            select(func.count()).select_from(
                base.where(Lead.created_at >= start, Lead.created_at < end).order_by(None).subquery()
            )
        )
        or 0
    )
    fig.contacts = {
        kind: int(n)
        for kind, n in session.execute(
            select(Activity.kind, func.count())
            .where(
                Activity.lead_id.in_(ids),
                Activity.occurred_on >= period.start,
                Activity.occurred_on <= period.end,
            )
            .group_by(Activity.kind)
        )
    }
    in_period = (StageChange.lead_id.in_(ids), StageChange.changed_at >= start, StageChange.changed_at < end)
    fig.stage_changes = int(
        session.scalar(select(func.count()).select_from(StageChange).where(*in_period)) or 0
    )
    signed, landed = milestone_stages(settings)
    for stage, attr in ((signed, "signed"), (landed, "landed")):
        entered = (
            select(StageChange.lead_id).where(*in_period, StageChange.to_stage == stage).distinct().subquery()
        )
        # A project counts once (crm.counting): duplicates and merged leads add nothing, 增资扩产 its increase.
        n, total = count_and_total(session, Lead.id.in_(select(entered.c.lead_id)))
        setattr(fig, f"{attr}_count", n)
        setattr(fig, f"{attr}_investment", total)
    if gap_nodes is not None:
        nodes = session.scalars(
            select(Lead.node_id)
            .join(StageChange, StageChange.lead_id == Lead.id)
            .where(*in_period, StageChange.to_stage == landed, Lead.node_id.is_not(None))
            .distinct()
        ).all()
        fig.gaps_filled = len(set(nodes) & gap_nodes)
    return fig


@dataclass
class Summary:
    period: Period
    sector_id: str | None
    current: Figures
    year_ago: Figures
    key_total: int
    key_ready: int
    key_items: list[KeyItem]
    overdue_leads: int
    indicators: list[IndicatorRow]
    off_track: list[IndicatorRow]
    tasks: list[TaskRow]
    overdue_tasks: list[TaskRow]
    as_of: datetime  # naive UTC: when the state-based figures (overdue, key projects) were read
    coordination: list[tuple[Lead, str | None, str]]  # open 需协调解决的问题


def gap_node_ids(chain_service: Any, sector_id: str | None) -> set[str]:
    """缺链 and 弱链 nodes of the graph (the sector's, when one is chosen)."""
    out: set[str] = set()
    for chain in chain_service.chains():
        if sector_id and chain.sector_id != sector_id:
            continue
        out |= {n.node_id for n in chain_service.gap_report(chain.id).nodes if n.status in (MISSING, WEAK)}
    return out


def period_summary(
    session: Session,
    actor: Actor,
    settings: CrmSettings,
    msettings: MonitoringSettings,
    plan: Plan,
    chain_service: Any,
    period: Period,
    sector_id: str | None = None,
    now: datetime | None = None,
    key_limit: int = 30,
) -> Summary:
    """Everything the period panel and the 招商工作报告 say about `period`, from one set of queries."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    base = visible_leads(actor)
    if sector_id:
        base = base.where(Lead.sector_id == sector_id)
    gaps = gap_node_ids(chain_service, sector_id) if chain_service is not None else None
    current = _figures(session, base, settings, period, gaps)
    year_ago = _figures(session, base, settings, period.year_ago(), gaps)
    candidates = session.scalars(
        base.where(
            Lead.stage != settings.lost_stage, or_(Lead.key_flag.is_(True), Lead.investment.is_not(None))
        ).order_by(Lead.investment.desc().nulls_last(), Lead.id)
    ).all()
    keys = [lead for lead in candidates if is_key_project(lead.investment, lead.key_flag, settings.four_ones)]
    coord = {
        c.lead_id: c
        for c in session.scalars(
            select(LeadCoordination).where(LeadCoordination.lead_id.in_([k.id for k in keys]))
        )
    }
    items = [
        KeyItem(
            lead,
            four_ones_missing(lead, settings.four_ones),
            f"{coord[lead.id].issue}（{coord[lead.id].solver}）"
            if lead.id in coord and coord[lead.id].issue
            else "",
        )
        for lead in keys
    ]
    overdue = int(
        session.scalar(
            select(func.count()).select_from(
                base.where(overdue_condition(settings, now)).order_by(None).subquery()
            )
        )
        or 0
    )
    today = settings.local_today(now)
    upto = min(period.end, today)
    board = indicator_board(session, plan, msettings, period.year, upto=upto)
    tasks = task_ledger(session, plan, upto)
    open_issues = [
        (lead, c.issue, c.solver or "")
        for c, lead in session.execute(
            select(LeadCoordination, Lead)
            .join(Lead, Lead.id == LeadCoordination.lead_id)
            .where(
                Lead.id.in_(base.with_only_columns(Lead.id).order_by(None)),
                LeadCoordination.issue.is_not(None),
            )
            .order_by(Lead.id)
        )
    ]
    return Summary(
        period,
        sector_id,
        current,
        year_ago,
        len(items),
        sum(1 for i in items if not i.missing),
        items[:key_limit],
        overdue,
        board,
        [r for r in board if r.assessment.off_track],
        tasks,
        [t for t in tasks if t.overdue],
        now,
        open_issues,
    )
