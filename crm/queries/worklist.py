"""The lead list and its filters (我的线索, the shared pool, a team's or all readable leads) and
the team board's columns: the one implementation the pages, the CLI, the bench and the tests run.

Every query starts from `visible_leads(actor)`, the CRM's permission rule as SQL
(crm.permissions), and uses the CRM's other rules in their SQL form: key project
(crm.key_projects.key_clause) and overdue (crm.services.overdue.overdue_condition).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import Session, defer, selectinload

from graph.identity import normalize_name

from ..counting import merged_clause
from ..key_projects import is_key_project, key_clause
from ..models import MANAGER, Lead, User, utcnow
from ..permissions import team_pool, visible_leads
from ..services._common import Actor, current_actor
from ..services.overdue import overdue_condition, overdue_cutoffs
from ..settings import CrmSettings
from .response import ResponseStatus, response_status

SCOPES = ("mine", "pool", "team", "all")


@dataclass
class WorkFilter:
    """Filters shared by the list and the board (all optional). `scope`: mine (owned by the
    actor), pool (no owner), team (the actor's team), all (everything the actor may read)."""

    scope: str = "mine"  # mine | pool | team | all
    stage: str | None = None
    stages: Sequence[str] = ()  # several stages at once (CLI, bench)
    sector_id: str | None = None
    chain_id: str | None = None
    node_id: str | None = None
    owner_id: int | None = None
    team_id: int | None = None
    channel: str | None = None
    priority: str | None = None
    key_only: bool = False
    overdue_only: bool = False
    text: str | None = None  # part of the company name


@dataclass
class Row:
    lead: Lead
    next_due: date | None
    overdue: bool
    response: ResponseStatus | None = None


@dataclass
class WorkPage:
    rows: list[Any]  # Row (worklist: ORM leads) or ListRow (worklist_rows: plain rows)
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def items(self) -> list[Lead]:
        """The ORM leads of a `worklist` page."""
        return [row.lead for row in self.rows]


# Orders a caller may ask for instead of the work order (newest change, biggest investment...).
SORTS: dict[str, tuple[Any, ...]] = {
    "updated": (Lead.updated_at.desc(),),
    "created": (Lead.created_at.desc(),),
    "investment": (Lead.investment.desc().nulls_last(),),
    "score": (Lead.gap_score.desc().nulls_last(),),
    "company": (Lead.name_key.asc(),),
}


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character backslash) matching names that contain `text`,
    normalised as name keys are, with LIKE's own wildcards taken literally."""
    needle = normalize_name(text.strip())
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def filtered(actor: Actor, f: WorkFilter, settings: CrmSettings, now: datetime | None) -> Select[tuple[Lead]]:
    """SELECT of the leads of `f` the actor may read (unordered). `now` None: the overdue filter's
    instants are bind parameters (crm.services.overdue.overdue_condition)."""
    query = visible_leads(actor).where(~merged_clause())  # 已合并 leads leave the work lists
    if f.scope == "mine":
        query = query.where(Lead.owner_id == actor.id)
    elif f.scope == "pool":
        query = query.where(Lead.owner_id.is_(None))
    elif f.scope == "team":
        query = query.where(Lead.team_id == actor.team_id)
    if f.stage:
        query = query.where(Lead.stage == f.stage)
    if f.stages:
        query = query.where(Lead.stage.in_(list(f.stages)))
    for column, value in (
        (Lead.sector_id, f.sector_id),
        (Lead.chain_id, f.chain_id),
        (Lead.node_id, f.node_id),
        (Lead.owner_id, f.owner_id),
        (Lead.team_id, f.team_id),
        (Lead.channel, f.channel),
        (Lead.priority, f.priority),
    ):
        if value not in (None, ""):
            query = query.where(column == value)
    if f.key_only:
        query = query.where(key_clause(settings.four_ones))
    if f.overdue_only:
        query = query.where(overdue_condition(settings, now))
    if f.text and f.text.strip():
        query = query.where(Lead.name_key.like(like_pattern(f.text), escape="\\"))
    return query


# Columns lists never show (JSON and long text): loaded only if something touches them.
LIST_DEFERRED = (
    defer(Lead.task_force_members),
    defer(Lead.service_plan),
    defer(Lead.gap_reason),
    defer(Lead.notes),
    defer(Lead.stage_reason),
)


def _load(session: Session, ids: list[int]) -> dict[int, Lead]:
    """Only the displayed leads become ORM objects (hydrating all of a scope is the slow part)."""
    if not ids:
        return {}
    return {
        lead.id: lead
        for lead in session.scalars(
            select(Lead).where(Lead.id.in_(ids)).options(selectinload(Lead.owner), *LIST_DEFERRED)
        )
    }


