"""Logging in and out: every page behind login, the Chinese login page, wrong passwords and
lockout, the session cookie, logout by POST only, and the idle timeout."""

from __future__ import annotations

from .conftest import csrf_token, login
from .webdata import PASSWORD


def test_pages_need_login(client):
    for path in ("/chains/", "/targets/", "/targets/lists", "/companies/O1", "/chains/nev_drive"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_crm_pages_need_login(client):
    for path in ("/leads/", "/board/", "/inbox/", "/dashboard/", "/admin/users", "/leads/1"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_login_page_is_chinese_and_secure(client):
    resp = client.get("/login")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<html lang="zh-CN">' in html and "登录链招" in html
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in html  # no inline script anywhere


def test_wrong_password_is_refused_in_chinese(client):
    resp = login(client, "zhuanyuan", "wrong-password")
    assert resp.status_code == 401
    assert "用户名或密码错误" in resp.get_data(as_text=True)
    assert client.get("/chains/").status_code == 302


def test_lockout_after_repeated_failures(client):
    for _ in range(5):
        login(client, "jingli", "bad")
    resp = login(client, "jingli", PASSWORD)  # right password, but locked now
    assert resp.status_code == 401
    assert "锁定" in resp.get_data(as_text=True)


def test_login_sets_safe_cookie_and_shows_role(client):
    resp = login(client, "jingli")
    assert resp.status_code == 302
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = client.get("/chains/").get_data(as_text=True)
    assert "李经理" in html and "招商经理" in html
    assert "产业链图谱" in html and "补链目标" in html and "目标名录" in html


def test_logout_requires_post_and_ends_session(auth):
    client = auth.login("jingli")
    assert client.get("/logout").status_code == 405
    token = csrf_token(client, "/chains/")
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    assert client.get("/chains/").status_code == 302


def test_idle_logout(app, auth):
    client = auth.login("jingli")
    with client.session_transaction() as sess:
        sess["last_seen"] = sess["last_seen"] - 31 * 60
    resp = client.get("/chains/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    html = client.get("/login").get_data(as_text=True)
    assert "长时间未操作" in html


def test_fetch_calls_get_json_401_when_not_logged_in(client):
    resp = client.get("/chains/nodes/nev_drive.controller/panel", headers={"Accept": "application/json"})
    assert resp.status_code == 401 and "重新登录" in resp.get_json()["error"]
    resp = client.get("/chains/")
    assert resp.status_code == 302 and "next=" in resp.headers["Location"]
