"""附件 on the lead page: CSRF, uploads by content type, download headers, another team's
recruiter refused by URL, the zip, and the agreement file of a 签约 claim."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import quote

from crm.db import unit_of_work
from crm.models import AuditLog
from crm.models_loop import Attachment, StageClaim
from crm.services import leads as lead_svc
from crm.services.api_tokens import create_token
from crm.services.users import get_by_username

from .conftest import SETTINGS

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200


def _upload(client, lead_id, files, **form):
    data = {"csrf_token": client.token, **form, "files": [(io.BytesIO(b), n) for n, b in files]}
    return client.post(f"/leads/{lead_id}/attachments", data=data, content_type="multipart/form-data")


def _rows(env):
    with unit_of_work(env.session_factory) as s:
        return [(a.id, a.filename, a.stored_name) for a in s.query(Attachment).order_by(Attachment.id)]


def test_upload_needs_the_csrf_token(as_user, leads, env):
    rec = as_user("zhuanyuan")
    r = rec.post(
        f"/leads/{leads.own}/attachments",
        data={"files": (io.BytesIO(PDF), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert _rows(env) == []


def test_upload_list_and_download_with_safe_headers(as_user, leads, env):
    rec = as_user("zhuanyuan")
    r = _upload(rec, leads.own, [("投资协议（盖章版）.pdf", PDF), ("纪要.pdf", PDF)], note="双方盖章")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/leads/{leads.own}#attachments")
    page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "已上传 2 个附件" in page and "投资协议（盖章版）.pdf" in page and "PDF 文档" in page
    assert 'data-testid="attachments-zip"' in page and "张专员" in page
    (att_id, name, stored), _ = _rows(env)
    assert name == "投资协议（盖章版）.pdf" and stored not in page  # the stored name is never shown
    r = rec.get(f"/leads/{leads.own}/attachments/{att_id}/download")
    assert r.status_code == 200 and r.data == PDF
    cd = r.headers["Content-Disposition"]
    assert cd.startswith("attachment;") and f"filename*=UTF-8''{quote(name, safe='')}" in cd
    assert f'filename="attachment-{att_id}.pdf"' in cd
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store" and "sandbox" in r.headers["Content-Security-Policy"]
    assert r.headers["Content-Type"] == "application/pdf"
    with unit_of_work(env.session_factory) as s:
        entries = s.query(AuditLog).filter_by(entity="lead", entity_id=str(leads.own)).order_by(AuditLog.id)
        assert [e.action for e in entries if e.action in ("upload", "download")] == [
            "upload",
            "upload",
            "download",
        ]


def test_another_teams_recruiter_is_refused_by_url(as_user, leads, env):
    rec = as_user("zhuanyuan")
    _upload(rec, leads.own, [("协议.pdf", PDF)])
    ((att_id, _n, _s),) = _rows(env)
    other = as_user("zhuanyuan2")  # medical team
    assert other.get(f"/leads/{leads.own}/attachments/{att_id}/download").status_code == 403
    assert other.get(f"/leads/{leads.own}/attachments.zip").status_code == 403
    assert _upload(other, leads.own, [("x.pdf", PDF)]).status_code == 403
    r = other.post(f"/leads/{leads.own}/attachments/{att_id}/delete", data={"csrf_token": other.token})
    assert r.status_code == 403
    # the other recruiter's own lead does not open this file either
    assert other.get(f"/leads/{leads.other}/attachments/{att_id}/download").status_code == 404
    assert len(_rows(env)) == 1
    with unit_of_work(env.session_factory) as s:
        assert not s.query(AuditLog).filter_by(action="download").count()


def test_disguised_and_unknown_types_are_refused_with_nothing_stored(as_user, leads, env):
    rec = as_user("zhuanyuan")
    r = _upload(rec, leads.own, [("好的.pdf", PDF), ("合同.pdf", EXE)])
    assert r.status_code == 302
    page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "附件未上传" in page and "可执行程序" in page
    r = _upload(rec, leads.own, [("page.pdf", b"<html><script>alert(1)</script></html>")])
    page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "内容是文本文件，不在允许的类型内" in page  # HTML is text: not accepted by default
    r = _upload(rec, leads.own, [("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>')])
    assert _rows(env) == []  # one refused file refuses the whole upload
    folder = env.folder / "attachments"
    assert not folder.exists() or not any(folder.iterdir())


def test_zip_download_and_delete(as_user, leads, env):
    rec = as_user("zhuanyuan")
    _upload(rec, leads.own, [("协议.pdf", PDF), ("协议.pdf", PDF)])
    r = rec.get(f"/leads/{leads.own}/attachments.zip")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert r.headers["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        assert zf.namelist() == ["协议.pdf", "协议 (2).pdf", "附件清单.csv"]
    first, second = (row[0] for row in _rows(env))
    r = rec.post(f"/leads/{leads.own}/attachments/{first}/delete", data={"csrf_token": rec.token})
    assert r.status_code == 302
    assert rec.get(f"/leads/{leads.own}/attachments/{first}/download").status_code == 404
    mgr = as_user("jingli")  # the team's manager may delete a recruiter's file
    r = mgr.post(f"/leads/{leads.own}/attachments/{second}/delete", data={"csrf_token": mgr.token})
    assert r.status_code == 302
    assert 'data-testid="attachments-empty"' in rec.get(f"/leads/{leads.own}").get_data(as_text=True)


def test_leader_reads_and_downloads_but_uploads_nothing(as_user, leads, env):
    rec = as_user("zhuanyuan")
    _upload(rec, leads.own, [("协议.pdf", PDF)])
    ((att_id, _n, _s),) = _rows(env)
    leader = as_user("lingdao")
    page = leader.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "协议.pdf" in page and 'data-testid="attachment-form"' not in page
    assert 'data-testid="attachment-delete"' not in page
    assert leader.get(f"/leads/{leads.own}/attachments/{att_id}/download").status_code == 200
    assert _upload(leader, leads.own, [("x.pdf", PDF)]).status_code == 403


def test_signing_claim_takes_the_agreement_file_from_the_form(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        rec_user = get_by_username(s, "zhuanyuan")
        for stage in ("接洽", "在谈"):
            lead = lead_svc.transition(s, rec_user, leads.own, stage, settings=SETTINGS)
        version = lead.version
    rec = as_user("zhuanyuan")
    page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert 'data-testid="claim-file-input"' in page and 'enctype="multipart/form-data"' in page
    data = {
        "csrf_token": rec.token,
        "target": "签约",
        "version": str(version),
        "signed_on": "2027-03-01",
        "agreed_investment": "5000",
        "claim_files": (io.BytesIO(PDF), "投资协议.pdf"),
    }
    r = rec.post(f"/leads/{leads.own}/stage", data=data, content_type="multipart/form-data")
    assert r.status_code == 302
    with unit_of_work(env.session_factory) as s:
        claim = s.query(StageClaim).one()
        att = s.query(Attachment).one()
        assert claim.status == "pending" and claim.facts["agreement_file"] == [att.id]
        assert att.claim_id == claim.id and att.filename == "投资协议.pdf"
    page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "「签约」阶段申报（待确认）" in page


def test_a_refused_claim_keeps_no_uploaded_file(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        rec_user = get_by_username(s, "zhuanyuan")
        for stage in ("接洽", "在谈"):
            lead = lead_svc.transition(s, rec_user, leads.own, stage, settings=SETTINGS)
        version = lead.version
    rec = as_user("zhuanyuan")
    data = {
        "csrf_token": rec.token,
        "target": "签约",
        "version": str(version),
        "claim_files": (io.BytesIO(PDF), "投资协议.pdf"),
    }
    r = rec.post(f"/leads/{leads.own}/stage", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "签约日期" in r.get_data(as_text=True)
    assert _rows(env) == []
    folder = env.folder / "attachments"
    assert not folder.exists() or not any(folder.iterdir())


def _token(env, username):
    with unit_of_work(env.session_factory) as s:
        user = get_by_username(s, username)
        return create_token(s, user, name="测试", scopes=["read"], days=30, max_days=365, max_tokens=10).plain


def test_the_api_lists_and_downloads_with_the_same_rules(as_user, leads, env, app):
    rec = as_user("zhuanyuan")
    _upload(rec, leads.own, [("投资协议.pdf", PDF)])
    ((att_id, _n, _s),) = _rows(env)
    api = app.test_client(use_cookies=False)
    mine = {"Authorization": f"Bearer {_token(env, 'zhuanyuan')}"}
    r = api.get(f"/api/v1/leads/{leads.own}/attachments", headers=mine)
    assert r.status_code == 200 and [(x["id"], x["filename"], x["kind"]) for x in r.json["items"]] == [
        (att_id, "投资协议.pdf", "pdf")
    ]
    r = api.get(f"/api/v1/leads/{leads.own}/attachments/{att_id}", headers=mine)
    assert r.status_code == 200 and r.data == PDF
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    theirs = {"Authorization": f"Bearer {_token(env, 'zhuanyuan2')}"}
    assert api.get(f"/api/v1/leads/{leads.own}/attachments", headers=theirs).status_code == 403
    r = api.get(f"/api/v1/leads/{leads.own}/attachments/{att_id}", headers=theirs)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    assert "/leads/{lead_id}/attachments/{attachment_id}" in api.get("/api/v1/openapi.json").json["paths"]
