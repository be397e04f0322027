"""转为线索 only for roles that may create leads; firms already held show who holds them."""

from __future__ import annotations

from crm.models import Lead

from .conftest import csrf_token
from .webdata import MISSING_NODE

BUTTON = ">转为线索</button>"


def _post_lead(client, company_id="O1", node_id=MISSING_NODE):
    token = csrf_token(client, "/chains/")
    return client.post(
        "/targets/lead",
        json={"company_id": company_id, "node_id": node_id},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def test_roles_that_cannot_create_leads_see_no_button(auth, client):
    for username in ("lingdao", "admin"):
        auth.login(username)
        assert BUTTON not in client.get("/targets/").get_data(as_text=True), username
        assert BUTTON not in client.get("/companies/O1").get_data(as_text=True), username
        panel = client.get(f"/chains/nodes/{MISSING_NODE}/panel").get_json()
        assert panel["lead_url"] is None, username
        client.post("/logout", data={"csrf_token": csrf_token(client, "/chains/")})
    auth.login("zhuanyuan")
    assert BUTTON in client.get("/targets/").get_data(as_text=True)
    assert client.get(f"/chains/nodes/{MISSING_NODE}/panel").get_json()["lead_url"]


def test_held_firm_shows_holder_instead_of_button(auth, client):
    auth.login("zhuanyuan")
    assert _post_lead(client).status_code == 200
    html = client.get(f"/targets/?chain=nev_drive&node={MISSING_NODE}").get_data(as_text=True)
    assert "已登记线索（持有人：您本人）" in html
    panel = client.get(f"/chains/nodes/{MISSING_NODE}/panel").get_json()
    by_id = {t["company_id"]: t for t in panel["targets"]}
    assert by_id["O1"]["held"] == "已登记线索（持有人：您本人）" and by_id["O2"]["held"] is None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/chains/")})
    auth.login("jingli")
    html = client.get(f"/targets/?chain=nev_drive&node={MISSING_NODE}").get_data(as_text=True)
    assert "已登记线索（持有人：张专员（招商专员））" in html
    # one button fewer than targets: O1 is held
    panel = client.get(f"/chains/nodes/{MISSING_NODE}/panel").get_json()
    assert {t["company_id"]: t["held"] for t in panel["targets"]}["O1"].startswith(
        "已登记线索（持有人：张专员"
    )


def test_duplicate_of_own_lead_is_worded_in_second_person(auth, client):
    auth.login("zhuanyuan")
    assert _post_lead(client).status_code == 200
    resp = _post_lead(client)
    error = resp.get_json()["error"]
    assert resp.status_code == 409 and error.startswith("您已登记该企业为线索") and "张专员" not in error


def test_holder_lookup_gives_lead_id_only_to_readers(auth, client, env):
    from crm.services.lead_holders import CompanyRef, holders_for_companies
    from crm.services.users import get_by_username

    auth.login("zhuanyuan")
    lead_id = _post_lead(client).get_json()["lead_id"]
    refs = [CompanyRef("O1", "精控电驱科技"), CompanyRef("O2"), CompanyRef("X9", "精控电驱科技（示例数据）")]
    with env.session_factory() as s:
        own = holders_for_companies(s, get_by_username(s, "zhuanyuan"), refs, lost_stage="流失")
        other = holders_for_companies(s, get_by_username(s, "zhuanyuan2"), refs, lost_stage="流失")
    assert set(own) == {"O1", "X9"} and own["O1"].lead_id == lead_id and own["O1"].is_self
    assert other["O1"].lead_id is None and not other["O1"].is_self and "张专员" in other["O1"].text


def test_score_is_explained_in_plain_chinese(auth):
    html = auth.login("zhuanyuan").get("/targets/").get_data(as_text=True)
    assert "[targets]" not in html and "配置文件" not in html
    assert "满分 100 分" in html and "缺口程度 30%" in html


def test_reassignment_without_reason_says_not_reassigned(auth, client, env):
    from crm.services.users import get_by_username

    auth.login("zhuanyuan")
    lead_id = _post_lead(client).get_json()["lead_id"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/chains/")})
    auth.login("jingli")
    with env.session_factory() as s:
        jingli = get_by_username(s, "jingli").id
        version = s.get(Lead, lead_id).version
    resp = client.post(
        "/board/assign",
        data={
            "lead_id": lead_id,
            "assignee_id": jingli,
            "reason": "",
            "version": version,
            "csrf_token": csrf_token(client, "/chains/"),
        },
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert "未改派：改派线索须填写原因" in html and "未分派：" not in html


def test_empty_file_error_has_one_colon(tmp_path):
    import pytest

    from graph.tabular import TabularError, read_table

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(TabularError) as info:
        read_table(empty)
    assert "文件是空的" in str(info.value) and "：" not in str(info.value)


def _chain_select(html: str) -> str:
    import re

    return re.search(r'<select name="chain" id="filter-chain".*?</select>', html, re.S).group(0)


def test_chain_dropdowns_are_grouped_by_sector_in_plan_order(auth):
    import re

    client = auth.login("jingli")
    for path in ("/targets/", "/targets/lists", "/chains/nev_drive"):
        select = _chain_select(client.get(path).get_data(as_text=True))
        groups = re.findall(r'<optgroup label="([^"]+)"', select)
        # 医药健康 is the plan's 战略引擎, so it comes before the 支柱产业 新能源智能汽车
        assert groups == ["医药健康", "新能源智能汽车"], path
        med = select.index('label="医药健康"')
        assert (
            med
            < select.index("高端医疗器械")
            < select.index('label="新能源智能汽车"')
            < select.index("新能源汽车动力总成")
        ), path
