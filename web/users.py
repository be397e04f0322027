"""The signed-in user as flask-login sees it: a thin wrapper around the CRM's User row.

The row is loaded once per request in that request's CRM session, so services receive the
real ORM object (`current_user.orm`) as their actor and check permissions on it.
"""
from __future__ import annotations

from flask_login import UserMixin

from . import backend
from .security import login_manager


class WebUser(UserMixin):
    def __init__(self, orm):
        self.orm = orm

    def get_id(self) -> str:
        return str(self.orm.id)

    @property
    def is_active(self) -> bool:
        return bool(self.orm.is_active)

    @property
    def id(self) -> int:
        return self.orm.id

    @property
    def username(self) -> str:
        return self.orm.username

    @property
    def display_name(self) -> str:
        return self.orm.display_name

    @property
    def role(self) -> str:
        return self.orm.role

    @property
    def team_id(self):
        return self.orm.team_id

    @property
    def team_name(self) -> str | None:
        return self.orm.team.name if self.orm.team is not None else None


@login_manager.user_loader
def load_user(user_id: str):
    from crm.services.users import load_for_login_session

    try:
        orm = load_for_login_session(backend.db(), int(user_id))
    except (TypeError, ValueError):
        return None
    return WebUser(orm) if orm is not None else None
