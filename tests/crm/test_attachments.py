"""Attachments (crm.services.attachments): types by content, disguised extensions, limits, path
tricks in names, permissions, audit lines, the zip of a lead's files, and nothing half-written."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from docx import Document
from openpyxl import Workbook

from crm.attachment_store import AttachmentStore
from crm.db import unit_of_work
from crm.errors import NotFound, PermissionDenied, ValidationError
from crm.loop_settings import AttachmentPolicy, LoopSettings
from crm.models import AuditLog
from crm.models_loop import Attachment
from crm.services import activities, attachments, audit, leads, stage_claims
from crm.services.attachments import check_type, clean_filename, detect_kind
from graph.errors import ConfigError

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 40
)
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
    + b"\x00" * 200
    + b"This program cannot be run in DOS mode"
)
POLICY = AttachmentPolicy(max_mb=0.01, lead_total_mb=0.05)  # 10 KB per file, 50 KB per lead


def _docx() -> bytes:
    doc = Document()
    doc.add_paragraph("投资协议")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _xlsx() -> bytes:
    wb = Workbook()
    wb.active["A1"] = "企业名称"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip(entries: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _docm() -> bytes:
    ct = (
        '<?xml version="1.0"?><Types><Override PartName="/word/document.xml" '
        'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
    )
    return _zip({"[Content_Types].xml": ct, "word/document.xml": "<w/>", "word/vbaProject.bin": "x"})


def _legacy_doc() -> bytes:
    return (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 1000
        + "WordDocument".encode("utf-16-le")
        + b"\x00" * 100
    )


@pytest.fixture
def store(tmp_path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "files")


@pytest.fixture
def lead_id(sf, people, settings) -> int:
    with unit_of_work(sf) as s:
        return leads.create_lead(
            s, people["rec"], {"company_name": "通州示例医疗器械", "sector_id": "medical"}, settings=settings
        ).id


def _add(sf, actor, lead_id, data, name, store, policy=POLICY, **kw):
    with unit_of_work(sf) as s:
        att = attachments.add(s, actor, lead_id, data, name, files=store, policy=policy, **kw)
        return att.id


def _files(store: AttachmentStore) -> list[str]:
    return sorted(p.name for p in store.folder.iterdir()) if store.folder.exists() else []


# ----------------------------------------------------------------------------- types by content


@pytest.mark.parametrize(
    "data, name, kind",
    [
        (PDF, "协议.pdf", "pdf"),
        (PNG, "现场照片.png", "png"),
        (_docx(), "会议纪要.docx", "docx"),
        (_xlsx(), "投资测算.xlsx", "xlsx"),
        (_docm(), "宏.docm", "docm"),
        (_legacy_doc(), "旧协议.doc", "doc"),
        (_zip({"a.txt": "x"}), "包.zip", "zip"),
        (EXE, "x.pdf", "exe"),
        ("企业名称,信用代码\n示例,1\n".encode("gb18030"), "名单.csv", "csv"),
        (b"\x00\x01\x02garbage", "x.bin", None),
    ],
)
def test_type_is_detected_from_the_content(tmp_path, data, name, kind):
    path = tmp_path / "f"
    path.write_bytes(data)
    assert detect_kind(path, name) == kind


def test_a_disguised_extension_is_refused_and_a_bare_name_gets_the_right_one():
    policy = AttachmentPolicy()
    with pytest.raises(ValidationError, match="内容是Windows 可执行程序，不在允许的类型内"):
        check_type("exe", "合同.pdf", policy)
    with pytest.raises(ValidationError, match=r"扩展名为 \.pdf，但内容是PNG 图片"):
        check_type("png", "合同.pdf", policy)
    with pytest.raises(ValidationError, match="含宏的 Word 文档"):
        check_type("docm", "纪要.docx", policy)
    with pytest.raises(ValidationError, match="无法识别"):
        check_type(None, "x.pdf", policy)
    assert check_type("pdf", "合同", policy) == "合同.pdf"
    assert check_type("pdf", "合同.最终版", policy) == "合同.最终版.pdf"
    assert check_type("jpg", "照片.JPEG", policy) == "照片.JPEG"
    with pytest.raises(ValidationError, match="文本文件"):
        check_type("txt", "说明.txt", policy)  # plain text only where the config lists it
    assert check_type("txt", "说明.txt", AttachmentPolicy(types=("pdf", "txt"))) == "说明.txt"


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("../../x.pdf", "x.pdf"),
        ("..\\..\\windows\\system32\\x.pdf", "x.pdf"),
        ("/etc/passwd", "passwd"),
        ("con.pdf", "_con.pdf"),
        ("LPT1", "_LPT1"),
        (".htaccess", "htaccess"),
        ("报告\u202egpj.exe", "报告gpj.exe"),  # a right-to-left override would show "exe.jpg"
        ('a<b>:"c|?*.pdf', "a_b___c___.pdf"),
        ("北京城市副中心 招商协议（2026）.pdf", "北京城市副中心 招商协议（2026）.pdf"),
        ("𠮷野家.pdf", "𠮷野家.pdf"),
        ("...", "附件"),
        ("", "附件"),
    ],
)
def test_names_lose_path_tricks_and_keep_chinese(raw, clean):
    assert clean_filename(raw) == clean


def test_nul_in_a_name_is_refused():
    with pytest.raises(ValidationError, match="空字符"):
        clean_filename("evil.exe\x00.pdf")
    assert len(clean_filename("长" * 300 + ".pdf")) == 200 and clean_filename("长" * 300 + ".pdf").endswith(
        ".pdf"
    )


# ----------------------------------------------------------------------------- add / list / download


def test_add_stores_under_a_random_name_and_audits(sf, people, lead_id, store):
    att_id = _add(sf, people["rec"], lead_id, PDF, "../../投资协议.pdf", store, ip="10.0.0.8")
    with unit_of_work(sf) as s:
        att = s.get(Attachment, att_id)
        assert (att.filename, att.kind, att.mime, att.size) == (
            "投资协议.pdf",
            "pdf",
            "application/pdf",
            len(PDF),
        )
        assert _files(store) == [att.stored_name] and len(att.stored_name) == 32
        rows = attachments.list_for_lead(s, people["rec"], lead_id)
        assert [r.attachment.id for r in rows] == [att_id] and rows[0].can_delete
        assert rows[0].kind_label == "PDF 文档" and rows[0].size_label.endswith("B")
    with unit_of_work(sf) as s:
        got = attachments.download(s, people["rec"], lead_id, att_id, files=store, ip="10.0.0.8")
        assert got.path.read_bytes() == PDF and got.filename == "投资协议.pdf"
    with unit_of_work(sf) as s:
        entries = (
            s.query(AuditLog).filter_by(entity="lead", entity_id=str(lead_id)).order_by(AuditLog.id).all()
        )
        assert [e.action for e in entries][-2:] == ["upload", "download"]
        lines = audit.describe(s, entries[-2:])
        assert lines[0].action == "上传附件" and "文件名：投资协议.pdf" in lines[0].changes
        assert lines[1].action == "下载附件" and lines[1].ip == "10.0.0.8"


def test_files_over_the_limit_and_over_the_lead_total_are_refused(sf, people, lead_id, store):
    with pytest.raises(ValidationError, match="超过单个附件上限"):
        _add(sf, people["rec"], lead_id, PDF + b"0" * 11000, "大.pdf", store)
    with pytest.raises(ValidationError, match="空文件"):
        _add(sf, people["rec"], lead_id, b"", "空.pdf", store)
    big = PDF + b"0" * 9000
    for i in range(5):
        _add(sf, people["rec"], lead_id, big, f"第{i}份.pdf", store)
    with pytest.raises(ValidationError, match="附件总量将超过上限"):
        _add(sf, people["rec"], lead_id, big, "第6份.pdf", store)
    assert len(_files(store)) == 5  # the refused ones left nothing


def test_an_exe_named_pdf_leaves_nothing(sf, people, lead_id, store):
    with pytest.raises(ValidationError, match="可执行程序"):
        _add(sf, people["rec"], lead_id, EXE, "合同.pdf", store)
    assert _files(store) == []
    with unit_of_work(sf) as s:
        assert s.query(Attachment).count() == 0


def test_rollback_removes_the_file_and_commit_promotes_it(sf, people, lead_id, store):
    with pytest.raises(RuntimeError), unit_of_work(sf) as s:
        attachments.add(s, people["rec"], lead_id, PDF, "a.pdf", files=store, policy=POLICY)
        assert [p.endswith(".part") for p in _files(store)] == [True]  # not visible yet
        raise RuntimeError("the view failed after the upload")
    assert _files(store) == []
    s = sf()
    try:
        att = attachments.add(s, people["rec"], lead_id, PDF, "b.pdf", files=store, policy=POLICY)
        assert _files(store) == [att.stored_name + ".part"]
        s.commit()
        assert _files(store) == [att.stored_name]
    finally:
        s.close()


def test_a_part_left_by_a_crash_after_commit_is_found(store):
    written = store.write_part(PDF, 1000)
    assert store.path_of(written.stored_name) == store.folder / written.stored_name
    assert store.path_of("../" + written.stored_name) is None


def test_permissions(sf, people, lead_id, store, settings):
    att_id = _add(sf, people["rec"], lead_id, PDF, "a.pdf", store)
    with unit_of_work(sf) as s:
        for who in ("rec_e", "mgr_e", "admin"):  # another team, and 三权分立
            with pytest.raises(PermissionDenied):
                attachments.download(s, people[who], lead_id, att_id, files=store)
            with pytest.raises(PermissionDenied):
                attachments.list_for_lead(s, people[who], lead_id)
        with pytest.raises(PermissionDenied):
            attachments.add(s, people["leader"], lead_id, PDF, "b.pdf", files=store, policy=POLICY)
        with pytest.raises(PermissionDenied):
            attachments.add(s, people["rec_e"], lead_id, PDF, "b.pdf", files=store, policy=POLICY)
        assert attachments.download(s, people["leader"], lead_id, att_id, files=store).size == len(PDF)
    other = _other_lead(sf, people, settings)
    with unit_of_work(sf) as s, pytest.raises(NotFound):  # an id of another lead under this lead's URL
        attachments.download(s, people["rec_e"], other, att_id, files=store)


def _other_lead(sf, people, settings):
    with unit_of_work(sf) as s:
        return leads.create_lead(
            s, people["rec_e"], {"company_name": "示例电子", "sector_id": "electronics"}, settings=settings
        ).id


def test_delete_by_the_uploader_or_a_manager(sf, people, lead_id, store, settings):
    a = _add(sf, people["rec"], lead_id, PDF, "a.pdf", store)
    b = _add(sf, people["rec"], lead_id, PDF, "b.pdf", store)
    with unit_of_work(sf) as s:
        assert not attachments.list_for_lead(s, people["leader"], lead_id)[0].can_delete
        with pytest.raises(PermissionDenied):
            attachments.remove(s, people["rec2"], lead_id, a)
        with pytest.raises(PermissionDenied):
            attachments.remove(s, people["leader"], lead_id, a)
    with unit_of_work(sf) as s:
        attachments.remove(s, people["rec"], lead_id, a, ip="10.0.0.8")
        attachments.remove(s, people["mgr"], lead_id, b)
    with unit_of_work(sf) as s:
        assert attachments.list_for_lead(s, people["rec"], lead_id) == []
        with pytest.raises(NotFound):
            attachments.download(s, people["rec"], lead_id, a, files=store)
        assert s.query(AuditLog).filter_by(action="remove_file").count() == 2
    assert len(_files(store)) == 2  # soft delete: the files stay for the audit period


def test_links_to_an_activity_and_a_claim_of_the_same_lead(sf, people, lead_id, store, settings):
    with unit_of_work(sf) as s:
        act = activities.add_activity(
            s, people["rec"], lead_id, kind="拜访", outcome="企业有意向", settings=settings
        )
        act_id = act.id
    a = _add(sf, people["rec"], lead_id, PNG, "现场.png", store, activity_id=act_id)
    other = _other_lead(sf, people, settings)
    with pytest.raises(ValidationError, match="不属于该线索"):
        _add(sf, people["rec_e"], other, PNG, "x.png", store, activity_id=act_id)
    with unit_of_work(sf) as s:
        row = attachments.list_for_lead(s, people["rec"], lead_id)[0]
        assert row.attachment.id == a and row.link.endswith("拜访")


def test_an_uploaded_agreement_satisfies_the_signing_claim(sf, people, lead_id, store, settings):
    loop = LoopSettings.from_config({}, settings.stages)
    with unit_of_work(sf) as s:
        for stage in ("接洽", "在谈"):
            leads.transition(s, people["rec"], lead_id, stage, settings=settings)
    att = _add(sf, people["rec"], lead_id, PDF, "协议.pdf", store)
    facts = {"signed_on": "2027-03-01", "agreed_investment": "5000"}
    with unit_of_work(sf) as s:
        result = stage_claims.move(
            s, people["rec"], lead_id, "签约", facts=facts, attachment_ids=[att], settings=settings, loop=loop
        )
        assert result.pending and result.claim.facts["agreement_file"] == [att]
        claim_id = result.claim.id
    with unit_of_work(sf) as s:
        assert s.get(Attachment, att).claim_id == claim_id
        assert "阶段申报" in attachments.list_for_lead(s, people["rec"], lead_id)[0].link


def test_zip_keeps_chinese_names_and_lists_every_file(sf, people, lead_id, store):
    _add(sf, people["rec"], lead_id, PDF, "投资协议.pdf", store)
    _add(sf, people["rec"], lead_id, PDF, "投资协议.pdf", store)
    _add(sf, people["rec"], lead_id, PNG, "=HYPERLINK(1).png", store)
    with unit_of_work(sf) as s:
        z = attachments.zip_for_lead(s, people["mgr"], lead_id, files=store, ip="10.0.0.9")
        assert (
            z.count == 3 and z.filename.startswith("通州示例医疗器械_附件_") and z.filename.endswith(".zip")
        )
        with zipfile.ZipFile(z.file) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            assert names == ["投资协议.pdf", "投资协议 (2).pdf", "=HYPERLINK(1).png", "附件清单.csv"]
            assert all(
                i.flag_bits & 0x800 for i in infos if not i.filename.isascii()
            )  # UTF-8 names: 7-Zip, WinRAR, Windows show Chinese
            assert zf.read("投资协议 (2).pdf") == PDF
            manifest = list(csv.reader(io.StringIO(zf.read("附件清单.csv").decode("utf-8-sig"))))
        z.file.close()
    assert manifest[0][0] == "文件名" and manifest[3][0] == "'=HYPERLINK(1).png"  # no formula in Excel
    with unit_of_work(sf) as s:
        entry = s.query(AuditLog).filter_by(action="download").one()
        assert entry.actor_id == people["mgr"].id and len(entry.after["attachment_ids"]) == 3
        with pytest.raises(PermissionDenied):
            attachments.zip_for_lead(s, people["rec_e"], lead_id, files=store)


def test_zip_of_a_lead_without_files_is_not_found(sf, people, lead_id, store):
    with unit_of_work(sf) as s, pytest.raises(NotFound, match="还没有附件"):
        attachments.zip_for_lead(s, people["rec"], lead_id, files=store)


def test_config_limits_are_checked():
    stages = ("线索", "接洽", "在谈", "签约", "落地", "投产")
    policy = LoopSettings.from_config({"attachments": {"types": ["PDF", ".png"]}}, stages).attachments
    assert policy.types == ("pdf", "png") and policy.max_mb == 15 and policy.lead_total_mb == 200
    with pytest.raises(ConfigError, match="max_upload_mb"):
        LoopSettings.from_config({"attachments": {"max_mb": 50}, "web": {"max_upload_mb": 16}}, stages)
    with pytest.raises(ConfigError, match="lead_total_mb"):
        LoopSettings.from_config({"attachments": {"max_mb": 10, "lead_total_mb": 5}}, stages)


def test_store_never_uses_the_users_name(store, tmp_path: Path):
    written = store.write_part(PDF, 1000)
    assert written.part.parent == store.folder and "pdf" not in written.part.name
