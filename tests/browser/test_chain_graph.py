"""A recruiter opens a chain graph, hovers and clicks a 缺链 node and sees its targets.
Company names (one is an XSS probe) stay text in the tooltip, the panel and the list."""

from __future__ import annotations

import pytest

from tests.browser.conftest import click_graph_node, login, screenshot
from tests.web.webdata import CHAIN, MISSING_NODE, XSS_NAME

pytestmark = pytest.mark.browser


def test_graph_tooltip_and_panel_show_names_as_text(new_page):
    page = new_page()
    login(page, "zhuanyuan")
    screenshot(page, "chains-index")
    page.goto(f"/chains/{CHAIN}")
    page.wait_for_selector("#chain-graph[data-ready='1']")
    assert page.locator("[data-testid=chain-title]").inner_text() == "新能源汽车动力总成"

    # hover: our tooltip, built with textContent
    page.evaluate("id => window.LZGraph.network.focus(id, {scale: 1.0})", MISSING_NODE)
    box = page.locator("#chain-graph canvas").bounding_box()
    pos = page.evaluate(
        "id => window.LZGraph.network.canvasToDOM(window.LZGraph.network.getPositions([id])[id])",
        MISSING_NODE,
    )
    page.mouse.move(box["x"] + pos["x"], box["y"] + pos["y"])
    tooltip = page.locator("[data-testid=graph-tooltip]")
    tooltip.wait_for(state="visible")
    assert "电机控制器" in tooltip.inner_text() and "缺链" in tooltip.inner_text()
    assert XSS_NAME in tooltip.inner_text()  # shown as the literal text
    assert tooltip.locator("img").count() == 0
    screenshot(page, "chain-graph-tooltip")

    click_graph_node(page, MISSING_NODE)
    panel = page.locator("[data-testid=node-panel]")
    panel.locator("[data-testid=panel-target]").first.wait_for()
    assert "电机控制器" in panel.locator("h2").inner_text()
    names = panel.locator(".target-name").all_inner_texts()
    assert any("精控电驱科技" in n for n in names)
    assert any(XSS_NAME in n for n in names)
    assert panel.locator("img").count() == 0
    assert "向本地链主" in panel.inner_text()  # the reason is shown
    screenshot(page, "chain-graph-panel")

    # turn the best target into a lead (POST with the CSRF header)
    first = panel.locator("[data-testid=panel-target]").first
    first.locator("button", has_text="转为线索").click()
    ok = first.locator(".panel-msg.ok")
    ok.wait_for()
    assert "已创建线索" in ok.inner_text()

    page.goto(f"/targets/?chain={CHAIN}")
    table = page.locator("[data-testid=target-table]")
    assert XSS_NAME in table.inner_text()
    assert table.locator("img").count() == 0
    screenshot(page, "targets")


def test_sector_overview_and_zone_filter(new_page):
    page = new_page()
    login(page, "zhuanyuan")
    page.goto("/chains/sector/nev")
    card = page.locator("[data-testid=chain-card]").first
    assert "缺链" in card.inner_text() and "覆盖率" in card.inner_text()
    screenshot(page, "sector-overview")
    page.goto(f"/chains/{CHAIN}")
    # keyboard path: the gap table's node name opens the same side panel
    page.wait_for_selector("#chain-graph[data-ready='1']")
    # 苏州功率芯片 sits on 功率半导体 and 电机控制器: it is listed once, for the bigger gap (控制器)
    page.locator("[data-testid=gap-table] [data-open-node]", has_text="电机控制器").focus()
    page.keyboard.press("Enter")
    page.locator("[data-testid=node-panel] h2", has_text="电机控制器").wait_for()
    assert "苏州功率芯片" in page.inner_text("[data-testid=node-panel]")
    page.select_option("select[name=zone]", "taima")
    with page.expect_navigation():
        page.click("#graph-filters button[type=submit]")
    page.wait_for_selector("#chain-graph[data-ready='1']")
    assert "已按「台马科技板块」筛选" in page.inner_text("#graph-filters")


def test_first_report_protection_is_explained_in_the_panel(new_page):
    """Another user sees who holds the firm the recruiter registered (首报首谈) instead of a
    转为线索 button that would only end in a refusal."""
    page = new_page()
    login(page, "jingli")
    page.goto(f"/chains/{CHAIN}")
    click_graph_node(page, MISSING_NODE)
    first = page.locator("[data-testid=node-panel] [data-testid=panel-target]").first
    first.wait_for()
    assert "精控电驱科技" in first.inner_text()
    held = first.locator("[data-testid=held-lead]")
    assert "已登记线索（持有人：张专员" in held.inner_text()
    assert first.locator("button", has_text="转为线索").count() == 0
    page.goto("/companies/O1")
    assert "线索编号" in page.inner_text("[data-testid=company-lead]")
    screenshot(page, "company")


@pytest.mark.parametrize("width", [1366, 1920])
def test_graph_fills_the_canvas_width_and_labels_do_not_touch(new_page, width):
    """The stages are spread over the canvas (not a narrow strip in the middle) and the dots of
    one stage are far enough apart for the label under each (QA: labels sat between dots)."""
    page = new_page()
    page.set_viewport_size({"width": width, "height": 1000})
    login(page, "zhuanyuan")
    page.goto(f"/chains/{CHAIN}")
    page.wait_for_selector("#chain-graph[data-ready='1']")
    page.wait_for_timeout(300)
    extent = page.evaluate("""() => {
        const net = window.LZGraph.network, pos = net.getPositions();
        const xs = Object.values(pos).map(p => net.canvasToDOM(p).x);
        const byX = {};
        Object.values(pos).forEach(p => { (byX[Math.round(p.x)] = byX[Math.round(p.x)] || []).push(p.y); });
        let gap = Infinity;
        Object.values(byX).forEach(ys => { ys.sort((a, b) => a - b);
            for (let i = 1; i < ys.length; i++) gap = Math.min(gap, ys[i] - ys[i - 1]); });
        return {span: Math.max(...xs) - Math.min(...xs), width: document.getElementById("chain-graph").clientWidth,
                gap: gap};
    }""")
    assert extent["span"] > 0.6 * extent["width"], extent
    assert extent["gap"] >= 80, extent  # canvas units: the nodeSpacing between dots of a stage
    if width == 1920:
        screenshot(page, "chain-graph-wide")
