"""Chain overview, sector overview, graph page, node panel, lead creation, company page."""

from __future__ import annotations

import json
import re

from .conftest import csrf_token
from .webdata import CHAIN, MISSING_NODE, XSS_NAME

GRAPH_JSON = re.compile(r'<script type="application/json" id="graph-data">(.*?)</script>', re.S)


def test_index_lists_sectors_with_gap_counts(auth):
    html = auth.login("zhuanyuan").get("/chains/").get_data(as_text=True)
    assert "新能源智能汽车" in html and "医药健康" in html
    assert "新能源汽车动力总成" in html and "电机控制器" in html  # most critical gap named


def test_sector_overview(auth):
    client = auth.login("zhuanyuan")
    html = client.get("/chains/sector/nev").get_data(as_text=True)
    assert "新能源汽车动力总成" in html and "覆盖率" in html and "最关键的缺口" in html
    assert client.get("/chains/sector/nope").status_code == 404


def test_graph_page_passes_data_as_json_not_html(auth):
    html = auth.login("zhuanyuan").get(f"/chains/{CHAIN}").get_data(as_text=True)
    assert "vendor/vis-network.min.js" in html and "cdn" not in html.lower()
    data = json.loads(GRAPH_JSON.search(html).group(1))
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes[MISSING_NODE]["status"] == "缺链"
    assert all("title" not in n for n in data["nodes"])  # no vis HTML tooltips
    assert data["options"]["layout"]["hierarchical"]["direction"] == "LR"
    levels = {n["stage"]: n["level"] for n in data["nodes"]}
    assert levels["上游"] < levels["中游"] < levels["下游"]
    # critical nodes are larger; the XSS name sits in the JSON as escaped text only
    assert XSS_NAME + "（示例数据）" in nodes[MISSING_NODE]["targets"]
    assert nodes[MISSING_NODE]["size"] > nodes[f"{CHAIN}.transfer"]["size"]
    assert "<img" not in GRAPH_JSON.search(html).group(1)


def test_zone_filter_dims_nodes_without_local_firms_there(auth):
    client = auth.login("zhuanyuan")
    html = client.get(f"/chains/{CHAIN}?zone=taima").get_data(as_text=True)
    nodes = {n["id"]: n for n in json.loads(GRAPH_JSON.search(html).group(1))["nodes"]}
    assert not nodes[f"{CHAIN}.motor"]["dimmed"]  # 永乐电机 sits in 台马
    assert nodes[f"{CHAIN}.transfer"]["dimmed"]  # 西集传动 does not
    assert client.get(f"/chains/{CHAIN}?zone=nowhere").status_code == 404


def test_node_panel_json(auth):
    client = auth.login("zhuanyuan")
    body = client.get(f"/chains/nodes/{MISSING_NODE}/panel").get_json()
    assert body["node"]["status"] == "缺链" and body["local_firms"] == []
    names = [t["company_name"] for t in body["targets"]]
    assert names[0].startswith("精控电驱科技") and XSS_NAME + "（示例数据）" in names
    first = body["targets"][0]
    assert {f["label"] for f in first["factors"]} >= {"缺口程度", "企业实力", "本地关联"}
    assert "通州整车示例" in first["reason"]
    strong = client.get(f"/chains/nodes/{CHAIN}.assembly/panel?zone=xiji").get_json()
    assert {c["name"] for c in strong["local_firms"]} == {
        "通州整车示例（示例数据）",
        "运河汽车零部件（示例数据）",
    }
    assert client.get("/chains/nodes/nev_drive.nothing/panel").status_code == 404


def _post_lead(client, company_id="O1", node_id=MISSING_NODE):
    token = csrf_token(client, "/chains/")
    return client.post(
        "/targets/lead",
        json={"company_id": company_id, "node_id": node_id},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def test_create_lead_from_target_and_first_report_protection(client, auth, env):
    auth.login("zhuanyuan")
    resp = _post_lead(client)
    body = resp.get_json()
    assert resp.status_code == 200 and body["ok"], body
    from crm.models import Lead

    with env.session_factory() as s:
        lead = s.get(Lead, body["lead_id"])
        assert lead.node_id == MISSING_NODE and lead.gap_status == "缺链" and lead.gap_score > 70
        assert "通州整车示例" in lead.gap_reason and lead.channel == "精准补链"
    # the company page shows the lead
    html = client.get("/companies/O1").get_data(as_text=True)
    assert f"线索编号 {body['lead_id']}" in html
    # 首报首谈: the same firm again is refused with who holds it
    client.post("/logout", data={"csrf_token": csrf_token(client, "/chains/")})
    auth.login("jingli")
    resp = _post_lead(client)
    assert resp.status_code == 409
    assert "首报" in resp.get_json()["error"] and "张专员" in resp.get_json()["error"]


def test_leader_may_not_create_leads(client, auth):
    auth.login("lingdao")
    resp = _post_lead(client)
    assert resp.status_code == 403 and resp.get_json()["ok"] is False


def test_lead_for_unknown_target_is_refused(client, auth):
    auth.login("zhuanyuan")
    resp = _post_lead(client, company_id="L1")  # a local firm is never a target
    assert resp.status_code == 404


def test_company_page_escapes_names_and_shows_ties(auth):
    client = auth.login("zhuanyuan")
    html = client.get("/companies/O2").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and XSS_NAME not in html
    assert "通州整车示例" in html and "向其供货" in html
    html = client.get("/companies/O1").get_data(as_text=True)
    assert "海淀区" in html and "小巨人" in html and "电机控制器" in html
    assert 'data-testid="company-scores"' in html and "73.7" in html  # its 补链 score with reasons
    assert 'data-testid="company-scores"' not in client.get("/companies/L1").get_data(as_text=True)
    assert client.get("/companies/NOPE").status_code == 404


def test_target_list_page_filters_and_escapes(auth):
    client = auth.login("zhuanyuan")
    html = client.get(f"/targets/?chain={CHAIN}").get_data(as_text=True)
    assert html.count('data-testid="target-row"') == 5
    assert "&lt;img src=x" in html and XSS_NAME not in html
    html = client.get(f"/targets/?chain={CHAIN}&node={MISSING_NODE}").get_data(as_text=True)
    assert html.count('data-testid="target-row"') == 3  # 苏州功率芯片 picks 电机控制器, its bigger gap
    html = client.get(f"/targets/?chain={CHAIN}&per_node=1").get_data(as_text=True)
    assert html.count('data-testid="target-row"') == 3  # one per gap node: 控制器, 磁材, 电机
    assert 'data-testid="factor-coverage"' in html
    html = client.get(f"/targets/?chain={CHAIN}&status=弱链").get_data(as_text=True)
    assert html.count('data-testid="target-row"') == 1 and "常州电机" in html
    html = client.get("/targets/?sector=medical").get_data(as_text=True)
    assert "天津植入材料" in html and "精控电驱" not in html
    assert client.get("/targets/?status=强链").status_code == 400


def test_ranking_export_keeps_filters(auth):
    import io

    from openpyxl import load_workbook

    client = auth.login("zhuanyuan")
    html = client.get(f"/targets/?chain={CHAIN}&status=缺链").get_data(as_text=True)
    assert "/targets/export.xlsx?" in html
    resp = client.get(f"/targets/export.xlsx?chain={CHAIN}&status=缺链")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert "新能源汽车动力总成" in sheet["A1"].value
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert len(rows) == 4 and all(r[6] == "缺链" for r in rows)
    assert rows[0][1].startswith("精控电驱科技") and any(r[1].startswith(XSS_NAME) for r in rows)
