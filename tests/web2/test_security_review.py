"""Security review probes: CSRF on every state-changing route, object permissions across roles and
teams, open redirects, and what /healthz tells an anonymous caller."""

from __future__ import annotations

import re

import pytest

from .conftest import post

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


WRITES = [
    ("activities", {"kind": "电话", "summary": "越权写入", "outcome": "x", "date": "2026-01-01"}),
    ("stage", {"target": "接洽", "reason": "越权"}),
    ("four-ones", {"sponsor": "x"}),
    ("details", {"contact_name": "越权"}),
    ("comments", {"body": "越权评论"}),
    ("claim", {}),
    ("release", {"reason": "越权"}),
]


@pytest.mark.parametrize("username", ["zhuanyuan2", "admin"])
def test_other_team_and_admin_neither_read_nor_write_a_lead(leads, as_user, username):
    client = as_user(username)
    assert client.get(f"/leads/{leads.own}").status_code in (403, 404)
    for action, data in WRITES:
        resp = post(client, f"/leads/{leads.own}/{action}", data)
        assert resp.status_code in (403, 404), (username, action, resp.status_code)
        assert "越权" not in resp.get_data(as_text=True)
    recruiter = as_user("zhuanyuan")
    page = recruiter.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "越权" not in page


def test_leader_reads_but_does_not_edit(leads, as_user):
    client = as_user("lingdao")
    assert client.get(f"/leads/{leads.own}").status_code == 200
    for action, data in WRITES:
        if action == "comments":
            continue
        resp = post(client, f"/leads/{leads.own}/{action}", data)
        assert resp.status_code in (403, 404), (action, resp.status_code)


def test_admin_cannot_open_business_lists_or_board(leads, as_user):
    client = as_user("admin")
    for path in ("/leads/", "/board/", "/dashboard/"):
        assert client.get(path).status_code == 403, path


def test_business_roles_cannot_open_admin(as_user):
    for username in ("jingli", "lingdao", "zhuanyuan"):
        client = as_user(username)
        for path in ("/admin/users", "/admin/settings", "/admin/import", "/admin/audit"):
            assert client.get(path).status_code == 403, (username, path)
        assert post(client, "/admin/users/1/password", {"password": "Abcdef123456!"}).status_code == 403


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
    from tests.web.webdata import PASSWORD

    from .conftest import csrf_token

    token = csrf_token(client, f"/login?next={target}")
    resp = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "zhuanyuan", "password": PASSWORD, "csrf_token": token},
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert "evil" not in location, location


def test_healthz_tells_an_anonymous_caller_no_paths(client, env):
    body = client.get("/healthz").get_data(as_text=True)
    where = str(getattr(env.store, "path", None) or getattr(env.store, "uri", None) or "graph-store-location")
    assert where not in body and "/" not in body.replace("\\/", "")


def _upload(client, name, text, kind="companies"):
    import io

    return post(
        client,
        "/admin/import",
        {"kind": kind, "file": (io.BytesIO(text.encode("utf-8")), name)},
        content_type="multipart/form-data",
    )


def test_upload_name_is_text_and_no_temp_file_is_left(as_user, env):
    """A hostile file name is shown escaped, never used as a path; the temp copy is removed."""
    from lianzhao.config import instance_path

    client = as_user("admin")
    name = "../../<img src=x onerror=alert(1)>.csv"
    resp = _upload(client, name, "企业名称\n")
    html = resp.get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x" in html
    uploads = instance_path(env.cfg) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
    assert not (instance_path(env.cfg).parent.parent / "<img src=x onerror=alert(1)>.csv").exists()


def test_upload_over_the_size_limit_is_refused_in_chinese(app, as_user):
    client = as_user("admin")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = _upload(client, "big.csv", "企业名称\n" + "甲" * 4000)
    assert resp.status_code == 413 and "文件过大" in resp.get_data(as_text=True)


def test_flash_and_error_pages_escape_user_text(leads, as_user):
    """A lead's company name with markup appears as text on its page and in bulk messages."""
    client = as_user("zhuanyuan")
    resp = post(client, f"/leads/{leads.own}/comments", {"body": "<script>alert(1)</script>"})
    assert resp.status_code in (200, 302)
    page = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


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


def test_target_list_writes_only_by_its_team_manager_and_approval_only_by_a_leader(as_user):
    manager = as_user("jingli")
    resp = post(
        manager, "/targets/lists/new", {"sector": "nev", "chain": "nev_drive", "title": "越权测试名录"}
    )
    list_id = int(re.search(r"/targets/lists/(\d+)", resp.headers["Location"]).group(1))
    for username in ("zhuanyuan", "zhuanyuan2", "lingdao", "admin"):
        client = as_user(username)
        for action in ("add-top", "submit", "new-version"):
            resp = post(client, f"/targets/lists/{list_id}/{action}", {"n": "5"})
            assert resp.status_code in (403, 404), (username, action, resp.status_code)
    assert as_user("admin").get(f"/targets/lists/{list_id}").status_code == 403
    assert post(manager, f"/targets/lists/{list_id}/approve").status_code == 403
