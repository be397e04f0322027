"""Fixtures for web part 2: the web tests' app and users (tests/web/webdata.py) plus leads made
through the CRM services, so every page is exercised on real rows in a real database."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from crm.db import unit_of_work
from crm.services.leads import create_lead
from crm.services.users import get_by_username
from crm.settings import CrmSettings as _CrmSettings
from tests.web.webdata import PASSWORD, build_env
from web import create_app

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


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
def env(tmp_path):
    env = build_env(tmp_path / "instance")
    yield env
    env.store.close()


@pytest.fixture
def leads(env) -> Leads:
    return make_leads(env.session_factory)


@pytest.fixture
def app(env):
    return create_app(
        env.cfg, graph_store=env.store, session_factory=env.session_factory, test_config={"TESTING": True}
    )


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, "page has no csrf-token meta tag"
    return match.group(1)


@pytest.fixture
def as_user(app):
    """as_user("jingli") logs a fresh client in; client.token is then the page CSRF token."""

    def _login(username):
        client = app.test_client()
        token = csrf_token(client)
        resp = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        client.token = csrf_token(client, "/chains/")
        return client

    return _login


def post(client, path, data=None, **kw):
    """POST a form with the CSRF token, as the browser does."""
    return client.post(path, data={"csrf_token": client.token, **(data or {})}, **kw)
