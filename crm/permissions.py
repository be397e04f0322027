"""Who may do what to a lead, as pure functions of (user, lead). Services call these on every object.

- 招商专员 (recruiter): reads and edits own leads and the team's pool (leads without an owner of
  the recruiter's team, or of no team): the pool a recruiter may claim from.
- 招商经理 (manager): reads and edits the team's leads and the team's pool; assigns within the team.
- 区领导 (leader): reads every lead and comments; edits none.
- 系统管理员 (admin): users and settings only; no access to leads (三权分立: the system
  administrator does not handle business data).

`user` and `lead` are anything with the attributes used (ORM objects, or plain stand-ins in tests).

Rules that lists apply in SQL have their SQL form right beside the Python one (`in_team_pool` /
`team_pool`, `can_read` / `visibility`), so a change to one is a change to both;
tests/crm/test_rule_agreement.py checks that they pick the same rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from .models import ADMIN, LEADER, MANAGER, RECRUITER, Lead


def _active(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_active", False))


def in_pool(lead: Any) -> bool:
    return lead.owner_id is None


def in_team_pool(user: Any, lead: Any) -> bool:
    """A pool lead of the user's own team, or one no team holds yet: the pool the user works."""
    return in_pool(lead) and (lead.team_id is None or lead.team_id == user.team_id)


def team_pool(user: Any) -> ColumnElement[bool]:
    """`in_team_pool` as SQL: no owner, and the user's team or no team."""
    team = (
        Lead.team_id.is_(None)
        if user.team_id is None
        else or_(Lead.team_id == user.team_id, Lead.team_id.is_(None))
    )
    return and_(Lead.owner_id.is_(None), team)


def can_read(user: Any, lead: Any) -> bool:
    if not _active(user):
        return False
    if user.role == LEADER:
        return True
    if user.role == MANAGER:
        return in_team_pool(user, lead) or (user.team_id is not None and lead.team_id == user.team_id)
    if user.role == RECRUITER:
        return in_team_pool(user, lead) or lead.owner_id == user.id
    return False


def visibility(user: Any) -> ColumnElement[bool]:
    """`can_read` as SQL: the WHERE clause of the leads the user may read."""
    if not _active(user):
        return false()
    if user.role == LEADER:
        return true()
    if user.role == MANAGER:
        if user.team_id is None:
            return team_pool(user)
        return or_(Lead.team_id == user.team_id, team_pool(user))
    if user.role == RECRUITER:
        return or_(Lead.owner_id == user.id, team_pool(user))
    return false()


def visible_leads(user: Any) -> Select[Any]:
    """SELECT of the leads the user may read: every list and count starts here."""
    return select(Lead).where(visibility(user))


def can_edit(user: Any, lead: Any) -> bool:
    """Change fields, add activities, move stages."""
    if not _active(user):
        return False
    if user.role in (MANAGER, RECRUITER):
        return can_read(user, lead)
    return False


def can_comment(user: Any, lead: Any) -> bool:
    return can_read(user, lead)


def can_delete_attachment(user: Any, lead: Any, uploaded_by_id: int | None) -> bool:
    """A file on a lead is deleted by its uploader or a manager, while they may edit the lead."""
    return can_edit(user, lead) and (
        user.role == MANAGER or (uploaded_by_id is not None and uploaded_by_id == user.id)
    )


def can_assign(user: Any, lead: Any) -> bool:
    """Managers assign or reassign their team's leads (owned or in the pool) and team-less pool leads."""
    if not _active(user) or user.role != MANAGER or user.team_id is None:
        return False
    return lead.team_id == user.team_id or (in_pool(lead) and lead.team_id is None)


def can_claim(user: Any, lead: Any) -> bool:
    """A recruiter may take a pool lead of their own team (or one without a team)."""
    return _active(user) and user.role == RECRUITER and in_team_pool(user, lead)


def can_flag_key(user: Any, lead: Any) -> bool:
    """Only a manager marks a lead as a key project (重点项目) by hand."""
    return _active(user) and user.role == MANAGER and can_edit(user, lead)


def can_be_assignee(manager: Any, assignee: Any) -> bool:
    """An assignee is an active recruiter or manager of the manager's own team."""
    return (
        _active(assignee)
        and assignee.role in (RECRUITER, MANAGER)
        and assignee.team_id is not None
        and assignee.team_id == manager.team_id
    )


def can_create_lead(user: Any) -> bool:
    return _active(user) and user.role in (RECRUITER, MANAGER)


def can_manage_target_lists(user: Any) -> bool:
    return _active(user) and user.role == MANAGER


def can_review_target_lists(user: Any) -> bool:
    return _active(user) and user.role == LEADER


def can_read_target_lists(user: Any) -> bool:
    return _active(user) and user.role in (RECRUITER, MANAGER, LEADER)


def can_merge_companies(user: Any) -> bool:
    """疑似重复 firms are merged by a manager or the administrator who imports the data."""
    return _active(user) and user.role in (MANAGER, ADMIN)


def can_force_merge(user: Any) -> bool:
    """Only the administrator merges two firms that both have open leads."""
    return _active(user) and user.role == ADMIN


def can_manage_users(user: Any) -> bool:
    return _active(user) and user.role == ADMIN


def can_read_contacts(user: Any, reads_a_lead: bool) -> bool:
    """Contacts of a company (crm.services.contacts): managers and leaders see every company's;
    a recruiter those of a company on which they may read a lead (`reads_a_lead`)."""
    if not _active(user):
        return False
    if user.role in (MANAGER, LEADER):
        return True
    return user.role == RECRUITER and reads_a_lead


def can_edit_contacts(user: Any, edits_a_lead: bool) -> bool:
    """Add, change or delete contacts: a manager on any company (they keep the shared records), a
    recruiter on a company on which they may edit a lead; leaders read only."""
    if not _active(user):
        return False
    if user.role == MANAGER:
        return True
    return user.role == RECRUITER and edits_a_lead
