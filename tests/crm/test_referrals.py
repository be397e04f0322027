"""Referrers (引荐人) with the manager's confirmation, 首报首谈 filings with their action items,
a project counted once (same project, 增资扩产), lead merge and take-over requests (issue 13)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from crm.counting import amounts_for, count_and_total, counted_amount
from crm.db import unit_of_work
from crm.errors import PermissionDenied, ValidationError, WorkflowError
from crm.models import Activity, AuditLog, Comment, InboxMessage, Lead
from crm.models_referrals import LINK_INCREASE, LINK_MERGED, LINK_SAME, LeadProject
from crm.queries import dashboard, timeline
from crm.queries import referrals as ref_q
from crm.queries.worklist import WorkFilter, worklist
from crm.services import activities, filings, lead_merge, leads, projects, referrals, stage_claims, takeover
from crm.settings import CrmSettings

EARLY = datetime(2025, 1, 1)  # 首报首谈 protection of a lead registered then has run out


class NoChains:
    def sectors(self):
        return []

    def chains(self):
        return []


def _lead(sf, actor, settings, name="某储能公司", now=None, **extra):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s, actor, {"company_name": name, "sector_id": "medical", **extra}, settings=settings, now=now
        )
        return lead.id


def _open_items(sf, user, prefix):
    with unit_of_work(sf) as s:
        return s.scalars(
            select(InboxMessage.action_key).where(
                InboxMessage.user_id == user.id,
                InboxMessage.done_at.is_(None),
                InboxMessage.action_key.like(f"{prefix}%"),
            )
        ).all()


def _actions(sf, lead_id):
    with unit_of_work(sf) as s:
        return [
            a.action
            for a in s.scalars(
                select(AuditLog)
                .where(AuditLog.entity == "lead", AuditLog.entity_id == str(lead_id))
                .order_by(AuditLog.id)
            )
        ]


# ----------------------------------------------------------------------------- referrers


def test_referrer_is_pending_until_a_manager_of_the_team_confirms(sf, people, settings):
    lead_id = _lead(sf, people["rec"], settings)
    data = {
        "referrer_name": "王某",
        "referrer_kind": "person",
        "unit": "某商会",
        "relation": "企业董事长的同学",
    }
    with unit_of_work(sf) as s:
        ref = referrals.save_referral(s, people["rec"], lead_id, data)
        assert ref.status == "pending" and ref.status_label == "待确认"
    assert _open_items(sf, people["mgr"], "referral:") != []
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        referrals.decide(s, people["rec"], lead_id, True)
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        referrals.decide(s, people["mgr_e"], lead_id, True)
    with unit_of_work(sf) as s, pytest.raises(ValidationError, match="原因"):
        referrals.decide(s, people["mgr"], lead_id, False)
    with unit_of_work(sf) as s:
        ref = referrals.decide(s, people["mgr"], lead_id, True, now=datetime(2026, 12, 1, 8))
        assert (ref.status_label, ref.decided_by_id, ref.decided_at) == (
            "已确认",
            people["mgr"].id,
            datetime(2026, 12, 1, 8),
        )
    assert _open_items(sf, people["mgr"], "referral:") == []
    with unit_of_work(sf) as s, pytest.raises(WorkflowError):
        referrals.decide(s, people["mgr"], lead_id, False, "重复")
    # A changed referrer needs a new decision; an unchanged save keeps it.
    with unit_of_work(sf) as s:
        assert referrals.save_referral(s, people["rec"], lead_id, data).status == "confirmed"
        assert (
            referrals.save_referral(s, people["rec"], lead_id, {**data, "unit": "某协会"}).status == "pending"
        )
    assert _actions(sf, lead_id).count("referral") == 2 and "referral_decide" in _actions(sf, lead_id)


def test_referrer_needs_a_name_and_a_known_kind_and_an_editor(sf, people, settings):
    lead_id = _lead(sf, people["rec"], settings)
    with unit_of_work(sf) as s, pytest.raises(ValidationError):
        referrals.save_referral(s, people["rec"], lead_id, {"referrer_name": "", "referrer_kind": "person"})
    with unit_of_work(sf) as s, pytest.raises(ValidationError):
        referrals.save_referral(s, people["rec"], lead_id, {"referrer_name": "甲", "referrer_kind": "robot"})
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        referrals.save_referral(s, people["rec_e"], lead_id, {"referrer_name": "甲", "referrer_kind": "org"})


def test_referral_ledger_shows_confirmed_investment_only(sf, people, settings):
    from tests.crm.test_stage_claims import LOOP, SIGN

    lead_id = _lead(sf, people["mgr"], settings, investment=3000)
    with unit_of_work(sf) as s:
        referrals.save_referral(
            s, people["mgr"], lead_id, {"referrer_name": "某商会", "referrer_kind": "org"}
        )
        for stage in ("接洽", "在谈"):
            leads.transition(s, people["mgr"], lead_id, stage, settings=settings)
    with unit_of_work(sf) as s:
        (row,) = ref_q.referral_ledger(s, people["mgr"], settings)
        assert row.confirmed_investment is None  # not signed yet
    with unit_of_work(sf) as s:  # the manager's claim counts at once (may decide): agreed 5000
        stage_claims.move(s, people["mgr"], lead_id, "签约", facts=SIGN, settings=settings, loop=LOOP)
    with unit_of_work(sf) as s:
        (row,) = ref_q.referral_ledger(s, people["mgr"], settings)
        assert row.confirmed_investment == 5000 and not row.landed
        assert ref_q.referral_ledger(s, people["mgr_e"], settings) == []


# ----------------------------------------------------------------------------- filings


def test_a_project_over_the_threshold_is_an_action_item_until_filed(sf, people, settings):
    lead_id = _lead(sf, people["rec"], settings, investment=150000)
    small = _lead(sf, people["rec"], settings, name="某小公司", investment=5000)
    assert _open_items(sf, people["mgr"], "filing:") == [f"filing:{lead_id}:file"]
    with unit_of_work(sf) as s:
        rows = ref_q.filing_ledger(s, people["mgr"], settings)
        assert [(r.lead.id, r.status_label, r.missing) for r in rows] == [(lead_id, "未申报", True)]
        assert small not in [r.lead.id for r in rows]
    with unit_of_work(sf) as s, pytest.raises(ValidationError, match="申报日期"):
        filings.save_filing(s, people["rec"], lead_id, {"status": "filed"}, settings=settings)
    with unit_of_work(sf) as s, pytest.raises(ValidationError, match="争议日期、争议说明"):
        filings.save_filing(
            s, people["rec"], lead_id, {"status": "disputed", "filed_on": "2026-11-01"}, settings=settings
        )
    with unit_of_work(sf) as s:
        f = filings.save_filing(
            s,
            people["rec"],
            lead_id,
            {"status": "filed", "filed_on": "2026年11月2日", "note": "已报市投促中心"},
            settings=settings,
        )
        assert f.status_label == "已申报" and f.filed_on.isoformat() == "2026-11-02"
    assert _open_items(sf, people["mgr"], "filing:") == []
    with unit_of_work(sf) as s:
        (row,) = ref_q.filing_ledger(s, people["mgr"], settings)
        assert not row.missing and row.status_label == "已申报"
    assert "filing" in _actions(sf, lead_id)


def test_raising_the_investment_over_the_threshold_opens_the_item_once(sf, people, settings):
    lead_id = _lead(sf, people["rec"], settings, investment=5000)
    assert _open_items(sf, people["mgr"], "filing:") == []
    for amount in ("120000", "130000"):
        with unit_of_work(sf) as s:
            lead = s.get(Lead, lead_id)
            leads.update_lead(
                s,
                people["rec"],
                lead_id,
                {"investment": amount},
                expected_version=lead.version,
                settings=settings,
            )
    assert _open_items(sf, people["mgr"], "filing:") == [f"filing:{lead_id}:file"]
    lower = CrmSettings(filing_threshold_wan=200000)
    with unit_of_work(sf) as s:
        assert ref_q.filing_ledger(s, people["mgr"], lower) == []
        filings.sync_item(s, s.get(Lead, lead_id), lower)
    assert _open_items(sf, people["mgr"], "filing:") == []


# ----------------------------------------------------------------------------- counted once


def test_same_project_is_linked_and_counted_once_increase_counts_only_the_increase(sf, people, settings):
    first = _lead(sf, people["mgr"], settings, company_id="c-1", investment=50000, now=EARLY)
    second = _lead(sf, people["mgr"], settings, company_id="c-1", investment=50000, now=datetime(2025, 6, 1))
    with unit_of_work(sf) as s:
        projects.save_project(s, people["mgr"], first, project_name="储能电池项目（一期）")
        row = projects.save_project(
            s, people["mgr"], second, project_name=" 储能电池项目(一期) ", settings=settings
        )
        assert (row.link, row.parent_lead_id) == (LINK_SAME, first)
    with unit_of_work(sf) as s:
        board = dashboard.build(s, people["mgr"], settings, NoChains())
        assert dict(board.by_stage)["线索"] == 1
        assert count_and_total(s, Lead.company_id == "c-1") == (1, 50000.0)
    third = _lead(sf, people["mgr"], settings, company_id="c-1", investment=80000)
    with unit_of_work(sf) as s:
        row = projects.save_project(
            s, people["mgr"], third, project_name="二期扩产", parent_lead_id=first, link=LINK_INCREASE
        )
        assert row.link == LINK_INCREASE
        assert count_and_total(s, Lead.company_id == "c-1") == (2, 80000.0)  # 50000 + the 30000 increase
        assert amounts_for(s, [first, second, third]) == {
            first: (True, 50000.0),
            second: (False, 0.0),
            third: (True, 30000.0),
        }
    with unit_of_work(sf) as s, pytest.raises(ValidationError, match="同一企业"):
        other = leads.create_lead(
            s, people["mgr"], {"company_name": "别家公司", "company_id": "c-2"}, settings=settings
        )
        projects.save_project(s, people["mgr"], other.id, parent_lead_id=first, link=LINK_SAME)


def test_sql_and_python_forms_of_the_counting_rule_agree(sf, people, settings):
    cases = [
        (None, None, 100.0),
        (LINK_SAME, None, 100.0),
        (LINK_MERGED, None, 100.0),
        (LINK_INCREASE, 60.0, 100.0),
        (LINK_INCREASE, 160.0, 100.0),
        (None, None, None),
    ]
    for i, (link, own, parent_inv) in enumerate(cases):
        parent = _lead(
            sf, people["mgr"], settings, name=f"公司{i}", company_id=f"k{i}", investment=parent_inv, now=EARLY
        )
        child = _lead(sf, people["mgr"], settings, name=f"公司{i}", company_id=f"k{i}", investment=own)
        with unit_of_work(sf) as s:
            if link:
                s.add(LeadProject(lead_id=child, parent_lead_id=parent, link=link))
        with unit_of_work(sf) as s:
            n, total = count_and_total(s, Lead.id == child)
            counts, amount = amounts_for(s, [child])[child]
            assert (
                (n == 1, total)
                == (counts, amount)
                == (link not in (LINK_SAME, LINK_MERGED), counted_amount(own, link, parent_inv))
            )


# ----------------------------------------------------------------------------- merge


def _pair(sf, people, settings):
    old = _lead(sf, people["rec"], settings, company_id="c-9", now=EARLY)
    new = _lead(sf, people["rec2"], settings, company_id="c-9")
    with unit_of_work(sf) as s:
        activities.add_activity(
            s,
            people["rec2"],
            new,
            kind="拜访",
            occurred_on="2026-11-30",
            outcome="见了董事长",
            settings=settings,
        )
        activities.add_comment(s, people["leader"], new, "抓紧推进")
        referrals.save_referral(s, people["rec2"], new, {"referrer_name": "某协会", "referrer_kind": "org"})
    return old, new


def test_suspected_duplicates_and_merge_moves_everything_in_one_go(sf, people, settings):
    old, new = _pair(sf, people, settings)
    with unit_of_work(sf) as s:
        (group,) = lead_merge.suspected_duplicates(s, people["mgr"], settings)
        assert [lead.id for lead in group.leads] == [old, new]
        assert lead_merge.suspected_duplicates(s, people["mgr_e"], settings) == []
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        lead_merge.merge_leads(s, people["rec"], old, new, settings=settings)
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        lead_merge.merge_leads(s, people["admin"], old, new, settings=settings)
    with unit_of_work(sf) as s:
        result = lead_merge.merge_leads(s, people["mgr"], old, new, "重复登记", settings=settings)
        assert (
            result.moved["activities"] == 1
            and result.moved["comments"] == 1
            and result.moved["referrals"] == 1
        )
    with unit_of_work(sf) as s:
        assert s.scalar(select(func.count()).select_from(Activity).where(Activity.lead_id == old)) == 1
        assert s.scalar(select(func.count()).select_from(Comment).where(Comment.lead_id == old)) == 1
        assert (
            s.scalar(select(func.count()).select_from(InboxMessage).where(InboxMessage.lead_id == new)) == 0
        )
        assert s.get(Lead, new) is not None  # kept, not deleted
        assert lead_merge.merged_into(s, new) == old
        assert lead_merge.suspected_duplicates(s, people["mgr"], settings) == []
        page = worklist(s, people["mgr"], WorkFilter(scope="team"), settings)
        assert new not in [r.lead.id for r in page.rows]
        assert count_and_total(s, Lead.company_id == "c-9")[0] == 1
    assert "merge" in _actions(sf, old) and "merged_into" in _actions(sf, new)
    with unit_of_work(sf) as s, pytest.raises(WorkflowError, match="已合并"):
        lead_merge.merge_leads(s, people["mgr"], old, new, settings=settings)


def test_merge_refuses_other_firms_other_teams_and_pending_claims(sf, people, settings):
    from tests.crm.test_stage_claims import LOOP, SIGN

    old, new = _pair(sf, people, settings)
    other = _lead(sf, people["rec"], settings, name="别家公司", company_id="c-10")
    with unit_of_work(sf) as s, pytest.raises(ValidationError, match="同一企业"):
        lead_merge.merge_leads(s, people["mgr"], old, other, settings=settings)
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        lead_merge.merge_leads(s, people["mgr_e"], old, new, settings=settings)
    with unit_of_work(sf) as s:
        for stage in ("接洽", "在谈"):
            leads.transition(s, people["rec2"], new, stage, settings=settings)
        stage_claims.move(s, people["rec2"], new, "签约", facts=SIGN, settings=settings, loop=LOOP)
    with unit_of_work(sf) as s, pytest.raises(WorkflowError, match="待确认"):
        lead_merge.merge_leads(s, people["mgr"], old, new, settings=settings)


# ----------------------------------------------------------------------------- take-over


def test_take_over_request_is_an_action_item_that_closes_when_the_manager_decides(sf, people, settings):
    lead_id = _lead(sf, people["rec"], settings)
    with unit_of_work(sf) as s, pytest.raises(ValidationError):
        takeover.request_takeover(s, people["rec2"], lead_id, " ")
    with unit_of_work(sf) as s:
        req = takeover.request_takeover(s, people["rec2"], lead_id, "我于 11 月首次拜访该企业")
        req_id = req.id
    assert _open_items(sf, people["mgr"], "takeover:") == [f"takeover:{req_id}:decide"]
    with unit_of_work(sf) as s, pytest.raises(WorkflowError):
        takeover.request_takeover(s, people["rec2"], lead_id, "再次申请")
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        takeover.decide(s, people["mgr_e"], req_id, True)
    with unit_of_work(sf) as s:
        assert [r.id for r in takeover.pending_for(s, people["mgr"])] == [req_id]
        takeover.decide(s, people["mgr"], req_id, True)
    with unit_of_work(sf) as s:
        assert s.get(Lead, lead_id).owner_id == people["rec2"].id
        assert takeover.pending_for(s, people["mgr"]) == []
    assert _open_items(sf, people["mgr"], "takeover:") == []
    assert {"takeover_request", "takeover_decide", "assign"} <= set(_actions(sf, lead_id))


def test_refusing_a_take_over_needs_a_reason_and_keeps_the_owner(sf, people, settings):
    lead_id = _lead(sf, people["rec"], settings)
    with unit_of_work(sf) as s:
        req_id = takeover.request_takeover(s, people["rec2"], lead_id, "首报有争议").id
    with unit_of_work(sf) as s, pytest.raises(ValidationError):
        takeover.decide(s, people["mgr"], req_id, False)
    with unit_of_work(sf) as s:
        assert takeover.decide(s, people["mgr"], req_id, False, "原登记人一直在跟进").status_label == "未同意"
        assert s.get(Lead, lead_id).owner_id == people["rec"].id


# ----------------------------------------------------------------------------- timeline


def test_stage_claims_appear_in_the_timeline(sf, people, settings):
    from tests.crm.test_stage_claims import LOOP, SIGN

    lead_id = _lead(sf, people["rec"], settings)
    with unit_of_work(sf) as s:
        for stage in ("接洽", "在谈"):
            leads.transition(s, people["rec"], lead_id, stage, settings=settings)
        claim = stage_claims.move(
            s, people["rec"], lead_id, "签约", facts=SIGN, settings=settings, loop=LOOP
        ).claim
        stage_claims.return_claim(s, people["mgr"], claim.id, "协议编号有误", settings=settings, loop=LOOP)
    with unit_of_work(sf) as s:
        claims = stage_claims.claims_of(s, people["rec"], lead_id)
        events = timeline.merge(s, [], [], [], claims)
        assert [e.title for e in events if e.kind == "claim"] == ["退回「签约」申报", "申报进入「签约」"]


def test_merge_closes_the_merged_leads_action_items(sf, people, settings):
    old = _lead(sf, people["rec"], settings, company_id="c-11", now=EARLY)
    new = _lead(sf, people["rec2"], settings, company_id="c-11", investment=150000)
    with unit_of_work(sf) as s:
        referrals.save_referral(s, people["rec"], old, {"referrer_name": "甲", "referrer_kind": "person"})
        referrals.save_referral(s, people["rec2"], new, {"referrer_name": "乙", "referrer_kind": "person"})
    assert f"filing:{new}:file" in _open_items(sf, people["mgr"], "filing:")
    assert len(_open_items(sf, people["mgr"], "referral:")) == 2
    with unit_of_work(sf) as s:
        result = lead_merge.merge_leads(s, people["mgr"], old, new, settings=settings)
        assert "referrals" not in result.moved  # the survivor keeps its own referrer
    assert _open_items(sf, people["mgr"], "filing:") == []
    assert len(_open_items(sf, people["mgr"], "referral:")) == 1
