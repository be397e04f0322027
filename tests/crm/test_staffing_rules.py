"""Business rules made explicit (issue 17, item 6): who may be a lead's 项目服务专员, and whose
sector a manager's 名录 may cover. Enforced in the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from crm.db import unit_of_work
from crm.errors import PermissionDenied, ValidationError
from crm.services import leads, target_lists, users
from crm.settings import CrmSettings

S = CrmSettings()


def _lead(sf, actor):
    with unit_of_work(sf) as s:
        return leads.create_lead(
            s, actor, {"company_name": "示例数据·服务专员测试", "sector_id": "medical"}, settings=S
        ).id


@pytest.mark.parametrize("who", ["admin", "leader", "rec_e", "mgr_e"])
def test_case_officer_must_be_of_the_leads_team(sf, people, who):
    lead_id = _lead(sf, people["rec"])
    with pytest.raises(ValidationError, match="项目服务专员须为本线索所属产业组"):
        with unit_of_work(sf) as s:
            leads.update_lead(s, people["rec"], lead_id, {"case_officer_user_id": people[who].id}, settings=S)


def test_case_officer_of_the_team_is_accepted_and_a_disabled_one_refused(sf, people):
    lead_id = _lead(sf, people["rec"])
    with unit_of_work(sf) as s:
        leads.update_lead(s, people["rec"], lead_id, {"case_officer_user_id": people["rec2"].id}, settings=S)
    with unit_of_work(sf) as s:
        leads.update_lead(s, people["mgr"], lead_id, {"case_officer_user_id": people["mgr"].id}, settings=S)
    with unit_of_work(sf) as s:
        users.disable_user(s, people["admin"], people["rec2"].id)
    with pytest.raises(ValidationError):
        with unit_of_work(sf) as s:
            leads.update_lead(
                s, people["rec"], lead_id, {"case_officer_user_id": people["rec2"].id}, settings=S
            )


def test_case_officer_checked_on_creation_too(sf, people):
    with pytest.raises(ValidationError):
        with unit_of_work(sf) as s:
            leads.create_lead(
                s,
                people["rec"],
                {"company_name": "示例数据·新建", "case_officer_user_id": people["admin"].id},
                settings=S,
            )


def test_manager_creates_lists_only_for_the_own_teams_sector(sf, people):
    with pytest.raises(PermissionDenied, match="本产业组"):
        with unit_of_work(sf) as s:
            target_lists.create_draft(s, people["mgr"], sector_id="electronics")
    with unit_of_work(sf) as s:
        assert target_lists.create_draft(s, people["mgr"], sector_id="medical").id
