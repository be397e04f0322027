"""Audit entries as readable Chinese lines (services.audit.describe) and the log's filters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm.db import unit_of_work
from crm.errors import ValidationError
from crm.models import utcnow
from crm.services import assignment, audit, leads
from crm.settings import CrmSettings as _CrmSettings

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


def _lines(sf, actor, lead_id, **kw):
    with unit_of_work(sf) as s:
        page = audit.list_entries(s, actor, entity="lead", entity_id=lead_id)
        return audit.describe(s, page.items, **kw)


def test_lead_history_reads_as_chinese_with_names(sf, people):
    p = people
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s,
            p["mgr"],
            {"company_name": "示例数据·审计公司", "sector_id": "medical", "channel": "精准补链"},
            settings=SETTINGS,
        )
    with unit_of_work(sf) as s:
        leads.update_lead(
            s,
            p["mgr"],
            lead.id,
            {
                "sponsor_user_id": p["leader"].id,
                "key_flag": True,
                "investment": "20000",
                "task_force_members": "区发改委、区规自分局",
                "service_plan": {"needs": "用地 50 亩", "policy_support": "", "milestones": ["签约", "开工"]},
            },
            settings=SETTINGS,
        )
    with unit_of_work(sf) as s:  # saving the same values again changes nothing
        leads.update_lead(
            s, p["mgr"], lead.id, {"notes": None, "sponsor_user_id": p["leader"].id}, settings=SETTINGS
        )
    with unit_of_work(sf) as s:
        assignment.assign_lead(s, p["mgr"], lead.id, p["rec"].id, "请本周联系")
    with unit_of_work(sf) as s:
        leads.transition(s, p["rec"], lead.id, "接洽", settings=SETTINGS)

    lines = _lines(sf, p["leader"], lead.id, sectors={"medical": "医药健康"})
    text = "\n".join(f"{l.actor}|{l.action}|{'；'.join(l.changes)}" for l in lines)
    create, update, assign, move = lines[::-1]
    assert create.action == "新建" and create.actor == "用户mgr"
    assert "产业：医药健康" in create.changes and "企业名称：示例数据·审计公司" in create.changes
    assert not any(EMPTY_OR_RAW in c for c in create.changes for EMPTY_OR_RAW in ("空", "None"))
    assert "牵头区领导：空 → 用户leader" in update.changes
    assert "重点项目：否 → 是" in update.changes
    assert "预计投资额（万元）：空 → 20,000" in update.changes
    assert "工作专班成员：空 → 区发改委、区规自分局" in update.changes
    assert "服务方案：空 → 需求：用地 50 亩；里程碑：签约、开工" in update.changes
    assert assign.action == "分派" and "负责人：空 → 用户rec" in assign.changes
    assert "原因：请本周联系" in assign.changes and not any("所属组" in c for c in assign.changes)
    assert move.actor == "用户rec" and move.changes == ["阶段：线索 → 接洽"]  # no 阶段原因：空 → 空
    for raw in ("needs", "{", "'", "medical", "sponsor_user_id", "username"):
        assert raw not in text
    assert len(lines) == 4  # the no-op save left an entry out of the readable history


def test_no_op_update_entries_are_dropped(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "示例数据·空改公司"}, settings=SETTINGS)
        audit.record(
            s,
            people["rec"],
            audit.UPDATE,
            "lead",
            lead.id,
            {"stage_reason": None, "notes": ""},
            {"stage_reason": None, "notes": None},
        )
    lines = _lines(sf, people["leader"], lead.id)
    assert [l.action for l in lines] == ["新建"]


def test_service_plan_text():
    assert (
        audit.service_plan_text(
            {"needs": "厂房", "policy_support": "租金补贴", "milestones": ["签约", "投产"]}
        )
        == "需求：厂房；政策支持：租金补贴；里程碑：签约、投产"
    )
    assert audit.service_plan_text({"needs": "", "milestones": []}) == "空"


def test_log_filters_by_user_action_and_days(sf, people):
    p = people
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, p["rec"], {"company_name": "示例数据·筛选公司"}, settings=SETTINGS)
        leads.transition(s, p["rec"], lead.id, "接洽", settings=SETTINGS)
        leads.create_lead(s, p["rec2"], {"company_name": "示例数据·筛选二公司"}, settings=SETTINGS)
    today = utcnow().date()
    with unit_of_work(sf) as s:
        by_rec = audit.list_entries(s, p["admin"], actor_id=p["rec"].id, entity="lead")
        assert by_rec.total == 2
        moves = audit.list_entries(s, p["admin"], action=audit.TRANSITION)
        assert moves.total == 1 and moves.items[0].entity_id == str(lead.id)
        since, until = audit.day_range(today.isoformat(), today.isoformat())
        assert audit.list_entries(s, p["admin"], entity="lead", since=since, until=until).total == 3
        since, until = audit.day_range(None, (today - timedelta(days=1)).isoformat())
        assert audit.list_entries(s, p["admin"], entity="lead", since=since, until=until).total == 0
        paged = audit.list_entries(s, p["admin"], entity="lead", per_page=2, page=9)
        assert paged.page == 2 and paged.pages == 2 and len(paged.items) == 1
    with pytest.raises(ValidationError, match="截止日期不能早于起始日期"):
        audit.day_range("2026-05-02", "2026-05-01")
    with pytest.raises(ValidationError, match="格式"):
        audit.day_range("昨天", None)
