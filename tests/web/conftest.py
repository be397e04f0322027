"""Fixtures for the web tests: a real app on a real (small) graph store and CRM database."""

from __future__ import annotations

import re
import shutil

import pytest

from web import create_app

from .webdata import PASSWORD, build_env, close_env, open_env

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def template_env(tmp_path_factory):
    """Built once (migrations, password hashing are slow); each test gets a copy."""
    folder = tmp_path_factory.mktemp("web-template") / "instance"
    close_env(build_env(folder))
    return folder


@pytest.fixture
def env(template_env, tmp_path):
    folder = tmp_path / "instance"
    shutil.copytree(template_env, folder)
    env = open_env(folder)
    yield env
    close_env(env)


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
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def as_user(client):
    """as_user("jingli") logs the client in and returns it."""

    def _login(username):
        resp = login(client, username)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return _login
