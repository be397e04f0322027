"""The signed-in user as flask-login sees it: a thin wrapper around the CRM's User row.

The row is loaded once per request in that request's CRM session, so services receive the
real ORM object (`current_user.orm`) as their actor and check permissions on it.

The id kept in the signed session cookie carries a stamp of the password hash, so a password
change or an administrator's reset ends every other session of that account (a copied cookie
stops working); the view that changes the password signs its own session in again.
"""

from __future__ import annotations

import hashlib
import hmac

from flask_login import UserMixin

from crm.services.users import load_for_login_session

from . import backend
from .security import login_manager


class WebUser(UserMixin):
    def __init__(self, orm):
        self.orm = orm

    def get_id(self) -> str:
        return f"{self.orm.id}:{password_stamp(self.orm)}"

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


def password_stamp(orm) -> str:
    """A short digest of the password hash: changes whenever the password does."""
    return hashlib.sha256((orm.password_hash or "").encode("utf-8")).hexdigest()[:20]


@login_manager.user_loader
def load_user(user_id: str):

    raw_id, _, stamp = str(user_id).partition(":")
    try:
        orm = load_for_login_session(backend.db(), int(raw_id))
    except (TypeError, ValueError):
        return None
    if orm is None or not hmac.compare_digest(stamp, password_stamp(orm)):
        return None  # disabled, deleted, or the password changed since this session signed in
    return WebUser(orm)
