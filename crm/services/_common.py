"""Helpers shared by the services: the system actor, reloading the actor, loading objects,
optimistic-lock flushes. The bottom of crm/services: it imports no other service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import permissions as perm
from ..errors import NotFound, PermissionDenied, StaleEdit
from ..models import ADMIN, Lead, User


@dataclass(frozen=True)
class SystemActor:
    """The operator at the command line (user add, init --demo); never used by the web."""

    id: None = None
    role: str = ADMIN
    team_id: None = None
    is_active: bool = True
    display_name: str = "系统（命令行）"
    username: str = "system"

    @property
    def label(self) -> str:
        return self.display_name


SYSTEM = SystemActor()
Actor = User | SystemActor


def current_actor(session: Session, actor: Actor) -> Actor:
    """Reload the actor in this session so a user disabled a second ago can no longer act."""
    if isinstance(actor, SystemActor):
        return actor
    if actor is None:
        raise PermissionDenied("请先登录")
    user = session.get(User, actor.id)
    if user is None or not user.is_active:
        raise PermissionDenied("您的账号已停用或不存在，不能进行此操作")
    return user


def get_lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound(f"线索不存在（编号 {lead_id}）")
    return lead


def readable_lead(session: Session, actor: Actor, lead_id: int) -> tuple[Actor, Lead]:
    """The reloaded actor and the lead, if the actor may read it: the one read check every
    service that shows part of a lead (activities, comments, history, claims) starts with."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not perm.can_read(actor, lead):
        raise PermissionDenied("您无权查看该线索")
    return actor, lead


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户不存在（编号 {user_id}）")
    return user


def jsonable(value: Any) -> Any:
    """Values as they go into the audit log's JSON."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {f: jsonable(getattr(obj, f)) for f in fields}


def flush_or_stale(session: Session, what: str) -> None:
    """Flush; a version mismatch at the database (someone saved first) becomes StaleEdit."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleEdit(what) from exc
