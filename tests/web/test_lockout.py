"""Lockout that protects users (issue 17, item 2): locks per source address, same answers for
unknown and existing names, the password-change form counted, locks listed and lifted."""

from __future__ import annotations

import time

from crm.db import unit_of_work
from crm.models import RECRUITER, AuditLog
from crm.models_security import LoginLock
from crm.services._common import SYSTEM
from crm.services.users import create_user
from crm.settings import CrmSettings
from tests.web.webdata import PASSWORD

from .conftest import csrf_token, post


def _login(app, username, password, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    token = csrf_token(client)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return client, resp


def _text(resp):
    return resp.get_data(as_text=True)


def test_five_failures_from_one_address_do_not_lock_the_user_out_from_another(app):
    for _ in range(5):
        _, resp = _login(app, "lingdao", "wrong-password", "203.0.113.7")
    assert resp.status_code == 401 and "锁定" in _text(resp)
    _, resp = _login(app, "lingdao", PASSWORD, "203.0.113.7")
    assert resp.status_code == 401 and "锁定" in _text(resp)  # the attacker's address stays locked
    _, resp = _login(app, "lingdao", PASSWORD, "10.1.2.3")  # the leader at her own desk
    assert resp.status_code == 302


def test_unknown_and_existing_names_get_the_same_answers(app):
    answers = {}
    for name in ("lingdao", "no-such-user"):
        seen = []
        for _ in range(6):
            _, resp = _login(app, name, "wrong-password", f"198.51.100.{len(answers) + 1}")
            body = _text(resp)
            seen.append((resp.status_code, "锁定" in body, "用户名或密码错误" in body))
        answers[name] = seen
    assert answers["lingdao"] == answers["no-such-user"]
    assert answers["lingdao"][-1] == (401, True, False)


def test_timing_of_unknown_and_existing_names_is_alike(app, env):
    # A user with the production password hash: the template's users carry cheap test hashes.
    with unit_of_work(env.session_factory) as s:
        create_user(
            s,
            SYSTEM,
            username="jishi",
            display_name="计时专员",
            role=RECRUITER,
            password=PASSWORD,
            sector_id="nev",
            settings=CrmSettings(),
        )

    def best(name, ip):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            _login(app, name, "wrong-password", ip)
            times.append(time.perf_counter() - t0)
        return min(times)

    known, unknown = best("jishi", "192.0.2.10"), best("nobody-here", "192.0.2.11")
    assert abs(known - unknown) < max(known, unknown) * 0.6 + 0.02, (known, unknown)


def test_an_address_spraying_many_names_is_slowed_down(app, env):
    settings_failures = 20
    for i in range(settings_failures):
        _login(app, f"user{i}", "wrong-password", "192.0.2.99")
    _, resp = _login(app, "jingli", PASSWORD, "192.0.2.99")
    assert resp.status_code == 401 and "秒后重试" in _text(resp)
    _, resp = _login(app, "jingli", PASSWORD, "192.0.2.100")  # other addresses are not affected
    assert resp.status_code == 302


def test_password_change_form_guesses_are_counted(app, as_user, env):
    client = as_user("jingli")
    for _ in range(5):
        resp = post(
            client,
            "/password",
            {
                "current_password": "guess",
                "new_password": "Neu#Passwort2026",
                "confirm_password": "Neu#Passwort2026",
            },
        )
        assert resp.status_code == 400
    assert "锁定" in _text(resp)
    # locked now, even with the right current password, from this address
    resp = post(
        client,
        "/password",
        {
            "current_password": PASSWORD,
            "new_password": "Neu#Passwort2026",
            "confirm_password": "Neu#Passwort2026",
        },
    )
    assert resp.status_code == 400 and "锁定" in _text(resp)
    with unit_of_work(env.session_factory) as s:
        assert s.query(LoginLock).filter_by(username="jingli").count() == 1


def test_administrator_sees_and_lifts_a_lock_and_both_are_audited(app, as_user, env):
    for _ in range(5):
        _login(app, "zhuanyuan", "wrong-password", "203.0.113.50")
    admin = as_user("admin")
    html = _text(admin.get("/security/"))
    assert "203.0.113.50" in html and "zhuanyuan" in html
    with unit_of_work(env.session_factory) as s:
        lock_id = s.query(LoginLock).one().id
    assert post(admin, f"/security/locks/{lock_id}/lift").status_code == 302
    _, resp = _login(app, "zhuanyuan", PASSWORD, "203.0.113.50")
    assert resp.status_code == 302
    with unit_of_work(env.session_factory) as s:
        actions = {a for (a,) in s.query(AuditLog.action)}
    assert {"login_lock", "unlock", "login_failed", "login"} <= actions
