"""Stage claims: facts required, pending until a confirmer confirms, returned with a reason,
landed firms written to the graph, inbox items closed for everyone, sector team ownership."""

from __future__ import annotations

import pytest

from crm.db import unit_of_work
from crm.errors import PermissionDenied, ValidationError, WorkflowError
from crm.loop_settings import LoopSettings
from crm.models import InboxMessage, Lead
from crm.queries.dashboard import milestone_stages
from crm.services import leads, stage_claims
from crm.services.stage_claims import EvidenceMissing
from graph.model import Company

LOOP = LoopSettings.from_config({}, ("线索", "接洽", "在谈", "签约", "落地", "投产"))
SIGN = {"signed_on": "2027年3月1日", "agreed_investment": "5000", "agreement_no": "TZ-1"}


class FakeStore:
    def __init__(self, *companies):
        self.firms = {c.id: c for c in companies}

    def company(self, cid):
        return self.firms.get(cid)

    def match_companies(self, usccs, names):
        return {}

    def upsert_companies(self, companies):
        for c in companies:
            self.firms[c.id] = c
        return len(companies)


def _lead_at_talks(sf, people, settings, **extra):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s,
            people["rec"],
            {"company_name": "某电驱公司", "sector_id": "medical", "node_id": "n1", **extra},
            settings=settings,
        )
        for stage in ("接洽", "在谈"):
            leads.transition(s, people["rec"], lead.id, stage, settings=settings)
        return lead.id


def _move(sf, actor, lead_id, target, settings, **kw):
    with unit_of_work(sf) as s:
        return stage_claims.move(s, actor, lead_id, target, settings=settings, loop=LOOP, **kw)


def test_claim_needs_facts_then_is_pending_until_the_manager_confirms(sf, people, settings):
    lead_id = _lead_at_talks(sf, people, settings)
    with pytest.raises(EvidenceMissing) as info:
        _move(sf, people["rec"], lead_id, "签约", settings)
    assert info.value.missing == ["签约日期", "协议投资额（万元）", "协议编号，或协议文件"]
    with pytest.raises(ValidationError, match="签约日期格式不正确"):
        _move(sf, people["rec"], lead_id, "签约", settings, facts={**SIGN, "signed_on": "明年"})
    result = _move(sf, people["rec"], lead_id, "签约", settings, facts=SIGN)
    assert result.pending and result.claim.facts["signed_on"] == "2027-03-01"
    claim_id = result.claim.id
    with unit_of_work(sf) as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, lead.pending_stage) == ("在谈", "签约")
        with pytest.raises(WorkflowError, match="待确认"):
            leads.transition(s, people["rec"], lead_id, "搁置", "等待", settings=settings)
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        stage_claims.confirm(s, people["mgr_e"], claim_id, settings=settings, loop=LOOP)  # other team
    with unit_of_work(sf) as s:
        stage_claims.confirm(s, people["mgr"], claim_id, settings=settings, loop=LOOP)
    with unit_of_work(sf) as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, lead.pending_stage, lead.investment) == ("签约", None, 5000)
        assert (
            not s.query(InboxMessage).filter_by(action_key=f"claim:{claim_id}:decide", done_at=None).count()
        )


def test_a_return_needs_a_reason_and_leaves_the_stage(sf, people, settings):
    lead_id = _lead_at_talks(sf, people, settings)
    claim_id = _move(sf, people["rec"], lead_id, "签约", settings, facts=SIGN).claim.id
    with unit_of_work(sf) as s, pytest.raises(ValidationError):
        stage_claims.return_claim(s, people["mgr"], claim_id, " ", settings=settings, loop=LOOP)
    with unit_of_work(sf) as s:
        stage_claims.return_claim(s, people["mgr"], claim_id, "协议未盖章", settings=settings, loop=LOOP)
    with unit_of_work(sf) as s:
        assert s.get(Lead, lead_id).stage == "在谈"
        returned = stage_claims.returned_for(s, people["rec"])
        assert [c.decision_reason for c in returned] == ["协议未盖章"]


def test_a_managers_own_claim_counts_at_once_and_landing_marks_the_firm_local(sf, people, settings):
    store = FakeStore(Company(id="c1", name="某电驱公司", province="江苏省"))
    lead_id = _lead_at_talks(sf, people, settings, company_id="c1")
    _move(sf, people["mgr"], lead_id, "签约", settings, facts=SIGN)
    facts = {
        "entity_name": "某电驱（北京）",
        "registered_on": "2027-05-01",
        "registered_capital": "800",
        "space": "3号厂房",
    }
    result = _move(
        sf,
        people["mgr"],
        lead_id,
        "落地",
        settings,
        facts=facts,
        graph=store,
        district={"district": "通州区"},
    )
    assert not result.pending and result.lead.stage == "落地"
    firm = store.firms["c1"]
    assert firm.is_local and firm.district == "通州区" and firm.node_ids == ("n1",)
    assert "落地" in milestone_stages(settings)[1]


def test_a_lead_belongs_to_its_sectors_team_whoever_registers_it(sf, people, settings):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s, people["rec"], {"company_name": "储能跨组企业", "sector_id": "electronics"}, settings=settings
        )
        assert lead.team_id == people["mgr_e"].team_id and lead.owner_id == people["rec"].id
        told = s.query(InboxMessage).filter_by(user_id=people["mgr_e"].id, kind="sector_lead").count()
        assert told == 1
