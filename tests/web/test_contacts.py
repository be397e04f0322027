"""Contacts on the lead and company pages: masked by role, the audited full view, CSRF on every
form, 403 for another team's lead, and the same masking in the exports and the JSON API."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import AuditLog, Lead
from crm.models_contacts import Contact
from crm.services import activities, target_lists
from crm.services.api_tokens import create_token
from crm.services.users import get_by_username

from .conftest import SETTINGS, post

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


def _token(env, username):
    with unit_of_work(env.session_factory) as s:
        user = get_by_username(s, username)
        return create_token(s, user, name="测试", scopes=["read"], days=30, max_days=365, max_tokens=10).plain


def _with_contact(env, leads, as_user, next_step="回电王总 13812345678"):
    _link_company(env, leads.own)
    _add(as_user("zhuanyuan"), leads.own)
    with unit_of_work(env.session_factory) as s:
        activities.add_activity(
            s, get_by_username(s, "zhuanyuan"), leads.own, kind="电话", outcome="联系王总 wang@example.com",
            next_step=next_step, settings=SETTINGS,
        )  # fmt: skip


def test_json_api_masks_by_role(env, leads, as_user, app):
    _with_contact(env, leads, as_user)
    api = app.test_client(use_cookies=False)
    rec = {"Authorization": f"Bearer {_token(env, 'zhuanyuan')}"}
    item = api.get(f"/api/v1/leads/{leads.own}/contacts", headers=rec).json["items"][0]
    assert (item["name"], item["mobile"], item["full"]) == ("王总", "138****5678", False)
    assert (
        api.get("/api/v1/companies/O1/contacts", headers=rec).json["items"][0]["email"] == "w***@example.com"
    )
    mgr = {"Authorization": f"Bearer {_token(env, 'jingli')}"}
    assert (
        api.get(f"/api/v1/leads/{leads.own}/contacts", headers=mgr).json["items"][0]["mobile"]
        == "13812345678"
    )
    other = {"Authorization": f"Bearer {_token(env, 'zhuanyuan2')}"}
    assert api.get(f"/api/v1/leads/{leads.own}/contacts", headers=other).status_code == 403
    assert api.get("/api/v1/companies/O1/contacts", headers=other).status_code == 403


def _zip_files(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist()}


def test_full_export_masks_contacts_and_activity_texts(env, leads, as_user, app):
    _with_contact(env, leads, as_user)
    api = app.test_client(use_cookies=False)
    rec = _zip_files(
        api.get("/api/v1/export.zip", headers={"Authorization": f"Bearer {_token(env, 'zhuanyuan')}"}).data
    )
    assert "contacts.csv" in json.loads(rec["schema.json"])["files"]
    assert "138****5678" in rec["contacts.csv"] and "13812345678" not in rec["contacts.csv"]
    assert "13812345678" not in rec["activities.csv"] and "wang@example.com" not in rec["activities.csv"]
    mgr = _zip_files(
        api.get("/api/v1/export.zip", headers={"Authorization": f"Bearer {_token(env, 'jingli')}"}).data
    )
    assert "13812345678" in mgr["contacts.csv"] and "13812345678" in mgr["activities.csv"]


def test_target_list_export_has_masked_contacts(env, leads, as_user):
    _link_company(env, leads.own)
    _add(as_user("zhuanyuan"), leads.own)
    with unit_of_work(env.session_factory) as s:
        mgr = get_by_username(s, "jingli")
        tl = target_lists.create_draft(s, mgr, sector_id="nev", chain_id="nev_drive", title="测试名录")
        target_lists.add_rows(
            s,
            mgr,
            tl.id,
            [{"company_id": "O1", "company_name": "外地企业", "node_id": "nev_drive.controller"}],
        )
        list_id = tl.id
    with unit_of_work(env.session_factory) as s:
        target_lists.submit(s, get_by_username(s, "jingli"), list_id)
    for who, expected, hidden in (
        ("lingdao", "138****5678", "13812345678"),  # leaders: masked by default
        ("jingli", "13812345678", None),
    ):
        resp = as_user(who).get(f"/targets/lists/{list_id}/export.xlsx")
        assert resp.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(resp.data)).active
        cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        assert "联系人" in cells and "联系电话" in cells and expected in cells
        assert hidden is None or hidden not in cells
