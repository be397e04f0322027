"""The import pages: download a template; upload a file, see how each column was understood and
which rows are wrong, then confirm all-or-nothing or only the good rows; follow the progress of a
large file (cancel it); download the rejected rows. The steps run in a background thread
(web/import_jobs.py) calling graph.importer.run_import, as the command line does; the rules of a
job (who may see it, one import at a time, expiry) are crm/services/import_jobs.py."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from flask import abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from crm.errors import ValidationError
from crm.services import import_jobs as jobs
from crm.tables import MIME_TYPES
from graph import importer
from graph.backends import store_identity
from graph.upload_limits import upload_name
from web import backend
from web import import_jobs as runner

from ._blueprint import bp

# A request waits this long for its step before answering with the progress page: small files
# then go straight to their result, large ones never hold a request (or a worker thread) long.
WAIT_SECONDS = 3.0
REJECT_FORMATS = ("xlsx", "csv")


def _folder() -> Path:
    return runner.upload_folder(current_app.instance_path)


def _page(error: str | None = None, status: int = 200, kind: str | None = None):
    folder = _folder()
    runner.cleanup(backend.backend().session_factory, folder)
    recent = jobs.recent(backend.db(), current_user.orm, current_user.token)
    return render_template(
        "admin/import.html",
        error=error,
        kind=kind,
        kinds=importer.KINDS,
        recent=recent,
        company_columns=importer.COMPANY_COLUMNS,
        relation_columns=importer.RELATION_COLUMNS,
    ), status


def _own(job_id: str):
    with backend.unit_of_work() as session:  # commits the failing of a job whose process died
        return jobs.get_own(session, current_user.orm, job_id, current_user.token)


def _step(job, path: Path) -> runner.Step:
    b = backend.backend()
    return runner.Step(
        job_id=job.id,
        kind=job.kind,
        path=path,
        display_name=job.filename,
        store=b.store,
        session_factory=b.session_factory,
        cfg=b.cfg,
        folder=_folder(),
        user_id=current_user.id,
        ip=request.remote_addr,
    )


def _wait(thread: threading.Thread) -> None:
    thread.join(WAIT_SECONDS)
    backend.db().expire_all()  # the thread wrote the job row through its own sessions


@bp.get("/import")
def import_page():
    return _page()


@bp.get("/import/template/<kind>.xlsx")
def import_template(kind: str):
    if kind not in importer.KINDS:
        abort(404)
    data = importer.template_workbook(kind, backend.cfg().get("companies"))
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"{importer.KINDS[kind]}导入模板.xlsx",
        mimetype=MIME_TYPES["xlsx"],
    )


@bp.post("/import")
def upload():
    """Step 1: keep the file under a random name, check it in the background, show the result."""
    kind = request.form.get("kind", "")
    file = request.files.get("file")
    if kind not in importer.KINDS:
        abort(400, "请选择导入类型")
    if file is None or not file.filename:
        return _page("请选择要导入的文件（CSV 或 XLSX）", 400, kind)
    suffix = Path(file.filename).suffix.lower()
    if suffix not in importer.SUFFIXES:
        return _page("只支持 CSV 或 XLSX 文件（旧版 .xls 请先另存为 .xlsx）", 400, kind)
    cfg = backend.cfg()
    keep = runner.keep_minutes(cfg)
    job_id = runner.new_job_id()
    stored = f"{job_id}{suffix}"
    try:
        with backend.unit_of_work() as session:
            job = jobs.start(
                session,
                current_user.orm,
                job_id=job_id,
                session_token=current_user.token,
                kind=kind,
                filename=upload_name(file.filename),
                stored_name=stored,
                slot=store_identity(cfg),
                keep_minutes=keep,
            )
    except jobs.ImportBusy as exc:
        return _page(str(exc), 409, kind)
    path = _folder() / stored
    try:
        file.save(path)
    except OSError as exc:  # a full disk: free the store at once rather than after the heartbeat
        path.unlink(missing_ok=True)
        with backend.unit_of_work() as session:
            jobs.finish(session, job_id, jobs.FAILED, message="无法保存上传的文件")
        return _page(f"无法保存上传的文件（{exc.strerror}），请联系系统管理员", 500, kind)
    _wait(runner.launch(runner.check, _step(job, path)))
    job = _own(job_id)
    if job.state == jobs.FAILED:  # unreadable: say so on the upload page, as before
        return _page(job.message, 400, kind)
    return redirect(url_for("admin.import_job", job_id=job_id), 303)


def _job_page(job, error: str | None = None, status: int = 200):
    return render_template(
        "admin/import_job.html",
        job=job,
        kinds=importer.KINDS,
        modes=jobs.MODE_LABELS,
        has_rejects=runner.rejects_path(_folder(), job.id).exists(),
        error=error,
    ), status


@bp.get("/import/<job_id>")
def import_job(job_id: str):
    return _job_page(_own(job_id))


@bp.get("/import/<job_id>/progress")
def import_progress(job_id: str):
    """For the polling page: rows read of the total, the state, and whether it has finished."""
    job = _own(job_id)
    return jsonify(
        state=job.state,
        state_label=job.state_label,
        phase=job.phase,
        done=job.rows_done,
        total=job.rows_total,
        finished=not job.running,
        cancel_requested=job.cancel_requested,
        message=job.message,
    )


@bp.post("/import/<job_id>/confirm")
def import_confirm(job_id: str):
    """Step 2: 确认导入 (all or nothing) or 仅导入正确的行 (partial)."""
    job = _own(job_id)
    mode = request.form.get("mode", "")
    cfg = backend.cfg()
    try:
        with backend.unit_of_work() as session:
            jobs.confirm(session, job, mode, store_identity(cfg), runner.keep_minutes(cfg))
    except (jobs.ImportBusy, ValidationError) as exc:
        return _job_page(_own(job_id), str(exc), 409 if isinstance(exc, jobs.ImportBusy) else 400)
    path = _folder() / job.stored_name
    _wait(runner.launch(runner.commit, _step(job, path), mode == jobs.PARTIAL))
    return redirect(url_for("admin.import_job", job_id=job_id), 303)


@bp.post("/import/<job_id>/cancel")
def import_cancel(job_id: str):
    """Cancel a running step (nothing is written), or discard a checked file."""
    job = _own(job_id)
    with backend.unit_of_work() as session:
        state = jobs.request_cancel(session, job)
    if state == jobs.CANCELLED:
        runner.remove_files(_folder(), job.stored_name)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(ok=True, state=state)
    return redirect(url_for("admin.import_job", job_id=job_id), 303)


@bp.get("/import/<job_id>/rejected.<fmt>")
def import_rejected(job_id: str, fmt: str):
    """The rejected rows with their original columns and 错误原因: fix them and import this file."""
    job = _own(job_id)
    if fmt not in REJECT_FORMATS:
        abort(404)
    data = runner.rejected_file(_folder(), job.id, fmt)
    if data is None:
        abort(404)
    stem = Path(job.filename).stem or "导入"
    return send_file(
        io.BytesIO(data),
        as_attachment=True,
        download_name=f"{stem}.错误行.{fmt}",
        mimetype=MIME_TYPES[fmt],
    )
