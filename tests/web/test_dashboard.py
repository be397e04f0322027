"""领导驾驶舱: gaps filled when a lead on the node lands, investment signed/landed, key projects'
"四个一", overdue per team, SVG charts without scripts (bars named by sector), access by role."""

from __future__ import annotations

import re
from datetime import timedelta

from crm.db import unit_of_work
from crm.models import Lead, utcnow


def _force_stage(env, lead_id, stage, investment=None):
    """Put a lead at a stage directly (the workflow itself is tested in tests/crm)."""
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, lead_id)
        lead.stage = stage
        if investment is not None:
            lead.investment = investment


def kpi(html, name):
    return re.search(rf'data-testid="kpi-{name}">([^<]+)<', html).group(1)


def test_gap_counts_as_filled_once_a_lead_lands(as_user, leads, env):
    client = as_user("lingdao")
    before = kpi(client.get("/dashboard/").get_data(as_text=True), "gaps")
    filled, total = (int(x) for x in before.split(" / "))
    assert total > 0 and filled == 0
    _force_stage(env, leads.own, "签约", investment=5000)  # signed is not landed
    html = client.get("/dashboard/").get_data(as_text=True)
    assert kpi(html, "gaps") == f"0 / {total}"
    assert kpi(html, "signed") == "5000万元"
    _force_stage(env, leads.own, "落地")  # the 电机控制器 gap is now filled
    html = client.get("/dashboard/").get_data(as_text=True)
    assert kpi(html, "gaps") == f"1 / {total}"
    assert kpi(html, "landed") == "5000万元"
    assert "已补 1 / " in html


def test_key_projects_show_four_ones_status(as_user, leads):
    html = as_user("lingdao").get("/dashboard/").get_data(as_text=True)
    section = re.search(r'data-testid="key-projects".*?</section>', html, re.S).group(0)
    assert "苏州功率芯片" in section and "尚缺：牵头区领导" in section
    assert "精控电驱科技" not in section  # no investment, not flagged: not a key project


def test_overdue_per_team(as_user, leads, env):
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.other)
        lead.assigned_at = lead.stage_changed_at = utcnow() - timedelta(days=9)
    html = as_user("lingdao").get("/dashboard/").get_data(as_text=True)
    section = re.search(r'data-testid="overdue-by-team".*?</section>', html, re.S).group(0)
    assert "医药健康招商组" in section and "1 条" in section


def test_charts_are_server_svg_and_page_has_no_inline_script(as_user, leads):
    html = as_user("lingdao").get("/dashboard/").get_data(as_text=True)
    assert html.count("<svg") >= 4 and "<script>" not in html
    assert "线索阶段分布" in html and "各产业缺口补链进度" in html


def test_manager_sees_own_team_only_and_recruiter_is_refused(as_user, leads):
    html = as_user("jingli").get("/dashboard/").get_data(as_text=True)
    assert "苏州功率芯片" in html
    assert "医药健康招商组" not in html.split('data-testid="overdue-by-team"')[1].split("</section>")[0]
    assert as_user("zhuanyuan").get("/dashboard/").status_code == 403
    assert as_user("admin").get("/dashboard/").status_code == 403


def test_unknown_sector_is_404(as_user):
    assert as_user("lingdao").get("/dashboard/?sector=nope").status_code == 404


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
