"""The recruiter's field work on a 390-pixel phone (issue 18): the menu folds behind 菜单, the lead
list is one card per lead, a visit is logged from the lead page; nothing is loaded from outside
the app. Also the API's browsable description (vendored Swagger UI) under the same strict CSP."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True
PHONE = {"width": 390, "height": 844}


def _outside_requests(page, live_server):
    host = urlsplit(live_server.url).netloc
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if urlsplit(r.url).netloc not in (host, "") else None)
    return seen


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "页面在手机上横向溢出"


def test_phone_menu_lead_cards_and_visit_logging(new_page, web_env, live_server):
    page = new_page()
    page.set_viewport_size(PHONE)
    outside = _outside_requests(page, live_server)
    login(page, "zhuanyuan")
    page.goto("/leads/")
    page.wait_for_selector("[data-testid=lead-table]")
    _no_sideways_scroll(page)
    nav = page.locator(".mainnav")
    assert not nav.is_visible()  # folded
    page.click("[data-testid=nav-toggle]")
    assert nav.is_visible() and page.locator(".mainnav a", has_text="线索").is_visible()
    assert nav.bounding_box()["width"] <= PHONE["width"]
    page.click("[data-testid=nav-toggle]")
    row = page.locator("[data-testid=lead-row]").first
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert row.locator("td[data-label=阶段]").is_visible()
    screenshot(page, "p18-phone-leads-390")

    page.goto(f"/leads/{web_env.seeded.own}")
    form = page.locator("[data-testid=activity-form]")
    form.scroll_into_view_if_needed()
    _no_sideways_scroll(page)
    fbox = form.bounding_box()
    assert fbox["x"] >= 0 and fbox["x"] + fbox["width"] <= PHONE["width"]
    form.locator("select[name=kind]").select_option("拜访")
    form.locator("textarea[name=outcome]").fill("手机登记：实地拜访，企业同意来通州考察")
    form.locator("input[name=next_step]").fill("安排考察")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已登记拜访")
    assert page.locator("[data-testid=timeline]", has_text="手机登记").is_visible()
    page.locator("[data-testid=activity-form]").scroll_into_view_if_needed()
    screenshot(page, "p18-phone-visit-390")
    assert outside == [], f"手机页面从外部加载了资源：{outside}"


def test_api_docs_page_renders_offline_under_the_csp(new_page, live_server):
    page = new_page()
    outside = _outside_requests(page, live_server)
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "链招" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock-tag", state="attached")
    assert page.locator(".opblock").count() >= 10
    screenshot(page, "p18-api-docs")
    assert outside == [], f"接口说明页从外部加载了资源：{outside}"
