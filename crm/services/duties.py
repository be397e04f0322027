"""Who may do the administrative duties: system (users, settings), security (sessions, locks,
policies) and audit (reading and exporting the audit log).

One place for the rule so 三员分立 can be switched on later without touching every service:
today the system administrator (ADMIN) holds all three duties, and the command line (SYSTEM)
too.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import PermissionDenied
from ..models import ADMIN
from ._common import Actor, SystemActor, current_actor

SYSTEM_DUTY, SECURITY_DUTY, AUDIT_DUTY = "system", "security", "audit"
DUTY_LABELS = {SYSTEM_DUTY: "系统管理", SECURITY_DUTY: "安全管理", AUDIT_DUTY: "安全审计"}


def holds(actor: Actor, duty: str) -> bool:
    return isinstance(actor, SystemActor) or getattr(actor, "role", None) == ADMIN


def require_duty(session: Session, actor: Actor, duty: str) -> Actor:
    """The reloaded actor if it holds `duty`, else PermissionDenied in Chinese."""
    actor = current_actor(session, actor)
    if not holds(actor, duty):
        raise PermissionDenied(f"只有负责{DUTY_LABELS.get(duty, duty)}的管理员可以进行此操作")
    return actor
