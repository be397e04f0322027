"""In-app inbox: assignments, comments, target-list reviews land here for the user concerned.

Messages that ask for an action (approve a 名录, confirm a stage claim) carry an `action_key`;
`close_action` marks every copy done, in every entitled user's inbox, once one of them acts.
Done items leave the inbox list and the unread count.
"""

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
    action_key: str | None = None,
    now: datetime | None = None,
) -> InboxMessage:
    """Put a message in a user's inbox (called by other services, not by views)."""
    message = InboxMessage(
        action_key=action_key,
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
    query = select(InboxMessage).where(InboxMessage.user_id == actor.id, InboxMessage.done_at.is_(None))
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
            .where(
                InboxMessage.user_id == actor.id,
                InboxMessage.read_at.is_(None),
                InboxMessage.done_at.is_(None),
            )
        )
        or 0
    )


def close_action(session: Session, action_key: str, now: datetime | None = None) -> int:
    """The action is done: its item closes in every inbox it was sent to. Returns how many."""
    now = now or utcnow()
    result = session.execute(
        update(InboxMessage)
        .where(InboxMessage.action_key == action_key, InboxMessage.done_at.is_(None))
        .values(done_at=now, read_at=func.coalesce(InboxMessage.read_at, now))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def target_list_review_key(list_id: int) -> str:
    return f"target_list:{list_id}:review"


def claim_decision_key(claim_id: int) -> str:
    return f"claim:{claim_id}:decide"


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
