"""ORM classes of the security records: server-side sessions, failed sign-ins and per-source locks.

Mapping only, on crm.models' Base (one metadata, one migration chain). Times are naive UTC.
Kept apart from crm/models.py because these rows serve the login machinery, not the CRM's work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, User, utcnow


class UserSession(Base):
    """One signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a
    copy of the database cannot be replayed as a cookie. Revoked rows are kept until purged."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)  # absolute lifetime, idle or not
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_user_sessions_user_revoked", "user_id", "revoked_at"),)
    user: Mapped[User] = relationship()


class LoginFailure(Base):
    """A wrong password (sign-in or the password-change form), by source address and user name.
    The name is stored as typed (lower-cased), whether or not such a user exists."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # login | password

    __table_args__ = (
        Index("ix_login_failures_source_at", "source", "at"),
        Index("ix_login_failures_username_at", "username", "at"),
    )


class LoginLock(Base):
    """A user name locked for one source address only: the owner signs in from elsewhere."""

    __tablename__ = "login_locks"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    until: Mapped[datetime] = mapped_column(DateTime)
    failures: Mapped[int] = mapped_column(Integer)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(Integer)  # no FK: audit-like record

    __table_args__ = (Index("ix_login_locks_key", "username", "source", "until"),)
