"""Personal API tokens: created and revoked by their owner, stored hashed, shown once, audited.

A token is `lz_<prefix>_<secret>`: 32 random bytes, so a plain SHA-256 is a sound hash (there is
nothing to brute-force, unlike a password) and the lookup is one indexed equality. The token acts
as its user: every API call goes through the same services and permission checks as the pages,
with the user reloaded (a disabled account or one whose password was reset stops working at once).
Use is audited on the first call and then at most once per `AUDIT_EVERY` per token, so the
append-only log records who used which token when without one row per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import ADMIN, User, utcnow
from ..models_api import SCOPE_LABELS, SCOPE_READ, SCOPE_WRITE, ApiToken
from . import audit
from ._common import Actor, current_actor

PREFIX = "lz_"
AUDIT_EVERY = timedelta(hours=1)
API_USE = "api_use"  # audit action of a token's use


class InvalidToken(PermissionDenied):
    """No such token, or expired, revoked, or its user may no longer sign in (HTTP 401)."""


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plain: str  # shown to the owner once, never stored


def create_token(
    session: Session,
    actor: Actor,
    *,
    name: str,
    scopes: list[str] | tuple[str, ...],
    days: int,
    max_days: int,
    max_tokens: int,
    ip: str | None = None,
    now: datetime | None = None,
) -> NewToken:
    """A new token for the actor (the administrator holds no business data, so gets none)."""
    actor = current_actor(session, actor)
    if not isinstance(actor, User) or actor.role == ADMIN:
        raise PermissionDenied("系统管理员账号不处理业务数据，不能创建接口令牌")
    now = now or utcnow()
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("请填写令牌用途（1 到 100 个字符），例如“城市大脑数据同步”")
    wanted = [s for s in (SCOPE_READ, SCOPE_WRITE) if s in set(scopes or [])]
    if not wanted or set(scopes) - set(SCOPE_LABELS):
        raise ValidationError("令牌权限须为：只读（read）或读写（read、write）")
    if SCOPE_WRITE in wanted and SCOPE_READ not in wanted:
        wanted.insert(0, SCOPE_READ)
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ValidationError("有效期须为天数")
    if not 1 <= days <= max_days:
        raise ValidationError(f"有效期须在 1 到 {max_days} 天之间")
    live = [t for t in tokens_of(session, actor) if t.active(now)]
    if len(live) >= max_tokens:
        raise ValidationError(f"每个账号最多 {max_tokens} 个有效令牌，请先吊销不用的令牌")
    prefix = secrets.token_hex(4)
    plain = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user_id=actor.id,
        name=name,
        prefix=prefix,
        token_hash=hash_token(plain),
        scopes=wanted,
        created_at=now,
        expires_at=now + timedelta(days=days),
        use_count=0,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        audit.CREATE,
        "api_token",
        token.id,
        None,
        {"name": name, "prefix": prefix, "scopes": wanted, "expires_at": token.expires_at},
        ip,
    )
    return NewToken(token, plain)


def tokens_of(session: Session, actor: Actor) -> list[ApiToken]:
    """The actor's own tokens, newest first (the hash never leaves this module's callers' pages)."""
    actor = current_actor(session, actor)
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id).order_by(ApiToken.id.desc()))
    )


def revoke_token(
    session: Session, actor: Actor, token_id: int, *, ip: str | None = None, now: datetime | None = None
) -> ApiToken:
    """Revoke one of the actor's own tokens; someone else's is reported as not found."""
    actor = current_actor(session, actor)
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        session.flush()
        audit.record(session, actor, "revoke", "api_token", token.id, None, {"prefix": token.prefix}, ip)
    return token


def authenticate(
    session: Session, plain: str, *, ip: str | None = None, now: datetime | None = None
) -> tuple[User, ApiToken]:
    """The user and token behind a bearer token; InvalidToken for anything that may not act."""
    now = now or utcnow()
    if not plain or not plain.startswith(PREFIX) or len(plain) > 200:
        raise InvalidToken("接口令牌无效")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None:
        raise InvalidToken("接口令牌无效")
    if token.revoked_at is not None:
        raise InvalidToken("接口令牌已吊销")
    if token.expires_at <= now:
        raise InvalidToken("接口令牌已过期，请在“我的账号”页面创建新令牌")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active or user.role == ADMIN:
        raise InvalidToken("令牌所属账号已停用")
    if user.locked_until is not None and user.locked_until > now:
        raise InvalidToken("令牌所属账号已被锁定")
    if user.must_change_password:
        raise InvalidToken("令牌所属账号须先修改密码（密码已重置），令牌暂停使用")
    last = token.last_used_at
    if last is None or last <= now - AUDIT_EVERY or token.last_used_ip != ip:
        audit.record(
            session,
            user,
            API_USE,
            "api_token",
            token.id,
            None,
            {"prefix": token.prefix, "name": token.name},
            ip,
        )
    token.last_used_at = now
    token.last_used_ip = ip
    token.use_count = (token.use_count or 0) + 1
    session.flush()
    return user, token


def may_write(token: ApiToken) -> bool:
    return SCOPE_WRITE in (token.scopes or [])
