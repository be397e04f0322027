"""我的线索 and the lead page: ordering, the team-scoped pool, permissions (403: other teams and the
administrator neither read nor write a lead, the leader reads only), activity logging with a
required outcome, the "四个一" gate, claiming pool leads, comments, stale edits, the readable audit
record and escaping of user data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crm.db import unit_of_work
from crm.models import Lead, utcnow
from crm.services.leads import create_lead
from crm.services.users import get_by_username
from crm.settings import CrmSettings as _CrmSettings

from .conftest import post

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


def test_my_leads_lists_own_and_pool_but_not_other_teams(as_user, leads):
    client = as_user("zhuanyuan")
    html = client.get("/leads/").get_data(as_text=True)
    assert "精控电驱科技" in html and "苏州功率芯片" in html
    assert "常州电机" not in html  # the pool is its own tab
    assert "天津植入材料" not in html
    pool = client.get("/leads/?scope=pool").get_data(as_text=True)
    assert "常州电机" in pool and "认领" in pool and "精控电驱科技" not in pool


def test_overdue_leads_come_first(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.key)
        old = utcnow() - timedelta(days=30)
        lead.assigned_at = lead.stage_changed_at = old  # assigned 30 days ago, never contacted
    client = as_user("zhuanyuan")
    html = client.get("/leads/").get_data(as_text=True)
    assert html.index("苏州功率芯片") < html.index("精控电驱科技")
    assert "首次联系已超期" in html
    only = client.get("/leads/?overdue=1").get_data(as_text=True)
    assert "苏州功率芯片" in only and "精控电驱科技" not in only


def test_recruiter_opening_other_teams_lead_gets_403(as_user, leads):
    client = as_user("zhuanyuan")
    resp = client.get(f"/leads/{leads.other}")
    assert resp.status_code == 403
    html = resp.get_data(as_text=True)
    assert "无权查看该线索" in html and "天津植入材料" not in html
    # writes are refused the same way, and nothing is written
    resp = post(client, f"/leads/{leads.other}/activities", {"kind": "拜访", "outcome": "x"})
    assert resp.status_code == 403


def test_lead_page_shows_header_four_ones_and_timeline(as_user, leads):
    client = as_user("zhuanyuan")
    html = client.get(f"/leads/{leads.key}").get_data(as_text=True)
    assert "苏州功率芯片" in html and "电机控制器" in html and "本地无电机控制器企业" in html
    assert "81.5" in html and "重点项目" in html
    assert "尚缺" in html and "牵头区领导" in html and "服务方案" in html
    assert "进入「线索」" in html  # the first stage change is on the timeline


def test_log_activity_appears_on_timeline_and_counts_as_contact(as_user, leads, env):
    client = as_user("zhuanyuan")
    resp = post(
        client,
        f"/leads/{leads.own}/activities",
        {
            "kind": "拜访",
            "outcome": "企业有意在通州设厂",
            "next_step": "邀请考察",
            "due_date": (utcnow().date() + timedelta(days=5)).isoformat(),
        },
    )
    assert resp.status_code == 302
    html = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "企业有意在通州设厂" in html and "邀请考察" in html and "已登记拜访" in html
    with unit_of_work(env.session_factory) as s:
        assert s.get(Lead, leads.own).last_contact_at is not None


def test_bad_activity_is_refused_with_message_and_not_written(as_user, leads, env):
    client = as_user("zhuanyuan")
    future = (utcnow().date() + timedelta(days=3)).isoformat()
    resp = post(
        client,
        f"/leads/{leads.own}/activities",
        {"kind": "拜访", "occurred_on": future},
        follow_redirects=True,
    )
    assert "跟进记录未保存" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        assert s.get(Lead, leads.own).last_contact_at is None


def _version(env, lead_id):
    with unit_of_work(env.session_factory) as s:
        return s.get(Lead, lead_id).version


def test_gate_refuses_key_project_until_four_ones_are_set(as_user, leads, env):
    client = as_user("zhuanyuan")
    assert (
        post(
            client, f"/leads/{leads.key}/stage", {"target": "接洽", "version": _version(env, leads.key)}
        ).status_code
        == 302
    )
    resp = post(client, f"/leads/{leads.key}/stage", {"target": "在谈", "version": _version(env, leads.key)})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "不能进入「在谈」" in html and "牵头区领导" in html and "项目服务专员" in html
    with unit_of_work(env.session_factory) as s:
        assert s.get(Lead, leads.key).stage == "接洽"
        leader = get_by_username(s, "lingdao").id
        officer = get_by_username(s, "zhuanyuan").id
    resp = post(
        client,
        f"/leads/{leads.key}/four-ones",
        {
            "version": _version(env, leads.key),
            "sponsor_user_id": leader,
            "task_force_department": "区投资促进局",
            "task_force_members": "李四、王五",
            "case_officer_user_id": officer,
            "needs": "用地 50 亩",
            "policy_support": "高精尖产业资金",
            "milestones": "2027-03 签约\n2027-06 注册",
        },
        follow_redirects=True,
    )
    assert "“四个一”已保存" in resp.get_data(as_text=True)
    resp = post(
        client,
        f"/leads/{leads.key}/stage",
        {"target": "在谈", "version": _version(env, leads.key)},
        follow_redirects=True,
    )
    assert "已进入「在谈」阶段" in resp.get_data(as_text=True)
    # 签约 asks for its facts ([stage_evidence]): refused naming each missing item
    resp = post(client, f"/leads/{leads.key}/stage", {"target": "签约", "version": _version(env, leads.key)})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "签约日期" in html and "协议投资额（万元）" in html and "协议编号，或协议文件" in html
    facts = {"signed_on": "2027-03-01", "agreed_investment": "18000", "agreement_no": "TZ-2027-001"}
    resp = post(
        client,
        f"/leads/{leads.key}/stage",
        {"target": "签约", "version": _version(env, leads.key), **facts},
        follow_redirects=True,
    )
    assert "待确认后计入统计" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.key)
        assert (lead.stage, lead.pending_stage) == ("在谈", "签约")  # a recruiter's claim is pending
    # the sponsoring leader confirms it from the inbox item
    boss = as_user("lingdao")
    inbox_html = boss.get("/inbox/").get_data(as_text=True)
    assert "申报「苏州功率芯片」进入「签约」" in inbox_html
    page = boss.get(f"/leads/{leads.key}").get_data(as_text=True)
    claim_id = int(re.search(r"/claims/(\d+)/confirm", page).group(1))
    post(boss, f"/leads/{leads.key}/claims/{claim_id}/confirm", {})
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.key)
        assert (lead.stage, lead.pending_stage, lead.investment) == ("签约", None, 18000)
    assert "申报「苏州功率芯片」进入「签约」" not in boss.get("/inbox/").get_data(as_text=True)


def test_partial_four_ones_lists_what_is_still_missing(as_user, leads, env):
    client = as_user("zhuanyuan")
    resp = post(
        client,
        f"/leads/{leads.key}/four-ones",
        {"version": _version(env, leads.key), "sponsor_name": "王区长"},
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert "尚缺：工作专班、项目服务专员、服务方案" in html


def test_stale_version_is_refused(as_user, leads, env):
    client = as_user("zhuanyuan")
    stale = _version(env, leads.own)
    post(client, f"/leads/{leads.own}/details", {"version": stale, "zone": "西集镇"})
    resp = post(
        client, f"/leads/{leads.own}/details", {"version": stale, "zone": "漷县镇"}, follow_redirects=True
    )
    assert "已被其他人修改" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        assert s.get(Lead, leads.own).zone == "西集镇"


def test_workflow_refusal_needs_reason(as_user, leads, env):
    client = as_user("zhuanyuan")
    resp = post(
        client,
        f"/leads/{leads.own}/stage",
        {"target": "搁置", "version": _version(env, leads.own)},
        follow_redirects=True,
    )
    assert "须填写原因" in resp.get_data(as_text=True)
    post(
        client,
        f"/leads/{leads.own}/stage",
        {"target": "搁置", "reason": "企业暂缓投资", "version": _version(env, leads.own)},
    )
    html = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "企业暂缓投资" in html and "恢复到「线索」" in html


def test_recruiter_claims_pool_lead(as_user, leads, env):
    client = as_user("zhuanyuan")
    resp = post(client, f"/leads/{leads.pool}/claim", follow_redirects=True)
    assert "已认领「常州电机」" in resp.get_data(as_text=True)
    assert "常州电机" in client.get("/leads/").get_data(as_text=True)


def test_leader_reads_any_lead_and_comments_into_owners_inbox(as_user, leads, client):
    leader = as_user("lingdao")
    html = leader.get(f"/leads/{leads.other}").get_data(as_text=True)
    assert "天津植入材料" in html and "审计记录" in html and "新建" in html
    assert "推进到" not in html  # leaders read, they do not move stages
    post(leader, f"/leads/{leads.other}/comments", {"body": "请加快推进，月底前约见企业"})
    assert "请加快推进" in leader.get(f"/leads/{leads.other}").get_data(as_text=True)
    resp = post(leader, f"/leads/{leads.other}/stage", {"target": "接洽"})
    assert resp.status_code == 403


def test_company_name_is_rendered_as_text(as_user, env):
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        lead_id = create_lead(s, rec, {"company_name": "<script>alert(1)</script>"}, settings=SETTINGS).id
    client = as_user("zhuanyuan")
    for path in ("/leads/", f"/leads/{lead_id}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_admin_has_no_lead_list(as_user, leads):
    client = as_user("admin")
    assert client.get("/leads/").status_code == 403
    assert client.get(f"/leads/{leads.own}").status_code == 403


def test_page_past_the_end_shows_the_last_page(as_user, leads):
    html = as_user("zhuanyuan").get("/leads/?page=99").get_data(as_text=True)
    assert "精控电驱科技" in html and "共 2 条" in html


def test_cached_list_follows_changes_made_by_others(as_user, leads, app, env):
    rec = as_user("zhuanyuan")
    assert "精控电驱科技" in rec.get("/leads/").get_data(as_text=True)
    assert "精控电驱科技" in rec.get("/leads/").get_data(as_text=True)  # a cache hit
    assert app.extensions["lianzhao.web2.list_cache"].hits >= 1
    manager = as_user("jingli")
    with unit_of_work(env.session_factory) as s:
        mgr_id = get_by_username(s, "jingli").id
    post(
        manager,
        "/board/assign",
        {
            "lead_id": leads.own,
            "assignee_id": mgr_id,
            "reason": "经理亲自跟进",
            "version": _version(env, leads.own),
        },
    )
    assert "精控电驱科技" not in rec.get("/leads/").get_data(as_text=True)
    post(manager, f"/leads/{leads.key}/stage", {"target": "接洽", "version": _version(env, leads.key)})
    html = rec.get("/leads/").get_data(as_text=True)
    assert "推进到「在谈」" in html


def test_owner_returns_lead_to_pool_with_reason(as_user, leads, env):
    client = as_user("zhuanyuan")
    resp = post(client, f"/leads/{leads.own}/release", {"reason": ""}, follow_redirects=True)
    assert "退回线索池须填写原因" in resp.get_data(as_text=True)
    resp = post(client, f"/leads/{leads.own}/release", {"reason": "不在本人分工范围"}, follow_redirects=True)
    assert "已退回公共池" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        assert s.get(Lead, leads.own).owner_id is None
    html = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "退回公共池（原负责人：张专员）" in html and "不在本人分工范围" in html


def test_pool_lists_only_the_recruiters_own_team(as_user, leads):
    # 常州电机 sits in the 新能源 team's pool: its recruiter sees it with 认领, the medical
    # recruiter neither sees it nor can open it (the claim would be refused anyway).
    nev = as_user("zhuanyuan").get("/leads/?scope=pool").get_data(as_text=True)
    assert "常州电机" in nev
    medical = as_user("zhuanyuan2")
    html = medical.get("/leads/?scope=pool").get_data(as_text=True)
    assert "常州电机" not in html and "认领" not in html
    assert medical.get(f"/leads/{leads.pool}").status_code == 403
    assert "常州电机" in as_user("lingdao").get("/leads/?scope=all").get_data(as_text=True)


def test_empty_activity_form_is_refused_and_says_why(as_user, leads, env):
    from sqlalchemy import func, select

    from crm.db import unit_of_work
    from crm.models import Activity

    client = as_user("zhuanyuan")
    resp = post(
        client, f"/leads/{leads.own}/activities", {"kind": "拜访", "outcome": " "}, follow_redirects=True
    )
    html = resp.get_data(as_text=True)
    assert "跟进记录未保存：请填写活动结果" in html and "已登记拜访" not in html
    with unit_of_work(env.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Activity).where(Activity.lead_id == leads.own)) == 0


def test_lead_audit_record_is_readable_for_leaders(as_user, leads, env):
    import re

    from crm.db import unit_of_work
    from crm.services.users import get_by_username

    with unit_of_work(env.session_factory) as s:
        leader = get_by_username(s, "lingdao").id
    client = as_user("zhuanyuan")
    post(
        client,
        f"/leads/{leads.key}/four-ones",
        {
            "version": _version(env, leads.key),
            "sponsor_user_id": leader,
            "task_force_department": "区投资促进局",
            "task_force_members": "李四、王五",
            "needs": "用地 50 亩",
            "policy_support": "",
            "milestones": "2027-03 签约\n2027-06 注册",
        },
    )
    post(client, f"/leads/{leads.key}/stage", {"target": "接洽", "version": _version(env, leads.key)})
    html = as_user("lingdao").get(f"/leads/{leads.key}").get_data(as_text=True)
    section = html.split('data-testid="audit"')[1].split("</section>")[0]
    text = re.sub(r"<[^>]+>", " ", section)
    assert "张专员" in text and "zhuanyuan" not in text  # display names, not user names
    assert "牵头区领导：空 → 王区长" in text and "→ 2" not in text
    assert "服务方案：空 → 需求：用地 50 亩；里程碑：2027-03 签约、2027-06 注册" in text
    assert "产业：新能源智能汽车" in text and "nev" not in text
    assert "阶段：线索 → 接洽" in text and "阶段原因" not in text  # no "空 → 空"
    assert "needs" not in text and "{" not in text and "[" not in text


def test_activity_forms_mark_the_outcome_required(as_user, leads):
    import re

    client = as_user("zhuanyuan")
    page = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert re.search(r'<textarea name="outcome"[^>]*\brequired\b', page) and "结果（必填）" in page
    listing = client.get("/leads/").get_data(as_text=True)
    assert re.search(r'<input type="text" name="outcome"[^>]*\brequired\b', listing)


WRITES = [
    ("activities", {"kind": "电话", "summary": "越权写入", "outcome": "x", "date": "2026-01-01"}),
    ("stage", {"target": "接洽", "reason": "越权"}),
    ("four-ones", {"sponsor": "x"}),
    ("details", {"contact_name": "越权"}),
    ("comments", {"body": "越权评论"}),
    ("claim", {}),
    ("release", {"reason": "越权"}),
]


@pytest.mark.parametrize("username", ["zhuanyuan2", "admin"])
def test_other_team_and_admin_neither_read_nor_write_a_lead(leads, as_user, username):
    client = as_user(username)
    assert client.get(f"/leads/{leads.own}").status_code in (403, 404)
    for action, data in WRITES:
        resp = post(client, f"/leads/{leads.own}/{action}", data)
        assert resp.status_code in (403, 404), (username, action, resp.status_code)
        assert "越权" not in resp.get_data(as_text=True)
    recruiter = as_user("zhuanyuan")
    page = recruiter.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "越权" not in page


def test_leader_reads_but_does_not_edit(leads, as_user):
    client = as_user("lingdao")
    assert client.get(f"/leads/{leads.own}").status_code == 200
    for action, data in WRITES:
        if action == "comments":
            continue
        resp = post(client, f"/leads/{leads.own}/{action}", data)
        assert resp.status_code in (403, 404), (action, resp.status_code)


def test_flash_and_error_pages_escape_user_text(leads, as_user):
    """A lead's company name with markup appears as text on its page and in bulk messages."""
    client = as_user("zhuanyuan")
    resp = post(client, f"/leads/{leads.own}/comments", {"body": "<script>alert(1)</script>"})
    assert resp.status_code in (200, 302)
    page = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
