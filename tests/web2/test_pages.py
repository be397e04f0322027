"""Every web part 2 page: Chinese, behind login, and clean under the strict CSP (no inline script,
no inline style, no event-handler attributes), and only our own static files."""

from __future__ import annotations

import re

import pytest

PAGES = {  # username -> pages
    "zhuanyuan": ["/leads/", "/leads/?scope=pool", "/inbox/"],
    "jingli": ["/board/", "/leads/?scope=team", "/dashboard/"],
    "lingdao": ["/dashboard/", "/board/", "/leads/"],
    "admin": ["/admin/users", "/admin/settings", "/admin/import"],
}


@pytest.mark.parametrize("username", sorted(PAGES))
def test_pages_are_csp_clean(as_user, leads, username):
    client = as_user(username)
    paths = PAGES[username] + ([f"/leads/{leads.own}"] if username != "admin" else [])
    for path in paths:
        resp = client.get(path)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200, path
        assert '<html lang="zh-CN">' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {path}"
        assert not re.search(r"\sstyle=\"", html), f"inline style on {path}"
        assert not re.search(r"\son[a-z]+=\"", html), f"event handler attribute on {path}"
        for src in re.findall(r'(?:src|href)="(https?:)?//', html):
            pytest.fail(f"external resource on {path}")


def test_part2_pages_need_login(client):
    for path in ("/leads/", "/board/", "/inbox/", "/dashboard/", "/admin/users", "/leads/1"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_nav_shows_part2_areas(as_user):
    html = as_user("jingli").get("/board/").get_data(as_text=True)
    for label in ("线索", "看板", "收件箱", "驾驶舱"):
        assert f">{label}</a>" in html
