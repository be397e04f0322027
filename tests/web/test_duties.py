"""三员分立, configurable (issue 17, item 3): with [security] separation_of_duties on, the system
administrator keeps users and settings, the 安全管理员 alone handles sessions and locks, the
审计管理员 alone reads the audit log, and neither of them can change anything else."""

from __future__ import annotations

import pytest

from crm.db import unit_of_work
from crm.services._common import SYSTEM
from crm.services.users import create_user
from crm.settings import CrmSettings
from tests.web.webdata import PASSWORD
from web import create_app

from .conftest import csrf_token, post


def _app(env, separated: bool):
    env.cfg.setdefault("security", {})["separation_of_duties"] = separated
    with unit_of_work(env.session_factory) as s:
        for username, role in (("anquan", "security_admin"), ("shenji", "审计管理员")):
            create_user(
                s,
                SYSTEM,
                username=username,
                display_name=username,
                role=role,
                password=PASSWORD,
                settings=CrmSettings(),
            )
    return create_app(
        env.cfg, graph_store=env.store, session_factory=env.session_factory, test_config={"TESTING": True}
    )


def _login(app, username):
    client = app.test_client()
    resp = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert resp.status_code == 302
    client.token = csrf_token(client, "/chains/")
    return client


def test_separated_duties(env, leads):
    app = _app(env, separated=True)
    admin, security, auditor = _login(app, "admin"), _login(app, "anquan"), _login(app, "shenji")
    assert admin.get("/admin/users").status_code == 200
    assert admin.get("/security/").status_code == 403
    assert admin.get("/admin/audit").status_code == 403

    assert security.get("/security/").status_code == 200
    assert post(security, "/security/users/1/end-sessions").status_code == 302
    for path in ("/admin/users", "/admin/audit", "/admin/settings", "/leads/", "/board/"):
        assert security.get(path).status_code == 403, path

    page = auditor.get("/admin/audit")
    assert page.status_code == 200 and "审计日志" in page.get_data(as_text=True)
    for path in ("/admin/users", "/security/", "/admin/import", "/leads/", "/board/"):
        assert auditor.get(path).status_code == 403, path
    for path in ("/admin/users", "/admin/settings", "/security/users/1/end-sessions"):
        assert post(auditor, path, {"username": "x", "display_name": "x", "role": "admin"}).status_code == 403
    nav = auditor.get("/chains/").get_data(as_text=True)
    assert 'href="/admin/audit"' in nav


@pytest.mark.parametrize("page", ["/security/", "/admin/audit", "/admin/users"])
def test_without_separation_the_administrator_holds_every_duty(env, page):
    app = _app(env, separated=False)
    assert _login(app, "admin").get(page).status_code == 200


def test_security_and_audit_roles_keep_their_own_duty_when_not_separated(env):
    app = _app(env, separated=False)
    assert _login(app, "anquan").get("/security/").status_code == 200
    assert _login(app, "shenji").get("/admin/audit").status_code == 200
    assert _login(app, "shenji").get("/admin/users").status_code == 403
