"""The company directory (/companies/) and the 待确认 queue with one-click confirmation (issue 10)."""

from __future__ import annotations

from graph.model import CANDIDATE, Company, Placement

from .conftest import csrf_token
from .webdata import CHAIN, MISSING_NODE


def add_firms(store):
    store.upsert_companies(
        [
            Company(
                "P1",
                "待确认电控示例有限公司",
                province="上海市",
                pending=True,
                former_names=("旧名电控示例有限公司",),
                placements=(Placement(MISSING_NODE, CANDIDATE, 0.45, ("电机控制器",)).encode(),),
                synthetic=True,
            ),
            Company(
                "D1",
                "已注销示例有限公司",
                status="注销",
                active=False,
                is_local=True,
                node_ids=(f"{CHAIN}.assembly",),
                synthetic=True,
            ),
        ]
    )


def test_directory_search_filters_and_hides_dead_firms(env, as_user):
    add_firms(env.store)
    client = as_user("zhuanyuan")
    html = client.get("/companies/").get_data(as_text=True)
    assert "企业名录" in html and "通州整车示例" in html and "已注销示例有限公司" not in html
    html = client.get("/companies/?status=all").get_data(as_text=True)
    assert "已注销示例有限公司" in html and "非存续" in html
    html = client.get("/companies/?q=旧名电控").get_data(as_text=True)  # 曾用名
    assert "待确认电控示例有限公司" in html and "共 1 家企业" in html
    html = client.get("/companies/?local=local").get_data(as_text=True)
    assert "通州整车示例" in html and "待确认电控示例有限公司" not in html
    html = client.get("/companies/?pending=1").get_data(as_text=True)
    assert "待确认电控示例有限公司" in html and "通州整车示例" not in html
    resp = client.get("/companies/export.xlsx?local=local")
    assert resp.status_code == 200 and resp.data[:2] == b"PK" and resp.headers["Cache-Control"] == "no-store"


def test_company_page_shows_registry_fields_and_evidence(env, as_user):
    add_firms(env.store)
    client = as_user("zhuanyuan")
    html = client.get("/companies/D1").get_data(as_text=True)
    assert "注销（不计入分析）" in html
    html = client.get("/companies/P1").get_data(as_text=True)
    assert "电机控制器" in html and "候选" in html and "旧名电控示例有限公司" in html
    assert 'data-testid="confirm-node"' not in html  # a recruiter reads, the manager confirms


def test_manager_confirms_in_one_click(env, as_user):
    add_firms(env.store)
    client = as_user("jingli")
    html = client.get("/companies/P1").get_data(as_text=True)
    assert 'data-testid="confirm-node"' in html
    token = csrf_token(client, "/companies/P1")
    resp = client.post("/companies/P1/confirm", data={"csrf_token": token, "node_id": MISSING_NODE})
    assert resp.status_code == 302
    firm = env.store.company("P1")
    assert firm.node_ids == (MISSING_NODE,) and not firm.pending
    assert [p.source for p in firm.placement_list()] == ["confirmed"]
    assert firm.placement_list()[0].evidence == ("电机控制器",)


def test_recruiter_may_not_confirm(env, as_user):
    add_firms(env.store)
    client = as_user("zhuanyuan")
    token = csrf_token(client, "/companies/P1")
    resp = client.post("/companies/P1/confirm", data={"csrf_token": token, "node_id": MISSING_NODE})
    assert resp.status_code == 403 and env.store.company("P1").pending
