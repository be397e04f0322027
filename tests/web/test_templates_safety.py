"""Guards against the known XSS traps: no |safe, no Markup, no render_template_string (pyvis
output must never be rendered as a template), no inline <script> with code, no inline style; and
every rendered CRM page clean under the strict CSP, with only our own static files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def _files(*patterns):
    for pattern in patterns:
        yield from WEB.rglob(pattern)


def test_no_unescaping_anywhere_in_the_web_package():
    for path in _files("*.html", "*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", text), f"{path}: |safe"
        assert "render_template_string" not in text, f"{path}: render_template_string"
        assert "Markup(" not in text, f"{path}: Markup"
        assert "autoescape false" not in text, f"{path}: autoescape off"


def test_templates_have_no_inline_code_or_style():
    for path in _files("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, f"{path}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{path}: inline event handler"
        assert not re.search(r"<style\b|\sstyle\s*=", text), f"{path}: inline style (blocked by the CSP)"


def test_our_javascript_never_writes_html():
    for path in _files("*.js"):
        if "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert (
            "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text
        ), path


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
