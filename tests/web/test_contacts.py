"""Contacts on the lead and company pages: masked by role, the audited full view, CSRF on every
form, 403 for another team's lead, and the same masking in the exports and the JSON API."""

from __future__ import annotations

from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import AuditLog, Lead
from crm.models_contacts import Contact

from .conftest import post

WANG = {"name": "王总", "title": "总经理", "mobile": "13812345678", "landline": "010-81234567",
        "email": "wang@example.com", "wechat": "wang_zong88"}  # fmt: skip


def _link_company(env, lead_id, company_id="O1"):
    with unit_of_work(env.session_factory) as s:
        s.get(Lead, lead_id).company_id = company_id


def _add(client, lead_id, **extra):
    return post(client, "/contacts/", {**WANG, "lead_id": lead_id, **extra})


def test_recruiter_adds_and_sees_masked_values(env, leads, auth):
    _link_company(env, leads.own)
    client = auth.login("zhuanyuan")
    resp = _add(client, leads.own)
    assert resp.status_code == 302
    page = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert 'data-testid="contacts-panel"' in page and "王总" in page
    assert "138****5678" in page and "13812345678" not in page
    assert "w***@example.com" in page and "wang@example.com" not in page
    assert "查看完整信息" in page
    # the company page shows the same contact (shared by the company's leads)
    company = client.get("/companies/O1").get_data(as_text=True)
    assert "王总" in company and "138****5678" in company and "13812345678" not in company


def test_validation_errors_are_shown_in_chinese(env, leads, auth):
    client = auth.login("zhuanyuan")
    resp = _add(client, leads.own, mobile="1234")
    assert resp.status_code == 302
    page = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "手机号码应为 11 位数字" in page
    with unit_of_work(env.session_factory) as s:
        assert s.scalars(select(Contact)).all() == []


def test_manager_sees_full_values(env, leads, auth, as_user):
    _link_company(env, leads.own)
    _add(as_user("zhuanyuan"), leads.own)
    page = auth.login("jingli").get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "13812345678" in page and "wang@example.com" in page and "查看完整信息" not in page


def test_reveal_is_audited(env, leads, auth):
    _link_company(env, leads.own)
    client = auth.login("zhuanyuan")
    _add(client, leads.own)
    with unit_of_work(env.session_factory) as s:
        cid = s.scalars(select(Contact.id)).one()
    resp = post(client, f"/contacts/{cid}/reveal", {"next": f"/leads/{leads.own}"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "13812345678" in body and "wang@example.com" in body
    assert resp.headers["Cache-Control"] == "no-store"
    with unit_of_work(env.session_factory) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "reveal")).one()
        assert entry.entity == "contact" and entry.entity_id == str(cid) and entry.actor_name == "zhuanyuan"


def test_forms_need_csrf(env, leads, auth):
    client = auth.login("zhuanyuan")
    resp = client.post("/contacts/", data={**WANG, "lead_id": leads.own})
    assert resp.status_code in (400, 403)
    with unit_of_work(env.session_factory) as s:
        assert s.scalars(select(Contact)).all() == []


def test_other_team_is_refused(env, leads, auth, as_user):
    _link_company(env, leads.own)
    _add(as_user("zhuanyuan"), leads.own)
    with unit_of_work(env.session_factory) as s:
        cid = s.scalars(select(Contact.id)).one()
    client = auth.login("zhuanyuan2")  # medical recruiter: reads no lead on O1
    assert client.get(f"/leads/{leads.own}").status_code == 403
    assert post(client, f"/contacts/{cid}/reveal").status_code == 403
    assert post(client, f"/contacts/{cid}", {"title": "董事长"}).status_code == 403
    assert post(client, f"/contacts/{cid}/delete").status_code == 403
    assert _add(client, leads.own).status_code == 403
    company = client.get("/companies/O1").get_data(as_text=True)
    assert "contacts-panel" not in company and "王总" not in company


def test_edit_on_a_masked_form_keeps_hidden_values(env, leads, auth):
    client = auth.login("zhuanyuan")
    _add(client, leads.own)  # the lead has no graph company: the contact is the lead's own
    with unit_of_work(env.session_factory) as s:
        c = s.scalars(select(Contact)).one()
        assert c.lead_id == leads.own and c.company_id is None
        cid, version = c.id, c.version
    resp = post(client, f"/contacts/{cid}", {"name": "王总", "title": "董事长", "mobile": "", "email": "",
                                             "masked": "1", "version": version})  # fmt: skip
    assert resp.status_code == 302
    with unit_of_work(env.session_factory) as s:
        c = s.get(Contact, cid)
        assert (c.title, c.mobile, c.email) == ("董事长", "13812345678", "wang@example.com")
    assert post(client, f"/contacts/{cid}/delete").status_code == 302
    with unit_of_work(env.session_factory) as s:
        assert s.get(Contact, cid) is None
