"""The web's import jobs: who may see and confirm an uploaded file, one running import per graph
store, progress every worker process can read, cancellation, expiry of files left between steps.

The rules only: the job row (crm/models_imports.py) is the shared state; the thread that runs the
import (web/import_jobs.py) reports through `progress` and learns of a cancellation from it. A job
is visible to the user who uploaded it, in the login session it was uploaded from, and to no one
else (another user, or the same user in another browser, gets "not found").
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from graph import errors as base

from ..errors import CrmError, NotFound, ValidationError
from ..models import User, utcnow
from ..models_imports import (
    ALL,
    CANCELLED,
    CHECKED,
    CHECKING,
    DONE,
    EXPIRED,
    FAILED,
    IMPORTING,
    MODE_LABELS,
    PARTIAL,
    RUNNING,
    ImportJob,
)

# A running job's process touches its heartbeat every few seconds; one silent for this long died.
STALE_SECONDS = 60
INTERRUPTED = "导入进程已中断（服务重启或进程退出），没有写入任何数据（写入是一次完整的事务），请重新导入。"


class ImportBusy(CrmError, base.Conflict):
    """Another import runs on the same graph store."""


def session_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def release_stale(session: Session, now: datetime | None = None, stale_seconds: int = STALE_SECONDS) -> int:
    """Fail running jobs whose process stopped reporting (crash, restart): frees their store."""
    now = now or utcnow()
    result = session.execute(
        update(ImportJob)
        .where(ImportJob.state.in_(RUNNING), ImportJob.heartbeat_at < now - timedelta(seconds=stale_seconds))
        .values(state=FAILED, slot=None, message=INTERRUPTED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def running_on(session: Session, slot: str) -> ImportJob | None:
    return session.scalars(select(ImportJob).where(ImportJob.slot == slot)).first()


def _busy(job: ImportJob) -> ImportBusy:
    who = job.user.display_name if job.user is not None else "其他用户"
    done = f"，已处理 {job.rows_done}/{job.rows_total} 行" if job.rows_total else ""
    return ImportBusy(f"{who}正在导入「{job.filename}」{done}：同一时间只能进行一个导入，请等它完成后再试。")


def _claim(session: Session, job: ImportJob, slot: str) -> None:
    """Give `job` the store's slot, or refuse in Chinese when another job holds it."""
    release_stale(session)
    holder = running_on(session, slot)
    if holder is not None and holder.id != job.id:
        raise _busy(holder)
    job.slot = slot
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # another process claimed it between our read and our write
        holder = running_on(session, slot)
        raise (_busy(holder) if holder else ImportBusy("另一个导入刚刚开始，请稍后再试。")) from None


def start(
    session: Session,
    actor: User,
    *,
    job_id: str,
    session_token: str,
    kind: str,
    filename: str,
    stored_name: str,
    slot: str,
    keep_minutes: int,
) -> ImportJob:
    """Register an uploaded file and claim the store for its check (refused while another runs)."""
    now = utcnow()
    job = ImportJob(
        id=job_id,
        user_id=actor.id,
        session_hash=session_hash(session_token),
        kind=kind,
        filename=filename[:200],
        stored_name=stored_name,
        state=CHECKING,
        phase="读取文件",
        rows_done=0,
        rows_total=0,
        cancel_requested=False,
        created_at=now,
        heartbeat_at=now,
        expires_at=now + timedelta(minutes=keep_minutes),
    )
    session.add(job)
    _claim(session, job, slot)
    return job


def get_own(session: Session, actor: User, job_id: str, session_token: str) -> ImportJob:
    """The actor's own job from this login session; anyone else's is "not found"."""
    job = session.get(ImportJob, job_id) if job_id else None
    if job is None or job.user_id != actor.id or job.session_hash != session_hash(session_token):
        raise NotFound("找不到该导入任务（可能已过期，或不是您在本次登录中上传的文件）")
    if job.running and job.heartbeat_at < utcnow() - timedelta(seconds=STALE_SECONDS):
        release_stale(session)  # its process died: say so rather than poll forever
        session.refresh(job)
    return job


