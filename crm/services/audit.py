"""Audit log: who did what, when, from which address, with before/after values. Append-only:
this module only inserts and reads; database triggers refuse UPDATE and DELETE."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import PermissionDenied
from ..models import ADMIN, LEADER, AuditLog, utcnow
from ._common import Actor, SystemActor, current_actor, jsonable

# Actions written to the log.
CREATE, UPDATE, ASSIGN, TRANSITION, LOGIN, LOGIN_FAILED, DISABLE, ENABLE, RESET_PASSWORD, \
    SUBMIT, RETURN, APPROVE, COMMENT = ("create", "update", "assign", "transition", "login",
                                        "login_failed", "disable", "enable", "reset_password",
                                        "submit", "return", "approve", "comment")
ACTION_LABELS = {CREATE: "新建", UPDATE: "修改", ASSIGN: "分派", TRANSITION: "阶段变更",
                 LOGIN: "登录", LOGIN_FAILED: "登录失败", DISABLE: "停用", ENABLE: "启用",
                 RESET_PASSWORD: "重置密码", SUBMIT: "提交审批", RETURN: "退回", APPROVE: "批准",
                 COMMENT: "批注"}


def record(session: Session, actor: Actor | None, action: str, entity: str, entity_id: Any,
           before: dict | None = None, after: dict | None = None, ip: str | None = None,
           actor_name: str | None = None) -> AuditLog:
    """Append one entry. `actor` None is for events without a known user (failed login)."""
    entry = AuditLog(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name or (getattr(actor, "username", None) if actor is not None else None),
        ip=ip, action=action, entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass
class AuditPage:
    items: list[AuditLog]
    total: int
    page: int
    per_page: int


def list_entries(session: Session, actor: Actor, *, entity: str | None = None,
                 entity_id: Any = None, actor_id: int | None = None, since: datetime | None = None,
                 page: int = 1, per_page: int = 50) -> AuditPage:
    """Read the log, newest first. Administrators and leaders only."""
    actor = current_actor(session, actor)
    if actor.role not in (ADMIN, LEADER) and not isinstance(actor, SystemActor):
        raise PermissionDenied("只有系统管理员和区领导可以查看审计日志")
    query = select(AuditLog)
    if entity:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    if actor_id is not None:
        query = query.where(AuditLog.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    items = session.scalars(query.order_by(AuditLog.id.desc())
                            .offset((page - 1) * per_page).limit(per_page)).all()
    return AuditPage(list(items), total, page, per_page)
