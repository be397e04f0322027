"""App factory, login, security headers, CSRF, error pages and the health probe."""

from __future__ import annotations

from .conftest import csrf_token, login
from .webdata import PASSWORD


def test_pages_need_login(client):
    for path in ("/chains/", "/targets/", "/targets/lists", "/companies/O1", "/chains/nev_drive"):
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


def test_post_without_csrf_token_is_refused(client):
    resp = client.post("/login", data={"username": "jingli", "password": PASSWORD})
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    assert client.get("/chains/").status_code == 302  # not logged in


def test_json_post_needs_csrf_header(as_user):
    client = as_user("zhuanyuan")
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


def test_logout_requires_post_and_ends_session(as_user):
    client = as_user("jingli")
    assert client.get("/logout").status_code == 405
    token = csrf_token(client, "/chains/")
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302
    assert client.get("/chains/").status_code == 302


def test_idle_logout(app, as_user):
    client = as_user("jingli")
    with client.session_transaction() as sess:
        sess["last_seen"] = sess["last_seen"] - 31 * 60
    resp = client.get("/chains/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    html = client.get("/login").get_data(as_text=True)
    assert "长时间未操作" in html


def test_error_pages_in_chinese(as_user):
    client = as_user("jingli")
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)
    resp = client.get("/chains/no_such_chain")
    assert resp.status_code == 404 and "不存在" in resp.get_data(as_text=True)


def test_healthz_reports_store_and_db(client):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "ok"
    assert body["graph"]["ok"] and body["db"]["ok"]
    assert "产业链" in body["graph"]["message"]


def test_healthz_details_only_for_the_administrator(client, env):
    """Anonymous callers learn up/down, not the store's file path or sizes; the admin sees both."""
    from .conftest import login

    anonymous = client.get("/healthz").get_data(as_text=True)
    assert str(env.store.path) not in anonymous and "家企业" not in anonymous
    login(client, "admin")
    detail = client.get("/healthz").get_json()["graph"]["message"]
    assert "家企业" in detail


def test_secret_key_is_generated_once_in_instance(tmp_path):
    from web.security import secret_key

    cfg = {"web": {}}
    first = secret_key(cfg, str(tmp_path))
    assert len(first) >= 32 and first == secret_key(cfg, str(tmp_path))
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert secret_key({"web": {"secret_key": "from-env"}}, str(tmp_path)) == "from-env"


def test_secret_key_file_with_loose_permissions_is_tightened_and_an_empty_one_refused(tmp_path):
    import os

    import pytest

    from web.security import secret_key

    path = tmp_path / "secret_key"
    path.write_text("k" * 64, encoding="ascii")
    os.chmod(path, 0o644)
    assert secret_key({"web": {}}, str(tmp_path)) == "k" * 64
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("\n", encoding="ascii")
    with pytest.raises(RuntimeError, match="会话密钥文件"):
        secret_key({"web": {}}, str(tmp_path))


def test_create_app_connects_to_nothing(tmp_path):
    from lianzhao.config import load_config
    from web import create_app

    cfg = load_config(env={})
    cfg["instance"] = {"path": str(tmp_path / "inst")}
    cfg["database"]["url"] = "postgresql://nobody@127.0.0.1:1/none"
    app = create_app(cfg)  # no store opened, no database touched
    assert not (tmp_path / "inst" / "graph.sqlite3").exists()
    assert "chains" in app.blueprints


def test_configured_store_and_database_open_lazily_on_first_request(env):
    """No store or session factory passed in: the app opens the configured ones itself."""
    from web import create_app

    from .webdata import close_env, open_env

    close_env(env)  # the files stay; the app reopens them from the configured instance folder
    app = create_app(env.cfg)
    client = app.test_client()
    assert client.get("/healthz").get_json()["graph"]["ok"]
    from .conftest import login

    assert login(client, "zhuanyuan").status_code == 302
    assert "新能源汽车动力总成" in client.get("/chains/").get_data(as_text=True)
    app.extensions["lianzhao"].close()
    env.store = open_env(env.folder).store  # for the fixture's teardown


def test_warm_up_fills_the_analysis_cache(app):
    backend = app.extensions["lianzhao"]
    assert backend.warm_up() >= 0
    svc = backend.chain_service
    assert ("gaps", "nev_drive") in svc._cache and ("targets", "nev_drive") in svc._cache


def test_unexpected_error_gives_chinese_500_page(env):
    from web import create_app

    app = create_app(env.cfg, graph_store=env.store, session_factory=env.session_factory)

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail that must not leak")

    resp = app.test_client().get("/boom")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500 and "系统出错" in html and "internal detail" not in html


def test_permission_denied_is_a_chinese_403_page(as_user):
    client = as_user("zhuanyuan")
    token = csrf_token(client, "/targets/lists")
    resp = client.post("/targets/lists/new", data={"sector": "nev", "csrf_token": token})
    assert resp.status_code == 403
    assert "无权访问" in resp.get_data(as_text=True) and "招商经理" in resp.get_data(as_text=True)


def test_fetch_calls_get_json_401_when_not_logged_in(client):
    resp = client.get("/chains/nodes/nev_drive.controller/panel", headers={"Accept": "application/json"})
    assert resp.status_code == 401 and "重新登录" in resp.get_json()["error"]
    resp = client.get("/chains/")
    assert resp.status_code == 302 and "next=" in resp.headers["Location"]


def test_static_files_are_versioned_and_cached(client):
    html = client.get("/login").get_data(as_text=True)
    import re as _re

    url = _re.search(r'href="(/static/css/app\.css\?v=\d+)"', html).group(1)
    resp = client.get(url)
    assert resp.status_code == 200 and "max-age=31536000" in resp.headers["Cache-Control"]
    assert client.get("/static/vendor/vis-network.min.js").status_code == 200


def test_unreachable_graph_store_gives_503_in_chinese(env):
    """A real Neo4j backend pointed at a closed port: health says so, pages answer 503."""
    from web import create_app

    from .conftest import login

    cfg = dict(env.cfg)
    cfg["graph"] = {"backend": "neo4j"}
    cfg["neo4j"] = {"uri": "bolt://127.0.0.1:1", "user": "neo4j", "password": "x", "database": "neo4j"}
    app = create_app(cfg, session_factory=env.session_factory)
    client = app.test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "error" and not body["graph"]["ok"] and body["db"]["ok"]
    assert "bolt://" not in resp.get_data(as_text=True)  # no server address for anonymous callers
    login(client, "admin")
    assert "Neo4j" in client.get("/healthz").get_json()["graph"]["message"]
    client = app.test_client()
    login(client, "zhuanyuan")
    resp = client.get("/chains/")
    assert resp.status_code == 503 and "无法连接" in resp.get_data(as_text=True)
