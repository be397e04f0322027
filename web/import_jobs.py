"""Runs the web's imports in a background thread, so a large file never blocks a request.

Each step (the check that shows how the file was understood, then the confirmed import) is one
call of graph.importer.run_import — the same call `lianzhao import` makes — in a daemon thread of
the process that received the request. Its progress, heartbeat and result go to the job row in the
CRM database (crm/services/import_jobs.py), and the rejected rows to a file in the instance
folder, so any worker process can show the progress page, the result and the download.

Worker assumptions (docs/DEPLOYMENT.md "Imports"): a job lives in the process that started it; a
multi-process server is fine as long as every process shares the CRM database and the instance
folder (one host, or the folder on shared storage). Cancellation is a flag in the job row that
the running thread reads at each progress report (every graph.importer.PROGRESS_EVERY rows) and
answers by raising, before anything is written; the write itself is one store transaction (the
embedded store's SQLite transaction, one Neo4j transaction), so a cancel, an error or a killed
process leaves nothing half-written. A process that dies stops the heartbeat and the next request
fails its job (import_jobs.STALE_SECONDS) and frees the store for the next import.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.db import unit_of_work
from crm.models import User
from crm.services import audit
from crm.services import import_jobs as jobs
from crm.tables import Column, table_bytes
from graph import importer
from graph.errors import LianzhaoError
from graph.tabular import TabularError

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
UPLOAD_FOLDER = "uploads"
DEFAULT_KEEP_MINUTES = 60
CHECK_PHASE, WRITE_PHASE = "校验", "写入"


class ImportCancelled(Exception):
    """Raised from the progress callback when the user cancelled: unwinds before any write."""


def keep_minutes(cfg: dict[str, Any]) -> int:
    """[import] upload_keep_minutes: how long an uploaded file waits for its confirmation and the
    rejected rows stay downloadable."""
    value = (cfg.get("import") or {}).get("upload_keep_minutes", DEFAULT_KEEP_MINUTES)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("[import] upload_keep_minutes 必须为正整数")
    return value


def new_job_id() -> str:
    return secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-]: also the file's name


def upload_folder(instance_path: str | Path) -> Path:
    folder = Path(instance_path) / UPLOAD_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rejects_path(folder: Path, job_id: str) -> Path:
    return folder / f"{job_id}.rejected.json"


def remove_files(folder: Path, stored_name: str) -> None:
    """The upload and its rejected rows (a job's files carry its random id)."""
    job_id = stored_name.split(".", 1)[0]
    for path in (folder / stored_name, rejects_path(folder, job_id)):
        path.unlink(missing_ok=True)


def cleanup(session_factory, folder: Path) -> None:
    """Delete the files of expired jobs (called on the import page: no scheduler needed)."""
    with unit_of_work(session_factory) as session:
        names = jobs.expire(session)
    for name in names:
        remove_files(folder, name)


@dataclass(frozen=True)
class Step:
    """Everything a background step needs: nothing of the request (no app context)."""

    job_id: str
    kind: str
    path: Path
    display_name: str
    store: Any
    session_factory: Any
    cfg: dict[str, Any]
    folder: Path
    user_id: int
    ip: str | None = None


def _reporter(step: Step, writes: bool) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        phase = WRITE_PHASE if writes and done >= total else CHECK_PHASE
        with unit_of_work(step.session_factory) as session:
            cancel = jobs.progress(session, step.job_id, phase, done, total)
        if cancel:
            raise ImportCancelled

    return progress


def _save_rejects(step: Step, report: importer.ImportReport) -> None:
    path = rejects_path(step.folder, step.job_id)
    if not report.rejected:
        path.unlink(missing_ok=True)
        return
    keys, rows = report.reject_table()
    path.write_text(json.dumps({"columns": keys, "rows": rows}, ensure_ascii=False), encoding="utf-8")


def rejected_file(folder: Path, job_id: str, fmt: str) -> bytes | None:
    """The rejected rows as XLSX or CSV: the original columns plus 错误原因, re-importable as is."""
    path = rejects_path(folder, job_id)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    columns = [Column(key, title) for key, title in data["columns"]]
    return table_bytes(data["rows"], columns, fmt, sheet_name="错误行")


def _with_heartbeat(step: Step, work: Callable[[], None]) -> None:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                with unit_of_work(step.session_factory) as session:
                    jobs.heartbeat(session, step.job_id)
            except Exception:  # the database may be busy: the next beat retries
                log.warning("import job %s: heartbeat failed", step.job_id, exc_info=True)

    beater = threading.Thread(target=beat, name=f"import-heartbeat-{step.job_id[:6]}", daemon=True)
    beater.start()
    try:
        work()
    finally:
        stop.set()


def _end(step: Step, state: str, *, report: dict | None = None, message: str | None = None) -> None:
    with unit_of_work(step.session_factory) as session:
        jobs.finish(session, step.job_id, state, report=report, message=message)


def _failure(step: Step, exc: BaseException, wrote: bool) -> None:
    """Any failure of a step: the job says why and the upload is deleted; the store is untouched
    unless the write had already committed (`wrote`: only recording the result failed)."""
    if wrote:
        log.exception("import job %s: written, but its result was not recorded", step.job_id)
        state, message = jobs.FAILED, "数据已写入，但记录导入结果时出错（已记录日志）：请在企业名录中核对。"
    elif isinstance(exc, ImportCancelled):
        state, message = jobs.CANCELLED, "已取消：没有写入任何数据。"
    elif isinstance(exc, TabularError | LianzhaoError | ValueError):
        state, message = jobs.FAILED, str(exc)
    else:
        log.exception("import job %s failed", step.job_id)
        state, message = jobs.FAILED, "导入时系统出错，没有写入任何数据（已记录日志）。"
    remove_files(step.folder, step.path.name)
    _end(step, state, message=message)


def check(step: Step) -> None:
    """Step 1: read and validate without writing; the report is what the confirm page shows."""

    def work() -> None:
        report = importer.run_import(
            step.store,
            step.kind,
            step.path,
            step.cfg,
            dry_run=True,
            progress=_reporter(step, writes=False),
            display_name=step.display_name,
        )
        _save_rejects(step, report)
        _end(step, jobs.CHECKED, report=importer.report_dict(report))

    _guarded(step, work)


def commit(step: Step, partial: bool) -> None:
    """Step 2: the import itself, all or nothing unless `partial`; audited; the upload deleted."""

    state = {"wrote": False}

    def work() -> None:
        report = importer.run_import(
            step.store,
            step.kind,
            step.path,
            step.cfg,
            partial=partial,
            progress=_reporter(step, writes=True),
            display_name=step.display_name,
        )
        state["wrote"] = report.committed
        _save_rejects(step, report)
        (step.folder / step.path.name).unlink(missing_ok=True)
        with unit_of_work(step.session_factory) as session:
            actor = session.get(User, step.user_id)
            audit.record(
                session,
                actor,
                "import",
                step.kind,
                None,
                None,
                {
                    "file": step.display_name,
                    "total": report.total,
                    "written": report.written,
                    "rejected": report.rejected,
                    "committed": report.committed,
                    "partial": partial,
                },
                step.ip,
            )
            if report.committed:
                jobs.finish(session, step.job_id, jobs.DONE, report=importer.report_dict(report))
            else:
                jobs.finish(
                    session,
                    step.job_id,
                    jobs.FAILED,
                    report=importer.report_dict(report),
                    message=f"有 {report.rejected} 行错误，未写入任何数据。",
                )

    _guarded(step, work, state)


def _guarded(step: Step, work: Callable[[], None], state: dict | None = None) -> None:
    try:
        _with_heartbeat(step, work)
    except BaseException as exc:  # a thread must always end its job, whatever stopped it
        try:
            _failure(step, exc, bool(state and state["wrote"]))
        except Exception:
            log.exception("import job %s: could not record its failure", step.job_id)


def launch(target: Callable[..., None], *args: Any) -> threading.Thread:
    """Run a step in a daemon thread of this process (see the module's worker assumptions)."""
    thread = threading.Thread(target=target, args=args, name="import-job", daemon=True)
    thread.start()
    return thread