# The ranking's parts that depend on nothing per request, built once (issue 16: SQLAlchemy's
# expression building was a large share of the list page's CPU).
_TOTAL = func.count().over().label("total")  # the total rides along: one scan, not two
_ID_DESC = Lead.id.desc()
_POOL_ORDER = (Lead.gap_score.desc().nulls_last(), Lead.updated_at.desc(), _ID_DESC)
_WORK_ORDER_TAIL = (Lead.next_due_on.asc().nulls_last(), Lead.updated_at.desc(), _ID_DESC)


@dataclass
class _Ranked:
    picked: list[Any]  # (id, late, total) of the page, in order
    total: int
    page: int
    per_page: int


def _ranking(actor: Actor, f: WorkFilter, settings: CrmSettings, sort: str | None) -> tuple[Any, Any]:
    """(filtered query, ordered id/late/total SELECT) with the overdue rule's instants as bind
    parameters (crm.services.overdue.overdue_cutoffs gives their values at a given time)."""
    query = filtered(actor, f, settings, None)
    late = case((overdue_condition(settings, None), 1), else_=0).label("late")
    if sort is not None:
        ordered = query.with_only_columns(Lead.id, late, _TOTAL).order_by(
            *SORTS.get(sort, SORTS["updated"]), _ID_DESC
        )
    elif f.scope == "pool":
        ordered = query.with_only_columns(Lead.id, late, _TOTAL).order_by(*_POOL_ORDER)
    else:  # the stored next-step date (crm.services.activities.refresh_next_due), not a subquery per lead
        closed = case((Lead.stage.in_(list(settings.active_stages)), 0), else_=1)
        ordered = query.with_only_columns(Lead.id, late, _TOTAL).order_by(
            closed, late.desc(), *_WORK_ORDER_TAIL
        )
    return query, ordered


# Ranked page statements by everything they are built from except the time (a bind parameter):
# building one and generating its cache key took more CPU than SQLite took to run it (issue 16);
# a statement object reused keeps its cache key. Bounded: cleared when full.
_PAGE_STATEMENTS: dict[tuple, tuple[Any, Any]] = {}
_PAGE_STATEMENTS_MAX = 256  # the shapes in use; a flood of distinct searches only clears it


def _page_statement(
    actor: Actor, f: WorkFilter, settings: CrmSettings, sort: str | None, page: int, per_page: int
) -> tuple[Any, Any]:
    """(filtered query, the page's SELECT), built once per shape for a signed-in user."""
    if not isinstance(actor, User):  # system actors (CLI, jobs): built each time
        query, ordered = _ranking(actor, f, settings, sort)
        return query, ordered.offset((page - 1) * per_page).limit(per_page)
    key = (
        # what visibility (crm.permissions) reads of the user
        actor.id,
        actor.role,
        actor.team_id,
        bool(actor.is_active),
        # the filter (every field: one added later is in the key without a second edit), the
        # settings the SQL embeds, the order and the page
        *(tuple(v) if isinstance(v, list | tuple) else v for v in astuple(f)),
        settings.active_stages,
        settings.four_ones.key_investment_min,
        sort,
        page,
        per_page,
    )
    found = _PAGE_STATEMENTS.get(key)
    if found is None:
        query, ordered = _ranking(actor, f, settings, sort)
        found = (query, ordered.offset((page - 1) * per_page).limit(per_page))
        if len(_PAGE_STATEMENTS) >= _PAGE_STATEMENTS_MAX:
            _PAGE_STATEMENTS.clear()
        _PAGE_STATEMENTS[key] = found
    return found


def _rank(
    session: Session,
    actor: Actor,
    f: WorkFilter,
    settings: CrmSettings,
    page: int,
    per_page: int,
    sort: str | None,
    now: datetime,
) -> _Ranked:
    """The page of lead ids in the list's order, with the overdue flag and the total: the one
    ranking both `worklist` (ORM objects) and `worklist_rows` (plain rows) use."""
    per_page = max(1, min(int(per_page), 200))
    page = max(1, int(page))
    at = overdue_cutoffs(settings, now)
    query, statement = _page_statement(actor, f, settings, sort, page, per_page)
    picked = session.execute(statement, at).all()
    if picked:
        total = int(picked[0].total)
    else:  # past the last page (or nothing at all): count, then show the last page
        total = (
            session.scalar(
                select(func.count()).select_from(query.order_by(None).with_only_columns(Lead.id).subquery()),
                at,
            )
            or 0
        )
        last = max(1, math.ceil(total / per_page))
        if page > last and total:
            page = last
            picked = session.execute(_page_statement(actor, f, settings, sort, page, per_page)[1], at).all()
    return _Ranked(list(picked), total, page, per_page)


