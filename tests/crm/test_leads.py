"""Leads through the services: validation, 首报首谈, transitions with the gate, history,
concurrent edits and the append-only audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from crm.db import unit_of_work
from crm.errors import DuplicateLead, GateNotSatisfied, StaleEdit, ValidationError, WorkflowError
from crm.key_projects import key_project_status
from crm.models import AuditLog, Lead, utcnow
from crm.queries.worklist import WorkFilter, worklist
from crm.services import activities, audit, leads
from crm.settings import CrmSettings

SETTINGS = CrmSettings()  # the built-in rules, passed explicitly (services need settings)

USCC = "91350100M000100Y43"


def test_create_validates_and_normalises(sf, people):
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError) as info:
            leads.create_lead(
                s,
                people["rec"],
                {
                    "company_name": " ",
                    "uscc": "91350100M000100Y44",
                    "investment": "很多",
                    "channel": "电话招商",
                    "land_mu": -3,
                },
                settings=SETTINGS,
            )
    msg = str(info.value)
    for part in (
        "企业名称不能为空",
        "校验位",
        "预计投资额（万元）必须是数字",
        "招商渠道",
        "用地需求（亩）必须是非负数",
    ):
        assert part in msg
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s,
            people["rec"],
            {
                "company_name": "示例数据·北京甲医疗器械 股份有限公司",
                "uscc": " 91350100m000100y43 ",
                "investment": "12000",
                "channel": "精准补链",
                "sector_id": "medical",
                "gap_score": 81.5,
                "gap_reason": "缺链：手术机器人核心部件本地无企业",
            },
            ip="10.1.1.1",
            settings=SETTINGS,
        )
        assert lead.uscc == USCC and lead.name_key == "示例数据·北京甲医疗器械"
        assert lead.stage == "线索" and lead.owner_id == people["rec"].id and lead.priority == "中"
        assert lead.version == 1
        assert lead.protected_until - lead.created_at == timedelta(days=CrmSettings().protection_days)
    with unit_of_work(sf) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "lead")).one()
        assert entry.action == "create" and entry.ip == "10.1.1.1" and entry.after["gap_score"] == 81.5
        assert [c.to_stage for c in leads.stage_history(s, people["rec"], lead.id)] == ["线索"]


def test_first_registration_holds_the_firm(sf, people):
    t0 = utcnow()
    with unit_of_work(sf) as s:
        first = leads.create_lead(
            s,
            people["rec"],
            {"company_name": "示例数据·天枢精密有限公司", "uscc": USCC},
            now=t0,
            settings=SETTINGS,
        )
    # Same credit code, different name; and same normalised name, no code.
    for data in (
        {"company_name": "天枢精密（北京）", "uscc": USCC},
        {"company_name": "示例数据·天枢精密 有限责任公司"},
    ):
        with unit_of_work(sf) as s:
            with pytest.raises(DuplicateLead) as info:
                leads.create_lead(s, people["rec2"], data, now=t0 + timedelta(days=1), settings=SETTINGS)
        assert "用户rec（招商专员）" in str(info.value) and info.value.lead_id == first.id
        assert f"{first.protected_until:%Y-%m-%d}" in str(info.value)
    with unit_of_work(sf) as s:
        with pytest.raises(DuplicateLead):
            leads.check_duplicate(
                s, people["mgr_e"], company_name="示例数据·天枢精密股份公司", settings=SETTINGS
            )
    # After the protection period another recruiter may register it.
    later = first.protected_until + timedelta(seconds=1)
    with unit_of_work(sf) as s:
        second = leads.create_lead(
            s,
            people["rec2"],
            {"company_name": "示例数据·天枢精密有限公司"},
            now=later,
            settings=SETTINGS,
        )
        assert second.id != first.id


def test_lost_lead_releases_the_firm(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "示例数据·某储能公司"}, settings=SETTINGS)
    with unit_of_work(sf) as s:
        leads.transition(s, people["rec"], lead.id, "流失", "企业已落户外省", settings=SETTINGS)
    with unit_of_work(sf) as s:
        leads.create_lead(s, people["rec2"], {"company_name": "示例数据·某储能公司"}, settings=SETTINGS)


def test_full_path_with_gate_and_history(sf, people):
    p = people
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s, p["rec"], {"company_name": "示例数据·重点项目公司", "investment": 20000}, settings=SETTINGS
        )
        assert key_project_status(lead, SETTINGS.four_ones).is_key
    with unit_of_work(sf) as s:
        leads.transition(s, p["rec"], lead.id, "接洽", settings=SETTINGS)
    with unit_of_work(sf) as s:
        with pytest.raises(GateNotSatisfied) as info:
            leads.transition(s, p["rec"], lead.id, "在谈", settings=SETTINGS)
    assert info.value.missing == ["牵头区领导", "工作专班", "项目服务专员", "服务方案"]
    with unit_of_work(sf) as s:
        assert s.get(Lead, lead.id).stage == "接洽"  # nothing written
        with pytest.raises(ValidationError, match="区领导角色"):
            leads.update_lead(s, p["rec"], lead.id, {"sponsor_user_id": p["rec2"].id}, settings=SETTINGS)
    with unit_of_work(sf) as s:
        leads.update_lead(
            s,
            p["rec"],
            lead.id,
            {
                "sponsor_user_id": p["leader"].id,
                "task_force_department": "区投资促进局",
                "task_force_members": "区发改委、区规自分局",
                "case_officer_user_id": p["rec"].id,
                "service_plan": {"needs": "用地 80 亩", "policy_support": "固投补贴"},
            },
            settings=SETTINGS,
        )
    with unit_of_work(sf) as s:
        with pytest.raises(GateNotSatisfied) as info:
            leads.transition(s, p["rec"], lead.id, "在谈", settings=SETTINGS)
        assert info.value.missing == ["服务方案（推进节点）"]
    with unit_of_work(sf) as s:
        l = leads.update_lead(
            s,
            p["rec"],
            lead.id,
            {
                "service_plan": {
                    "needs": "用地 80 亩",
                    "policy_support": "固投补贴",
                    "milestones": ["2027-06 开工"],
                }
            },
            settings=SETTINGS,
        )
        assert l.task_force_members == ["区发改委", "区规自分局"]
    path = [
        ("在谈", None),
        ("接洽", "企业要求重新测算"),
        ("在谈", None),
        ("搁置", "等待企业董事会"),
        ("在谈", None),
        ("签约", None),
        ("落地", None),
        ("投产", None),
    ]
    for target, reason in path:
        with unit_of_work(sf) as s:
            leads.transition(s, p["rec"], lead.id, target, reason, ip="10.2.2.2", settings=SETTINGS)
    with unit_of_work(sf) as s:
        with pytest.raises(WorkflowError, match="最终阶段"):
            leads.transition(s, p["rec"], lead.id, "流失", "x", settings=SETTINGS)
    with unit_of_work(sf) as s:
        history = leads.stage_history(s, p["leader"], lead.id)
        assert [h.to_stage for h in history] == ["线索", "接洽"] + [t for t, _ in path]
        assert history[3].reason == "企业要求重新测算" and history[3].actor.id == p["rec"].id
        assert s.get(Lead, lead.id).paused_from is None
        moves = s.scalars(select(AuditLog).where(AuditLog.action == "transition")).all()
        assert len(moves) == len(path) + 1 and moves[-1].after == {"stage": "投产", "stage_reason": None}


def test_illegal_transition_and_missing_reason(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s, people["rec"], {"company_name": "示例数据·普通项目公司"}, settings=SETTINGS
        )
    with unit_of_work(sf) as s:
        with pytest.raises(WorkflowError, match="不能从「线索」直接变更为「签约」"):
            leads.transition(s, people["rec"], lead.id, "签约", settings=SETTINGS)
    with unit_of_work(sf) as s:
        with pytest.raises(WorkflowError, match="原因"):
            leads.transition(s, people["rec"], lead.id, "搁置", settings=SETTINGS)
    with unit_of_work(sf) as s:
        leads.transition(s, people["rec"], lead.id, "搁置", "企业暂缓扩产", settings=SETTINGS)
    with unit_of_work(sf) as s:
        l = s.get(Lead, lead.id)
        assert (l.stage, l.stage_reason, l.paused_from) == ("搁置", "企业暂缓扩产", "线索")
        assert leads.allowed_transitions(l, settings=SETTINGS) == ["线索", "流失"]


def test_concurrent_edit_second_save_refused(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "示例数据·并发公司"}, settings=SETTINGS)
    # Two people load the same version into their forms and both save.
    loaded = lead.version
    with unit_of_work(sf) as s:
        leads.update_lead(
            s, people["rec"], lead.id, {"notes": "第一人"}, expected_version=loaded, settings=SETTINGS
        )
    with unit_of_work(sf) as s:
        with pytest.raises(StaleEdit, match="已被其他人修改"):
            leads.update_lead(
                s, people["mgr"], lead.id, {"notes": "第二人"}, expected_version=loaded, settings=SETTINGS
            )
    with unit_of_work(sf) as s:
        l = s.get(Lead, lead.id)
        assert (l.notes, l.version) == ("第一人", loaded + 1)


def test_version_column_refuses_racing_flush(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "示例数据·竞速公司"}, settings=SETTINGS)
    s1, s2 = sf(), sf()
    try:
        l1, l2 = s1.get(Lead, lead.id), s2.get(Lead, lead.id)  # both hold version 1
        l1.notes = "甲"
        s1.commit()
        l2.notes = "乙"
        with pytest.raises(StaleEdit):
            leads.flush_or_stale(s2, "线索")
    finally:
        s1.close(), s2.rollback(), s2.close()
    with unit_of_work(sf) as s:
        assert s.get(Lead, lead.id).notes == "甲"


def test_audit_log_is_append_only(sf, engine, people):
    with unit_of_work(sf) as s:
        leads.create_lead(s, people["rec"], {"company_name": "示例数据·审计公司"}, settings=SETTINGS)
    for statement in ("UPDATE audit_log SET actor_name = 'x'", "DELETE FROM audit_log"):
        with pytest.raises((IntegrityError, OperationalError, DBAPIError), match="审计日志只能追加"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    with unit_of_work(sf) as s:
        page = audit.list_entries(s, people["admin"], entity="lead")
        assert page.total == 1 and page.items[0].actor_id == people["rec"].id
        with pytest.raises(Exception, match="审计日志"):
            audit.list_entries(s, people["rec"])


def test_activity_updates_contact_dates_and_validates(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "示例数据·活动公司"}, settings=SETTINGS)
    today = CrmSettings().local_today(utcnow())  # the district's date, as the service uses
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="活动类型"):
            activities.add_activity(s, people["rec"], lead.id, kind="宴请", settings=SETTINGS)
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="晚于今天"):
            activities.add_activity(
                s,
                people["rec"],
                lead.id,
                kind="拜访",
                occurred_on=today + timedelta(days=1),
                settings=SETTINGS,
            )
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="活动结果"):  # an empty form is no visit
            activities.add_activity(s, people["rec"], lead.id, kind="拜访", outcome="  ", settings=SETTINGS)
    with unit_of_work(sf) as s:
        assert activities.list_activities(s, people["rec"], lead.id) == []
        activities.add_activity(s, people["rec"], lead.id, kind="备注", outcome="内部记录", settings=SETTINGS)
    with unit_of_work(sf) as s:
        assert s.get(Lead, lead.id).first_contact_at is None  # 备注 is not contact
        activities.add_activity(
            s,
            people["rec"],
            lead.id,
            kind="拜访",
            occurred_on=(today - timedelta(days=5)).isoformat(),
            participants="张三、企业副总",
            outcome="有意向",
            next_step="报送用地需求",
            due_date=today + timedelta(days=7),
            settings=SETTINGS,
        )
        activities.add_activity(
            s,
            people["rec"],
            lead.id,
            kind="电话",
            occurred_on=today - timedelta(days=2),
            outcome="确认考察时间",
            settings=SETTINGS,
        )
    with unit_of_work(sf) as s:
        l = s.get(Lead, lead.id)
        assert l.first_contact_at.date() == today - timedelta(days=5)
        assert l.last_contact_at.date() == today - timedelta(days=2)
        kinds = [a.kind for a in activities.list_activities(s, people["mgr"], lead.id)]
        assert kinds == ["备注", "电话", "拜访"]


def test_leader_comment_reaches_owner_inbox(sf, people):
    from crm.models import InboxMessage

    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "示例数据·批示公司"}, settings=SETTINGS)
    with unit_of_work(sf) as s:
        activities.add_comment(s, people["leader"], lead.id, "请本周内上门拜访")
    with unit_of_work(sf) as s:
        msg = s.scalars(select(InboxMessage)).one()
        assert msg.user_id == people["rec"].id and "批注" in msg.title
        assert [c.body for c in activities.list_comments(s, people["rec"], lead.id)] == ["请本周内上门拜访"]


def test_list_filters_and_pagination(sf, people):
    with unit_of_work(sf) as s:
        for i in range(25):
            leads.create_lead(
                s,
                people["mgr"],
                {
                    "company_name": f"示例数据·列表公司{i:02d}",
                    "chain_id": "med-devices" if i % 2 else "biopharma",
                    "investment": 1000 * i,
                },
                settings=SETTINGS,
            )
    with unit_of_work(sf) as s:
        everything = lambda **kw: WorkFilter(scope="all", **kw)  # noqa: E731
        page = worklist(s, people["mgr"], everything(chain_id="med-devices"), SETTINGS, page=2, per_page=5)
        assert page.total == 12 and page.pages == 3 and len(page.items) == 5
        page = worklist(s, people["mgr"], everything(text="列表公司1"), SETTINGS, per_page=50)
        assert page.total == 10
        page = worklist(s, people["mgr"], everything(key_only=True), SETTINGS, sort="investment")
        assert [l.investment for l in page.items][:2] == [24000, 23000] and page.total == 15
        # LIKE wildcards in the search text are taken literally
        assert worklist(s, people["mgr"], everything(text="100%_"), SETTINGS).total == 0
        assert worklist(s, people["mgr"], everything(text="公司0_"), SETTINGS).total == 0
        assert worklist(s, people["mgr"], everything(text="列表公司0%"), SETTINGS).total == 0
        # the pool (a manager's leads go there), several stages at once
        assert worklist(s, people["mgr"], WorkFilter(scope="pool"), SETTINGS, per_page=50).total == 25
        assert worklist(s, people["mgr"], everything(stages=["线索", "接洽"]), SETTINGS).total == 25
        assert worklist(s, people["mgr"], everything(stages=["接洽"]), SETTINGS).total == 0


# PostgreSQL only: SQLite serialises write transactions, so there is no race to test there.
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_simultaneous_first_registrations_only_one_wins(sf, engine, people):
    """Two sessions register the same firm at the same moment: exactly one succeeds."""
    import threading

    s1, s2 = sf(), sf()
    outcome = {}
    try:
        leads.create_lead(
            s1, people["rec"], {"company_name": "示例数据·并发首报公司"}, settings=SETTINGS
        )  # holds the lock

        def second():
            try:
                with s2.begin():
                    leads.create_lead(
                        s2, people["rec2"], {"company_name": "示例数据·并发首报 有限公司"}, settings=SETTINGS
                    )
                outcome["second"] = "created"
            except DuplicateLead as exc:
                outcome["second"] = exc

        t = threading.Thread(target=second)
        t.start()
        t.join(0.5)
        assert t.is_alive()  # waiting for the first registration to finish
        s1.commit()
        t.join(10)
        assert isinstance(outcome["second"], DuplicateLead)
    finally:
        s1.close(), s2.close()
