"""Attachments: the agreement, the minutes, the photos of a visit, kept on the lead they prove.

The rules, in one place:

- who: adding needs the lead's edit right, listing and downloading its read right, deleting the
  edit right and being the uploader or a manager (crm.permissions); a recruiter of another team
  is refused by URL as on the lead page;
- what: the type is detected from the CONTENT (the `filetype` package; OOXML files are zips whose
  ``[Content_Types].xml`` names the main part; legacy Office files are OLE containers named by
  their streams); a name whose extension says another type is refused, so a ``.pdf`` that is
  really an ``.exe`` never gets in. Plain text (txt, csv) only where ``[attachments] types``
  lists it. Size per file and per lead from ``[attachments]``;
- names: the user's file name is text only (Chinese kept), cleaned of paths, control characters
  and names Windows reserves; the bytes live under a random name (crm.attachment_store);
- every upload, download (single or zip) and deletion is audited on the lead;
- transactional: a file becomes visible only when the row that records it commits.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

import filetype
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import permissions as perm
from ..attachment_store import AttachmentStore, TooLarge
from ..errors import NotFound, PermissionDenied, ValidationError
from ..loop_settings import AttachmentPolicy
from ..models import Activity, Lead, utcnow
from ..models_loop import Attachment, StageClaim
from ..printfit import FORMULA_PREFIXES
from . import audit
from ._common import Actor, current_actor, get_lead

UPLOAD, DOWNLOAD, REMOVE = "upload", "download", "remove_file"

# kind -> (Chinese label, MIME type, extensions; the first is the one added to a bare name)
KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pdf": ("PDF 文档", "application/pdf", ("pdf",)),
    "jpg": ("JPEG 图片", "image/jpeg", ("jpg", "jpeg", "jpe")),
    "png": ("PNG 图片", "image/png", ("png",)),
    "gif": ("GIF 图片", "image/gif", ("gif",)),
    "webp": ("WebP 图片", "image/webp", ("webp",)),
    "tif": ("TIFF 图片", "image/tiff", ("tif", "tiff")),
    "heic": ("HEIC 图片", "image/heic", ("heic", "heif")),
    "bmp": ("BMP 图片", "image/bmp", ("bmp",)),
    "doc": ("Word 文档（97-2003）", "application/msword", ("doc",)),
    "docx": (
        "Word 文档",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ("docx",),
    ),
    "docm": ("含宏的 Word 文档", "application/vnd.ms-word.document.macroEnabled.12", ("docm",)),
    "xls": ("Excel 表格（97-2003）", "application/vnd.ms-excel", ("xls",)),
    "xlsx": ("Excel 表格", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
    "xlsm": ("含宏的 Excel 表格", "application/vnd.ms-excel.sheet.macroEnabled.12", ("xlsm",)),
    "ppt": ("PowerPoint 演示文稿（97-2003）", "application/vnd.ms-powerpoint", ("ppt",)),
    "pptx": (
        "PowerPoint 演示文稿",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ("pptx",),
    ),
    "pptm": (
        "含宏的 PowerPoint 演示文稿",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.12",
        ("pptm",),
    ),
    "odt": ("OpenDocument 文本", "application/vnd.oasis.opendocument.text", ("odt",)),
    "ods": ("OpenDocument 表格", "application/vnd.oasis.opendocument.spreadsheet", ("ods",)),
    "odp": ("OpenDocument 演示文稿", "application/vnd.oasis.opendocument.presentation", ("odp",)),
    "txt": ("文本文件", "text/plain; charset=utf-8", ("txt",)),
    "csv": ("CSV 表格", "text/csv; charset=utf-8", ("csv",)),
    "zip": ("ZIP 压缩包", "application/zip", ("zip",)),
    "exe": ("Windows 可执行程序", "application/x-msdownload", ("exe", "dll", "com", "scr")),
    "elf": ("Linux 可执行程序", "application/x-executable", ("elf", "so", "bin")),
}
KIND_OF_EXT = {ext: kind for kind, (_l, _m, exts) in KINDS.items() for ext in exts}
# filetype's names that are one of ours under another name
ALIASES = {"apng": "png", "jpx": "jpg"}
# every extension some known type claims: such a name must agree with the content
CLAIMED_EXTS = frozenset(KIND_OF_EXT) | frozenset(t.extension.lower() for t in filetype.types)

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLE_STREAMS = (  # directory entry names (UTF-16LE) of legacy Office files
    ("WordDocument".encode("utf-16-le"), "doc"),
    ("PowerPoint Document".encode("utf-16-le"), "ppt"),
    ("Workbook".encode("utf-16-le"), "xls"),
    ("Book".encode("utf-16-le"), "xls"),
)
OOXML_MAIN = {  # [Content_Types].xml's main part -> kind
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": "pptm",
}
ODF_MIME = {KINDS[k][1]: k for k in ("odt", "ods", "odp")}
CONTENT_TYPES_MAX = 1024 * 1024  # a real [Content_Types].xml is a few KB: never inflate more
TEXT_KINDS = ("txt", "csv")
STORED_KINDS = frozenset({"jpg", "png", "gif", "webp", "heic", "docx", "xlsx", "pptx", "zip", "pdf"})

WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
_WINDOWS_BAD = re.compile(r'[<>:"|?*]')
NAME_MAX = 200
DEFAULT_NAME = "附件"


# ----------------------------------------------------------------------------- pure helpers


def clean_filename(raw: str | None) -> str:
    """The user's file name as shown and offered on download: the last path part, no control or
    direction characters, no leading dots, no characters or device names Windows refuses.
    Chinese and other letters are kept. A NUL byte is refused (a truncation trick).

    >>> clean_filename("../../合同 v2.pdf")
    '合同 v2.pdf'
    >>> clean_filename("C:\\\\Users\\\\x\\\\con.pdf")
    '_con.pdf'
    """
    raw = raw or ""
    if "\x00" in raw:
        raise ValidationError("文件名含有空字符（NUL），已拒绝上传")
    name = unicodedata.normalize("NFC", raw.replace("\\", "/").split("/")[-1])
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _WINDOWS_BAD.sub("_", name).strip().lstrip(".").rstrip(". ").strip()
    if not name:
        return DEFAULT_NAME
    if name.split(".")[0].strip().upper() in WINDOWS_RESERVED:
        name = "_" + name
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: NAME_MAX - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:NAME_MAX]
    return name


def extension(name: str) -> str:
    """'合同.PDF' -> 'pdf'; '' without one."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def kind_label(kind: str) -> str:
    return KINDS.get(kind, (kind.upper(), "", ()))[0]


