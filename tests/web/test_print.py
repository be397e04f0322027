"""Print views: the 补链目标 page names its filters and date and prints factors as one line;
the 名录 print view names the chain with the node."""

from __future__ import annotations

import re

from .conftest import csrf_token
from .webdata import CHAIN, MISSING_NODE


def test_targets_print_header_names_filters_and_date(auth):
    html = (
        auth.login("jingli")
        .get(f"/targets/?sector=nev&chain={CHAIN}&status=缺链&top=100")
        .get_data(as_text=True)
    )
    head = re.search(
        r'<header class="print-only print-head" data-testid="print-header">.*?</header>', html, re.S
    )
    assert head, "no print header"
    text = head.group(0)
    assert "产业：新能源智能汽车" in text and "产业链：新能源汽车动力总成" in text
    assert (
        "状态：缺链" in text
        and "前 100 家" in text
        and re.search(r"打印时间 \d{4}-\d{2}-\d{2} \d{2}:\d{2}", text)
    )
    line = re.search(r'data-testid="factors-line">([^<]+)<', html).group(1)
    assert "缺口程度" in line and "；" in line


def test_print_stylesheet_hides_bars_and_actions(client):
    css = client.get("/static/css/print.css").get_data(as_text=True)
    assert re.search(r"\.factors \{ display: none", css)


def test_list_print_shows_chain_with_node(client, auth):
    auth.login("jingli")
    token = csrf_token(client, "/targets/lists")
    resp = client.post("/targets/lists/new", data={"sector": "nev", "chain": CHAIN, "csrf_token": token})
    list_id = int(re.search(r"/targets/lists/(\d+)$", resp.headers["Location"]).group(1))
    client.post(
        "/targets/lists/add",
        data={
            "list_id": list_id,
            "company_id": "O1",
            "node_id": MISSING_NODE,
            "csrf_token": csrf_token(client, "/targets/"),
        },
    )
    html = client.get(f"/targets/lists/{list_id}/print").get_data(as_text=True)
    cell = re.search(r'data-testid="print-node">([^<]+)<', html).group(1)
    assert cell.startswith("新能源汽车动力总成 · 电机控制器")
