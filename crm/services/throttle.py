"""Sign-in throttling that cannot be turned against a user.

A wrong password is counted by source address and by user name (crm/models_security.LoginFailure),
whether or not the name exists, so the answers and their timing are the same for both:

- five (``lockout_failures``) wrong passwords for one name from one address lock that name *for
  that address only* for ``lockout_minutes``; the owner still signs in from their own desk;
- an address with ``source_failures`` failures (any names) in the window waits a delay that
  doubles with each further failure, up to ``throttle_max_seconds`` (password spraying);
- a name with ``account_slowdown_failures`` failures from all addresses waits the same kind of
  delay (guessing from many addresses), bounded, so it is slowed but never locked out.

The password-change form counts as a sign-in attempt for the signed-in name. Locks are listed
and lifted by an administrator; locks and lifts are audited. The counters live in the CRM
database, so every worker process and the CLI share them (Flask-Limiter's memory storage would
be per process, and its other backends need Redis or Memcached, which the 政务内网 seldom has).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..errors import NotFound, ValidationError
from ..models import utcnow
from ..models_security import LoginFailure, LoginLock
from ..settings import SecurityPolicy
from . import audit
from ._common import Actor
from .duties import SECURITY_DUTY, require_duty

LOGIN, PASSWORD = "login", "password"


class CountedRefusal(ValidationError):
    """A refusal whose failure count must be kept: the caller commits its unit of work anyway."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    message: str = ""


def source_key(ip: str | None) -> str:
    return (ip or "-")[:64]


def name_key(username: str | None) -> str:
    return (username or "").strip().lower()[:64]


def _local(at: datetime, tz: tzinfo | None) -> str:
    return f"{at.replace(tzinfo=UTC).astimezone(tz or UTC):%H:%M}"


def locked_message(until: datetime, tz: tzinfo | None) -> str:
    return f"登录失败次数过多，已暂时锁定，请于 {_local(until, tz)} 后重试或联系管理员"


def check(
    session: Session,
    ip: str | None,
    username: str | None,
    policy: SecurityPolicy,
    *,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> Verdict:
    """May this address try this name now? Asked before the password is looked at."""
    now = now or utcnow()
    src, name = source_key(ip), name_key(username)
    lock = _active_lock(session, src, name, now)
    if lock is not None:
        return Verdict(False, locked_message(lock.until, tz))
    since = now - timedelta(minutes=policy.lockout_minutes)
    for column, key, threshold, text in (
        (LoginFailure.source, src, policy.source_failures, "此地址登录失败次数过多"),
        (LoginFailure.username, name, policy.account_slowdown_failures, "该用户名近期登录失败较多"),
    ):
        count, last = session.execute(
            select(func.count(), func.max(LoginFailure.at)).where(column == key, LoginFailure.at >= since)
        ).one()
        if count >= threshold and last is not None:
            wait = min(2 ** min(count - threshold, 20), policy.throttle_max_seconds)
            left = (last + timedelta(seconds=wait) - now).total_seconds()
            if left > 0:
                return Verdict(False, f"{text}，请 {int(left) + 1} 秒后重试")
    return Verdict(True)


def record_failure(
    session: Session,
    ip: str | None,
    username: str | None,
    policy: SecurityPolicy,
    *,
    kind: str = LOGIN,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> Verdict | None:
    """Count one wrong password; returns the lock verdict when this failure locks the name here."""
    now = now or utcnow()
    src, name = source_key(ip), name_key(username)
    session.add(LoginFailure(at=now, source=src, username=name, kind=kind))
    session.flush()
    since = now - timedelta(minutes=policy.lockout_minutes)
    last_lock = session.scalar(
        select(func.max(func.coalesce(LoginLock.lifted_at, LoginLock.created_at))).where(
            LoginLock.source == src, LoginLock.username == name
        )
    )
    if last_lock is not None and last_lock > since:
        since = last_lock
    failures = (
        session.scalar(
            select(func.count()).where(
                LoginFailure.source == src, LoginFailure.username == name, LoginFailure.at > since
            )
        )
        or 0
    )
    if failures < policy.lockout_failures:
        return None
    until = now + timedelta(minutes=policy.lockout_minutes)
    lock = LoginLock(source=src, username=name, created_at=now, until=until, failures=failures)
    session.add(lock)
    session.flush()
    audit.record(
        session,
        None,
        "login_lock",
        "login",
        name,
        None,
        {"source": src, "until": until, "failures": failures, "kind": kind},
        ip,
        actor_name=name or "-",
    )
    return Verdict(
        False,
        f"连续 {policy.lockout_failures} 次密码错误，已暂时锁定 {policy.lockout_minutes} 分钟"
        f"（至 {_local(until, tz)}），或联系管理员解除",
    )


def record_success(session: Session, ip: str | None, username: str | None) -> None:
    """A right password from this address: its failures for this name no longer count."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.source == source_key(ip), LoginFailure.username == name_key(username)
        )
    )


def _active_lock(session: Session, src: str, name: str, now: datetime) -> LoginLock | None:
    return session.scalar(
        select(LoginLock)
        .where(
            LoginLock.username == name,
            LoginLock.source == src,
            LoginLock.until > now,
            LoginLock.lifted_at.is_(None),
        )
        .order_by(LoginLock.until.desc())
        .limit(1)
    )


def list_locks(
    session: Session, actor: Actor, *, now: datetime | None = None, policy: SecurityPolicy | None = None
) -> list[LoginLock]:
    """Locks in force, newest first (the 安全管理 page)."""
    require_duty(session, actor, SECURITY_DUTY, policy)
    now = now or utcnow()
    return list(
        session.scalars(
            select(LoginLock)
            .where(LoginLock.until > now, LoginLock.lifted_at.is_(None))
            .order_by(LoginLock.created_at.desc(), LoginLock.id.desc())
            .limit(500)
        )
    )


def lift(
    session: Session, actor: Actor, lock_id: int, ip: str | None = None, policy: SecurityPolicy | None = None
) -> LoginLock:
    """The security administrator lifts a lock; the failures before it no longer count."""
    actor = require_duty(session, actor, SECURITY_DUTY, policy)
    lock = session.get(LoginLock, lock_id)
    if lock is None or lock.lifted_at is not None:
        raise NotFound("该锁定不存在或已解除")
    lock.lifted_at, lock.lifted_by_id = utcnow(), getattr(actor, "id", None)
    session.flush()
    audit.record(
        session, actor, "unlock", "login", lock.username, None, {"source": lock.source, "lock": lock.id}, ip
    )
    return lock