def allowed_labels(policy: AttachmentPolicy) -> str:
    return "、".join(dict.fromkeys(kind_label(k) for k in policy.types))


def detect_kind(path: Path, name: str) -> str | None:
    """The type of the file at `path` by its content; None when nothing is recognised. `name`
    only tells txt from csv for plain text."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if head.startswith(OLE):
        return _ole_kind(path, head)
    guess = filetype.guess(head)
    if guess is not None:
        ext = guess.extension.lower()
        return ALIASES.get(ext, ext)
    if _is_text(path):
        ext = extension(name)
        return ext if ext in TEXT_KINDS else "txt"
    return None


def _zip_kind(path: Path) -> str:
    """docx/xlsx/pptx (or their macro forms) by the main part [Content_Types].xml names;
    odt/ods/odp by their `mimetype` entry; any other zip is a zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "[Content_Types].xml" in names:
                info = zf.getinfo("[Content_Types].xml")
                if info.file_size <= CONTENT_TYPES_MAX:
                    with zf.open(info) as fh:
                        xml = fh.read(CONTENT_TYPES_MAX + 1).decode("utf-8", "replace").lower()
                    for content_type, kind in OOXML_MAIN.items():
                        if f'contenttype="{content_type}"' in xml:
                            return kind
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
                mime = zf.read("mimetype").decode("ascii", "replace").strip()
                if mime in ODF_MIME:
                    return ODF_MIME[mime]
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        return "zip"
    return "zip"


