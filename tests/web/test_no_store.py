"""Downloads that are not cached (issue 17, item 5): every authenticated response, generated files
included, says Cache-Control: no-store; static assets keep their long cache."""

from __future__ import annotations

import re

import pytest

from crm.db import unit_of_work
from crm.services import target_lists
from crm.services.users import get_by_username

ARG = re.compile(r"<(?:\w+:)?(\w+)>")


@pytest.fixture
def list_id(env, leads):
    with unit_of_work(env.session_factory) as s:
        tl = target_lists.create_draft(s, get_by_username(s, "jingli"), sector_id="nev", chain_id="nev_drive")
        return tl.id


def _fill(rule, ids):
    return ARG.sub(lambda m: str(ids.get(m.group(1), "nev_drive")), rule.rule)


@pytest.mark.parametrize("username", ["jingli", "lingdao", "zhuanyuan", "admin"])
def test_every_get_route_is_no_store(app, leads, list_id, as_user, username):
    client = as_user(username)
    ids = {"lead_id": leads.own, "list_id": list_id, "chain_id": "nev_drive", "sector_id": "nev"}
    files = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        resp = client.get(_fill(rule, ids))
        cache = resp.headers.get("Cache-Control", "")
        assert cache == "no-store", (username, rule.rule, resp.status_code, cache)
        assert "Expires" not in resp.headers, rule.rule
        if "attachment" in resp.headers.get("Content-Disposition", ""):
            files.append(rule.rule)
    if username == "jingli":  # the manager reaches both generated downloads
        assert {"/targets/export.xlsx", "/targets/lists/<int:list_id>/export.xlsx"} <= set(files)


def test_file_routes_named_explicitly_are_no_store(leads, list_id, as_user):
    client = as_user("jingli")
    for path in (
        "/targets/export.xlsx",
        f"/targets/lists/{list_id}/export.xlsx",
        f"/targets/lists/{list_id}/print",
    ):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Cache-Control"] == "no-store" and "public" not in resp.headers["Cache-Control"]
        assert "max-age" not in resp.headers["Cache-Control"]


def test_static_assets_keep_their_long_cache(client):
    resp = client.get("/static/css/app.css")
    if resp.status_code == 404:  # the stylesheet's name may differ: take any linked one
        html = client.get("/login").get_data(as_text=True)
        resp = client.get(re.search(r'href="(/static/[^"?]+)', html).group(1))
    assert resp.status_code == 200 and "max-age=31536000" in resp.headers.get("Cache-Control", "")
