"""修改密码, the must-change rule, role-aware navigation and local times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from crm.db import unit_of_work
from crm.models import User
from crm.services._common import SYSTEM
from crm.services.users import authenticate, create_user, get_by_username, reset_password
from crm.settings import CrmSettings as _CrmSettings

from .conftest import csrf_token, login
from .webdata import PASSWORD

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

NEW_PASSWORD = "Neues#Passwort2026"


def _new_user(env, username="xinren", must_change=True):
    with unit_of_work(env.session_factory) as s:
        create_user(
            s,
            SYSTEM,
            username=username,
            display_name="新同事",
            role="recruiter",
            password=PASSWORD,
            sector_id="nev",
            must_change_password=must_change,
            settings=SETTINGS,
        )


def _change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None, next_url=None):
    token = csrf_token(client, "/password")
    path = "/password" + (f"?next={next_url}" if next_url else "")
    return client.post(
        path,
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm if confirm is not None else new,
            "csrf_token": token,
        },
    )


def test_new_account_is_sent_to_change_password_with_first_login_wording(env, client):
    _new_user(env)
    resp = login(client, "xinren")
    assert resp.status_code == 302 and "/password" in resp.headers["Location"]
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "首次登录" in html and "由管理员重置" not in html
    assert 'data-testid="must-change"' in html
    assert "补链目标</a>" not in html  # no menu of pages it cannot open yet


def test_reset_account_gets_reset_wording(env, client):
    with unit_of_work(env.session_factory) as s:  # jingli has logged in before, then is reset
        user = get_by_username(s, "jingli")
        user.last_login_at = datetime(2026, 1, 1)
        reset_password(s, SYSTEM, user.id, PASSWORD, settings=SETTINGS)
    resp = login(client, "jingli")
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已由管理员重置" in html and "首次登录" not in html


def test_must_change_blocks_every_page_until_changed(env, client):
    _new_user(env)
    login(client, "xinren")
    for path in ("/chains/", "/targets/", "/targets/lists", "/companies/O1"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/password" in resp.headers["Location"], path
    token = csrf_token(client, "/password")
    resp = client.post(
        "/targets/lead",
        json={"company_id": "O1", "node_id": "nev_drive.controller"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert resp.status_code == 403 and "修改密码" in resp.get_json()["error"]
    assert client.get("/static/css/app.css").status_code == 200
    resp = _change(client, next_url="/targets/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/targets/")
    assert client.get("/chains/").status_code == 200
    with env.session_factory() as s:
        assert not get_by_username(s, "xinren").must_change_password


def test_change_password_checks_old_confirm_and_policy(env, auth):
    client = auth.login("zhuanyuan")
    html = client.get("/chains/").get_data(as_text=True)
    assert 'data-testid="change-password-link"' in html
    resp = _change(client, current="falsch")
    assert resp.status_code == 400 and "原密码不正确" in resp.get_data(as_text=True)
    resp = _change(client, confirm=NEW_PASSWORD + "x")
    assert resp.status_code == 400 and "两次输入的新密码不一致" in resp.get_data(as_text=True)
    resp = _change(client, new="short")
    assert resp.status_code == 400 and "密码不符合安全策略" in resp.get_data(as_text=True)
    resp = _change(client)
    assert resp.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/chains/")})
    assert login(client, "zhuanyuan", PASSWORD).status_code == 401
    assert login(client, "zhuanyuan", NEW_PASSWORD).status_code == 302


def test_change_password_needs_csrf(auth):
    client = auth.login("zhuanyuan")
    resp = client.post(
        "/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


def _nav(client) -> list[str]:
    html = client.get("/chains/").get_data(as_text=True)
    nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
    links = re.findall(r"<a [^>]*>(.*?)</a>", nav, re.S)
    return [re.sub(r"<span.*?</span>", "", text).strip() for text in links]  # minus unread badges


@pytest.mark.parametrize(
    "username, expected",
    [
        (
            "zhuanyuan",
            ["待办", "产业链图谱", "补链目标", "企业名录", "目标名录", "线索", "日程", "收件箱", "空间资源"],
        ),
        (
            "jingli",
            [
                "待办",
                "产业链图谱",
                "补链目标",
                "企业名录",
                "目标名录",
                "线索",
                "日程",
                "看板",
                "收件箱",
                "驾驶舱",
                "监测",
                "空间资源",
            ],
        ),
        (
            "lingdao",
            [
                "待办",
                "产业链图谱",
                "补链目标",
                "企业名录",
                "目标名录",
                "线索",
                "日程",
                "看板",
                "收件箱",
                "驾驶舱",
                "监测",
                "空间资源",
            ],
        ),
        ("admin", ["产业链图谱", "补链目标", "企业名录", "管理"]),
    ],
)
def test_nav_follows_the_role_and_offers_no_403(auth, username, expected):
    client = auth.login(username)
    nav = _nav(client)
    assert nav == expected
    html = client.get("/chains/").get_data(as_text=True)
    for href in re.findall(r'<nav class="mainnav".*?</nav>', html, re.S)[0].split('href="')[1:]:
        path = href.split('"')[0]
        assert client.get(path).status_code in (200, 302), (username, path)


def test_lockout_message_uses_configured_zone_not_utc(env):
    now = datetime(2026, 3, 1, 2, 0)  # 02:00 UTC = 10:00 Beijing
    from zoneinfo import ZoneInfo

    with unit_of_work(env.session_factory) as s:
        user = s.query(User).filter_by(username="jingli").one()
        user.locked_until = now + timedelta(minutes=15)
        res = authenticate(s, "jingli", PASSWORD, now=now, tz=ZoneInfo("Asia/Shanghai"), settings=SETTINGS)
    assert not res.ok and "10:15" in res.message and "UTC" not in res.message


def test_localtime_filter_shows_beijing_time(app):
    with app.app_context():
        f = app.jinja_env.filters["localtime"]
        assert f(datetime(2026, 3, 1, 23, 30)) == "2026-03-02 07:30"
        assert f(datetime(2026, 3, 1, 23, 30), "%Y-%m-%d") == "2026-03-02"
        assert f(None) == ""


def test_missing_team_message_has_no_english(env):
    from crm.errors import ValidationError

    with pytest.raises(ValidationError) as info:
        with unit_of_work(env.session_factory) as s:
            create_user(
                s,
                SYSTEM,
                username="ohne",
                display_name="x",
                role="recruiter",
                password=PASSWORD,
                settings=SETTINGS,
            )
    assert str(info.value) == "招商专员须指定所属产业组"


def test_password_change_ends_the_other_sessions_but_keeps_this_one(app, env):
    """A copied session cookie stops working once the password changes (own change or reset)."""
    mine, other = app.test_client(), app.test_client()
    assert login(mine, "zhuanyuan").status_code == 302
    assert login(other, "zhuanyuan").status_code == 302
    assert other.get("/chains/").status_code == 200
    assert _change(mine).status_code == 302
    assert mine.get("/chains/").status_code == 200  # the changing browser stays signed in
    resp = other.get("/chains/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # an administrator's reset ends the sessions of that account too
    with unit_of_work(env.session_factory) as s:
        reset_password(
            s,
            get_by_username(s, "admin"),
            get_by_username(s, "zhuanyuan").id,
            "Ganz#Neu2026x",
            settings=SETTINGS,
        )
    resp = mine.get("/chains/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_nav_shows_the_crm_areas(as_user):
    html = as_user("jingli").get("/board/").get_data(as_text=True)
    for label in ("线索", "看板", "收件箱", "驾驶舱"):
        assert f">{label}</a>" in html
