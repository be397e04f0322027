"""Which areas of the web app a user may open: one place the navigation (and views) ask.

Where crm.permissions has a rule it is used; the rest mirrors the areas' own checks, so a
menu never offers a page that answers 403.
"""

from __future__ import annotations

from typing import Any

from crm import permissions
from crm.models import AUDIT_ADMIN, LEADER, MANAGER, RECRUITER, SECURITY_ADMIN
from crm.services.spaces import can_read as can_read_spaces

_BUSINESS = (RECRUITER, MANAGER, LEADER)  # 三权分立: the administrator handles no business data


def _role(user: Any) -> str:
    return str(getattr(user, "role", "") or "")


AREAS = {
    "home": lambda u: _role(u) in _BUSINESS,
    "chains": lambda u: True,
    "targets": lambda u: True,
    "companies": lambda u: True,
    "lists": permissions.can_read_target_lists,
    "leads": lambda u: _role(u) in _BUSINESS,
    "calendar": lambda u: _role(u) in _BUSINESS,
    "inbox": lambda u: _role(u) in _BUSINESS,
    "board": lambda u: _role(u) in (MANAGER, LEADER),
    "dashboard": lambda u: _role(u) in (MANAGER, LEADER),
    "monitoring": lambda u: _role(u) in (MANAGER, LEADER),
    "admin": permissions.can_manage_users,
    "spaces": can_read_spaces,
    # 三员分立: the security and audit administrators' own pages (the system administrator
    # reaches both through the 管理 tabs while the duties are not separated)
    "security": lambda u: _role(u) == SECURITY_ADMIN,
    "audit": lambda u: _role(u) == AUDIT_ADMIN,
}


def may_open(user: Any, area: str) -> bool:
    """True if the user's role may open the area (an unknown area: no)."""
    rule = AREAS.get(area)
    return bool(user is not None and getattr(user, "is_active", False) and rule and rule(user))


def may_confirm_placement(user: Any) -> bool:
    """Who confirms or corrects a firm's chain nodes (the 待确认 queue): 招商经理 and the administrator
    who imports the data; recruiters and leaders read."""
    return _role(user) == MANAGER or permissions.can_manage_users(user)


def may_merge_companies(user: Any) -> bool:
    """Who sees the 疑似重复 list and its merge buttons (the service checks again)."""
    return permissions.can_merge_companies(user)


def may_force_merge(user: Any) -> bool:
    return permissions.can_force_merge(user)


def may_create_lead(user: Any) -> bool:
    """Whether 转为线索 buttons are shown (the service refuses the others with 403)."""
    return permissions.can_create_lead(user)
