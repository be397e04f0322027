"""Calendar subscription addresses: one live secret per user, created and revoked by its owner,
stored hashed, audited; reuses the hashing of crm.services.api_tokens (32 random bytes, so a
plain SHA-256 is sound) but opens only the owner's calendar, never the API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import PermissionDenied
from ..models import LEADER, MANAGER, RECRUITER, User, utcnow
from ..models_calendar import CalendarFeed
from . import audit
from ._common import Actor, current_actor
from .api_tokens import hash_token

PREFIX = "cal_"
AUDIT_EVERY = timedelta(hours=6)  # a phone polls often: one audit entry per address and period


class InvalidFeed(PermissionDenied):
    """No such address, revoked, or its user may no longer sign in (HTTP 404 to the client)."""


@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    plain: str  # shown to the owner once, never stored


def live_feed(session: Session, actor: Actor) -> CalendarFeed | None:
    actor = current_actor(session, actor)
    return session.scalar(
        select(CalendarFeed)
        .where(CalendarFeed.user_id == actor.id, CalendarFeed.revoked_at.is_(None))
        .order_by(CalendarFeed.id.desc())
    )


def _revoke_all(session: Session, actor: Actor, now: datetime, ip: str | None) -> None:
    for feed in session.scalars(
        select(CalendarFeed).where(CalendarFeed.user_id == actor.id, CalendarFeed.revoked_at.is_(None))
    ):
        feed.revoked_at = now
        audit.record(session, actor, "revoke", "calendar_feed", feed.id, None, {"prefix": feed.prefix}, ip)


def create_feed(
    session: Session, actor: Actor, *, ip: str | None = None, now: datetime | None = None
) -> NewFeed:
    """A new address for the actor; the previous one stops working (one live address per user)."""
    actor = current_actor(session, actor)
    if not isinstance(actor, User) or actor.role not in (RECRUITER, MANAGER, LEADER):
        raise PermissionDenied("系统管理员账号不处理业务数据，没有日程")
    now = now or utcnow()
    _revoke_all(session, actor, now, ip)
    prefix = secrets.token_hex(4)
    plain = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    feed = CalendarFeed(
        user_id=actor.id, token_hash=hash_token(plain), prefix=prefix, created_at=now, use_count=0
    )
    session.add(feed)
    session.flush()
    audit.record(session, actor, audit.CREATE, "calendar_feed", feed.id, None, {"prefix": prefix}, ip)
    return NewFeed(feed, plain)


def revoke_feed(
    session: Session, actor: Actor, *, ip: str | None = None, now: datetime | None = None
) -> None:
    actor = current_actor(session, actor)
    _revoke_all(session, actor, now or utcnow(), ip)
    session.flush()


def authenticate(session: Session, plain: str, *, ip: str | None = None, now: datetime | None = None) -> User:
    """The user behind a feed address; InvalidFeed for anything that may not read a calendar."""
    now = now or utcnow()
    if not plain or not plain.startswith(PREFIX) or len(plain) > 200:
        raise InvalidFeed("订阅地址无效")
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(plain)))
    if feed is None or feed.revoked_at is not None:
        raise InvalidFeed("订阅地址无效或已停用")
    user = session.get(User, feed.user_id)
    if user is None or not user.is_active or user.role not in (RECRUITER, MANAGER, LEADER):
        raise InvalidFeed("订阅地址所属账号已停用")
    if user.locked_until is not None and user.locked_until > now:
        raise InvalidFeed("订阅地址所属账号已被锁定")
    if feed.last_used_at is None or feed.last_used_at <= now - AUDIT_EVERY:
        audit.record(session, user, "feed_use", "calendar_feed", feed.id, None, {"prefix": feed.prefix}, ip)
    feed.last_used_at = now
    feed.use_count = (feed.use_count or 0) + 1
    session.flush()
    return user