def worklist(
    session: Session,
    actor: Actor,
    f: WorkFilter,
    settings: CrmSettings,
    *,
    page: int = 1,
    per_page: int = 50,
    sort: str | None = None,
    now: datetime | None = None,
) -> WorkPage:
    """Leads in the order work gets done: active before closed, overdue first, then the
    nearest next-step due date, then the most recently changed. The pool has no response
    clock: it is ordered by recommendation score, then newest. `sort` (a key of SORTS) asks
    for a plain order instead. Rows carry ORM leads (API, CLI); the list page reads plain rows
    (`worklist_rows`)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    r = _rank(session, actor, f, settings, page, per_page, sort, now)
    ids = [row[0] for row in r.picked]
    leads = _load(session, ids)
    out = [
        Row(leads[i], leads[i].next_due_on, bool(row[1]), response_status(leads[i], settings, now))
        for i, row in zip(ids, r.picked, strict=True)
    ]
    return WorkPage(out, r.total, r.page, r.per_page)


# What the list page shows of a lead, plus the fields its rules read (response clock: owner and
# dates; next stage: stage and paused_from): plain columns, no ORM objects, no JSON or long text.
_LIST_COLUMNS = (
    Lead.id,
    Lead.company_name,
    Lead.channel,
    Lead.investment,
    Lead.key_flag,
    Lead.chain_name,
    Lead.node_name,
    Lead.gap_status,
    Lead.stage,
    Lead.paused_from,
    Lead.version,
    Lead.owner_id,
    Lead.assigned_at,
    Lead.first_contact_at,
    Lead.last_contact_at,
    Lead.stage_changed_at,
    Lead.next_due_on,
    User.display_name.label("owner_name"),
)


# Built once (issue 16: building and cache-keying it per request cost more than SQLite's part):
# the 50 ids arrive as one expanding parameter.
_LIST_SELECT = (
    select(*_LIST_COLUMNS)
    .outerjoin(User, User.id == Lead.owner_id)
    .where(Lead.id.in_(bindparam("ids", expanding=True)))
)


@dataclass(slots=True)
class ListRow:
    """One line of the lead list: the lead's shown columns and what the rules say about it."""

    id: int
    company_name: str
    channel: str | None
    investment: float | None
    chain_name: str | None
    node_name: str | None
    gap_status: str | None
    stage: str
    paused_from: str | None
    version: int
    owner_id: int | None
    owner_name: str | None
    key: bool  # a key project (crm.key_projects.is_key_project)
    next_due: date | None
    overdue: bool
    response: ResponseStatus | None


def list_rows(
    session: Session,
    ids: list[int],
    settings: CrmSettings,
    now: datetime,
    late: dict[int, bool] | None = None,
    no_due: frozenset[int] = frozenset(),
) -> list[ListRow]:
    """ListRows for `ids` in that order: one SELECT of the shown columns with the owner's name
    joined. `late`: the overdue flags the ranking already computed; else the response rule's.
    `no_due`: ids shown without a next-step date (the board's pool cards)."""
    if not ids:
        return []
    by_id = {row.id: row for row in session.execute(_LIST_SELECT, {"ids": ids})}
    four_ones = settings.four_ones
    out = []
    for i in ids:
        c = by_id[i]
        status = response_status(c, settings, now)
        out.append(
            ListRow(
                c.id,
                c.company_name,
                c.channel,
                c.investment,
                c.chain_name,
                c.node_name,
                c.gap_status,
                c.stage,
                c.paused_from,
                c.version,
                c.owner_id,
                c.owner_name,
                is_key_project(c.investment, c.key_flag, four_ones),
                None if i in no_due else c.next_due_on,
                late[i] if late is not None else bool(status and status.overdue),
                status,
            )
        )
    return out


