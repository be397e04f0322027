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


# ---- 疑似重复 and merge; every lead on the company page ---------------------------------------
def add_twins(store):
    store.upsert_companies(
        [
            Company(
                "T1", "双胞示例电控有限公司", province="江苏省", node_ids=(MISSING_NODE,), synthetic=True
            ),
            Company("T2", "双胞示例电控股份有限公司", city="苏州市", synthetic=True),
        ]
    )


def lead_on(env, username, company_id, name, lost_reason=None):
    from crm.db import unit_of_work
    from crm.services.leads import create_lead, transition
    from crm.services.users import get_by_username

    from .conftest import SETTINGS

    with unit_of_work(env.session_factory) as s:
        user = get_by_username(s, username)
        lead = create_lead(
            s, user, {"company_name": name, "company_id": company_id, "sector_id": "nev"}, settings=SETTINGS
        )
        if lost_reason:
            transition(s, user, lead.id, "流失", lost_reason, settings=SETTINGS)
        return lead.id


def test_duplicates_and_merge_are_for_managers_and_admins(env, as_user):
    add_twins(env.store)
    recruiter = as_user("zhuanyuan")
    assert recruiter.get("/companies/duplicates").status_code == 403
    assert recruiter.get("/companies/merge?keep=T1&merged=T2").status_code == 403
    resp = recruiter.post(
        "/companies/merge", data={"csrf_token": recruiter.token, "keep": "T1", "merged": "T2"}
    )
    assert resp.status_code == 403 and env.store.company("T2").id == "T2"
    assert 'data-testid="duplicates-link"' not in recruiter.get("/companies/").get_data(as_text=True)
    manager = as_user("jingli")
    html = manager.get("/companies/duplicates").get_data(as_text=True)
    assert "双胞示例电控有限公司" in html and "双胞示例电控股份有限公司" in html and "同名" in html
    assert "/companies/merge?keep=T1&amp;merged=T2" in html


def test_merge_confirm_page_then_post_with_csrf(env, as_user):
    add_twins(env.store)
    manager = as_user("jingli")
    html = manager.get("/companies/merge?keep=T1&merged=T2").get_data(as_text=True)
    assert 'data-testid="merge-compare"' in html and "江苏省" in html and "苏州市" in html
    assert 'data-testid="merge-submit"' in html
    no_token = manager.post("/companies/merge", data={"keep": "T1", "merged": "T2"})
    assert no_token.status_code == 400 and env.store.company("T2").id == "T2"
    resp = manager.post("/companies/merge", data={"csrf_token": manager.token, "keep": "T1", "merged": "T2"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/companies/T1")
    kept = env.store.company("T2")
    assert kept.id == "T1" and kept.city == "苏州市"
    old_page = manager.get("/companies/T2")  # a bookmark or a lead naming the old id still works
    assert old_page.status_code == 302 and old_page.headers["Location"].endswith("/companies/T1")
    assert "已将" in manager.get("/companies/T1").get_data(as_text=True)  # the flash


def test_two_firms_with_open_leads_only_an_admin_forces(env, as_user):
    add_twins(env.store)
    first = lead_on(env, "zhuanyuan", "T1", "双胞示例电控有限公司")
    second = lead_on(env, "jingli", "T2", "双胞电控（苏州）")  # 首报首谈 holds one name
    manager = as_user("jingli")
    html = manager.get("/companies/merge?keep=T1&merged=T2").get_data(as_text=True)
    assert 'data-testid="merge-blocked"' in html and 'data-testid="merge-submit"' not in html
    resp = manager.post(
        "/companies/merge", data={"csrf_token": manager.token, "keep": "T1", "merged": "T2", "force": "1"}
    )
    assert resp.status_code == 302 and env.store.company("T2").id == "T2"  # refused
    admin = as_user("admin")
    html = admin.get("/companies/merge?keep=T1&merged=T2").get_data(as_text=True)
    assert 'name="force"' in html
    resp = admin.post(
        "/companies/merge", data={"csrf_token": admin.token, "keep": "T1", "merged": "T2", "force": "1"}
    )
    assert resp.status_code == 302 and env.store.company("T2").id == "T1"
    from crm.models import AuditLog, Lead

    with env.session_factory() as s:
        assert s.get(Lead, first).company_id == "T1" and s.get(Lead, second).company_id == "T1"
        entry = s.query(AuditLog).filter_by(action="merge").one()
        assert entry.after["forced"] is True and entry.after["lead_ids"] == [second]


def test_company_page_lists_every_lead_with_lost_reason(env, as_user):
    add_twins(env.store)
    lead_on(env, "zhuanyuan", "T1", "双胞示例电控有限公司", lost_reason="企业已在外地落地扩产")
    lead_on(env, "zhuanyuan2", None, "双胞示例电控有限公司")  # by name; another team's recruiter owns it
    html = as_user("zhuanyuan").get("/companies/T1").get_data(as_text=True)
    assert 'data-testid="company-lead-history"' in html
    assert "流失" in html and "企业已在外地落地扩产" in html
    assert "另有 1 条线索您无权查看" in html
    html = as_user("lingdao").get("/companies/T1").get_data(as_text=True)  # leadership reads every lead
    assert "企业已在外地落地扩产" in html and 'data-testid="company-lead-hidden"' not in html


def test_directory_finds_a_firm_by_pinyin_initials(env, as_user):
    env.store.upsert_companies([Company("K1", "北京康汇示例医疗器械有限公司", synthetic=True)])
    html = as_user("zhuanyuan").get("/companies/?q=bjkh").get_data(as_text=True)
    assert "北京康汇示例医疗器械有限公司" in html and "共 1 家企业" in html
