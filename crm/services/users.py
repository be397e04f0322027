"""Users and teams: create, list, disable, reset passwords, and log in with lockout.

Only administrators (or the command line, `SYSTEM`) manage users. `authenticate` never raises
for a wrong password: it returns a `LoginResult`, so the failure counter it writes is committed
by the caller's unit of work instead of being rolled back with an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound, PermissionDenied, ValidationError
from ..models import ADMIN, MANAGER, RECRUITER, ROLE_LABELS, ROLES, Team, User, utcnow
from ..passwords import check_password, hash_password, verify_password
from ..settings import CrmSettings
from . import audit, sessions, throttle
from ._common import Actor, SystemActor, current_actor, get_user, snapshot

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
USER_FIELDS = ("username", "display_name", "role", "team_id", "is_active", "focus_chains")

# Team names for the sector ids of seed/sectors.toml; unknown sectors get "<id> 招商组".
SECTOR_TEAM_NAMES = {
    "medical": "医药健康招商组",
    "equipment": "智能装备招商组",
    "electronics": "电子信息招商组",
    "nev": "新能源智能汽车招商组",
    "urban": "绿色都市招商组",
    "lowcarbon": "绿色低碳招商组",
    "digital": "新一代数字科技招商组",
    "crossover": "交叉融合招商组",
}


def role_from_input(value: str) -> str:
    """Accept a role code (recruiter) or its Chinese label (招商专员)."""
    value = (value or "").strip()
    if value in ROLES:
        return value
    for code, label in ROLE_LABELS.items():
        if value == label:
            return code
    raise ValidationError(f"未知角色「{value}」，可选：{'、'.join(ROLE_LABELS.values())}")


def _require_admin(actor: Actor) -> None:
    if actor.role != ADMIN and not isinstance(actor, SystemActor):
        raise PermissionDenied("只有系统管理员可以管理用户")


# ----------------------------------------------------------------------------- teams


def ensure_team(session: Session, sector_id: str, name: str | None = None) -> Team:
    """The team of a sector, created on first use (teams are configuration, not user data)."""
    team = session.scalar(select(Team).where(Team.sector_id == sector_id))
    if team is None:
        team = Team(sector_id=sector_id, name=name or SECTOR_TEAM_NAMES.get(sector_id, f"{sector_id} 招商组"))
        session.add(team)
        session.flush()
    return team


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.id)))


# ----------------------------------------------------------------------------- users


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    sector_id: str | None = None,
    focus_chains: list[str] | None = None,
    settings: CrmSettings,
    ip: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create a user. Recruiters and managers belong to the team of `sector_id` (required)."""
    actor = current_actor(session, actor)
    _require_admin(actor)
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationError("用户名须为 2-64 位字母、数字、下划线、点或连字符")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationError(f"用户名「{username}」已存在")
    role = role_from_input(role)
    display_name = (display_name or "").strip() or username
    team = None
    if role in (RECRUITER, MANAGER):
        if not sector_id:
            raise ValidationError(f"{ROLE_LABELS[role]}须指定所属产业组")
        team = ensure_team(session, sector_id)
    elif sector_id:
        team = ensure_team(session, sector_id)
    check_password(password, settings.security, username)
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        team=team,
        password_hash=hash_password(password),
        is_active=True,
        focus_chains=list(focus_chains or []),
        failed_logins=0,
        password_changed_at=utcnow(),
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, audit.CREATE, "user", user.id, None, snapshot(user, USER_FIELDS), ip)
    return user


def list_users(
    session: Session, actor: Actor, *, include_inactive: bool = True, role: str | None = None
) -> list[User]:
    """All users for administrators; other roles see the active users (to pick assignees)."""
    actor = current_actor(session, actor)
    query = select(User).order_by(User.id)
    if actor.role != ADMIN or not include_inactive:
        query = query.where(User.is_active.is_(True))
    if role:
        query = query.where(User.role == role_from_input(role))
    return list(session.scalars(query))


def get_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户「{username}」不存在")
    return user


def load_for_login_session(session: Session, user_id: int) -> User | None:
    """For flask-login's user_loader: the user if it still exists and is active, else None."""
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def set_active(session: Session, actor: Actor, user_id: int, active: bool, ip: str | None = None) -> User:
    """Disable (or re-enable) an account; a disabled user cannot log in or act."""
    actor = current_actor(session, actor)
    _require_admin(actor)
    user = get_user(session, user_id)
    if not active and actor.id == user.id:
        raise ValidationError("不能停用自己的账号")
    if user.is_active != active:
        user.is_active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
        else:
            sessions.revoke_all(session, user.id, sessions.DISABLED)
        session.flush()
        audit.record(
            session,
            actor,
            audit.ENABLE if active else audit.DISABLE,
            "user",
            user.id,
            {"is_active": not active},
            {"is_active": active},
            ip,
        )
    return user


def disable_user(session: Session, actor: Actor, user_id: int, ip: str | None = None) -> User:
    return set_active(session, actor, user_id, False, ip)


