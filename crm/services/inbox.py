"""In-app inbox: assignments, comments, target-list reviews land here for the user concerned."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..models import InboxMessage, utcnow
from ._common import Actor, current_actor


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    body: str | None = None,
    *,
    lead_id: int | None = None,
    target_list_id: int | None = None,
    now: datetime | None = None,
) -> InboxMessage:
    """Put a message in a user's inbox (called by other services, not by views)."""
    message = InboxMessage(
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=body,
        lead_id=lead_id,
        target_list_id=target_list_id,
        created_at=now or utcnow(),
    )
    session.add(message)
    return message


def list_messages(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 50
) -> list[InboxMessage]:
    """The actor's own messages, newest first."""
    actor = current_actor(session, actor)
    query = select(InboxMessage).where(InboxMessage.user_id == actor.id)
    if unread_only:
        query = query.where(InboxMessage.read_at.is_(None))
    return list(
        session.scalars(query.order_by(InboxMessage.created_at.desc(), InboxMessage.id.desc()).limit(limit))
    )


def unread_count(session: Session, actor: Actor) -> int:
    actor = current_actor(session, actor)
    return (
        session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.user_id == actor.id, InboxMessage.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, actor: Actor, message_id: int) -> InboxMessage:
    """Mark one of the actor's own messages read; someone else's is reported as not found."""
    actor = current_actor(session, actor)
    message = session.get(InboxMessage, message_id)
    if message is None or message.user_id != actor.id:
        raise NotFound("消息不存在")
    if message.read_at is None:
        message.read_at = utcnow()
        session.flush()
    return message


def mark_all_read(session: Session, actor: Actor) -> int:
    actor = current_actor(session, actor)
    result = session.execute(
        update(InboxMessage)
        .where(InboxMessage.user_id == actor.id, InboxMessage.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)  # an UPDATE gives a CursorResult
