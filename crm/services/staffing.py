"""Who may fill a role on a team's work: the 项目服务专员 of a lead and the author of a 名录.

Product decision (docs/SECURITY.md, "Business rules"): a lead's case officer is an active
招商专员 or 招商经理 of the lead's own team (the team that works it), never an administrator, a
leader or another team's member; a manager builds 名录 only for the sector of their own team.
The web's pickers offer exactly the users `may_be_case_officer` accepts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..errors import PermissionDenied, ValidationError
from ..models import MANAGER, RECRUITER, User

CASE_OFFICER_ROLES = (RECRUITER, MANAGER)


def may_be_case_officer(user: Any, team_id: int | None) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) in CASE_OFFICER_ROLES
        and team_id is not None
        and getattr(user, "team_id", None) == team_id
    )


def check_case_officer(session: Session, user_id: int | None, team_id: int | None) -> None:
    """Refuse a case officer the rule does not allow (None: no account named, nothing to check)."""
    if user_id is None:
        return
    if not may_be_case_officer(session.get(User, user_id), team_id):
        raise ValidationError("项目服务专员须为本线索所属产业组在岗的招商专员或招商经理")


def check_list_sector(actor: Any, sector_id: str) -> None:
    """A manager's 名录 belongs to the sector of the manager's team."""
    team = getattr(actor, "team", None)
    if team is None or team.sector_id != sector_id:
        raise PermissionDenied("只能为本产业组的产业编制目标企业名录")
