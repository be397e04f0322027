"""Server-side sessions: what makes a signed cookie revocable.

The signed cookie only carries a random token; this module keeps one row per signed-in browser
(crm/models_security.UserSession) and every request checks it, so logout, a password change, a
disabled account or an administrator's "end all sessions" take effect at once in every worker
process, and a session ends after an absolute lifetime however busy it is. The idle timeout is
checked here too ([security] idle_logout_minutes), so a cookie replayed later is refused even if
it still carries a fresh `last_seen` of its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from ..errors import NotFound
from ..models import User, utcnow
from ..models_security import UserSession
from ..settings import SecurityPolicy
from . import audit
from ._common import Actor, SystemActor, current_actor, get_user
from .duties import SECURITY_DUTY, require_duty

# Rows are touched at most this often (one write per minute per browser, not per request).
TOUCH_EVERY = timedelta(seconds=60)
LOGOUT, PASSWORD_CHANGED, PASSWORD_RESET, DISABLED, ENDED_BY_ADMIN, ENDED_BY_USER = (
    "logout",
    "password_changed",
    "password_reset",
    "disabled",
    "ended_by_admin",
    "ended_by_user",
)
REASON_LABELS = {
    LOGOUT: "退出登录",
    PASSWORD_CHANGED: "修改密码",
    PASSWORD_RESET: "管理员重置密码",
    DISABLED: "账号停用",
    ENDED_BY_ADMIN: "管理员结束全部会话",
    ENDED_BY_USER: "本人结束会话",
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def start(
    session: Session,
    user: User,
    policy: SecurityPolicy,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> str:
    """Open a session for `user` (after a successful sign-in); returns the token for the cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=policy.session_lifetime_hours),
            ip=(ip or "")[:64] or None,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class Checked:
    user: User | None
    reason: str | None = None  # why it was refused: unknown | revoked | expired | idle | inactive
    touched: bool = False  # last_seen_at was updated: the caller commits that write at once


# One statement for the session row, its user and the user's team (every page shows the team): it
# runs on every request, so three look-ups became one, and it is built once (building a statement and
# its cache key cost about as much as SQLite running it; the token hash is the only parameter).
_CHECK = (
    select(UserSession, User)
    .outerjoin(User, User.id == UserSession.user_id)
    .options(joinedload(User.team))
    .where(UserSession.token_hash == bindparam("token_hash"))
)


def check(
    session: Session, token: str | None, policy: SecurityPolicy, *, now: datetime | None = None
) -> Checked:
    """The user of a live session, or why not. Touches `last_seen_at` (at most once a minute)."""
    if not token or len(token) > 100:
        return Checked(None, "unknown")
    now = now or utcnow()
    found = session.execute(_CHECK, {"token_hash": token_hash(token)}).first()
    if found is None:
        return Checked(None, "unknown")
    row, user = found
    if row.revoked_at is not None:
        return Checked(None, "revoked")
    if now >= row.expires_at:
        return Checked(None, "expired")
    if now - row.last_seen_at > timedelta(minutes=policy.idle_logout_minutes):
        return Checked(None, "idle")
    if user is None or not user.is_active:
        return Checked(None, "inactive")
    if now - row.last_seen_at >= TOUCH_EVERY:
        # a plain UPDATE, so two requests of one browser never conflict over the row
        session.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))
        return Checked(user, touched=True)
    return Checked(user)


def revoke_token(session: Session, token: str | None, reason: str = LOGOUT) -> None:
    """End the session of this cookie (logout)."""
    if token:
        _revoke(session, UserSession.token_hash == token_hash(token), reason)


def revoke_all(session: Session, user_id: int, reason: str) -> int:
    """End every live session of a user (password change or reset, disabled account)."""
    return _revoke(session, UserSession.user_id == user_id, reason)


def _revoke(session: Session, where: Any, reason: str) -> int:
    result: Any = session.execute(
        update(UserSession)
        .where(where, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return result.rowcount or 0


def list_own(session: Session, actor: Actor, *, now: datetime | None = None) -> list[UserSession]:
    """The actor's live sessions, newest first (the 我的会话 page)."""
    actor = current_actor(session, actor)
    if isinstance(actor, SystemActor):
        return []
    return _live(session, actor.id, now or utcnow())


def list_for_user(
    session: Session, actor: Actor, user_id: int, policy: SecurityPolicy | None = None
) -> list[UserSession]:
    """The security administrator's view of one user's live sessions."""
    require_duty(session, actor, SECURITY_DUTY, policy)
    return _live(session, get_user(session, user_id).id, utcnow())


def _live(session: Session, user_id: int, now: datetime) -> list[UserSession]:
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.created_at.desc(), UserSession.id.desc())
        )
    )


def end_own(session: Session, actor: Actor, session_id: int, ip: str | None = None) -> None:
    """A user ends one of their own sessions (a browser left signed in elsewhere)."""
    actor = current_actor(session, actor)
    row = session.get(UserSession, session_id)
    if row is None or isinstance(actor, SystemActor) or row.user_id != actor.id:
        raise NotFound("会话不存在或已结束")
    _revoke(session, UserSession.id == row.id, ENDED_BY_USER)
    audit.record(session, actor, "session_revoke", "user", actor.id, None, {"session": row.id}, ip)


def end_all(
    session: Session, actor: Actor, user_id: int, ip: str | None = None, policy: SecurityPolicy | None = None
) -> int:
    """The security administrator ends every session of a user (a lost laptop, a copied cookie)."""
    actor = require_duty(session, actor, SECURITY_DUTY, policy)
    user = get_user(session, user_id)
    count = revoke_all(session, user.id, ENDED_BY_ADMIN)
    audit.record(session, actor, "session_revoke", "user", user.id, None, {"sessions": count}, ip)
    return count
