"""Behaviour fixed after hands-on QA: team-scoped pool, readable audit, sector names on the
dashboard, required activity outcome, inbox badge, paged overdue reminders."""
from __future__ import annotations

from .conftest import post


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
    from crm.db import unit_of_work
    from crm.models import Activity
    from sqlalchemy import func, select

    client = as_user("zhuanyuan")
    resp = post(client, f"/leads/{leads.own}/activities", {"kind": "拜访", "outcome": " "},
                follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "跟进记录未保存：请填写活动结果" in html and "已登记拜访" not in html
    with unit_of_work(env.session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Activity)
                        .where(Activity.lead_id == leads.own)) == 0
