"""The CRM closes the loop, in the browser (issue 13's "Done when"):

- a recruiter's claim of 签约 without its facts is refused with the missing items named; with
  them it is pending (not on the dashboard) until the manager confirms it;
- after 落地 is confirmed, the node's status, the chain-gap graph, the dashboard and the 名录 agree;
- an approval task disappears from every leader's inbox once one leader acts.
"""

from __future__ import annotations

import pytest

from crm.db import unit_of_work
from crm.models import LEADER, Lead
from crm.services import target_lists
from crm.services._common import SYSTEM
from crm.services.users import create_user, get_by_username
from tests.browser.conftest import SETTINGS, login, screenshot
from tests.web.webdata import PASSWORD

pytestmark = pytest.mark.browser
SEEDED_LEADS = True


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def _advance(page, lead_id: int, stage: str) -> None:
    page.goto(f"/leads/{lead_id}")
    page.locator(f"[data-testid=move-{stage}]").click()
    assert f"已进入「{stage}」" in flash(page)


def _gap_row(page, node_name: str) -> str:
    page.goto("/chains/nev_drive")
    return page.locator("[data-testid=gap-table] tr", has_text=node_name).first.inner_text()


def test_claim_confirm_land_and_everything_agrees(new_page, web_env):
    lead_id = web_env.seeded.own  # 精控电驱科技 on 电机控制器 (缺链), owned by 张专员
    with unit_of_work(web_env.session_factory) as s:
        mgr = get_by_username(s, "jingli")
        tl = target_lists.create_draft(
            s, mgr, sector_id="nev", chain_id="nev_drive", title="动力总成补链名录"
        )
        target_lists.add_rows(
            s,
            mgr,
            tl.id,
            [{"company_id": "jk_edrive", "company_name": "精控电驱科技", "node_id": "nev_drive.controller"}],
        )
        list_id = tl.id

    rec = new_page()
    login(rec, "zhuanyuan")
    assert "缺链" in _gap_row(rec, "电机控制器")
    _advance(rec, lead_id, "接洽")
    _advance(rec, lead_id, "在谈")

    # 签约 without its facts: refused, each missing item named
    rec.goto(f"/leads/{lead_id}")
    form = rec.locator("[data-testid=claim-form-签约]")
    form.locator("[data-testid=move-签约]").click()
    missing = rec.locator("[data-testid=evidence-missing]").inner_text()
    assert "签约日期" in missing and "协议投资额（万元）" in missing and "协议编号，或协议文件" in missing
    screenshot(rec, "loop-sign-refused")

    # with them: pending, the lead stays 在谈 and the dashboard does not count it
    form = rec.locator("[data-testid=claim-form-签约]")
    form.locator("[data-testid=fact-signed_on]").fill("2027-03-01")
    form.locator("[data-testid=fact-agreed_investment]").fill("5000")
    form.locator("[data-testid=fact-agreement_no]").fill("TZ-2027-018")
    form.locator("[data-testid=move-签约]").click()
    assert "待确认后计入统计" in flash(rec)
    assert "待确认" in rec.locator("[data-testid=claim-pending]").inner_text()
    screenshot(rec, "loop-sign-pending")
    with unit_of_work(web_env.session_factory) as s:
        lead = s.get(Lead, lead_id)
        assert (lead.stage, lead.pending_stage) == ("在谈", "签约")

    manager = new_page()
    login(manager, "jingli")  # lands on the manager's home: pending confirmations
    claim = manager.locator("[data-testid=home-claim]", has_text="精控电驱科技")
    assert "申报进入「签约」" in claim.inner_text()
    manager.goto("/dashboard/")
    assert "签约 1 个" in manager.locator("[data-testid=kpi-pending]").inner_text()
    signed_before = manager.locator("[data-testid=kpi-signed]").inner_text()
    screenshot(manager, "loop-dashboard-pending")
    manager.goto(f"/leads/{lead_id}")
    manager.locator("[data-testid=claim-confirm]").click()
    assert "已确认「精控电驱科技」进入「签约」" in flash(manager)
    manager.goto("/dashboard/")
    assert manager.locator("[data-testid=kpi-signed]").inner_text() != signed_before

    # 落地 with the new local entity: pending until confirmed; then graph, dashboard and 名录 agree
    rec.goto(f"/leads/{lead_id}")
    form = rec.locator("[data-testid=claim-form-落地]")
    form.locator("[data-testid=fact-entity_name]").fill("精控电驱（北京）科技有限公司")
    form.locator("[data-testid=fact-registered_on]").fill("2027-05-10")
    form.locator("[data-testid=fact-registered_capital]").fill("2000")
    form.locator("[data-testid=fact-space]").fill("西集智能制造产业园 3 号厂房")
    form.locator("[data-testid=move-落地]").click()
    assert "待确认后计入统计" in flash(rec)
    assert "缺链" in _gap_row(rec, "电机控制器")  # a claim changes nothing yet

    manager.goto("/dashboard/")
    gaps_before = manager.locator("[data-testid=kpi-gaps]").inner_text()
    manager.goto(f"/leads/{lead_id}")
    manager.locator("[data-testid=claim-confirm]").click()
    assert "进入「落地」" in flash(manager)

    row = _gap_row(manager, "电机控制器")
    assert "缺链" not in row  # a local firm now operates on the node
    screenshot(manager, "loop-landed-graph")
    manager.goto("/dashboard/")
    filled_before = int(gaps_before.split("/")[0])
    assert int(manager.locator("[data-testid=kpi-gaps]").inner_text().split("/")[0]) == filled_before + 1
    screenshot(manager, "loop-landed-dashboard")
    manager.goto(f"/targets/lists/{list_id}")
    status = manager.locator("[data-testid=crm-status]").first.inner_text()
    assert "落地" in status and "张专员" in status
    screenshot(manager, "loop-landed-list")


def test_approval_task_leaves_every_leaders_inbox(new_page, web_env):
    with unit_of_work(web_env.session_factory) as s:
        create_user(
            s,
            SYSTEM,
            username="lingdao2",
            display_name="刘副区长",
            role=LEADER,
            password=PASSWORD,
            sector_id=None,
            settings=SETTINGS,
        )
        mgr = get_by_username(s, "jingli")
        tl = target_lists.create_draft(
            s, mgr, sector_id="nev", chain_id=None, title="新能源汽车补链名录（送审）"
        )
        target_lists.add_rows(s, mgr, tl.id, [{"company_id": "x1", "company_name": "常州电控"}])
        target_lists.submit(s, mgr, tl.id)
        list_id = tl.id

    second = new_page()
    login(second, "lingdao2")
    second.goto("/inbox/")
    assert second.locator("[data-testid=message]", has_text="新能源汽车补链名录（送审）").count() == 1

    first = new_page()
    login(first, "lingdao")
    first.goto("/inbox/")
    assert first.locator("[data-testid=message]", has_text="新能源汽车补链名录（送审）").count() == 1
    first.goto(f"/targets/lists/{list_id}")
    first.locator("form[action$='/approve'] button[type=submit]").first.click()
    first.goto("/inbox/")
    assert first.locator("[data-testid=message]", has_text="请审批").filter(has_text="送审").count() == 0

    second.goto("/inbox/")
    assert second.locator("[data-testid=message]", has_text="请审批").filter(has_text="送审").count() == 0
    screenshot(second, "loop-inbox-closed")