def worklist_rows(
    session: Session,
    actor: Actor,
    f: WorkFilter,
    settings: CrmSettings,
    *,
    page: int = 1,
    per_page: int = 50,
    sort: str | None = None,
    now: datetime | None = None,
) -> WorkPage:
    """`worklist` as plain rows (ListRow) for the list page: the same ranking, then one SELECT of
    the shown columns with the owner's name joined. Why: building 50 ORM leads and their owners
    cost more than the rest of the page (issue 16)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    r = _rank(session, actor, f, settings, page, per_page, sort, now)
    ids = [row[0] for row in r.picked]
    late = {row[0]: bool(row[1]) for row in r.picked}
    out = list_rows(session, ids, settings, now, late)
    return WorkPage(out, r.total, r.page, r.per_page)


@dataclass
class Column:
    stage: str
    total: int
    rows: list[ListRow] = field(default_factory=list)


@dataclass
class Board:
    columns: list[Column]
    overdue: Column
    pool: Column


def board(
    session: Session,
    actor: Actor,
    f: WorkFilter,
    settings: CrmSettings,
    *,
    per_column: int = 10,
    now: datetime | None = None,
) -> Board:
    """The team board: one column per stage (most urgent cards first), an overdue column and
    the shared pool. Managers see their team; others what they may read. One ranked query
    picks every column's cards; only the cards shown are read, as plain rows (ListRow)."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    scope = "team" if actor.role == MANAGER else "all"
    base = WorkFilter(
        scope=scope, sector_id=f.sector_id, owner_id=f.owner_id, key_only=f.key_only, text=f.text
    )
    owned = filtered(actor, base, settings, now).where(Lead.owner_id.is_not(None))
    counts = _stage_counts(session, owned)
    # Cards rank overdue first, then the longest without contact (index columns only: no
    # per-lead subquery over the whole team).
    rank = (
        func.row_number()
        .over(
            partition_by=Lead.stage,
            order_by=(
                case((overdue_condition(settings, now), 1), else_=0).desc(),
                Lead.last_contact_at.asc().nulls_first(),
                Lead.updated_at.desc(),
                Lead.id.desc(),
            ),
        )
        .label("rn")
    )
    ranked = owned.with_only_columns(Lead.id, Lead.stage, rank).subquery()
    picked = session.execute(
        select(ranked.c.id, ranked.c.stage)
        .where(ranked.c.rn <= per_column)
        .order_by(ranked.c.stage, ranked.c.rn)
    ).all()
    late_total, late_ids = _top(
        session,
        owned.where(overdue_condition(settings, now)),
        per_column,
        Lead.last_contact_at.asc().nulls_first(),
        Lead.assigned_at.asc(),
        Lead.id,
    )
    pool_q = filtered(
        actor,
        WorkFilter(scope="pool", sector_id=f.sector_id, key_only=f.key_only, text=f.text),
        settings,
        now,
    )
    if actor.role == MANAGER:  # the pool this manager can hand out: the team's and team-less leads
        pool_q = pool_q.where(team_pool(actor))
    pool_total, pool_ids = _top(
        session, pool_q, per_column, Lead.gap_score.desc().nulls_last(), Lead.id.desc()
    )
    shown = [row.id for row in picked]
    no_due = frozenset(pool_ids) - set(shown) - set(late_ids)  # pool cards: no clock, no due date
    rows = {
        r.id: r
        for r in list_rows(
            session, list(dict.fromkeys(shown + late_ids + pool_ids)), settings, now, no_due=no_due
        )
    }
    by_stage: dict[str, list[ListRow]] = {}
    for row in picked:
        by_stage.setdefault(row.stage, []).append(rows[row.id])
    columns = [Column(stage, counts.get(stage, 0), by_stage.get(stage, [])) for stage in settings.all_stages]
    overdue = Column("超期", late_total, [rows[i] for i in late_ids])
    pool = Column("公共池", pool_total, [rows[i] for i in pool_ids])  # no owner: no clock, no due date
    return Board(columns, overdue, pool)


def _top(session: Session, query: Select[Any], limit: int, *order: Any) -> tuple[int, list[int]]:
    """The first `limit` ids and the total in one pass (a window count instead of a second scan)."""
    rows = session.execute(
        query.with_only_columns(Lead.id, func.count().over().label("total")).order_by(*order).limit(limit)
    ).all()
    if not rows:
        return 0, []
    return int(rows[0].total), [row.id for row in rows]


def _stage_counts(session: Session, query: Select[Any]) -> dict[str, int]:
    sub = query.order_by(None).with_only_columns(Lead.stage).subquery()
    return {
        stage: n
        for stage, n in session.execute(select(sub.c.stage, func.count()).group_by(sub.c.stage)).all()
    }


# Built once: constructing and caching-keying a statement per request costs more than running it.
# Two scalar subqueries, not one SELECT with two aggregates: SQLite answers a lone max() from the
# index, but scans the table for a pair.
_VERSION = select(
    select(func.max(Lead.updated_at)).scalar_subquery(), select(func.max(Lead.id)).scalar_subquery()
)


def leads_version(session: Session) -> tuple[Any, ...]:
    """(latest change, highest id) of all leads: two index look-ups. Every lead write through
    the services sets `updated_at`, and a new lead has a new id, so a cached list page keyed by
    this version goes stale on any lead change (web/listcache.py)."""
    return tuple(session.execute(_VERSION).one())
