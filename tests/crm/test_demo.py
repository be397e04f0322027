"""Demo accounts and leads: random passwords, every stage, a ready key project, an overdue lead."""

from __future__ import annotations

from sqlalchemy import func, select

from crm import demo
from crm.db import unit_of_work
from crm.key_projects import key_project_status
from crm.models import Activity, Lead, TargetList, User
from crm.services import overdue, users
from crm.settings import CrmSettings

SETTINGS = CrmSettings()  # the built-in rules, passed explicitly (services need settings)


def test_demo_users_and_leads(sf):
    with unit_of_work(sf) as s:
        accounts = demo.create_demo_users(s, settings=SETTINGS)
    assert [a[1] for a in accounts] == ["系统管理员", "区领导", "招商经理", "招商专员", "招商专员"]
    passwords = [a[2] for a in accounts]
    assert len(set(passwords)) == 5 and all(len(p) >= 12 for p in passwords)
    with unit_of_work(sf) as s:
        assert demo.create_demo_users(s, settings=SETTINGS) == []  # never twice
        assert users.authenticate(s, "recruiter", passwords[3], settings=SETTINGS).ok
    with unit_of_work(sf) as s:
        ids = demo.create_demo_leads(s, [], settings=SETTINGS)  # empty graph: falls back to synthetic firms
    settings = CrmSettings()
    with unit_of_work(sf) as s:
        all_leads = s.scalars(select(Lead).where(Lead.id.in_(ids))).all()
        assert all(l.company_name.startswith("示例数据") for l in all_leads)
        assert set(settings.all_stages) <= {l.stage for l in all_leads}
        key = [l for l in all_leads if key_project_status(l, settings.four_ones).is_key]
        assert key and all(key_project_status(l, settings.four_ones).ready for l in key)
        assert any(l.stage == settings.four_ones.gate_stage for l in key)
        assert sum(1 for l in all_leads if l.owner_id is None) == 3
        assert s.scalar(select(func.count()).select_from(Activity)) > 20
        manager = s.scalar(select(User).where(User.username == "manager"))
        late = overdue.overdue_leads(s, manager, settings=settings)
        assert {i.reason for i in late} == {overdue.FIRST_CONTACT, overdue.FOLLOW_UP} and len(late) == 2
        tl = s.scalars(select(TargetList)).one()
        assert tl.status == "approved" and tl.version_no == 1 and tl.rows


def test_demo_uses_graph_rows_first(sf):
    rows = [
        {
            "company_id": f"G{i}",
            "company_name": f"示例数据·图谱企业{i}",
            "uscc": None,
            "sector_id": "medical",
            "chain_id": "c1",
            "chain_name": "高端医疗器械",
            "node_id": f"n{i}",
            "node_name": f"环节{i}",
            "status": "缺链",
            "score": 70.0 + i,
            "reason": "缺链",
        }
        for i in range(30)
    ]
    with unit_of_work(sf) as s:
        demo.create_demo_users(s, settings=SETTINGS)
    with unit_of_work(sf) as s:
        ids = demo.create_demo_leads(s, rows, settings=SETTINGS)
    with unit_of_work(sf) as s:
        firms = s.scalars(select(Lead.company_id).where(Lead.id.in_(ids))).all()
        assert sum(1 for f in firms if f.startswith("G")) >= 10
        assert s.scalars(select(TargetList)).one().rows[0].company_id == "G0"
