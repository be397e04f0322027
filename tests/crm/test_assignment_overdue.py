"""Assignment (manual, claim, pool, automatic round robin), the inbox, and the response-time rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from crm.db import unit_of_work
from crm.errors import NotFound, PermissionDenied, StaleEdit, ValidationError
from crm.models import Lead, User, utcnow
from crm.queries.worklist import WorkFilter, worklist
from crm.services import activities, assignment, inbox, leads, overdue
from crm.services import users as user_svc
from crm.services._common import SYSTEM
from crm.settings import CrmSettings

SETTINGS = CrmSettings()  # the built-in rules, passed explicitly (services need settings)


def _pool_lead(sf, people, name="示例数据·池中公司", **extra):
    with unit_of_work(sf) as s:
        return leads.create_lead(s, people["mgr"], {"company_name": name, **extra}, settings=SETTINGS)


def test_manager_assigns_within_team_with_reason_and_inbox(sf, people):
    p = people
    lead = _pool_lead(sf, p)
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="本组"):
            assignment.assign_lead(s, p["mgr"], lead.id, p["rec_e"].id)
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            assignment.assign_lead(s, p["mgr_e"], lead.id, p["rec_e"].id)
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            assignment.assign_lead(s, p["rec"], lead.id, p["rec"].id)
    with unit_of_work(sf) as s:
        l = assignment.assign_lead(s, p["mgr"], lead.id, p["rec"].id, ip="10.0.0.1")
        assert l.owner_id == p["rec"].id and l.assigned_at is not None
    with unit_of_work(sf) as s:
        assert inbox.unread_count(s, p["rec"]) == 1
        msg = inbox.list_messages(s, p["rec"])[0]
        assert msg.lead_id == lead.id and "分派" in msg.title
        with pytest.raises(NotFound):
            inbox.mark_read(s, p["rec2"], msg.id)  # not theirs
        inbox.mark_read(s, p["rec"], msg.id)
    with unit_of_work(sf) as s:
        assert inbox.unread_count(s, p["rec"]) == 0
        with pytest.raises(ValidationError, match="原因"):
            assignment.assign_lead(s, p["mgr"], lead.id, p["rec2"].id)
    with unit_of_work(sf) as s:
        assignment.assign_lead(s, p["mgr"], lead.id, p["rec2"].id, "张三出差一个月")
    with unit_of_work(sf) as s:
        assert inbox.unread_count(s, p["rec"]) == 1  # told it was taken away
        assert inbox.unread_count(s, p["rec2"]) == 1
        history = assignment.assignment_history(s, p["mgr"], lead.id)
        assert [(h.from_user_id, h.to_user_id) for h in history] == [
            (None, p["rec"].id),
            (p["rec"].id, p["rec2"].id),
        ]
        assert history[1].reason == "张三出差一个月"
        with pytest.raises(PermissionDenied):
            leads.get_lead(s, p["rec"], lead.id)  # no longer theirs
    # Inactive users are not assignable.
    with unit_of_work(sf) as s:
        user_svc.disable_user(s, p["admin"], p["rec"].id)
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError):
            assignment.assign_lead(s, p["mgr"], lead.id, p["rec"].id, "回来了")


def test_assign_refuses_stale_version(sf, people):
    lead = _pool_lead(sf, people)
    with unit_of_work(sf) as s:
        leads.update_lead(s, people["mgr"], lead.id, {"notes": "先改一下"}, settings=SETTINGS)
    with unit_of_work(sf) as s:
        with pytest.raises(StaleEdit):
            assignment.assign_lead(s, people["mgr"], lead.id, people["rec"].id, expected_version=lead.version)


def test_claim_and_release(sf, people):
    p = people
    lead = _pool_lead(sf, p)
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            assignment.claim_lead(s, p["rec_e"], lead.id)  # other team's pool
    with unit_of_work(sf) as s:
        assert assignment.claim_lead(s, p["rec"], lead.id).owner_id == p["rec"].id
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            assignment.release_to_pool(s, p["rec2"], lead.id, "不是我的")
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="原因"):
            assignment.release_to_pool(s, p["rec"], lead.id, " ")
    with unit_of_work(sf) as s:
        assert assignment.release_to_pool(s, p["rec"], lead.id, "企业属地不在我负责片区").owner_id is None


def test_auto_assign_round_robin_skips_inactive(sf, people):
    p = people
    ids = [_pool_lead(sf, p, f"示例数据·自动{i}公司").id for i in range(4)]
    with unit_of_work(sf) as s:
        got = [u.id for _, u in assignment.auto_assign(s, p["mgr"], ids[:2], settings=SETTINGS)]
    assert got == [p["rec"].id, p["rec2"].id]
    with unit_of_work(sf) as s:
        user_svc.disable_user(s, p["admin"], p["rec"].id)
    with unit_of_work(sf) as s:
        got = [u.id for _, u in assignment.auto_assign(s, p["mgr"], ids[2:], settings=SETTINGS)]
    assert got == [p["rec2"].id, p["rec2"].id]
    with unit_of_work(sf) as s:
        msgs = inbox.list_messages(s, p["rec2"])
        assert len(msgs) == 3 and all("自动分派" in m.title for m in msgs)


def test_auto_assign_on_create_by_chain(sf, people):
    p = people
    settings = replace(CrmSettings(), auto_assign="chain")
    with unit_of_work(sf) as s:
        user_svc.update_user(s, SYSTEM, p["rec2"].id, focus_chains=["med-devices"])
    with unit_of_work(sf) as s:
        a = leads.create_lead(
            s, p["mgr"], {"company_name": "示例数据·器械甲", "chain_id": "med-devices"}, settings=settings
        )
        b = leads.create_lead(
            s, p["mgr"], {"company_name": "示例数据·器械乙", "chain_id": "med-devices"}, settings=settings
        )
        c = leads.create_lead(
            s, p["mgr"], {"company_name": "示例数据·药企丙", "chain_id": "biopharma"}, settings=settings
        )
        assert (a.owner_id, b.owner_id) == (p["rec2"].id, p["rec2"].id)
        assert c.owner_id in (p["rec"].id, p["rec2"].id)


def test_overdue_rules(sf, people):
    p = people
    settings = CrmSettings()
    now = utcnow()
    n, m = settings.first_contact_days, settings.follow_up_days
    past = now - timedelta(days=40)
    with unit_of_work(sf) as s:
        never = leads.create_lead(
            s, p["rec"], {"company_name": "示例数据·从未联系"}, now=past, settings=SETTINGS
        )
        fresh = leads.create_lead(
            s,
            p["rec"],
            {"company_name": "示例数据·刚登记"},
            now=now - timedelta(days=n - 1),
            settings=SETTINGS,
        )
        stale = leads.create_lead(
            s, p["rec2"], {"company_name": "示例数据·久未跟进"}, now=past, settings=SETTINGS
        )
        activities.add_activity(
            s,
            p["rec2"],
            stale.id,
            kind="拜访",
            occurred_on=(now - timedelta(days=m + 2)).date(),
            outcome="企业有意向",
            now=now,
            settings=SETTINGS,
        )
        kept = leads.create_lead(
            s, p["rec2"], {"company_name": "示例数据·持续跟进"}, now=past, settings=SETTINGS
        )
        activities.add_activity(
            s,
            p["rec2"],
            kept.id,
            kind="电话",
            occurred_on=(now - timedelta(days=m - 2)).date(),
            outcome="约定考察",
            now=now,
            settings=SETTINGS,
        )
        noted = leads.create_lead(
            s, p["rec"], {"company_name": "示例数据·只有备注"}, now=past, settings=SETTINGS
        )
        activities.add_activity(
            s, p["rec"], noted.id, kind="备注", outcome="内部记录", now=now, settings=SETTINGS
        )
        paused = leads.create_lead(
            s, p["rec"], {"company_name": "示例数据·已搁置"}, now=past, settings=SETTINGS
        )
        leads.transition(s, p["rec"], paused.id, "搁置", "企业暂缓", now=past, settings=SETTINGS)
        pool = leads.create_lead(s, p["mgr"], {"company_name": "示例数据·池中"}, now=past, settings=SETTINGS)
        elec = leads.create_lead(
            s, p["rec_e"], {"company_name": "示例数据·电子"}, now=past, settings=SETTINGS
        )
    with unit_of_work(sf) as s:
        items = overdue.overdue_leads(s, p["mgr"], settings=settings, now=now)
        got = {i.lead.id: i.reason for i in items}
        assert got == {
            never.id: overdue.FIRST_CONTACT,
            noted.id: overdue.FIRST_CONTACT,
            stale.id: overdue.FOLLOW_UP,
        }
        assert [i.due_at for i in items] == sorted(i.due_at for i in items)  # SQL order = rule
        assert overdue.count_overdue(s, p["mgr"], settings=settings, now=now) == 3
        flagged = worklist(s, p["mgr"], WorkFilter(scope="all", overdue_only=True), settings)
        assert {l.id for l in flagged.items} == {never.id, noted.id, stale.id}
        page2 = overdue.overdue_leads(s, p["mgr"], settings=settings, now=now, limit=2, offset=1)
        assert [i.lead.id for i in page2] == [i.lead.id for i in items[1:3]]
        first = next(i for i in items if i.lead.id == never.id)
        assert first.days_overdue == 40 - n
        assert {i.lead.id for i in overdue.overdue_leads(s, p["rec"], settings=settings, now=now)} == {
            never.id,
            noted.id,
        }
        assert {i.lead.id for i in overdue.overdue_leads(s, p["leader"], settings=settings, now=now)} == {
            never.id,
            noted.id,
            stale.id,
            elec.id,
        }
        groups = overdue.overdue_by_team(s, SYSTEM, settings=settings, now=now)
        assert [(g.team_name, len(g.items)) for g in groups] == [("医药健康招商组", 3), ("电子信息招商组", 1)]
        assert [u.username for u in groups[0].managers] == ["mgr"]
        assert not overdue.due_status(s.get(Lead, fresh.id), settings, now).overdue
        assert overdue.due_status(s.get(Lead, pool.id), settings, now).due_at is None
    # Resuming a paused lead restarts the clock; a contact clears a first-contact delay.
    with unit_of_work(sf) as s:
        leads.transition(s, p["rec"], paused.id, "线索", now=now, settings=SETTINGS)
        activities.add_activity(
            s, p["rec"], never.id, kind="电话", outcome="首次电话联系", now=now, settings=SETTINGS
        )
    with unit_of_work(sf) as s:
        ids = {i.lead.id for i in overdue.overdue_leads(s, p["mgr"], settings=settings, now=now)}
        assert ids == {noted.id, stale.id}
        later = now + timedelta(days=n + 1)
        ids = {i.lead.id for i in overdue.overdue_leads(s, p["mgr"], settings=settings, now=later)}
        assert paused.id in ids and never.id not in ids


def test_overdue_cli_lists_per_team(sf, people, engine, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from lianzhao.cli import main

    with unit_of_work(sf) as s:
        leads.create_lead(
            s,
            people["rec"],
            {"company_name": "示例数据·超期公司"},
            now=utcnow() - timedelta(days=30),
            settings=SETTINGS,
        )
    monkeypatch.setenv("LIANZHAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(main, ["leads", "overdue"])
    assert result.exit_code == 0, result.output
    assert "【医药健康招商组】招商经理：用户mgr" in result.output
    assert "示例数据·超期公司" in result.output and "首次接触超期" in result.output


def test_worklist_overdue_follows_the_time_asked_for_with_the_statement_reused(sf, people):
    """The ranked page statement is built once per shape and reused (issue 16): the overdue flags
    and the 只看超期 filter still follow the `now` of each call, and a change of the user's team
    (what visibility reads) is not served a statement built for the old one."""
    p = people
    start = utcnow() - timedelta(days=30)
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s, p["rec"], {"company_name": "示例数据·时钟公司"}, now=start, settings=SETTINGS
        )
    before = start + timedelta(days=SETTINGS.first_contact_days - 1)
    after = start + timedelta(days=SETTINGS.first_contact_days + 1)
    for when, late in ((before, False), (after, True), (before, False)):
        with unit_of_work(sf) as s:
            mine = worklist(s, p["rec"], WorkFilter(scope="mine"), SETTINGS, now=when)
            flagged = worklist(s, p["rec"], WorkFilter(scope="mine", overdue_only=True), SETTINGS, now=when)
            assert [r.overdue for r in mine.rows if r.lead.id == lead.id] == [late]
            assert (lead.id in {r.lead.id for r in flagged.rows}) is late
            assert flagged.total == len(flagged.rows)
    pool = _pool_lead(sf, p, "示例数据·本组池")
    with unit_of_work(sf) as s:
        seen = {r.lead.id for r in worklist(s, p["mgr"], WorkFilter(scope="pool"), SETTINGS).rows}
        assert pool.id in seen
    with unit_of_work(sf) as s:  # the manager moves to the other team: its pool, not the old one's
        s.execute(User.__table__.update().where(User.id == p["mgr"].id).values(team_id=p["mgr_e"].team_id))
    with unit_of_work(sf) as s:
        seen = {r.lead.id for r in worklist(s, p["mgr"], WorkFilter(scope="pool"), SETTINGS).rows}
        assert pool.id not in seen
