"""目标名录 through the web: draft, add, reorder, annotate, submit, return, approve, versions, export;
writes only by the team's manager and approval only by a leader."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from .conftest import csrf_token, login, post
from .webdata import CHAIN, MISSING_NODE, XSS_NAME

LIST_URL = re.compile(r"/targets/lists/(\d+)$")


def _post(client, url, data=None, page="/targets/lists"):
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, page)
    return client.post(url, data=data)


def _version(client, list_id) -> str:
    html = client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def _switch(client, username):
    _post(client, "/logout", page="/chains/")
    assert login(client, username).status_code == 302


def _new_list(client) -> int:
    resp = _post(client, "/targets/lists/new", {"sector": "nev", "chain": CHAIN, "title": "动力总成补链名录"})
    assert resp.status_code == 302
    return int(LIST_URL.search(resp.headers["Location"]).group(1))


def test_recruiter_cannot_create_lists(auth):
    client = auth.login("zhuanyuan")
    assert "新建名录草稿" not in client.get("/targets/lists").get_data(as_text=True)
    resp = _post(client, "/targets/lists/new", {"sector": "nev"})
    assert resp.status_code == 403


def test_full_review_cycle(client, auth):
    auth.login("jingli")
    list_id = _new_list(client)
    # add from the ranking page (the form posts company + node; the web looks the target up)
    html = client.get(f"/targets/?chain={CHAIN}").get_data(as_text=True)
    assert "加入名录" in html and "动力总成补链名录" in html
    for company in ("O1", "O2"):
        resp = _post(
            client,
            "/targets/lists/add",
            {"list_id": list_id, "company_id": company, "node_id": MISSING_NODE},
            page="/targets/",
        )
        assert resp.status_code == 302
    _post(client, "/targets/lists/add", {"list_id": list_id, "company_id": "O1", "node_id": MISSING_NODE})
    page = client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    assert page.count('data-testid="list-row"') == 2 and "已在名录中" in page  # duplicate skipped
    assert "&lt;img src=x" in page and XSS_NAME not in page
    # top-N adds the rest of the ranking, skipping those present
    _post(client, f"/targets/lists/{list_id}/add-top", {"count": "10", "version": _version(client, list_id)})
    page = client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    assert page.count('data-testid="list-row"') == 5

    from crm.models import TargetList

    def rows():
        with client.application.extensions["lianzhao"].session_factory() as s:
            tl = s.get(TargetList, list_id)
            return [(r.id, r.company_id, r.note) for r in sorted(tl.rows, key=lambda r: r.position)]

    first, second = rows()[0], rows()[1]
    _post(
        client,
        f"/targets/lists/{list_id}/rows/{second[0]}/move",
        {"direction": "up", "version": _version(client, list_id)},
    )
    assert [r[1] for r in rows()[:2]] == [second[1], first[1]]
    _post(
        client,
        f"/targets/lists/{list_id}/rows/{first[0]}/note",
        {"note": "已约拜访", "version": _version(client, list_id)},
    )
    assert dict((r[1], r[2]) for r in rows())[first[1]] == "已约拜访"
    last = rows()[-1]
    # 移除 asks first: without the confirmation nothing is removed and the page shows the question
    resp = _post(
        client, f"/targets/lists/{list_id}/rows/{last[0]}/remove", {"version": _version(client, list_id)}
    )
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert len(rows()) == 5 and 'data-testid="confirm-remove"' in page and "确认移除" in page
    _post(
        client,
        f"/targets/lists/{list_id}/rows/{last[0]}/remove",
        {"version": _version(client, list_id), "confirm": "1"},
    )
    assert len(rows()) == 4
    # the first row cannot move up, the last cannot move down
    page = client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    buttons = re.findall(r'<button type="submit" class="button small"( disabled)?>(上移|下移)</button>', page)
    assert buttons[0] == (" disabled", "上移") and buttons[1] == ("", "下移")
    assert buttons[-2] == ("", "上移") and buttons[-1] == (" disabled", "下移")
    assert all(d == "" for d, _ in buttons[2:-2])
    # a stale form (old version) is refused, nothing changes
    resp = _post(client, f"/targets/lists/{list_id}/rows/{first[0]}/note", {"note": "x", "version": "1"})
    assert resp.status_code == 302
    assert "已被其他人修改" in client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    assert dict((r[1], r[2]) for r in rows())[first[1]] == "已约拜访"

    _post(
        client,
        f"/targets/lists/{list_id}/submit",
        {"comment": "请审定", "version": _version(client, list_id)},
    )
    assert "待审批" in client.get(f"/targets/lists/{list_id}").get_data(as_text=True)

    _switch(client, "lingdao")
    # returning needs a comment
    resp = _post(
        client, f"/targets/lists/{list_id}/return", {"comment": " ", "version": _version(client, list_id)}
    )
    assert "须填写意见" in client.get(resp.headers["Location"]).get_data(as_text=True)
    _post(
        client,
        f"/targets/lists/{list_id}/return",
        {"comment": "请补充芯片环节", "version": _version(client, list_id)},
    )

    _switch(client, "jingli")
    page = client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    assert "已退回" in page and "请补充芯片环节" in page
    _post(client, f"/targets/lists/{list_id}/submit", {"version": _version(client, list_id)})

    _switch(client, "lingdao")
    _post(client, f"/targets/lists/{list_id}/approve", {"version": _version(client, list_id)})
    page = client.get(f"/targets/lists/{list_id}").get_data(as_text=True)
    assert "已批准" in page and "第 1 版" in page and "不可再修改" in page

    resp = client.get(f"/targets/lists/{list_id}/export.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(resp.data)).active
    assert "第1版" in sheet["A1"].value
    header = [c.value for c in sheet[2]]
    assert header[:3] == ["序号", "企业名称", "统一社会信用代码"] and "推荐理由" in header
    names = [sheet.cell(row=r, column=2).value for r in range(3, sheet.max_row + 1)]
    assert len(names) == 4 and any(XSS_NAME in n for n in names)

    html = client.get(f"/targets/lists/{list_id}/print").get_data(as_text=True)
    assert "第 1 版" in html and 'media="print"' in html and "&lt;img" in html

    # approved lists are frozen; a revision starts a new draft, version 1 stays readable
    _switch(client, "jingli")
    resp = _post(client, f"/targets/lists/{list_id}/rows/{first[0]}/remove", {"confirm": "1"})
    assert "不能修改" in client.get(resp.headers["Location"]).get_data(as_text=True)
    resp = _post(client, f"/targets/lists/{list_id}/new-version")
    new_id = int(LIST_URL.search(resp.headers["Location"]).group(1))
    assert new_id != list_id
    page = client.get(f"/targets/lists/{new_id}").get_data(as_text=True)
    assert page.count('data-testid="list-row"') == 4 and "第 1 版" in page  # version history shown


def test_recruiter_reads_only_approved_lists(client, auth):
    auth.login("jingli")
    list_id = _new_list(client)
    _switch(client, "zhuanyuan")
    assert client.get(f"/targets/lists/{list_id}").status_code == 403
    assert client.get(f"/targets/lists/{list_id}/export.xlsx").status_code == 403
    assert client.get("/targets/lists/9999").status_code == 404


def test_target_list_writes_only_by_its_team_manager_and_approval_only_by_a_leader(as_user):
    manager = as_user("jingli")
    resp = post(
        manager, "/targets/lists/new", {"sector": "nev", "chain": "nev_drive", "title": "越权测试名录"}
    )
    list_id = int(re.search(r"/targets/lists/(\d+)", resp.headers["Location"]).group(1))
    for username in ("zhuanyuan", "zhuanyuan2", "lingdao", "admin"):
        client = as_user(username)
        for action in ("add-top", "submit", "new-version"):
            resp = post(client, f"/targets/lists/{list_id}/{action}", {"n": "5"})
            assert resp.status_code in (403, 404), (username, action, resp.status_code)
    assert as_user("admin").get(f"/targets/lists/{list_id}").status_code == 403
    assert post(manager, f"/targets/lists/{list_id}/approve").status_code == 403
