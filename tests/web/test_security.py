"""Cross-cutting protections: CSRF on every state-changing route (forms and JSON), no state
change on GET, redirects after login that never leave the site, and the security headers on
pages and error pages."""

from __future__ import annotations

import re

import pytest

from .conftest import csrf_token
from .webdata import PASSWORD


def test_post_without_csrf_token_is_refused(client):
    resp = client.post("/login", data={"username": "jingli", "password": PASSWORD})
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    assert client.get("/chains/").status_code == 302  # not logged in


def test_json_post_needs_csrf_header(auth):
    client = auth.login("zhuanyuan")
    resp = client.post(
        "/targets/lead",
        json={"company_id": "O1", "node_id": "nev_drive.controller"},
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.get_json()["ok"] is False


def test_open_redirect_is_ignored(client):
    token = csrf_token(client)
    resp = client.post(
        "/login?next=//evil.example/x", data={"username": "jingli", "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 302
    assert "evil" not in resp.headers["Location"]


ID_ARGS = re.compile(r"<(?:int:)?(\w+)>")


def _state_changing_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            yield rule


def test_every_state_changing_route_refuses_a_post_without_csrf_token(app, leads, as_user):
    """Logged in as each business role, no POST route accepts a form without the token."""
    rules = list(_state_changing_rules(app))
    assert len(rules) > 20
    for username in ("jingli", "admin"):
        client = as_user(username)
        for rule in rules:
            path = ID_ARGS.sub("1", rule.rule)
            resp = client.post(path, data={"x": "1"})
            body = resp.get_data(as_text=True)
            assert resp.status_code == 400 and "CSRF" in body, (username, rule.rule, resp.status_code)


def test_json_post_needs_the_csrf_header(app, leads, as_user):
    client = as_user("jingli")
    resp = client.post(f"/leads/{leads.own}/comments", json={"text": "x"})
    assert resp.status_code == 400
    resp = client.post(
        f"/leads/{leads.own}/comments", data={"body": "经由请求头提交"}, headers={"X-CSRFToken": client.token}
    )
    assert resp.status_code in (200, 302)


def test_get_routes_do_not_change_state(app):
    """No GET endpoint shares a view with a POST one except login/password/form pages."""
    for rule in app.url_map.iter_rules():
        assert not ({"GET"} <= rule.methods and {"DELETE", "PUT", "PATCH"} & rule.methods), rule.rule


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/\\evil.example/x",
        "/\\/evil.example",
        "https://evil.example/",
        "/\t/evil.example",
        "\\\\evil.example",
    ],
)
def test_login_next_never_leaves_the_site(client, target):
    token = csrf_token(client, f"/login?next={target}")
    resp = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "zhuanyuan", "password": PASSWORD, "csrf_token": token},
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert "evil" not in location, location


def test_security_headers_on_pages_and_errors(client):
    for path in ("/login", "/no/such/page", "/healthz"):
        resp = client.get(path)
        csp = resp.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cookies = client.get("/login").headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("lianzhao_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
