"""SQLAlchemy mapping of calendar subscriptions: one revocable secret address per user for
calendar programs that subscribe to an .ics feed (Outlook, WPS, phones).

Why not an API token: a feed URL sits in a phone's settings and in proxy logs, so it must open
the user's calendar and nothing else; an API token opens the whole API. Only the SHA-256 of the
secret is stored (crm/services/calendar_feeds.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class CalendarFeed(Base):
    __tablename__ = "calendar_feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    use_count: Mapped[int] = mapped_column(Integer, default=0)