def _ole_kind(path: Path, head: bytes) -> str:
    """Legacy Office (an OLE container): filetype's matchers, else the streams' names."""
    guess = filetype.guess(head)
    if guess is not None and guess.extension in ("doc", "xls", "ppt"):
        return str(guess.extension)
    data = path.read_bytes()
    for stream, kind in OLE_STREAMS:
        if stream in data:
            return kind
    return "ole"


def _is_text(path: Path) -> bool:
    """Plain text: no NUL byte, and UTF-8 (with or without BOM), GB18030 or UTF-16 with a BOM."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data.decode("utf-16")
        except UnicodeDecodeError:
            return False
        return True
    if b"\x00" in data:
        return False
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def check_type(kind: str | None, name: str, policy: AttachmentPolicy) -> str:
    """The name to keep, once the detected `kind` is allowed and agrees with the name's
    extension (a bare name gets the kind's extension). ValidationError names what was found."""
    allowed = allowed_labels(policy)
    if kind is None:
        raise ValidationError(f"无法识别文件「{name}」的类型，未上传。允许的类型：{allowed}")
    if kind not in policy.types:
        raise ValidationError(
            f"文件「{name}」的内容是{kind_label(kind)}，不在允许的类型内（{allowed}），未上传"
        )
    ext = extension(name)
    if ext in CLAIMED_EXTS and KIND_OF_EXT.get(ext, ALIASES.get(ext, ext)) != kind:
        raise ValidationError(
            f"文件「{name}」的扩展名为 .{ext}，但内容是{kind_label(kind)}，与扩展名不符，未上传。请核对文件后重新上传"
        )
    if not ext or ext not in CLAIMED_EXTS:
        name = f"{name}.{KINDS[kind][2][0]}" if kind in KINDS else name
    return name


def human_size(size: int) -> str:
    """1536 -> '1.5 KB'."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MB"


# ----------------------------------------------------------------------------- rules


@dataclass
class AttachmentRow:
    """An attachment as a list shows it: the row, what it is linked to, and whether the reader may delete it."""

    attachment: Attachment
    link: str | None
    can_delete: bool

    @property
    def kind_label(self) -> str:
        return kind_label(self.attachment.kind)

    @property
    def size_label(self) -> str:
        return human_size(self.attachment.size)


@dataclass(frozen=True)
class Download:
    path: Path
    filename: str
    mime: str
    size: int


@dataclass
class ZipDownload:
    file: IO[bytes]  # positioned at 0; the caller closes it
    filename: str
    count: int


def _readable_lead(session: Session, actor: Actor, lead_id: int) -> tuple[Actor, Lead]:
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_read(actor, lead):
        raise PermissionDenied("您无权查看该线索的附件")
    return actor, lead


def _attachment(session: Session, lead: Lead, attachment_id: int) -> Attachment:
    """An attachment of this lead that is not deleted (another lead's id is not found here)."""
    att = session.get(Attachment, attachment_id)
    if att is None or att.lead_id != lead.id or att.deleted_at is not None:
        raise NotFound(f"附件不存在或已删除（编号 {attachment_id}）")
    return att


def used_bytes(session: Session, lead_id: int) -> int:
    """Bytes of a lead's files not deleted (the per-lead limit)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.lead_id == lead_id, Attachment.deleted_at.is_(None)
        )
    )
    return int(total or 0)


def add(
    session: Session,
    actor: Actor,
    lead_id: int,
    stream: BinaryIO | bytes,
    filename: str | None,
    *,
    files: AttachmentStore,
    policy: AttachmentPolicy,
    activity_id: int | None = None,
    claim_id: int | None = None,
    note: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> Attachment:
    """Store one file on a lead the actor may edit (optionally on one of its activities or stage
    claims). The file is kept only if the caller's transaction commits."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_edit(actor, lead):
        raise PermissionDenied("您无权在该线索上传附件")
    name = clean_filename(filename)
    if activity_id is not None:
        activity = session.get(Activity, activity_id)
        if activity is None or activity.lead_id != lead.id:
            raise ValidationError("所选跟进记录不属于该线索")
    if claim_id is not None:
        claim = session.get(StageClaim, claim_id)
        if claim is None or claim.lead_id != lead.id:
            raise ValidationError("所选阶段申报不属于该线索")
    note = (note or "").strip()[:200] or None
    try:
        written = files.write_part(stream, policy.max_bytes)
    except TooLarge as exc:
        raise ValidationError(f"文件「{name}」超过单个附件上限 {policy.max_mb:g} MB，未上传") from exc
    try:
        if written.size == 0:
            raise ValidationError(f"文件「{name}」是空文件，未上传")
        kind = detect_kind(written.part, name)
        name = check_type(kind, name, policy)
        assert kind is not None  # check_type refused None
        if used_bytes(session, lead.id) + written.size > policy.lead_total_bytes:
            raise ValidationError(
                f"该线索的附件总量将超过上限 {policy.lead_total_mb:g} MB，文件「{name}」未上传；"
                "请删除不再需要的附件，或联系系统管理员"
            )
        att = Attachment(
            lead_id=lead.id,
            activity_id=activity_id,
            claim_id=claim_id,
            filename=name,
            stored_name=written.stored_name,
            kind=kind,
            mime=KINDS[kind][1] if kind in KINDS else "application/octet-stream",
            size=written.size,
            sha256=written.sha256,
            uploaded_by_id=actor.id,
            uploaded_at=now,
            note=note,
        )
        session.add(att)
        session.flush()
    except BaseException:
        files.discard(written)
        raise
    files.bind(session, written)
    after = {"attachment_id": att.id, "filename": name, "kind": kind, "size": att.size, "sha256": att.sha256}
    if activity_id is not None:
        after["activity_id"] = activity_id
    if claim_id is not None:
        after["claim_id"] = claim_id
    audit.record(session, actor, UPLOAD, "lead", lead.id, None, after, ip)
    return att


def list_for_lead(session: Session, actor: Actor, lead_id: int) -> list[AttachmentRow]:
    """A lead's files not deleted, newest first, each with what it belongs to."""
    actor, lead = _readable_lead(session, actor, lead_id)
    atts = list(
        session.scalars(
            select(Attachment)
            .where(Attachment.lead_id == lead.id, Attachment.deleted_at.is_(None))
            .options(selectinload(Attachment.uploaded_by))
            .order_by(Attachment.uploaded_at.desc(), Attachment.id.desc())
        )
    )
    links = _links(session, atts)
    return [AttachmentRow(a, links.get(a.id), _may_delete(actor, lead, a)) for a in atts]


def _links(session: Session, atts: Sequence[Attachment]) -> dict[int, str]:
    act_ids = {a.activity_id for a in atts if a.activity_id}
    claim_ids = {a.claim_id for a in atts if a.claim_id}
    acts = (
        {a.id: a for a in session.scalars(select(Activity).where(Activity.id.in_(act_ids)))}
        if act_ids
        else {}
    )
    claims = (
        {c.id: c for c in session.scalars(select(StageClaim).where(StageClaim.id.in_(claim_ids)))}
        if claim_ids
        else {}
    )
    out = {}
    for a in atts:
        if a.claim_id in claims:
            c = claims[a.claim_id]
            out[a.id] = f"「{c.to_stage}」阶段申报（{c.status_label}）"
        elif a.activity_id in acts:
            act = acts[a.activity_id]
            out[a.id] = f"{act.occurred_on:%Y-%m-%d} {act.kind}"
    return out


def _may_delete(actor: Any, lead: Lead, att: Attachment) -> bool:
    return perm.can_delete_attachment(actor, lead, att.uploaded_by_id)


def download(
    session: Session,
    actor: Actor,
    lead_id: int,
    attachment_id: int,
    *,
    files: AttachmentStore,
    ip: str | None = None,
) -> Download:
    """One file of a lead the actor may read; the download is audited."""
    actor, lead = _readable_lead(session, actor, lead_id)
    att = _attachment(session, lead, attachment_id)
    path = files.path_of(att.stored_name)
    if path is None:
        raise NotFound(f"附件「{att.filename}」的文件已缺失，请联系系统管理员")
    audit.record(
        session,
        actor,
        DOWNLOAD,
        "lead",
        lead.id,
        None,
        {"attachment_id": att.id, "filename": att.filename},
        ip,
    )
    return Download(path, att.filename, att.mime, att.size)


def remove(
    session: Session,
    actor: Actor,
    lead_id: int,
    attachment_id: int,
    *,
    ip: str | None = None,
    now: datetime | None = None,
) -> Attachment:
    """Soft-delete: the row and the file stay for the audit period, the lists no longer show it."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    att = _attachment(session, lead, attachment_id) if perm.can_read(actor, lead) else None
    if att is None or not _may_delete(actor, lead, att):
        raise PermissionDenied("只有上传人或本组招商经理可以删除该附件")
    att.deleted_at = now
    session.flush()
    audit.record(
        session, actor, REMOVE, "lead", lead.id, {"attachment_id": att.id, "filename": att.filename}, None, ip
    )
    return att


def zip_for_lead(
    session: Session,
    actor: Actor,
    lead_id: int,
    *,
    files: AttachmentStore,
    ip: str | None = None,
    now: datetime | None = None,
) -> ZipDownload:
    """Every file of a lead in one zip for 台账 review: names in UTF-8 as uploaded (a repeated name
    gets " (2)"), and 附件清单.csv listing each with its type, size, uploader, date, link and SHA-256."""
    now = now or utcnow()
    actor, lead = _readable_lead(session, actor, lead_id)
    rows = list_for_lead(session, actor, lead_id)
    if not rows:
        raise NotFound("该线索还没有附件")
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    used: set[str] = set()
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(
        ["文件名", "类型", "大小（字节）", "上传人", "上传时间（UTC）", "关联", "说明", "SHA-256"]
    )
    ids = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for row in reversed(rows):  # oldest first, as a ledger reads
            att = row.attachment
            path = files.path_of(att.stored_name)
            entry = _unique(att.filename, used)
            status = entry if path is not None else f"{entry}（文件缺失）"
            if path is not None:
                compress = zipfile.ZIP_STORED if att.kind in STORED_KINDS else zipfile.ZIP_DEFLATED
                zf.write(path, entry, compress_type=compress)
                ids.append(att.id)
            uploader = att.uploaded_by.display_name if att.uploaded_by else ""
            writer.writerow(
                [
                    _cell(status),
                    kind_label(att.kind),
                    att.size,
                    _cell(uploader),
                    f"{att.uploaded_at:%Y-%m-%d %H:%M}",
                    _cell(row.link or ""),
                    _cell(att.note or ""),
                    att.sha256,
                ]
            )
        zf.writestr(_unique("附件清单.csv", used), "\ufeff" + manifest.getvalue())
    out.seek(0)
    name = clean_filename(f"{lead.company_name}_附件_{now:%Y%m%d}.zip")
    audit.record(session, actor, DOWNLOAD, "lead", lead.id, None, {"attachment_ids": ids, "file": name}, ip)
    return ZipDownload(out, name, len(ids))


def _unique(name: str, used: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
    used.add(candidate.lower())
    return candidate


def _cell(text: str) -> str:
    """Text Excel would run as a formula gets a leading apostrophe (the CSV is opened in Excel)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
