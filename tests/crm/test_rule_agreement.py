"""Rules that exist in a Python form and an SQL form must pick the same rows.

Each test loads a spread of leads, asks both forms, and compares. They also pin the places
where two copies of a rule used to disagree (see the comments marked "used to").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from crm import permissions
from crm.db import unit_of_work
from crm.errors import DuplicateLead
from crm.key_projects import count_ready, four_ones_missing, four_ones_prefilter, is_key_project, key_clause
from crm.models import LEADER, MANAGER, RECRUITER, Lead, Team, utcnow
from crm.permissions import visible_leads
from crm.queries import dashboard
from crm.services import from_targets, leads
from crm.services.lead_holders import CompanyRef, find_holder, holders_for_companies, names_firm
from crm.settings import CrmSettings, FourOnes
from graph.identity import normalize_name

SETTINGS = CrmSettings()


def _lead(**kw) -> Lead:
    now = utcnow()
    name = kw.pop("company_name", "示例数据·规则公司")
    values = dict(
        company_name=name,
        name_key=normalize_name(name),
        channel="精准补链",
        priority="中",
        stage="线索",
        created_at=now,
        updated_at=now,
        protected_until=now + timedelta(days=90),
    )
    values.update(kw)
    lead = Lead(**values)
    lead.task_force_members = kw.get("task_force_members", [])
    lead.service_plan = kw.get("service_plan", {})
    return lead


# ----------------------------------------------------------------------------- permissions


def test_visibility_sql_agrees_with_can_read(sf, people):
    with unit_of_work(sf) as s:
        teams = [t.id for t in s.scalars(select(Team))]
        owners = [None, people["rec"].id, people["rec2"].id, people["rec_e"].id]
        for i, (team, owner) in enumerate(itertools.product([None, *teams], owners)):
            s.add(_lead(company_name=f"示例数据·可见{i}", team_id=team, owner_id=owner))
    actors = [people[k] for k in ("admin", "leader", "mgr", "rec", "rec2", "mgr_e", "rec_e")]
    # Stand-ins the ORM users do not cover: a manager and a recruiter without a team, an
    # inactive manager. The manager without a team used to see every team-less lead in lists
    # (SQL `team_id IS NULL`) while can_read refused the owned ones.
    actors += [
        SimpleNamespace(id=people["mgr"].id, role=MANAGER, team_id=None, is_active=True),
        SimpleNamespace(id=people["rec"].id, role=RECRUITER, team_id=None, is_active=True),
        SimpleNamespace(id=people["mgr"].id, role=MANAGER, team_id=people["mgr"].team_id, is_active=False),
        SimpleNamespace(id=None, role=LEADER, team_id=None, is_active=False),
    ]
    with unit_of_work(sf) as s:
        rows = list(s.scalars(select(Lead)))
        assert len(rows) == 4 * (1 + len(teams))
        for actor in actors:
            by_sql = {lead.id for lead in s.scalars(visible_leads(actor))}
            by_python = {lead.id for lead in rows if permissions.can_read(actor, lead)}
            assert by_sql == by_python, (actor.role, actor.team_id, actor.is_active)
            pool_sql = {lead.id for lead in s.scalars(select(Lead).where(permissions.team_pool(actor)))}
            pool_python = {lead.id for lead in rows if permissions.in_team_pool(actor, lead)}
            assert pool_sql == pool_python


# ----------------------------------------------------------------------------- key projects


FULL = dict(
    sponsor_name="王区长",
    task_force_department="区投促局",
    task_force_members=["李四"],
    case_officer_name="张三",
    service_plan={"needs": "用地 50 亩", "policy_support": "租金减免", "milestones": ["2027-03 签约"]},
)


def test_key_project_sql_agrees_with_python(sf, people):
    fo = FourOnes(key_investment_min=10000)
    combos = list(itertools.product([None, 0, 9999.99, 10000, 50000], [False, True]))
    four = [
        {},
        FULL,
        {**FULL, "task_force_members": []},
        {**FULL, "service_plan": {"needs": "用地"}},
        {**FULL, "sponsor_name": None, "sponsor_user_id": people["leader"].id},
        {**FULL, "case_officer_name": None},
        {**FULL, "task_force_department": None},
    ]
    with unit_of_work(sf) as s:
        for i, ((investment, flag), parts) in enumerate(itertools.product(combos, four)):
            s.add(_lead(company_name=f"示例数据·重点{i}", investment=investment, key_flag=flag, **parts))
    with unit_of_work(sf) as s:
        rows = list(s.scalars(select(Lead)))
        by_sql = {lead.id for lead in s.scalars(select(Lead).where(key_clause(fo)))}
        by_python = {lead.id for lead in rows if is_key_project(lead.investment, lead.key_flag, fo)}
        assert by_sql == by_python and by_sql
        # The SQL prefilter is a necessary condition of "四个一" ready...
        ready = {lead.id for lead in rows if not four_ones_missing(lead, fo)}
        prefiltered = {lead.id for lead in s.scalars(select(Lead).where(four_ones_prefilter()))}
        assert ready and ready <= prefiltered
        # ...and SQL + Python together count exactly the ready ones.
        assert count_ready(s, select(Lead), fo) == len(ready)
        assert count_ready(s, select(Lead).where(key_clause(fo)), fo) == len(ready & by_python)


def test_dashboard_counts_key_projects_by_the_same_rule(sf, people):
    @dataclass
    class NoChains:
        def sectors(self):
            return []

        def chains(self):
            return []

    with unit_of_work(sf) as s:
        for i, parts in enumerate([{}, FULL, {**FULL, "service_plan": {}}]):
            s.add(_lead(company_name=f"示例数据·驾驶舱{i}", investment=20000, **parts))
        s.add(_lead(company_name="示例数据·非重点", investment=10, **FULL))
    with unit_of_work(sf) as s:
        board = dashboard.build(s, people["leader"], SETTINGS, NoChains())
        rows = list(s.scalars(select(Lead)))
        key = [r for r in rows if is_key_project(r.investment, r.key_flag, SETTINGS.four_ones)]
        assert board.key_total == len(key) == 3
        assert board.key_ready == sum(1 for r in key if not four_ones_missing(r, SETTINGS.four_ones)) == 1
        assert {p.id for p in board.key_projects} == {r.id for r in key}


# ----------------------------------------------------------------------------- 首报首谈


def test_holder_sql_agrees_with_python_match(sf, people):
    with unit_of_work(sf) as s:
        s.add(_lead(company_name="示例数据·甲公司", company_id="C1", uscc="91350100M000100Y43"))
        s.add(_lead(company_name="示例数据·乙公司", company_id="C2"))
        s.add(_lead(company_name="示例数据·丙公司", stage="流失", company_id="C3"))
        s.add(_lead(company_name="示例数据·丁公司", protected_until=utcnow() - timedelta(days=1)))
    refs = [
        CompanyRef("C1"),
        CompanyRef(None, uscc="91350100M000100Y43"),
        CompanyRef("X", "示例数据·乙公司"),
        CompanyRef("C2", "别名"),
        CompanyRef("C3", "示例数据·丙公司"),
        CompanyRef("Z", "示例数据·丁公司"),
        CompanyRef("Q", "无此公司"),
    ]
    with unit_of_work(sf) as s:
        held = holders_for_companies(s, people["rec"], refs, lost_stage="流失")
        for ref in refs:
            holder = find_holder(s, ref, lost_stage="流失")
            assert (holder is not None) == (ref.company_id in held), ref
            if holder is not None:
                assert names_firm(holder, ref)
        assert set(held) == {"C1", None, "X", "C2"}


def test_a_firm_shown_as_held_cannot_be_registered(sf, people):
    """Used to disagree: pages matched the graph company id, registration did not, so a firm
    registered under another name showed "已登记线索" but could be registered again."""
    with unit_of_work(sf) as s:
        first = leads.create_lead(
            s, people["rec"], {"company_name": "示例数据·精控电驱", "company_id": "G42"}, settings=SETTINGS
        )
    with unit_of_work(sf) as s:
        held = holders_for_companies(
            s, people["rec2"], [CompanyRef("G42", "精控电驱科技有限公司")], lost_stage="流失"
        )
        assert held["G42"].holder == "用户rec（招商专员）" and held["G42"].lead_id is None  # not readable
    with unit_of_work(sf) as s:
        with pytest.raises(DuplicateLead) as info:
            leads.create_lead(
                s,
                people["rec2"],
                {"company_name": "精控电驱科技有限公司", "company_id": "G42"},
                settings=SETTINGS,
            )
        assert info.value.lead_id == first.id and info.value.holder_user_id == people["rec"].id
    with unit_of_work(sf) as s:
        other = leads.create_lead(s, people["rec2"], {"company_name": "示例数据·另一家"}, settings=SETTINGS)
    with unit_of_work(sf) as s:  # nor can an edit point another lead at the held firm
        with pytest.raises(DuplicateLead):
            leads.update_lead(s, people["rec2"], other.id, {"company_id": "G42"}, settings=SETTINGS)


# ----------------------------------------------------------------------------- ranked target -> rows


@dataclass
class FakeTarget:
    company_id: str = "T1"
    company_name: str = "示例数据·靶向科技"
    uscc: str | None = None
    chain_id: str = "med-devices"
    node_id: str = "md-robot"
    node_name: str = "手术机器人"
    status: str = "缺链"
    score: float = 87.654321
    factors: dict = field(default_factory=lambda: {"gap": 0.912345, "strength": 0.5})
    reason: str = "填补缺链「手术机器人」"


class FakeRanking:
    def __init__(self, targets):
        self._targets = targets

    def chains(self):
        return [SimpleNamespace(id="med-devices", name="高端医疗器械", sector_id="medical")]

    def sectors(self):
        return [SimpleNamespace(id="medical", name="医药健康")]

    def node_detail(self, node_id, top=10):
        return SimpleNamespace(targets=[t for t in self._targets if t.node_id == node_id])

    def targets(self, chain_id=None, *, sector_id=None, top=None):
        return self._targets[:top]


def test_one_mapping_from_a_ranked_target_to_a_lead_and_a_list_row(sf, people):
    ranking = FakeRanking([FakeTarget(), FakeTarget(company_id="T2", company_name="示例数据·第二家")])
    row = from_targets.ranked_rows(ranking, [("T1", "md-robot")])[0]
    assert row == from_targets.top_rows(ranking, "med-devices", None, 1)[0]
    assert (row["sector_id"], row["sector_name"], row["chain_name"], row["score"]) == (
        "medical",
        "医药健康",
        "高端医疗器械",
        87.65,
    )
    assert row["factors"] == {"gap": 0.9123, "strength": 0.5}
    with unit_of_work(sf) as s:
        lead = from_targets.create_lead_from_target(
            s, people["rec"], ranking, "T1", "md-robot", settings=SETTINGS
        )
        bulk = from_targets.create_leads_from_targets(
            s, people["mgr"], from_targets.top_rows(ranking, "med-devices", None, 2), settings=SETTINGS
        )
    assert len(bulk.created) == 1 and len(bulk.duplicates) == 1  # T1 is held by the first
    made = bulk.created[0]
    for got in (lead, made):
        assert (got.sector_id, got.sector_name, got.chain_name, got.node_name, got.gap_status) == (
            "medical",
            "医药健康",
            "高端医疗器械",
            "手术机器人",
            "缺链",
        )
        assert got.channel == "精准补链"
    assert lead.gap_score == 87.65 and lead.gap_reason == "填补缺链「手术机器人」"
