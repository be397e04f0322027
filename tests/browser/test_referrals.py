"""Referrers and lead merge in the browser (issue 13, items 7 and 8):

- a recruiter enters a project's 引荐人; it is 待确认 until the team's manager confirms it, and the
  referral ledger then lists it;
- a manager finds a duplicate lead under 疑似重复线索, merges it after a confirm step, and the
  merged lead's address leads to the survivor.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from crm.db import unit_of_work
from crm.services.leads import create_lead
from crm.services.users import get_by_username
from tests.browser.conftest import SETTINGS, login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def test_referrer_confirmed_by_the_manager_reaches_the_ledger(new_page, web_env):
    lead_id = web_env.seeded.own
    rec = new_page()
    login(rec, "zhuanyuan")
    rec.goto(f"/leads/{lead_id}")
    box = rec.locator("[data-testid=referral]")
    box.locator("summary").click()
    rec.fill("[data-testid=referral-name]", "通州区新能源汽车商会")
    box.locator("select[name=referrer_kind]").select_option("org")
    box.locator("input[name=relation]").fill("企业为商会会员")
    rec.click("[data-testid=referral-save]")
    assert "已保存（待确认）" in flash(rec)
    assert "待确认" in rec.locator("[data-testid=referral-status]").inner_text()
    assert rec.locator("[data-testid=referral-confirm]").count() == 0
    box.scroll_into_view_if_needed()
    screenshot(rec, "referrals_pending")

    mgr = new_page()
    login(mgr, "jingli")
    mgr.goto("/inbox/")
    assert "引荐人" in mgr.locator("main").inner_text()
    mgr.goto(f"/leads/{lead_id}")
    mgr.click("[data-testid=referral-confirm]")
    assert "已确认" in mgr.locator("[data-testid=referral-status]").inner_text()
    assert "李经理" in mgr.locator("[data-testid=referral-status]").inner_text()
    mgr.goto("/ledgers/referrals")
    row = mgr.locator("[data-testid=referral-row]", has_text="通州区新能源汽车商会")
    assert "已确认" in row.inner_text()
    screenshot(mgr, "referrals_ledger")
    with mgr.expect_download() as info:
        mgr.click("[data-testid=referral-export]")
    assert info.value.suggested_filename.startswith("引荐项目台账_")


def test_manager_merges_a_duplicate_lead(new_page, web_env):
    with unit_of_work(web_env.session_factory) as s:
        rec, mgr = get_by_username(s, "zhuanyuan"), get_by_username(s, "jingli")
        base = {"sector_id": "nev", "company_id": "ext-merge-1", "channel": "精准补链", "investment": 8000}
        old = create_lead(
            s,
            rec,
            {**base, "company_name": "合并示例电控（示例数据）"},
            settings=SETTINGS,
            now=datetime(2025, 1, 1),
        ).id
        new = create_lead(s, mgr, {**base, "company_name": "合并示例电控（示例数据）"}, settings=SETTINGS).id
    page = new_page()
    login(page, "jingli")
    page.goto("/board/")
    page.locator("[data-testid=board-duplicates] a").click()
    assert page.locator("[data-testid=duplicate-group]", has_text="合并示例电控").count() == 1
    page.click(f"[data-testid=merge-{new}]")
    assert f"线索 {old}" in page.locator("[data-testid=merge-keep]").inner_text()
    page.fill("input[name=reason]", "同一项目重复登记")
    screenshot(page, "referrals_merge")
    page.click("[data-testid=merge-submit]")
    assert f"已将线索 {new} 并入线索 {old}" in flash(page)
    assert page.url.endswith(f"/leads/{old}")
    page.goto(f"/leads/{new}")
    assert page.url.endswith(f"/leads/{old}")
    assert "已合并到本线索" in flash(page)
    page.goto("/leads/duplicates")
    assert page.locator("[data-testid=duplicate-group]", has_text="合并示例电控").count() == 0
