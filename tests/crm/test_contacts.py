"""Contacts through the services: validation with Chinese errors, who may see and change them,
masking by role, the audited full view, and contacts shared by a company's leads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.db import unit_of_work
from crm.errors import PermissionDenied, StaleEdit, ValidationError
from crm.masking import ContactPolicy
from crm.models import AuditLog
from crm.queries import contacts as cq
from crm.services import contacts, leads
from crm.settings import CrmSettings

SETTINGS = CrmSettings()
POLICY = ContactPolicy()  # managers see in full; recruiters and leaders reveal, audited
WANG = {"name": "王总", "title": "总经理", "mobile": "138 1234 5678", "landline": "010-81234567",
        "email": "wang@example.com", "wechat": "wang_zong88", "notes": "周二上午在厂"}  # fmt: skip


def _lead(s, actor, name="甲医疗器械", company_id="c-med-1", sector="medical"):
    return leads.create_lead(
        s, actor, {"company_name": name, "company_id": company_id, "sector_id": sector}, settings=SETTINGS
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mobile", "1381234567", "手机号码应为 11 位数字"),
        ("mobile", "12812345678", "以 13 至 19 开头"),
        ("landline", "81234567", "区号"),
        ("email", "wang@", "邮箱格式不正确"),
        ("wechat", "1abc", "微信号应为"),
        ("name", " ", "请填写联系人姓名"),
    ],
)
def test_validation_in_chinese(sf, people, field, value, message):
    with unit_of_work(sf) as s:
        lead = _lead(s, people["rec"])
        with pytest.raises(ValidationError, match=message):
            contacts.add_contact(s, people["rec"], {**WANG, field: value}, lead_id=lead.id)


def test_normalised_and_shared_by_the_company_leads(sf, people):
    with unit_of_work(sf) as s:
        first = _lead(s, people["rec"])
        c = contacts.add_contact(
            s, people["rec"], {**WANG, "mobile": "+86 138-1234-5678", "landline": "0316 1234567转801"},
            lead_id=first.id,
        )  # fmt: skip
        assert (c.mobile, c.landline, c.company_id, c.lead_id) == ("13812345678", "0316-1234567转801",
                                                                   "c-med-1", None)  # fmt: skip
    with unit_of_work(sf) as s:
        # the manager sees the company's contacts in full, from the company as from the lead
        shown = cq.company_contacts(s, people["mgr"], "c-med-1", POLICY)
        assert shown.full and shown.items[0].mobile == "13812345678"
        assert cq.lead_contacts(s, people["mgr"], first.id, POLICY).items[0].id == c.id


def test_lead_without_graph_company_keeps_its_own(sf, people):
    with unit_of_work(sf) as s:
        lead = leads.create_lead(s, people["rec"], {"company_name": "手工登记公司", "sector_id": "medical"},
                                 settings=SETTINGS)  # fmt: skip
        c = contacts.add_contact(s, people["rec"], {"name": "李工", "mobile": "13912345678"}, lead_id=lead.id)
        assert c.company_id is None and c.lead_id == lead.id
        assert [x.name for x in cq.lead_contacts(s, people["rec"], lead.id, POLICY).items] == ["李工"]


def test_masked_for_recruiters_and_leaders_full_for_managers(sf, people):
    with unit_of_work(sf) as s:
        lead = _lead(s, people["rec"])
        contacts.add_contact(s, people["rec"], WANG, lead_id=lead.id)
    with unit_of_work(sf) as s:
        for who in ("rec", "leader"):
            listing = cq.lead_contacts(s, people[who], lead.id, POLICY)
            item = listing.items[0]
            assert not listing.full and listing.may_reveal
            assert (item.mobile, item.email) == ("138****5678", "w***@example.com")
            assert "81234567" not in item.landline and item.wechat != "wang_zong88"
        assert cq.lead_contacts(s, people["mgr"], lead.id, POLICY).items[0].wechat == "wang_zong88"
        by_company = cq.contacts_by_company(s, people["rec"], ["c-med-1", "unknown"], POLICY)
        assert by_company["c-med-1"][0].mobile == "138****5678" and "unknown" not in by_company


def test_reveal_is_audited_or_refused(sf, people):
    with unit_of_work(sf) as s:
        lead = _lead(s, people["rec"])
        c = contacts.add_contact(s, people["rec"], WANG, lead_id=lead.id)
    with unit_of_work(sf) as s:
        full = contacts.reveal_contact(s, people["rec"], c.id, POLICY, ip="10.0.0.7")
        assert full.mobile == "13812345678"
    with unit_of_work(sf) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "reveal")).one()
        assert (entry.actor_id, entry.entity, entry.entity_id, entry.ip) == (people["rec"].id, "contact",
                                                                             str(c.id), "10.0.0.7")  # fmt: skip
        assert "13812345678" not in str(entry.after)
        # no audit entry holds the full number: the log is not a second copy of the details
        assert all("13812345678" not in f"{e.before}{e.after}" for e in s.scalars(select(AuditLog)))
    strict = ContactPolicy(full_view_roles=("manager",), reveal_roles=("recruiter",))
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied, match="完整信息"):
        contacts.reveal_contact(s, people["leader"], c.id, strict)


def test_who_may_see_and_change(sf, people):
    with unit_of_work(sf) as s:
        lead = _lead(s, people["rec"])
        c = contacts.add_contact(s, people["rec"], WANG, lead_id=lead.id)
    with unit_of_work(sf) as s:
        # another team's recruiter reads no lead on the company: refused, for lists and reveal
        with pytest.raises(PermissionDenied):
            cq.company_contacts(s, people["rec_e"], "c-med-1", POLICY)
        with pytest.raises(PermissionDenied):
            contacts.reveal_contact(s, people["rec_e"], c.id, POLICY)
        assert cq.contacts_by_company(s, people["rec_e"], ["c-med-1"], POLICY) == {}
        with pytest.raises(PermissionDenied):
            contacts.update_contact(s, people["rec_e"], c.id, {"title": "董事长"})
        # leaders read but do not change; the administrator sees nothing (三权分立)
        with pytest.raises(PermissionDenied):
            contacts.delete_contact(s, people["leader"], c.id)
        with pytest.raises(PermissionDenied):
            cq.company_contacts(s, people["admin"], "c-med-1", POLICY)
        # another team's manager keeps the shared records
        contacts.update_contact(s, people["mgr_e"], c.id, {"title": "董事长"})


def test_update_stale_and_delete(sf, people):
    with unit_of_work(sf) as s:
        lead = _lead(s, people["rec"])
        c = contacts.add_contact(s, people["rec"], WANG, lead_id=lead.id)
        version = c.version
    with unit_of_work(sf) as s:
        contacts.update_contact(s, people["rec"], c.id, {"mobile": "13900001111"}, expected_version=version)
    with unit_of_work(sf) as s, pytest.raises(StaleEdit):
        contacts.update_contact(s, people["rec"], c.id, {"title": "x"}, expected_version=version)
    with unit_of_work(sf) as s:
        contacts.delete_contact(s, people["rec"], c.id)
    with unit_of_work(sf) as s:
        assert cq.company_contacts(s, people["mgr"], "c-med-1", POLICY).items == []
        actions = [e.action for e in s.scalars(select(AuditLog).where(AuditLog.entity == "contact"))]
        assert actions == ["create", "update", "delete"]


def test_page_rule_and_list_rule_agree(sf, people):
    """The Python form (scope_for_company, one company) and the SQL form (contacts_by_company,
    many) pick the same companies for every user, pool leads and other teams included."""
    with unit_of_work(sf) as s:
        _lead(s, people["rec"], "甲", "c-own")
        leads.create_lead(s, people["mgr"], {"company_name": "乙", "company_id": "c-pool", "sector_id": "medical"},
                          settings=SETTINGS)  # fmt: skip
        _lead(s, people["rec_e"], "丙", "c-elec", sector="electronics")
        for cid in ("c-own", "c-pool", "c-elec", "c-none"):
            contacts.add_contact(s, people["mgr"], {"name": f"联系人{cid}"}, company_id=cid, company_name=cid)
    ids = ["c-own", "c-pool", "c-elec", "c-none"]
    with unit_of_work(sf) as s:
        for key, user in people.items():
            listed = set(cq.contacts_by_company(s, user, ids, POLICY))
            one_by_one = set()
            for cid in ids:
                try:
                    cq.company_contacts(s, user, cid, POLICY)
                    one_by_one.add(cid)
                except PermissionDenied:
                    pass
            assert listed == one_by_one, key
            shown = {v.company_id for v in cq.readable_contacts(s, user, POLICY)}
            assert shown == one_by_one, key
