"""The recruiter's 日程 in a real browser: a contact is written down on the lead page (shown
masked, opened in full on request), a visit is planned as the next step of a call, the month view
shows it on its day, the .ics link downloads a file calendar programs read, and the week view
fits a 390-pixel phone."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest

from crm.models import utcnow
from tests.browser.conftest import SETTINGS, login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True
PHONE = {"width": 390, "height": 844}


def test_planned_visit_in_the_month_view_and_the_ics_download(new_page, web_env):
    page = new_page()
    login(page, "zhuanyuan")
    lead = web_env.seeded.own
    page.goto(f"/leads/{lead}")

    # a contact, masked for a recruiter; 查看完整信息 opens it (audited)
    panel = page.locator("[data-testid=contacts-panel]")
    panel.locator("input[name=name]").last.fill("王总")
    panel.locator("input[name=title]").last.fill("总经理")
    panel.locator("input[name=mobile]").last.fill("13812345678")
    panel.locator("input[name=email]").last.fill("wang@example.com")
    panel.locator("button", has_text="添加联系人").click()
    page.wait_for_selector("text=已添加联系人「王总」")
    assert page.locator("[data-testid=contact-mobile]").inner_text() == "138****5678"
    page.locator("[data-testid=contacts-panel]").scroll_into_view_if_needed()
    screenshot(page, "calendar_contacts_masked")
    page.click("[data-testid=contact-reveal]")
    assert page.locator("[data-testid=contact-full-mobile]").inner_text() == "13812345678"
    page.go_back()

    # a call whose next step is a visit in five days
    due = SETTINGS.local_today(utcnow()) + timedelta(days=5)
    form = page.locator("[data-testid=activity-form]")
    form.locator("select[name=kind]").select_option("电话")
    form.locator("textarea[name=outcome]").fill("电话沟通，企业同意实地洽谈")
    form.locator("input[name=next_step]").fill("上门拜访王总，带上政策清单")
    form.locator("input[name=due_date]").fill(due.isoformat())
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已登记电话")

    page.click(".mainnav a:has-text('日程')")
    page.wait_for_selector("[data-testid=calendar-grid]")
    if page.locator(f"td[data-day='{due.isoformat()}']").count() == 0:  # the visit is next month
        page.click("[data-testid=calendar-next]")
    cell = page.locator(f"td[data-day='{due.isoformat()}']")
    item = cell.locator("[data-testid=calendar-item]", has_text="上门拜访王总")
    assert item.is_visible() and "精控电驱科技" in item.inner_text()
    screenshot(page, "calendar_month")

    with page.expect_download() as info:
        page.click("[data-testid=calendar-ics]")
    download = info.value
    assert download.suggested_filename.endswith(".ics")
    cal = icalendar.Calendar.from_ical(open(download.path(), "rb").read())
    events = [e for e in cal.walk("VEVENT") if "上门拜访王总" in str(e["SUMMARY"])]
    assert len(events) == 1 and events[0].decoded("DTSTART") == due
    assert str(events[0]["UID"]).startswith("lianzhao-activity-")

    item.click()  # an item opens its lead
    page.wait_for_selector("[data-testid=lead-company]")
    assert page.locator("[data-testid=lead-company]").inner_text() == "精控电驱科技"


def test_week_view_on_a_phone(new_page, web_env):
    page = new_page()
    page.set_viewport_size(PHONE)
    login(page, "zhuanyuan")
    # 包头稀土磁材 was assigned ten days ago and never contacted: its first contact fell due then
    day = SETTINGS.local_today(utcnow()) - timedelta(days=10 - SETTINGS.first_contact_days)
    page.goto(f"/calendar/?view=week&date={day.isoformat()}")
    page.wait_for_selector("[data-testid=calendar-grid]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "页面在手机上横向溢出"
    items = page.locator("[data-testid=calendar-item]")
    late = items.filter(has_text="包头稀土磁材")
    assert late.count() == 1 and "首次接触到期" in late.inner_text()
    box = items.first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "calendar_week_phone")