def confirm(session: Session, job: ImportJob, mode: str, slot: str, keep_minutes: int) -> ImportJob:
    """Start the import of a checked file: all rows or nothing (ALL), or only the good rows."""
    if mode not in MODE_LABELS:
        raise ValidationError("请选择「确认导入」或「仅导入正确的行」")
    if job.state != CHECKED:
        raise ValidationError(f"该导入任务{job.state_label}，不能再次确认")
    if job.expires_at < utcnow():
        raise ValidationError("上传的文件已过期，请重新上传")
    _claim(session, job, slot)
    now = utcnow()
    job.state, job.mode, job.phase = IMPORTING, mode, "读取文件"
    job.rows_done, job.cancel_requested, job.message = 0, False, None
    job.heartbeat_at = now
    job.expires_at = now + timedelta(minutes=keep_minutes)  # the rejected rows stay downloadable
    return job


def progress(session: Session, job_id: str, phase: str, done: int, total: int) -> bool:
    """Record progress (and the heartbeat) of a running job; True when cancellation was asked."""
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(phase=phase[:40], rows_done=done, rows_total=total, heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(session.scalar(select(ImportJob.cancel_requested).where(ImportJob.id == job_id)))


def heartbeat(session: Session, job_id: str) -> None:
    session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.state.in_(RUNNING))
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def request_cancel(session: Session, job: ImportJob) -> str:
    """Cancel: a running job stops at its next progress report (nothing is written); a checked
    file is discarded. Returns the new state (the caller deletes a discarded file)."""
    if job.running:
        job.cancel_requested = True
        return job.state
    if job.state == CHECKED:
        job.state, job.finished_at = CANCELLED, utcnow()
        return CANCELLED
    raise ValidationError(f"该导入任务{job.state_label}，无需取消")


def finish(
    session: Session,
    job_id: str,
    state: str,
    *,
    report: dict | None = None,
    message: str | None = None,
) -> ImportJob | None:
    """End a running step: CHECKED (with the check's report), DONE (with the result), FAILED or
    CANCELLED (with a message). Frees the store's slot."""
    job = session.get(ImportJob, job_id)
    if job is None:
        return None
    job.slot = None
    job.state, job.message, job.heartbeat_at = state, message, utcnow()
    if state == CHECKED:
        job.check_report = report
        job.phase = "待确认"
    else:
        job.finished_at = utcnow()
        if report is not None:
            job.result_report = report
        job.phase = ""
    return job


def expire(session: Session, now: datetime | None = None) -> list[str]:
    """Mark the jobs past their keep time as expired; their stored file names, to delete.

    A running job never expires (its heartbeat decides); finished jobs keep their row (the
    history) but lose their files."""
    now = now or utcnow()
    jobs = session.scalars(
        select(ImportJob).where(
            ImportJob.expires_at < now, ImportJob.state.in_((CHECKED, DONE, FAILED, CANCELLED))
        )
    ).all()
    names = []
    for job in jobs:
        names.append(job.stored_name)
        if job.state == CHECKED:
            job.state = EXPIRED
        job.expires_at = now + timedelta(days=3650)  # cleaned once
    return names


def recent(session: Session, actor: User, session_token: str, limit: int = 10) -> list[ImportJob]:
    """The actor's latest jobs of this login session (the import page lists them)."""
    return list(
        session.scalars(
            select(ImportJob)
            .where(ImportJob.user_id == actor.id, ImportJob.session_hash == session_hash(session_token))
            .order_by(ImportJob.created_at.desc())
            .limit(limit)
        )
    )


__all__ = [
    "ALL",
    "CANCELLED",
    "CHECKED",
    "DONE",
    "FAILED",
    "IMPORTING",
    "MODE_LABELS",
    "PARTIAL",
    "ImportBusy",
    "confirm",
    "expire",
    "finish",
    "get_own",
    "heartbeat",
    "progress",
    "recent",
    "release_stale",
    "request_cancel",
    "running_on",
    "start",
]
