"""Input bounds (issue 17, item 6): no integer in a path, query or form gives a server error, and
no versioned edit is accepted without its version."""

from __future__ import annotations

import re

import pytest

from .conftest import post

ARG = re.compile(r"<(?:(\w+):)?(\w+)>")
HUGE = [str(2**70), str(2**40), "-" + str(2**63), "99999999999999999999999999999999999999"]
QUERY_NAMES = (
    "page",
    "owner",
    "owner_id",
    "top",
    "remove",
    "lead",
    "lead_id",
    "list_id",
    "actor",
    "user",
    "id",
    "n",
)
FORM_NAMES = (
    "version",
    "owner_id",
    "assignee_id",
    "lead_id",
    "lead_ids",
    "list_id",
    "count",
    "position",
    "row_id",
    "sponsor_user_id",
    "case_officer_user_id",
    "investment",
    "active",
)


def _path(rule, value):
    return ARG.sub(lambda m: value if (m.group(1) or "") in ("int", "") else "x", rule.rule)


@pytest.mark.parametrize("username", ["jingli", "admin", "lingdao"])
def test_no_get_route_gives_500_for_huge_integers(app, leads, as_user, username):
    client = as_user(username)
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]
    assert len(rules) > 20
    for rule in rules:
        for value in HUGE:
            path = _path(rule, value if "<" in rule.rule else "")
            query = {name: value for name in QUERY_NAMES}
            resp = client.get(path, query_string=query)
            assert resp.status_code < 500, (username, rule.rule, value, resp.status_code)


@pytest.mark.parametrize("username", ["jingli", "zhuanyuan", "admin"])
def test_no_post_route_gives_500_for_huge_integers(app, leads, as_user, username):
    client = as_user(username)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule != "/logout"]
    for rule in rules:
        for path_value in (str(leads.own), HUGE[0]):
            path = _path(rule, path_value)
            for value in HUGE[:2]:
                resp = post(client, path, {name: value for name in FORM_NAMES})
                assert resp.status_code < 500, (username, rule.rule, path_value, value, resp.status_code)


def test_lead_list_board_and_audit_clamp_or_refuse(leads, as_user):
    manager = as_user("jingli")
    for path in ("/leads/", "/board/"):
        resp = manager.get(path, query_string={"page": 2**70})
        assert resp.status_code in (200, 400), path
    assert manager.get(f"/leads/{2**70}").status_code == 404
    assert manager.get(f"/leads/{2**31}").status_code == 404  # beyond PostgreSQL's integer ids
    admin = as_user("admin")
    assert admin.get("/admin/audit", query_string={"page": 2**70}).status_code == 200


def test_every_versioned_edit_requires_the_version(app, leads, as_user):
    """Leaving the version out of a form is refused (409, as a stale edit), never saved unchecked."""
    client = as_user("zhuanyuan")
    before = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    for action, data in [
        ("details", {"contact_name": "无版本号修改"}),
        ("four-ones", {"task_force_department": "无版本号修改"}),
        ("stage", {"target": "接洽"}),
    ]:
        resp = post(client, f"/leads/{leads.own}/{action}", data, follow_redirects=True)
        assert resp.status_code in (200, 409), (action, resp.status_code)
        assert "已被其他人修改" in resp.get_data(as_text=True), action
    after = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "无版本号修改" not in after and before.count("接洽") == after.count("接洽")


HOSTILE = [
    "<script>alert(1)</script>",
    "' OR '1'='1' --",
    '"}) MATCH (n) DETACH DELETE n //',
    "\x00\x1b[31m",
    "\u202etxt.exe",
    "甲" * 20000,
    '=HYPERLINK("http://x")',
]
TEXT_NAMES = (
    "company_name",
    "contact_name",
    "zone",
    "notes",
    "reason",
    "body",
    "summary",
    "outcome",
    "title",
    "note",
    "target",
    "kind",
    "date",
    "q",
    "next",
    "display_name",
    "username",
    "role",
    "sector_id",
    "sector",
    "chain",
    "company_id",
    "node_id",
    "task_force_department",
    "task_force_members",
    "sponsor_name",
    "case_officer_name",
    "needs",
    "policy_support",
    "milestones",
)


@pytest.mark.parametrize("username", ["zhuanyuan", "admin"])  # the lead's owner; the admin pages
def test_hostile_strings_in_every_field_of_every_post_route(app, env, leads, as_user, username):
    """No 500, no unescaped markup echoed, the graph untouched by injection attempts."""
    client = as_user(username)
    firms = env.store.company_count()
    rules = [
        r for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule not in ("/logout", "/login")
    ]
    for rule in rules:
        path = _path(rule, str(leads.own))
        for value in HOSTILE:
            resp = post(
                client, path, {name: value for name in (*TEXT_NAMES, *FORM_NAMES)}, follow_redirects=True
            )
            body = resp.get_data(as_text=True)
            assert resp.status_code < 500, (username, rule.rule, value[:20], resp.status_code)
            assert "<script>alert(1)</script>" not in body, (username, rule.rule)
    assert env.store.company_count() == firms
    for value in HOSTILE[:3]:
        resp = client.get("/leads/", query_string={"q": value, "stage": value, "chain": value})
        assert resp.status_code < 500 and "<script>alert(1)</script>" not in resp.get_data(as_text=True)
