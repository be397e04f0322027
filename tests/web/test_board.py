"""团队看板: columns, overdue column, filters, assignment with a reason, bulk actions that are
all-or-nothing, and refusals for other roles and other teams."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import InboxMessage, Lead, utcnow
from crm.services.users import get_by_username
from crm.settings import CrmSettings as _CrmSettings

from .conftest import post

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


def _uid(env, username):
    with unit_of_work(env.session_factory) as s:
        return get_by_username(s, username).id


def _lead(env, lead_id):
    with unit_of_work(env.session_factory) as s:
        return s.get(Lead, lead_id)


def column(html, name):
    """The HTML of one kanban column."""
    match = re.search(rf'data-testid="column-{name}".*?</section>', html, re.S)
    assert match, name
    return match.group(0)


def test_board_shows_stage_columns_and_pool_to_manager(as_user, leads):
    html = as_user("jingli").get("/board/").get_data(as_text=True)
    assert "精控电驱科技" in column(html, "线索") and "苏州功率芯片" in column(html, "线索")
    pool = re.search(r'data-testid="pool".*?</section>', html, re.S).group(0)
    assert "常州电机" in pool
    assert "天津植入材料" not in html  # another team's lead
    for stage in ("线索", "接洽", "在谈", "签约", "落地", "投产", "搁置", "流失"):
        assert f'data-testid="column-{stage}"' in html
    assert "批量操作" in html


def test_recruiter_cannot_open_board(as_user):
    assert as_user("zhuanyuan").get("/board/").status_code == 403


def test_overdue_column_and_badge(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.own)
        lead.assigned_at = lead.stage_changed_at = utcnow() - timedelta(days=10)
    html = as_user("jingli").get("/board/").get_data(as_text=True)
    overdue = column(html, "overdue")
    assert "精控电驱科技" in overdue and "首次联系已超期" in overdue
    assert "苏州功率芯片" not in overdue


def test_filters_by_owner_and_key_project(as_user, leads, env):
    client = as_user("jingli")
    html = client.get("/board/?key=1").get_data(as_text=True)
    assert "苏州功率芯片" in html and "精控电驱科技" not in html
    other = _uid(env, "jingli")
    html = client.get(f"/board/?owner={other}").get_data(as_text=True)
    assert "精控电驱科技" not in column(html, "线索")


def test_assign_pool_lead_notifies_assignee(as_user, leads, env):
    client = as_user("jingli")
    rec = _uid(env, "zhuanyuan")
    resp = post(
        client,
        "/board/assign",
        {
            "lead_id": leads.pool,
            "assignee_id": rec,
            "reason": "熟悉电机行业",
            "version": _lead(env, leads.pool).version,
        },
        follow_redirects=True,
    )
    assert "已将「常州电机」分派给张专员" in resp.get_data(as_text=True)
    assert _lead(env, leads.pool).owner_id == rec
    with unit_of_work(env.session_factory) as s:
        msgs = s.scalars(select(InboxMessage).where(InboxMessage.user_id == rec)).all()
        assert any("常州电机" in m.title for m in msgs)


def test_reassign_needs_reason(as_user, leads, env):
    client = as_user("jingli")
    mgr = _uid(env, "jingli")
    v = _lead(env, leads.own).version
    resp = post(
        client,
        "/board/assign",
        {"lead_id": leads.own, "assignee_id": mgr, "version": v},
        follow_redirects=True,
    )
    assert "改派线索须填写原因" in resp.get_data(as_text=True)
    assert _lead(env, leads.own).owner_id == _uid(env, "zhuanyuan")
    post(
        client,
        "/board/assign",
        {"lead_id": leads.own, "assignee_id": mgr, "reason": "专员休假", "version": v},
    )
    assert _lead(env, leads.own).owner_id == mgr


def test_manager_cannot_assign_other_teams_lead(as_user, leads, env):
    resp = post(
        as_user("jingli"),
        "/board/assign",
        {
            "lead_id": leads.other,
            "assignee_id": _uid(env, "zhuanyuan"),
            "reason": "x",
            "version": _lead(env, leads.other).version,
        },
    )
    assert resp.status_code == 403
    assert _lead(env, leads.other).owner_id == _uid(env, "zhuanyuan2")


def test_bulk_move_is_all_or_nothing(as_user, leads, env):
    client = as_user("jingli")
    ids = [leads.own, leads.key]
    post(client, "/board/bulk", {"action": "move", "target": "接洽", "lead_ids": ids})
    assert {_lead(env, i).stage for i in ids} == {"接洽"}
    # 在谈 is refused for the key project (no "四个一"): neither lead moves
    resp = post(
        client, "/board/bulk", {"action": "move", "target": "在谈", "lead_ids": ids}, follow_redirects=True
    )
    html = resp.get_data(as_text=True)
    assert "全部线索保持原样" in html and "苏州功率芯片" in html and "四个一" in html
    assert {_lead(env, i).stage for i in ids} == {"接洽"}


def test_bulk_release_and_assign(as_user, leads, env):
    client = as_user("jingli")
    ids = [leads.own, leads.key]
    resp = post(client, "/board/bulk", {"action": "release", "lead_ids": ids}, follow_redirects=True)
    assert "退回线索池须填写原因" in resp.get_data(as_text=True)
    post(client, "/board/bulk", {"action": "release", "reason": "重新分工", "lead_ids": ids})
    assert all(_lead(env, i).owner_id is None for i in ids)
    rec = _uid(env, "zhuanyuan")
    resp = post(
        client,
        "/board/bulk",
        {"action": "assign", "assignee_id": rec, "lead_ids": ids},
        follow_redirects=True,
    )
    assert "已处理 2 条线索" in resp.get_data(as_text=True)
    assert all(_lead(env, i).owner_id == rec for i in ids)


def test_leader_sees_board_read_only(as_user, leads):
    html = as_user("lingdao").get("/board/").get_data(as_text=True)
    assert "天津植入材料" in html and "精控电驱科技" in html
    assert "批量操作" not in html and "改派" not in html


def test_lead_page_has_assign_form_for_manager_only(as_user, leads, env):
    html = as_user("jingli").get(f"/leads/{leads.pool}").get_data(as_text=True)
    assert 'data-testid="lead-assign"' in html and "张专员" in html
    resp = post(
        as_user("jingli"),
        "/board/assign",
        {
            "lead_id": leads.pool,
            "assignee_id": _uid(env, "zhuanyuan"),
            "next": f"/leads/{leads.pool}",
            "version": _lead(env, leads.pool).version,
        },
    )
    assert resp.headers["Location"].endswith(f"/leads/{leads.pool}")
    assert 'data-testid="lead-assign"' not in as_user("zhuanyuan").get(f"/leads/{leads.own}").get_data(
        as_text=True
    )


def test_manager_board_pool_excludes_other_teams_pool(as_user, env):
    from crm.services.leads import create_lead

    with unit_of_work(env.session_factory) as s:
        from crm.services._common import SYSTEM
        from crm.services.users import create_user
        from tests.web.webdata import PASSWORD

        med = create_user(
            s,
            SYSTEM,
            username="jingli2",
            display_name="孙经理",
            role="manager",
            password=PASSWORD,
            sector_id="medical",
            settings=SETTINGS,
        )
        create_lead(s, med, {"company_name": "医药池线索", "sector_id": "medical"}, settings=SETTINGS)
    html = as_user("jingli").get("/board/").get_data(as_text=True)
    assert "医药池线索" not in html


def test_bulk_acts_once_on_a_lead_ticked_twice(as_user, leads, env):
    client = as_user("jingli")
    resp = post(
        client,
        "/board/bulk",
        {"action": "move", "target": "接洽", "lead_ids": [leads.own, leads.own]},
        follow_redirects=True,
    )
    assert "已处理 1 条线索" in resp.get_data(as_text=True)
    assert _lead(env, leads.own).stage == "接洽"
