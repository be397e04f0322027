"""The day's work of each role in the browser: a manager assigns a pool lead; the recruiter finds
it in the inbox, logs a visit, is refused 在谈 until the "四个一" are in place, then moves it on to
签约; the leader sees it on the dashboard. And a recruiter is refused another team's lead by URL."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def test_assign_work_gate_sign_and_dashboard(new_page, web_env):
    lead_id = web_env.seeded.pool_key

    # 1. the manager assigns the pool lead from the team board
    manager = new_page()
    login(manager, "jingli")
    manager.goto("/board/")
    card = manager.locator(f"[data-testid=pool] [data-testid=card][data-lead-id='{lead_id}']")
    assert "苏州功率芯片" in card.inner_text() and "重点项目" in card.inner_text()
    screenshot(manager, "p2-board")
    card.locator("[data-testid=assign-open]").click()
    form = manager.locator("[data-testid=assign-form]")
    assert form.locator("#assign-name").inner_text() == "苏州功率芯片"
    form.locator("select[name=assignee_id]").select_option(label="张专员（招商专员）")
    form.locator("input[name=reason]").fill("熟悉功率半导体，请本周内联系")
    form.locator("button[type=submit]").click()
    assert "已将「苏州功率芯片」分派给张专员" in flash(manager)

    # 2. the recruiter sees it in the inbox and opens it
    rec = new_page()
    login(rec, "zhuanyuan")
    rec.goto("/inbox/")
    message = rec.locator("[data-testid=message]", has_text="苏州功率芯片").first
    assert "熟悉功率半导体" in message.inner_text()
    reminder = rec.locator("[data-testid=reminder]", has_text="包头稀土磁材")
    assert "首次联系已超期 7 天" in reminder.inner_text()
    screenshot(rec, "p2-inbox")
    message.locator("[data-testid=open-message]").click()
    rec.wait_for_url(f"**/leads/{lead_id}")
    assert rec.locator("[data-testid=lead-company]").inner_text() == "苏州功率芯片"

    # 3. logs a visit
    form = rec.locator("[data-testid=activity-form] form")
    form.locator("select[name=kind]").select_option("拜访")
    form.locator("textarea[name=outcome]").fill("与企业董事长面谈，企业有意在西集建设电控产线")
    form.locator("input[name=next_step]").fill("提交用地需求")
    form.locator("button[type=submit]").click()
    assert "已登记拜访" in flash(rec)
    assert "企业有意在西集建设电控产线" in rec.locator("[data-testid=timeline]").inner_text()

    # 4. 接洽 is fine; 在谈 is refused by the "四个一" gate, with what is missing
    rec.locator("[data-testid='move-接洽']").click()
    assert "已进入「接洽」阶段" in flash(rec)
    rec.locator("[data-testid='move-在谈']").click()
    refusal = rec.locator("[data-testid=gate-refusal]")
    refusal.wait_for()
    missing = refusal.locator("[data-testid=gate-missing]").inner_text()
    for item in ("牵头区领导", "工作专班", "项目服务专员", "服务方案"):
        assert item in missing
    assert rec.locator("[data-testid=stage]").first.inner_text() == "接洽"
    screenshot(rec, "p2-lead-gate-refused")

    # 5. sets the four items (the form is open after a refusal)
    four = rec.locator("[data-testid=four-ones-form]")
    four.locator("select[name=sponsor_user_id]").select_option(label="王区长")
    four.locator("input[name=task_force_department]").fill("区投资促进局")
    four.locator("input[name=task_force_members]").fill("区发改委 李四、区规自分局 王五")
    four.locator("select[name=case_officer_user_id]").select_option(label="张专员（招商专员）")
    four.locator("textarea[name=needs]").fill("用地 60 亩，标准厂房 2 万平方米")
    four.locator("textarea[name=policy_support]").fill("高精尖产业发展资金；首台套奖励")
    four.locator("textarea[name=milestones]").fill("2027-03 签约\n2027-06 注册\n2027-12 开工")
    four.locator("button[type=submit]").click()
    assert "“四个一”已保存" in flash(rec)
    assert rec.locator("[data-testid=four-ones-ready]").is_visible()

    # 6. now 在谈, then a claim of 签约 with its facts (pending until the sponsor confirms)
    rec.locator("[data-testid='move-在谈']").click()
    assert "已进入「在谈」阶段" in flash(rec)
    claim = rec.locator("[data-testid=claim-form-签约]")
    claim.locator("[data-testid=fact-signed_on]").fill("2027-03-01")
    claim.locator("[data-testid=fact-agreed_investment]").fill("20000")
    claim.locator("[data-testid=fact-agreement_no]").fill("TZ-2027-007")
    claim.locator("[data-testid='move-签约']").click()
    assert "待确认后计入统计" in flash(rec)
    assert rec.locator("[data-testid=stage]").first.inner_text() == "在谈"
    timeline = rec.locator("[data-testid=timeline]").inner_text()
    assert "分派给 张专员" in timeline
    rec.set_viewport_size({"width": 1440, "height": 1500})
    screenshot(rec, "p2-lead")
    rec.set_viewport_size({"width": 1440, "height": 960})
    rec.goto("/leads/")
    assert "苏州功率芯片" in rec.locator("[data-testid=lead-table]").inner_text()
    # quick logging from the list: one shared form opened for the row
    row = rec.locator(f"[data-testid=lead-row][data-lead-id='{web_env.seeded.own}']")
    row.locator("[data-testid=quick-log]").click()
    quick = rec.locator("[data-testid=quick-log-form]")
    assert quick.locator("#quick-log-name").inner_text() == "精控电驱科技"
    quick.locator("select[name=kind]").select_option("电话")
    quick.locator("input[name=outcome]").fill("约定下周面谈")
    screenshot(rec, "p2-my-leads")
    quick.locator("button[type=submit]").click()
    assert "已登记电话" in flash(rec)
    assert rec.url.endswith("/leads/")  # back on the list

    # 7. the leader sees it on the dashboard as a signed key project with its four items in place
    leader = new_page()
    login(leader, "lingdao")
    # the sponsoring leader confirms the 签约 claim; only then does it count
    leader.goto(f"/leads/{lead_id}")
    leader.locator("[data-testid=claim-confirm]").click()
    assert "已确认「苏州功率芯片」进入「签约」" in flash(leader)
    assert "「在谈」→「签约」" in leader.locator("[data-testid=timeline]").inner_text()
    leader.goto("/dashboard/")
    row = leader.locator("[data-testid=key-project]", has_text="苏州功率芯片")
    assert "签约" in row.inner_text() and "已落实" in row.inner_text() and "王区长" in row.inner_text()
    assert leader.locator("[data-testid=kpi-signed]").inner_text() == "2.0亿元"
    leader.set_viewport_size({"width": 1440, "height": 1400})
    screenshot(leader, "p2-dashboard")
    leader.emulate_media(media="print")  # the printed page: no navigation, bars keep their numbers
    assert not leader.locator(".topbar").is_visible()
    assert leader.locator("svg.chart text.val").count() > 0
    screenshot(leader, "p2-dashboard-print")
    leader.emulate_media(media="screen")
    # and leaves an instruction the recruiter will find in the inbox
    leader.goto(f"/leads/{lead_id}")
    leader.locator("[data-testid=comments] textarea[name=body]").fill("请协调区规自分局尽快落实用地")
    leader.locator("[data-testid=comments] button[type=submit]").click()
    assert "批注已发布" in flash(leader)
    rec.goto("/inbox/")
    assert "请协调区规自分局尽快落实用地" in rec.locator("[data-testid=messages]").inner_text()


def test_recruiter_is_refused_another_teams_lead_by_url(new_page, web_env):
    page = new_page()
    login(page, "zhuanyuan")
    response = page.goto(f"/leads/{web_env.seeded.other_team}")
    assert response.status == 403
    assert "无权查看该线索" in page.locator("[data-testid=error-message]").inner_text()
    assert "天津植入材料" not in page.content()
    screenshot(page, "p2-refused-403")
