"""收件箱: assignment and comment messages, overdue reminders (one page of them), marking read (own
messages only), and the unread count in the top navigation."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import InboxMessage, Lead, utcnow
from crm.services.users import get_by_username

from .conftest import SETTINGS, post


def test_assignment_and_comment_reach_the_recruiters_inbox(as_user, leads, env):
    manager = as_user("jingli")
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan").id
        version = s.get(Lead, leads.pool).version
    post(
        manager,
        "/board/assign",
        {"lead_id": leads.pool, "assignee_id": rec, "reason": "请本周内联系", "version": version},
    )
    leader = as_user("lingdao")
    post(leader, f"/leads/{leads.own}/comments", {"body": "这家企业要重点跟进"})

    client = as_user("zhuanyuan")
    html = client.get("/inbox/").get_data(as_text=True)
    assert "2 条未读" in html
    assert "李经理分派给您新线索「常州电机」" in html and "请本周内联系" in html
    assert "王区长批注了线索「精控电驱科技」" in html and "这家企业要重点跟进" in html
    with unit_of_work(env.session_factory) as s:
        msg = s.scalars(
            select(InboxMessage).where(InboxMessage.user_id == rec, InboxMessage.kind == "assignment")
        ).one()
    resp = post(client, f"/inbox/{msg.id}/read")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/leads/{leads.pool}")
    assert "1 条未读" in client.get("/inbox/").get_data(as_text=True)
    post(client, "/inbox/read-all")
    assert "条未读" not in client.get("/inbox/").get_data(as_text=True)


def test_overdue_reminders_for_recruiter_and_manager(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.key)
        lead.assigned_at = lead.stage_changed_at = utcnow() - timedelta(days=8)
    html = as_user("zhuanyuan").get("/inbox/").get_data(as_text=True)
    assert "超期提醒" in html and "苏州功率芯片" in html and "首次联系已超期 5 天" in html
    assert "精控电驱科技" not in html.split('data-testid="messages"')[0]


def test_cannot_mark_someone_elses_message(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        other = get_by_username(s, "zhuanyuan2").id
        msg = InboxMessage(user_id=other, kind="comment", title="私人消息")
        s.add(msg)
        s.flush()
        msg_id = msg.id
    resp = post(as_user("zhuanyuan"), f"/inbox/{msg_id}/read")
    assert resp.status_code == 404
    with unit_of_work(env.session_factory) as s:
        assert s.get(InboxMessage, msg_id).read_at is None


def test_manager_sees_leads_returned_to_the_pool(as_user, leads):
    post(as_user("zhuanyuan"), f"/leads/{leads.own}/release", {"reason": "企业已迁往外省"})
    html = as_user("jingli").get("/inbox/").get_data(as_text=True)
    assert "近期退回公共池" in html and "精控电驱科技" in html and "企业已迁往外省" in html
    assert "原负责人：张专员" in html
    assert "近期退回公共池" not in as_user("zhuanyuan2").get("/inbox/").get_data(as_text=True)


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
    assert len(counts) <= 1  # at most one count per page (kept a few seconds per user: next test)
    assert 'data-testid="inbox-unread"' in client.get("/chains/").get_data(as_text=True)
    post(client, "/inbox/read-all")
    assert 'data-testid="inbox-unread"' not in client.get("/board/").get_data(as_text=True)


def test_unread_count_is_cached_briefly_and_dropped_on_read(as_user, leads, env):
    """Issue 16: the badge's count is not a statement on every page; a read shows at once."""
    from sqlalchemy import event

    from crm.db import unit_of_work
    from crm.models import InboxMessage
    from crm.services.users import get_by_username

    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan").id
        s.add_all([InboxMessage(user_id=rec, kind="comment", title=f"消息{i}") for i in range(2)])
    client = as_user("zhuanyuan")
    client.application.extensions.pop("lianzhao.inbox_unread", None)  # start from an empty cache
    engine = env.session_factory.kw["bind"]
    counts = []
    listener = lambda conn, cursor, sql, *a: counts.append(sql) if "inbox_messages" in sql else None
    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = client.get("/chains/").get_data(as_text=True)
        second = client.get("/leads/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert ">2</span>" in first.split("mainnav")[1] and ">2</span>" in second.split("mainnav")[1]
    assert len(counts) == 1, "the second page reused the count"
    post(client, "/inbox/read-all")  # a write drops the cached counts
    assert 'data-testid="inbox-unread"' not in client.get("/leads/").get_data(as_text=True)


def test_short_counts_expire():
    import time

    from web.listcache import ShortCounts

    cache = ShortCounts(ttl=0.05)
    cache.put(1, 3)
    assert cache.get(1) == 3
    time.sleep(0.06)
    assert cache.get(1) is None
    cache.put(1, 4)
    cache.clear(1)
    assert cache.get(1) is None
