"""SQLAlchemy mapping of the open interfaces (issue 18): API tokens, notification preferences and
the outbox of notifications waiting to leave the app.

Mapping only, on crm.models' Base (one metadata, one migration chain: 0009); the rules are in
crm/services/api_tokens.py and crm/services/notify*.py. Times are naive UTC like the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, InboxMessage, User, utcnow

# Token scopes: read (GET) and write (everything else; implies read).
SCOPE_READ, SCOPE_WRITE = "read", "write"
SCOPE_LABELS = {SCOPE_READ: "只读", SCOPE_WRITE: "读写"}

# Notification channels and outbox states.
EMAIL, WEBHOOK = "email", "webhook"
CHANNEL_LABELS = {EMAIL: "电子邮件", WEBHOOK: "即时通讯机器人"}
PENDING, SENT, FAILED, DIGEST, DROPPED = "pending", "sent", "failed", "digest", "dropped"
STATUS_LABELS = {PENDING: "待发送", SENT: "已发送", FAILED: "发送失败", DIGEST: "待汇总", DROPPED: "已合并"}


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; `prefix` lets the owner tell tokens apart."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    use_count: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship()

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class NotifyPreference(Base):
    """Which inbox events leave the app for one user, by which channel, at once or as a daily digest."""

    __tablename__ = "notify_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    # event kind -> list of channels ("email", "webhook")
    channels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutboxMessage(Base):
    """One notification to send by one channel: written in the request's transaction, sent later by
    the worker (`lianzhao notify send`), retried with backoff; failures stay for the administrator."""

    __tablename__ = "notify_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    inbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_messages.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    # the text of an event that has no inbox message (the daily overdue reminder)
    title: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_notify_outbox_due", "status", "next_attempt_at"),)
    user: Mapped[User] = relationship()
    inbox_message: Mapped[InboxMessage | None] = relationship()
