"""Behaviour fixed after hands-on QA: team-scoped pool, readable audit, sector names on the
dashboard, required activity outcome, inbox badge, paged overdue reminders."""

from __future__ import annotations

from crm.settings import CrmSettings as _CrmSettings

from .conftest import post

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


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


def test_inbox_reminders_load_one_page_of_overdue_leads(as_user, leads, env, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import event

    from crm.db import unit_of_work
    from crm.models import Lead, utcnow
    from crm.services.leads import create_lead
    from crm.services.users import get_by_username
    from web.blueprints import inbox as inbox_bp

    monkeypatch.setattr(inbox_bp, "REMINDER_LIMIT", 5)
    late = utcnow() - timedelta(days=10)
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        for i in range(8):
            lead = create_lead(s, rec, {"company_name": f"示例数据·超期企业{i}"}, settings=SETTINGS)
            lead.assigned_at = lead.stage_changed_at = late - timedelta(days=i)
    client = as_user("zhuanyuan")
    loaded = []
    listener = lambda target, context: loaded.append(target.id)
    event.listen(Lead, "load", listener)
    try:
        html = client.get("/inbox/").get_data(as_text=True)
    finally:
        event.remove(Lead, "load", listener)
    assert html.count('data-testid="reminder"') == 5
    assert "查看全部 8 条超期线索" in html
    assert "示例数据·超期企业7" in html  # the most overdue come first
    assert len(set(loaded)) <= 5, "the inbox loaded every overdue lead to show five"


def _lead_version(env, lead_id):
    from crm.db import unit_of_work
    from crm.models import Lead

    with unit_of_work(env.session_factory) as s:
        return s.get(Lead, lead_id).version


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
            "version": _lead_version(env, leads.key),
            "sponsor_user_id": leader,
            "task_force_department": "区投资促进局",
            "task_force_members": "李四、王五",
            "needs": "用地 50 亩",
            "policy_support": "",
            "milestones": "2027-03 签约\n2027-06 注册",
        },
    )
    post(client, f"/leads/{leads.key}/stage", {"target": "接洽", "version": _lead_version(env, leads.key)})
    html = as_user("lingdao").get(f"/leads/{leads.key}").get_data(as_text=True)
    section = html.split('data-testid="audit"')[1].split("</section>")[0]
    text = re.sub(r"<[^>]+>", " ", section)
    assert "张专员" in text and "zhuanyuan" not in text  # display names, not user names
    assert "牵头区领导：空 → 王区长" in text and "→ 2" not in text
    assert "服务方案：空 → 需求：用地 50 亩；里程碑：2027-03 签约、2027-06 注册" in text
    assert "产业：新能源智能汽车" in text and "nev" not in text
    assert "阶段：线索 → 接洽" in text and "阶段原因" not in text  # no "空 → 空"
    assert "needs" not in text and "{" not in text and "[" not in text


def test_top_nav_shows_unread_inbox_count_on_every_page(as_user, leads, env):
    from sqlalchemy import event

    from crm.db import unit_of_work
    from crm.models import InboxMessage
    from crm.services.users import get_by_username

    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan").id
        s.add_all([InboxMessage(user_id=rec, kind="comment", title=f"消息{i}") for i in range(3)])
    client = as_user("zhuanyuan")
    engine = env.session_factory.kw["bind"]
    counts = []
    listener = lambda conn, cursor, sql, *a: counts.append(sql) if "inbox_messages" in sql else None
    event.listen(engine, "before_cursor_execute", listener)
    try:
        html = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert 'data-testid="inbox-unread"' in html and ">3</span>" in html.split("mainnav")[1]
    assert len(counts) == 1  # one count per page
    assert 'data-testid="inbox-unread"' in client.get("/chains/").get_data(as_text=True)
    post(client, "/inbox/read-all")
    assert 'data-testid="inbox-unread"' not in client.get("/board/").get_data(as_text=True)


def test_money_chart_labels_bars_with_sector_names(as_user, leads, env):
    from crm.db import unit_of_work
    from crm.models import Lead

    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.other)  # medical, registered without a sector name
        assert lead.sector_name is None
        lead.stage, lead.investment = "签约", 3000
    html = as_user("lingdao").get("/dashboard/").get_data(as_text=True)
    chart = html.split('data-testid="money-by-sector"')[1].split("</section>")[0]
    assert "医药健康" in chart and "medical" not in chart


def test_admin_audit_log_page_filters_and_pages(as_user, leads, env, monkeypatch):
    import re

    from crm.db import unit_of_work
    from crm.services.users import get_by_username
    from web.blueprints.admin import audit_log as admin_bp

    client = as_user("zhuanyuan")
    post(client, f"/leads/{leads.own}/stage", {"target": "接洽", "version": _lead_version(env, leads.own)})
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan").id
    admin = as_user("admin")
    html = admin.get("/admin/audit").get_data(as_text=True)
    assert "审计日志" in html and "登录" in html and "阶段：线索 → 接洽" in html
    assert "用户 张专员" in html  # a login names the user, not a number
    html = admin.get(f"/admin/audit?user={rec}&action=transition").get_data(as_text=True)
    rows = re.findall(r'data-testid="audit-row"', html)
    assert len(rows) == 1 and "张专员" in html and "阶段：线索 → 接洽" in html
    resp = admin.get("/admin/audit?start=2026-05-02&end=2026-05-01")
    assert resp.status_code == 400 and "截止日期不能早于起始日期" in resp.get_data(as_text=True)
    assert "没有符合条件的记录" in admin.get("/admin/audit?end=2001-01-01").get_data(as_text=True)
    monkeypatch.setattr(admin_bp, "AUDIT_PER_PAGE", 2)
    html = admin.get(f"/admin/audit?user={rec}").get_data(as_text=True)
    assert len(re.findall(r'data-testid="audit-row"', html)) == 2 and "下一页" in html
    assert f"user={rec}" in html.split('class="pager"')[1]  # the filter rides along
    # Only the system administrator reviews the log here.
    assert as_user("lingdao").get("/admin/audit").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_activity_forms_mark_the_outcome_required(as_user, leads):
    import re

    client = as_user("zhuanyuan")
    page = client.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert re.search(r'<textarea name="outcome"[^>]*\brequired\b', page) and "结果（必填）" in page
    listing = client.get("/leads/").get_data(as_text=True)
    assert re.search(r'<input type="text" name="outcome"[^>]*\brequired\b', listing)
