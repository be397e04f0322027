"""The board at a 1440px desktop: every stage column inside the page (extra width scrolls inside
the board, never the page) and the bulk bar's reason box wide enough for its whole hint."""

from __future__ import annotations

from tests.e2e.conftest import login, screenshot


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
