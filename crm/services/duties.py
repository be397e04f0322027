"""Who may do the administrative duties: system (users, settings, imports), security (sessions,
locks) and audit (reading and exporting the audit log). One place for the rule.

三员分立 is configurable ([security] separation_of_duties): off (default), the system
administrator (ADMIN) holds all three duties; on, ADMIN keeps only the system duty, the 安全管理员
(SECURITY_ADMIN) holds the security duty and the 审计管理员 (AUDIT_ADMIN) the audit duty, and neither
of them can change anything else. The two roles hold their own duty in either mode; the command
line (SYSTEM) holds every duty.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..errors import PermissionDenied
from ..models import ADMIN, AUDIT_ADMIN, SECURITY_ADMIN
from ..settings import SecurityPolicy
from ._common import Actor, SystemActor, current_actor

SYSTEM_DUTY, SECURITY_DUTY, AUDIT_DUTY = "system", "security", "audit"
DUTY_LABELS = {SYSTEM_DUTY: "系统管理", SECURITY_DUTY: "安全管理", AUDIT_DUTY: "安全审计"}
DUTY_ROLES = {SECURITY_DUTY: SECURITY_ADMIN, AUDIT_DUTY: AUDIT_ADMIN}


def holds(actor: Any, duty: str, policy: SecurityPolicy | None = None) -> bool:
    """Whether `actor` holds `duty` under `policy` (None: separation of duties off)."""
    if isinstance(actor, SystemActor):
        return True
    if actor is None or not getattr(actor, "is_active", False):
        return False
    role = getattr(actor, "role", None)
    if role == ADMIN:
        return duty == SYSTEM_DUTY or not (policy is not None and policy.separation_of_duties)
    return role is not None and DUTY_ROLES.get(duty) == role


def require_duty(session: Session, actor: Actor, duty: str, policy: SecurityPolicy | None = None) -> Actor:
    """The reloaded actor if it holds `duty`, else PermissionDenied in Chinese."""
    actor = current_actor(session, actor)
    if not holds(actor, duty, policy):
        raise PermissionDenied(f"只有负责{DUTY_LABELS.get(duty, duty)}的管理员可以进行此操作")
    return actor
