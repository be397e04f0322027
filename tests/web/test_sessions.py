"""Revocable sessions (issue 17, item 1): a copied cookie dies with logout, a password change,
a disabled account or an administrator's "end all sessions"; absolute lifetime; 我的会话."""

from __future__ import annotations

from datetime import timedelta

from crm.db import unit_of_work
from crm.models import utcnow
from crm.models_security import UserSession
from crm.services import users as user_svc
from crm.services.users import get_by_username

from .conftest import post

COOKIE = "lianzhao_session"


def _copy_cookie(app, client):
    """A second browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return thief


def _signed_in(client) -> bool:
    return client.get("/chains/").status_code == 200


def test_copied_cookie_is_refused_right_after_logout(app, as_user):
    client = as_user("jingli")
    thief = _copy_cookie(app, client)
    assert _signed_in(thief)  # a copy works while the session lives...
    assert post(client, "/logout").status_code == 302
    resp = thief.get("/chains/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]  # ...and not after logout


def test_disabling_a_user_ends_their_sessions_at_once(app, env, as_user):
    client = as_user("zhuanyuan")
    assert _signed_in(client)
    admin = as_user("admin")
    uid = _uid(env, "zhuanyuan")
    assert post(admin, f"/admin/users/{uid}/active", {"active": "0"}).status_code == 302
    assert not _signed_in(client)


def test_administrator_ends_all_sessions_of_a_user(app, env, as_user):
    a, b = as_user("jingli"), as_user("jingli")
    admin = as_user("admin")
    page = admin.get("/security/")
    assert page.status_code == 200 and "结束全部会话" in page.get_data(as_text=True)
    assert post(admin, f"/security/users/{_uid(env, 'jingli')}/end-sessions").status_code == 302
    assert not _signed_in(a) and not _signed_in(b)
    assert _signed_in(admin)
    with unit_of_work(env.session_factory) as s:
        assert s.query(UserSession).filter_by(revoked_reason="ended_by_admin").count() == 2


def test_only_the_security_duty_ends_sessions_or_sees_locks(env, as_user):
    client = as_user("jingli")
    assert client.get("/security/").status_code == 403
    assert post(client, f"/security/users/{_uid(env, 'zhuanyuan')}/end-sessions").status_code == 403


def test_absolute_lifetime_ends_a_busy_session(app, env, as_user):
    client = as_user("jingli")
    with unit_of_work(env.session_factory) as s:
        row = s.query(UserSession).filter_by(revoked_at=None).one()
        row.expires_at = utcnow() - timedelta(seconds=1)  # signed in 12 hours ago, active every minute
        row.last_seen_at = utcnow()
    assert not _signed_in(client)


def test_server_side_idle_timeout_refuses_a_replayed_cookie(app, env, as_user):
    """The cookie's own last_seen cannot keep a session alive: the server's row decides."""
    client = as_user("jingli")
    with unit_of_work(env.session_factory) as s:
        row = s.query(UserSession).filter_by(revoked_at=None).one()
        row.last_seen_at = utcnow() - timedelta(minutes=31)
    assert not _signed_in(client)


def test_own_sessions_listed_and_one_ended(app, env, as_user):
    here, elsewhere = as_user("lingdao"), as_user("lingdao")
    html = here.get("/account/sessions").get_data(as_text=True)
    assert html.count('data-testid="session-row"') == 2 and "当前会话" in html
    with unit_of_work(env.session_factory) as s:
        rows = s.query(UserSession).filter_by(revoked_at=None).order_by(UserSession.id).all()
        other_id = rows[1].id  # `elsewhere` signed in second
    assert post(here, f"/account/sessions/{other_id}/end").status_code == 302
    assert not _signed_in(elsewhere) and _signed_in(here)
    # nobody ends someone else's session
    intruder = as_user("jingli")
    assert post(intruder, f"/account/sessions/{rows[0].id}/end").status_code == 404
    assert _signed_in(here)


def test_tokens_are_stored_hashed(app, env, as_user):
    client = as_user("jingli")
    cookie = client.get_cookie(COOKIE).value
    with unit_of_work(env.session_factory) as s:
        hashes = [r.token_hash for r in s.query(UserSession)]
    assert hashes and all(len(h) == 64 and h not in cookie for h in hashes)


def test_password_change_revokes_in_the_service(env):
    """The rule lives in the service: the CLI or any caller gets it too."""
    from crm.services import sessions

    with unit_of_work(env.session_factory) as s:
        user = get_by_username(s, "jingli")
        sessions.start(s, user, user_svc.CrmSettings().security)
        user_svc.reset_password(
            s, get_by_username(s, "admin"), user.id, "Ganz#Neu2026x", settings=user_svc.CrmSettings()
        )
    with unit_of_work(env.session_factory) as s:
        assert s.query(UserSession).filter_by(revoked_at=None).count() == 0


def _uid(env, username):
    with unit_of_work(env.session_factory) as s:
        return get_by_username(s, username).id


def test_a_page_view_keeps_the_session_alive_and_commits_the_touch_at_once(app, env, as_user):
    """Issue 16: the once-a-minute touch of a GET page is committed (it used to be rolled back at
    teardown) and committed before the page's work, so it never holds the write lock meanwhile."""
    from sqlalchemy import event

    client = as_user("jingli")
    with unit_of_work(env.session_factory) as s:
        row = s.query(UserSession).filter_by(revoked_at=None).one()
        row.last_seen_at = utcnow() - timedelta(minutes=5)
    engine = env.session_factory.kw["bind"]
    order = []
    listen_sql = lambda conn, cursor, sql, *a: order.append(
        "touch" if "UPDATE user_sessions" in sql else "sql"
    )
    listen_commit = lambda conn: order.append("commit")
    event.listen(engine, "before_cursor_execute", listen_sql)
    event.listen(engine, "commit", listen_commit)
    try:
        assert client.get("/chains/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listen_sql)
        event.remove(engine, "commit", listen_commit)
    assert order.index("commit") == order.index("touch") + 1, order
    with unit_of_work(env.session_factory) as s:
        row = s.query(UserSession).filter_by(revoked_at=None).one()
        assert utcnow() - row.last_seen_at < timedelta(minutes=1)
