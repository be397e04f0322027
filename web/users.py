"""The signed-in user as flask-login sees it: a thin wrapper around the CRM's User row.

The row is loaded once per request in that request's CRM session, so services receive the
real ORM object (`current_user.orm`) as their actor and check permissions on it.

The id kept in the signed session cookie is "<user id>:<session token>"; the token names a
server-side session row (crm/services/sessions.py) checked on every request, so logout, a
password change, a disabled account or an administrator ending the sessions refuses a copied
cookie at once, in every worker process.
"""

from __future__ import annotations

from flask_login import UserMixin

from crm.services import sessions as session_svc

from . import backend
from .security import login_manager


class WebUser(UserMixin):
    def __init__(self, orm, token: str):
        self.orm = orm
        self.token = token  # the server-side session this browser signed in with

    def get_id(self) -> str:
        return f"{self.orm.id}:{self.token}"

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
    raw_id, _, token = str(user_id).partition(":")
    db = backend.db()
    checked = session_svc.check(db, token, backend.crm_settings().security)
    if checked.touched:
        # Commit the once-a-minute touch now. Left open, it would hold the database's write lock
        # for the whole request (on SQLite every other writer waits, up to busy_timeout: pages took
        # seconds under load, issue 16), and a page that writes nothing would roll it back at teardown.
        db.commit()
    if checked.user is None or str(checked.user.id) != raw_id:
        return None  # logged out, revoked, expired, idle, disabled or deleted
    return WebUser(checked.user, token)