def reset_password(
    session: Session,
    actor: Actor,
    user_id: int,
    new_password: str,
    *,
    settings: CrmSettings,
    ip: str | None = None,
) -> User:
    """Administrator sets a new password; the user must change it at next login. Unlocks."""
    actor = current_actor(session, actor)
    _require_admin(actor)
    user = get_user(session, user_id)
    check_password(new_password, settings.security, user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    sessions.revoke_all(session, user.id, sessions.PASSWORD_RESET)
    session.flush()
    audit.record(session, actor, audit.RESET_PASSWORD, "user", user.id, None, None, ip)
    return user


def change_password(
    session: Session,
    actor: Actor,
    old_password: str,
    new_password: str,
    *,
    settings: CrmSettings,
    ip: str | None = None,
) -> User:
    """A user changes their own password (old one required). It ends every session of the user;
    the caller opens a new one for the browser that made the change.

    A wrong current password counts like a failed sign-in (crm/services/throttle.py) and raises
    `throttle.CountedRefusal`: commit the unit of work anyway so the count is kept."""
    user = current_actor(session, actor)
    if isinstance(user, SystemActor):
        raise PermissionDenied("命令行不能修改自己的密码")
    verdict = throttle.check(session, ip, user.username, settings.security)
    if not verdict.allowed:
        raise throttle.CountedRefusal(verdict.message)
    if not verify_password(user.password_hash, old_password):
        locked = throttle.record_failure(
            session, ip, user.username, settings.security, kind=throttle.PASSWORD
        )
        audit.record(
            session, user, audit.LOGIN_FAILED, "user", user.id, None, {"reason": "修改密码时原密码错误"}, ip
        )
        raise throttle.CountedRefusal(locked.message if locked else "原密码不正确")
    if old_password == new_password:
        raise ValidationError("新密码不能与原密码相同")
    check_password(new_password, settings.security, user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    sessions.revoke_all(session, user.id, sessions.PASSWORD_CHANGED)
    session.flush()
    audit.record(session, user, audit.UPDATE, "user", user.id, None, {"password": "已修改"}, ip)
    return user


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    display_name: str | None = None,
    role: str | None = None,
    sector_id: str | None = None,
    focus_chains: list[str] | None = None,
    ip: str | None = None,
) -> User:
    actor = current_actor(session, actor)
    _require_admin(actor)
    user = get_user(session, user_id)
    before = snapshot(user, USER_FIELDS)
    if display_name is not None:
        user.display_name = display_name.strip() or user.display_name
    if role is not None:
        user.role = role_from_input(role)
    if sector_id is not None:
        user.team = ensure_team(session, sector_id) if sector_id else None
    if user.role in (RECRUITER, MANAGER) and user.team is None:
        raise ValidationError(f"{ROLE_LABELS[user.role]}须指定所属产业组")
    if focus_chains is not None:
        user.focus_chains = list(focus_chains)
    session.flush()
    b, a = audit.diff(before, snapshot(user, USER_FIELDS))
    if a:
        audit.record(session, actor, audit.UPDATE, "user", user.id, b, a, ip)
    return user


# ----------------------------------------------------------------------------- login


@dataclass
class LoginResult:
    ok: bool
    user: User | None
    message: str  # Chinese, for the login page
    must_change_password: bool = False
    first_login: bool = False  # the account had never logged in (a new account, not a reset)


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> LoginResult:
    """Check a login, throttled by source address and by name (crm/services/throttle.py): wrong
    passwords lock the name only for the address they came from. Unknown and existing names get
    the same answers after the same work, so the page never tells whether a name exists.

    `tz` is the district's time zone ([web] timezone): lock messages name the unlock time as
    the user's clock shows it (times are stored as naive UTC)."""
    policy = settings.security
    now = now or utcnow()
    generic = "用户名或密码错误"
    typed = (username or "").strip()
    verdict = throttle.check(session, ip, typed, policy, now=now, tz=tz)
    user = session.scalar(select(User).where(User.username == typed)) if typed else None
    if not verdict.allowed:
        audit.record(
            session,
            user,
            audit.LOGIN_FAILED,
            "user",
            getattr(user, "id", None),
            None,
            {"reason": "登录受限（失败次数过多）"},
            ip,
            actor_name=None if user is not None else typed[:100],
        )
        return LoginResult(False, None, verdict.message)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        # a lock on the account itself (set by an administrator or a migrated older lock)
        audit.record(session, user, audit.LOGIN_FAILED, "user", user.id, None, {"reason": "账号锁定中"}, ip)
        return LoginResult(False, None, throttle.locked_message(user.locked_until, tz))
    if user is None or not verify_password(user.password_hash, password):
        if user is None:
            verify_password(None, password)  # same work as a real check
        locked = throttle.record_failure(session, ip, typed, policy, now=now, tz=tz)
        reason = "用户不存在" if user is None else "密码错误"
        audit.record(
            session,
            user,
            audit.LOGIN_FAILED,
            "user",
            getattr(user, "id", None),
            None,
            {"reason": reason + ("，锁定" if locked else "")}
            | ({"username": typed[:64]} if user is None else {}),
            ip,
            actor_name=None if user is not None else typed[:100],
        )
        return LoginResult(False, None, locked.message if locked else generic)
    if not user.is_active:
        audit.record(session, user, audit.LOGIN_FAILED, "user", user.id, None, {"reason": "账号已停用"}, ip)
        return LoginResult(False, None, "账号已停用，请联系系统管理员")
    first_login = user.last_login_at is None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    throttle.record_success(session, ip, typed)
    session.flush()
    audit.record(session, user, audit.LOGIN, "user", user.id, None, None, ip)
    return LoginResult(
        True, user, "登录成功", must_change_password=user.must_change_password, first_login=first_login
    )
