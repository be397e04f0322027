"""Fixtures for the web tests: a real app on a real (small) graph store and CRM database.

`env` is a copy of a template built once per session (migrations and password hashing are slow),
so every test starts from the same rows without paying for them. `leads` adds four leads made
through the CRM services. Log the shared `client` in and out with `auth.login(name)` /
`auth.logout()`; `as_user(name)` gives a second, separate session (a fresh client whose `.token`
is its page CSRF token), for tests where two people act. `post` sends a form with the token.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

import pytest
from werkzeug.security import generate_password_hash

from crm.db import unit_of_work
from crm.services import users as user_svc
from crm.services.leads import create_lead
from crm.services.users import get_by_username
from crm.settings import CrmSettings as _CrmSettings
from web import create_app
from web.blueprints.admin import imports as import_views

from .webdata import PASSWORD, build_env, close_env, open_env

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def template_env(tmp_path_factory):
    """Built once (migrations are slow); each test gets a copy. The users' hashes use a cheap
    pbkdf2 round count, as in tests/crm: every login verifies one, and scrypt costs ~0.3 s each
    on this machine. Verification is werkzeug's real code either way; users and passwords the
    tests create get scrypt."""
    folder = tmp_path_factory.mktemp("web-template") / "instance"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(user_svc, "hash_password", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1000"))
        close_env(build_env(folder))
    return folder


@pytest.fixture
def env(template_env, tmp_path):
    folder = tmp_path / "instance"
    shutil.copytree(template_env, folder)
    env = open_env(folder)
    yield env
    close_env(env)


@dataclass
class Leads:
    own: int  # owned by zhuanyuan (nev recruiter)
    key: int  # key project (investment 2 亿), owned by zhuanyuan
    pool: int  # nev team pool lead, registered by the manager
    other: int  # owned by zhuanyuan2 (medical recruiter)


def make_leads(sf) -> Leads:
    with unit_of_work(sf) as s:
        rec = get_by_username(s, "zhuanyuan")
        rec2 = get_by_username(s, "zhuanyuan2")
        mgr = get_by_username(s, "jingli")
        base = {
            "sector_id": "nev",
            "sector_name": "新能源智能汽车",
            "chain_id": "nev_drive",
            "chain_name": "新能源汽车动力总成",
            "node_id": "nev_drive.controller",
            "node_name": "电机控制器",
            "gap_status": "缺链",
            "gap_reason": "本地无电机控制器企业",
            "gap_score": 81.5,
            "channel": "精准补链",
        }
        own = create_lead(s, rec, {**base, "company_name": "精控电驱科技"}, settings=SETTINGS)
        key = create_lead(
            s, rec, {**base, "company_name": "苏州功率芯片", "investment": 20000}, settings=SETTINGS
        )
        pool = create_lead(
            s,
            mgr,
            {
                **base,
                "company_name": "常州电机",
                "node_id": "nev_drive.motor",
                "node_name": "驱动电机",
                "gap_status": "弱链",
            },
            settings=SETTINGS,
        )
        other = create_lead(
            s,
            rec2,
            {
                "company_name": "天津植入材料",
                "sector_id": "medical",
                "chain_id": "med_device",
                "chain_name": "高端医疗器械",
                "node_id": "med_device.implant",
                "node_name": "植入材料",
            },
            settings=SETTINGS,
        )
        return Leads(own.id, key.id, pool.id, other.id)


@pytest.fixture
def leads(env) -> Leads:
    return make_leads(env.session_factory)


@pytest.fixture
def patient(monkeypatch):
    """Import requests wait for their background step as long as a slow test machine needs."""
    monkeypatch.setattr(import_views, "WAIT_SECONDS", 60.0)


@pytest.fixture
def app(env):
    return create_app(
        env.cfg, graph_store=env.store, session_factory=env.session_factory, test_config={"TESTING": True}
    )


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path="/login") -> str:
    """The CSRF token as a browser would read it from the page."""
    html = client.get(path).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


def login(client, username, password=PASSWORD):
    """POST the login form as the browser does; returns the response (302 on success)."""
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def post(client, path, data=None, **kw):
    """POST a form with the CSRF token, as the browser does (read from a page if not known yet)."""
    if getattr(client, "token", None) is None:
        client.token = csrf_token(client, "/chains/")
    return client.post(path, data={"csrf_token": client.token, **(data or {})}, **kw)


class AuthActions:
    """Log the shared test client in and out (as flaskr's tests do)."""

    def __init__(self, client):
        self._client = client

    def login(self, username, password=PASSWORD):
        """Log in (must succeed) and return the client; the session, and so the token, is new."""
        resp = login(self._client, username, password)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        self._client.token = None
        return self._client

    def logout(self):
        resp = post(self._client, "/logout")
        assert resp.status_code == 302, resp.status_code
        self._client.token = None
        return resp


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def as_user(app):
    """as_user("jingli") logs a fresh client in; client.token is then the page CSRF token."""

    def _login(username):
        client = app.test_client()
        resp = login(client, username)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        client.token = csrf_token(client, "/chains/")
        return client

    return _login
