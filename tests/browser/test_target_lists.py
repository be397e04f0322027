"""A manager drafts a target list and submits it; a leader returns it, then approves it and
downloads the XLSX. Names (one an XSS probe) stay text; no dialog may open."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import login, screenshot
from tests.web.webdata import CHAIN, XSS_NAME

pytestmark = pytest.mark.browser


def _logout(page):
    _submit(page, page.locator(".usermenu button[type=submit]"))
    page.wait_for_selector("input[name=username]")


def _submit(page, locator):
    """Click a button or link that loads a new page, and wait for that page (not the old one)."""
    with page.expect_navigation():
        locator.click()


def test_manager_drafts_leader_returns_then_approves(new_page):
    page = new_page()
    login(page, "jingli")
    page.goto("/targets/lists")
    form = page.locator("[data-testid=new-list-form]")
    form.locator("select[name=sector]").select_option("nev")
    form.locator("select[name=chain]").select_option(CHAIN)
    form.locator("input[name=title]").fill("2026年动力总成补链目标企业名录")
    _submit(page, form.locator("button[type=submit]"))
    page.wait_for_selector("[data-testid=list-title]")
    list_url = page.url
    assert "草稿" in page.inner_text("[data-testid=list-status]")

    # add two firms from the ranking page, one of them the XSS probe
    page.goto(f"/targets/?chain={CHAIN}")
    rows = page.locator("[data-testid=target-row]")
    for name in ("精控电驱科技", XSS_NAME):
        row = rows.filter(has_text=name).first
        _submit(page, row.locator("form.add-to-list button"))
        page.wait_for_selector(".flash-success")
    page.goto(list_url)
    table = page.locator("[data-testid=list-rows]")
    assert table.locator("[data-testid=list-row]").count() == 2
    assert XSS_NAME in table.inner_text() and table.locator("img").count() == 0

    # reorder and annotate
    second = table.locator("[data-testid=list-row]").nth(1)
    moved = second.locator(".row-company").inner_text()
    _submit(page, second.locator("button", has_text="上移"))
    page.wait_for_selector("[data-testid=list-rows]")
    first = page.locator("[data-testid=list-row]").first
    assert first.locator(".row-company").inner_text() == moved
    first.locator("input[name=note]").fill("已与企业初步接触")
    _submit(page, first.locator("button", has_text="保存"))
    page.wait_for_selector(".flash-success")
    assert (
        page.locator("[data-testid=list-row]").first.locator("input[name=note]").input_value()
        == "已与企业初步接触"
    )
    screenshot(page, "target-list-draft")

    page.fill("textarea[name=comment]", "请领导审定")
    _submit(page, page.locator("[data-testid=submit-list]"))
    page.wait_for_selector(".flash-success")
    assert "待审批" in page.inner_text("[data-testid=list-status]")
    _logout(page)

    # the leader returns it with a comment
    login(page, "lingdao")
    page.goto("/targets/lists")
    _submit(
        page,
        page.locator("table", has_text="待审批").get_by_role("link", name="2026年动力总成补链目标企业名录"),
    )
    page.wait_for_selector("[data-testid=review-box]")
    screenshot(page, "target-list-review")
    page.locator("form[action$='/return'] textarea[name=comment]").fill("请补充功率半导体环节的企业")
    _submit(page, page.locator("[data-testid=return-list]"))
    page.wait_for_selector(".flash-success")
    assert "已退回" in page.inner_text("[data-testid=list-status]")
    _logout(page)

    # the manager sees the comment, adds the top firms and resubmits
    login(page, "jingli")
    page.goto(list_url)
    assert "请补充功率半导体环节的企业" in page.inner_text("[data-testid=return-comment]")
    page.locator("form[action$='/add-top'] select[name=count]").select_option("5")
    _submit(page, page.locator("form[action$='/add-top'] button"))
    page.wait_for_selector(".flash-success")
    assert page.locator("[data-testid=list-row]").count() == 5
    _submit(page, page.locator("[data-testid=submit-list]"))
    page.wait_for_selector(".flash-success")
    _logout(page)

    # the leader approves and downloads the XLSX
    login(page, "lingdao")
    page.goto(list_url)
    _submit(page, page.locator("[data-testid=approve-list]"))
    page.wait_for_selector(".flash-success")
    assert "已批准" in page.inner_text("[data-testid=list-status]")
    assert "第 1 版" in page.inner_text("[data-testid=versions]")
    with page.expect_download() as info:
        page.click("[data-testid=export-xlsx]")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx") and "第1版" in download.suggested_filename
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read())).active
    names = [sheet.cell(row=r, column=2).value for r in range(3, sheet.max_row + 1)]
    assert len(names) == 5 and any(XSS_NAME in n for n in names)
    screenshot(page, "target-list-approved")

    # the A4 print view
    page.goto(list_url + "/print")
    assert "第 1 版" in page.inner_text(".print-head")
    page.emulate_media(media="print")
    screenshot(page, "target-list-print")
    page.emulate_media(media="screen")
