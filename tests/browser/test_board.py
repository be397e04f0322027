"""A manager on the team board: at a 1440px desktop every stage column is inside the page (extra
width scrolls inside the board, never the page) and the bulk bar's reason box is wide enough for
its whole hint; ticking a column and confirming in the page moves every card at once."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True


def test_board_fits_1440_and_bulk_reason_hint_is_whole(new_page, web_env):
    page = new_page()  # 1440 x 960
    login(page, "jingli")
    page.goto("/board/")
    page.wait_for_selector(".kanban")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    board = page.locator(".kanban").bounding_box()
    assert board["x"] + board["width"] <= 1440
    last = page.locator(".kanban .kcol").last.bounding_box()
    visible_right = page.evaluate(
        "() => { const k = document.querySelector('.kanban'); return k.getBoundingClientRect().right; }"
    )
    assert last["x"] < visible_right  # 流失 starts on screen (scrolling inside the board at worst)
    hint = page.evaluate("""() => {
        const box = document.querySelector('#bulk-form input[name=reason]');
        const style = getComputedStyle(box);
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = style.font;
        const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        return {need: ctx.measureText(box.placeholder).width + padding, have: box.clientWidth};
    }""")
    assert hint["have"] >= hint["need"], f"原因提示被截断：{hint}"
    screenshot(page, "p2-board-1440")


def test_manager_bulk_moves_a_column_after_confirming_in_page(new_page, web_env):
    page = new_page()
    login(page, "jingli")
    page.goto("/board/")
    column = page.locator("[data-testid='column-线索']")
    names = column.locator(".kcard-name").all_inner_texts()
    assert names, "the 线索 column should have cards"
    column.locator("input.pick-all").check()
    assert page.locator("#bulk-count").inner_text() == f"已选 {len(names)} 条"
    bulk = page.locator("[data-testid=bulk-form]")
    bulk.locator("select[name=action]").select_option("move")
    bulk.locator("select[name=target]").select_option("接洽")
    bulk.locator("[data-testid=bulk-submit]").click()
    confirm = page.locator("[data-testid=bulk-confirm]")
    assert f"确定对 {len(names)} 条线索执行「变更阶段」" in confirm.inner_text()
    screenshot(page, "p2-board-bulk")
    confirm.locator("[data-testid=bulk-confirm-go]").click()
    assert f"已处理 {len(names)} 条线索" in page.locator(".flashes").inner_text()
    moved = page.locator("[data-testid='column-接洽'] .kcard-name").all_inner_texts()
    assert set(names) <= set(moved)
