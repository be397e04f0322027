"""App factory, secret key, lazy connections, error pages, static files and the health probe."""

from __future__ import annotations

from .conftest import csrf_token, login


def test_error_pages_in_chinese(auth):
    client = auth.login("jingli")
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


def test_permission_denied_is_a_chinese_403_page(auth):
    client = auth.login("zhuanyuan")
    token = csrf_token(client, "/targets/lists")
    resp = client.post("/targets/lists/new", data={"sector": "nev", "csrf_token": token})
    assert resp.status_code == 403
    assert "无权访问" in resp.get_data(as_text=True) and "招商经理" in resp.get_data(as_text=True)


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


def test_healthz_tells_an_anonymous_caller_no_paths(client, env):
    body = client.get("/healthz").get_data(as_text=True)
    where = str(getattr(env.store, "path", None) or getattr(env.store, "uri", None) or "graph-store-location")
    assert where not in body and "/" not in body.replace("\\/", "")
