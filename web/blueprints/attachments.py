"""附件 on the lead page: upload (several files, optionally on an activity or a stage claim), list,
download one, download all as a zip, delete.

Views parse, call crm.services.attachments, render. Every permission check, type check and
audit line is the service's; a refusal of another team's recruiter escapes as PermissionDenied
and becomes the 403 page (web.errors), also for a download URL typed by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Blueprint, flash, redirect, request, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from crm import permissions
from crm.errors import ValidationError
from crm.services import attachments
from crm.services.attachments import AttachmentRow

from .. import backend
from ..loop import attachment_store, loop_settings
from ..params import parse_int

bp = Blueprint("attachments", __name__, url_prefix="/leads")

# RFC 5987 attr-char besides letters and digits: what filename* may carry unescaped
ATTR_CHARS = "!#$&+-.^_`|~"
# A downloaded file is never rendered by the browser (an HTML or SVG file would run as this site)
DOWNLOAD_CSP = "default-src 'none'; sandbox"


@bp.before_request
@login_required
def _login():
    return None


@dataclass
class Panel:
    """What the lead page's 附件 box shows (web/templates/leads/_attachments.html)."""

    lead_id: int
    rows: list[AttachmentRow]
    can_upload: bool
    activities: list[tuple[int, str]] = field(default_factory=list)
    claims: list[tuple[int, str]] = field(default_factory=list)
    max_mb: float = 0
    types_label: str = ""
    accept: str = ""

    @property
    def files(self) -> list[Any]:
        """The attachments themselves (the stage claim form offers them as evidence)."""
        return [r.attachment for r in self.rows]


def panel(actor: Any, lead: Any, acts: Sequence[Any], claims: Sequence[Any]) -> Panel:
    """The 附件 box of a lead page; `acts` and `claims` are the lead's, already loaded by the page."""
    policy = loop_settings().attachments
    exts = [ext for kind in policy.types for ext in attachments.KINDS.get(kind, ("", "", (kind,)))[2]]
    return Panel(
        lead_id=lead.id,
        rows=attachments.list_for_lead(backend.db(), actor, lead.id),
        can_upload=permissions.can_edit(actor, lead),
        activities=[(a.id, f"{a.occurred_on:%Y-%m-%d} {a.kind}") for a in acts],
        claims=[(c.id, f"「{c.to_stage}」阶段申报（{c.status_label}）") for c in claims],
        max_mb=policy.max_mb,
        types_label=attachments.allowed_labels(policy),
        accept=",".join(f".{e}" for e in exts),
    )


def store_uploads(
    session: Any,
    lead_id: int,
    uploads: Sequence[FileStorage],
    *,
    activity_id: int | None = None,
    claim_id: int | None = None,
    note: str | None = None,
) -> list[Any]:
    """Add each uploaded file in the caller's unit of work (all of them, or none)."""
    return [
        attachments.add(
            session,
            current_user.orm,
            lead_id,
            f.stream,
            f.filename,
            files=attachment_store(),
            policy=loop_settings().attachments,
            activity_id=activity_id,
            claim_id=claim_id,
            note=note,
            ip=request.remote_addr,
        )
        for f in uploads
    ]


def chosen_files(name: str) -> list[FileStorage]:
    """The files of a form field that were really chosen (an empty file input sends a nameless part)."""
    return [f for f in request.files.getlist(name) if f and f.filename]


def content_disposition(name: str, fallback: str) -> str:
    """``attachment`` always; an ASCII `filename` (the fallback for a non-ASCII name) and the
    UTF-8 `filename*` of RFC 5987/6266, so Chinese names arrive as uploaded."""
    if name.isascii() and all(32 <= ord(c) < 127 and c not in '"\\' for c in name):
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=ATTR_CHARS)}"


def _ascii_fallback(name: str, stem: str) -> str:
    ext = attachments.extension(name)
    return f"{stem}.{ext}" if ext.isascii() and ext.isalnum() else stem


def _download_headers(response: Any, name: str, fallback_stem: str) -> Any:
    response.headers["Content-Disposition"] = content_disposition(name, _ascii_fallback(name, fallback_stem))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _back(lead_id: int):
    return redirect(url_for("leads.show", lead_id=lead_id) + "#attachments")


@bp.post("/<int:lead_id>/attachments")
def upload(lead_id: int):
    """Upload one or more files; one refused file refuses them all (nothing half-uploaded)."""
    uploads = chosen_files("files")
    if not uploads:
        flash("请选择要上传的文件。", "error")
        return _back(lead_id)
    form = request.form
    try:
        with backend.unit_of_work() as session:
            added = store_uploads(
                session,
                lead_id,
                uploads,
                activity_id=parse_int(form.get("activity_id")),
                claim_id=parse_int(form.get("claim_id")),
                note=form.get("note"),
            )
            names = "、".join(f"「{a.filename}」" for a in added)
    except ValidationError as exc:
        flash(f"附件未上传：{exc}", "error")
        return _back(lead_id)
    flash(f"已上传 {len(added)} 个附件：{names}。", "success")
    return _back(lead_id)


def download_response(got: attachments.Download, attachment_id: int) -> Any:
    """The file as an attachment, never shown inline (the page and the API send it alike)."""
    response = send_file(got.path, mimetype=got.mime, conditional=True, etag=False, max_age=0)
    return _download_headers(response, got.filename, f"attachment-{attachment_id}")


@bp.get("/<int:lead_id>/attachments/<int:attachment_id>/download")
def download(lead_id: int, attachment_id: int):
    """One file, after the service's check and audit line."""
    with backend.unit_of_work() as session:
        got = attachments.download(
            session,
            current_user.orm,
            lead_id,
            attachment_id,
            files=attachment_store(),
            ip=request.remote_addr,
        )
    return download_response(got, attachment_id)


@bp.get("/<int:lead_id>/attachments.zip")
def download_zip(lead_id: int):
    """打包下载: every file of the lead, with a 附件清单.csv, for 台账 review."""
    with backend.unit_of_work() as session:
        z = attachments.zip_for_lead(
            session, current_user.orm, lead_id, files=attachment_store(), ip=request.remote_addr
        )
    response = send_file(z.file, mimetype="application/zip", etag=False, max_age=0)
    response.call_on_close(z.file.close)
    return _download_headers(response, z.filename, f"lead-{lead_id}-attachments")


@bp.post("/<int:lead_id>/attachments/<int:attachment_id>/delete")
def delete(lead_id: int, attachment_id: int):
    """Soft delete by the uploader or a manager (the service decides)."""
    with backend.unit_of_work() as session:
        att = attachments.remove(session, current_user.orm, lead_id, attachment_id, ip=request.remote_addr)
    flash(f"已删除附件「{att.filename}」。", "success")
    return _back(lead_id)
