"""SQLAlchemy mapping of the web's import jobs (issue 10, item 6): one row per uploaded file, from
the check (how each column was understood) through the confirmed import to its result.

Mapping only, on crm.models' Base (one metadata, one migration chain: 0014); the rules are in
crm/services/import_jobs.py. The row lives in the CRM database so every web worker process sees
a job's progress and can ask for its cancellation, whichever process runs it. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, User, utcnow

# States: checking -> checked -> importing -> done | failed | cancelled; checked -> cancelled or
# expired; checking -> failed (unreadable file) | cancelled.
CHECKING, CHECKED, IMPORTING, DONE, FAILED, CANCELLED, EXPIRED = (
    "checking",
    "checked",
    "importing",
    "done",
    "failed",
    "cancelled",
    "expired",
)
RUNNING = (CHECKING, IMPORTING)
STATE_LABELS = {
    CHECKING: "校验中",
    CHECKED: "待确认",
    IMPORTING: "导入中",
    DONE: "已完成",
    FAILED: "失败",
    CANCELLED: "已取消",
    EXPIRED: "已过期",
}
# How the user confirmed: all rows or nothing, or only the good rows.
ALL, PARTIAL = "all", "partial"
MODE_LABELS = {ALL: "全部导入", PARTIAL: "仅导入正确的行"}


class ImportJob(Base):
    """An uploaded file between its check and its import, and the import's progress and result.

    `slot` names the graph store while the job runs (checking or importing) and is unique: a
    second job on the same store cannot start. `heartbeat_at` is touched by the running process;
    a running job whose heartbeat stops (the process died) is failed by the next caller."""

    __tablename__ = "import_jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # random; the upload's file name
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the login session's token
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))  # as the user named it, for messages
    stored_name: Mapped[str] = mapped_column(String(80))  # under <instance>/uploads
    state: Mapped[str] = mapped_column(String(20), default=CHECKING, index=True)
    mode: Mapped[str | None] = mapped_column(String(10))
    phase: Mapped[str] = mapped_column(String(40), default="")
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    slot: Mapped[str | None] = mapped_column(String(300), unique=True)
    message: Mapped[str | None] = mapped_column(Text)
    check_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)
