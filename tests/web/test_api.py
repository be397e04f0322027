"""The JSON API (issue 18): tokens, the authorisation matrix over the API, CSRF, ETags, rate
limits, errors as JSON, and the OpenAPI description driving a client."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from crm.db import unit_of_work
from crm.models import AuditLog
from crm.models_api import ApiToken
from crm.services._common import SYSTEM
from crm.services.api_tokens import create_token, hash_token
from crm.services.leads import create_lead
from crm.services.users import get_by_username, reset_password
from crm.settings import CrmSettings

from .conftest import csrf_token

SETTINGS = CrmSettings()
BASE = {
    "sector_id": "nev",
    "chain_id": "nev_drive",
    "chain_name": "新能源汽车动力总成",
    "node_id": "nev_drive.controller",
    "node_name": "电机控制器",
    "gap_status": "缺链",
    "channel": "精准补链",
}


def _token(env, username, scopes=("read", "write"), days=30):
    with unit_of_work(env.session_factory) as s:
        user = get_by_username(s, username)
        return create_token(
            s, user, name="测试", scopes=list(scopes), days=days, max_days=365, max_tokens=10
        ).plain


def _leads(env):
    """own: zhuanyuan's lead (nev); other: zhuanyuan2's (medical team); pool: nev pool."""
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        rec2 = get_by_username(s, "zhuanyuan2")
        mgr = get_by_username(s, "jingli")
        own = create_lead(s, rec, {**BASE, "company_name": "精控电驱科技"}, settings=SETTINGS).id
        other = create_lead(
            s,
            rec2,
            {
                "company_name": "天津植入材料",
                "sector_id": "medical",
                "chain_id": "med_device",
                "channel": "精准补链",
            },
            settings=SETTINGS,
        ).id
        pool = create_lead(
            s, mgr, {**BASE, "company_name": "苏州功率芯片"}, settings=SETTINGS, auto_assign=False
        ).id
    return {"own": own, "other": other, "pool": pool}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(app):
    """A client that never holds a session cookie (another system)."""
    return app.test_client(use_cookies=False)


def test_no_token_is_401_json_and_the_description_is_public(api):
    r = api.get("/api/v1/leads")
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert "令牌" in r.json["error"]["message"] and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.get("/api/v1/leads", headers=auth("lz_nothing_here")).status_code == 401
    assert api.get("/api/v1/leads", headers={"Authorization": "Basic eDp5"}).status_code == 401
    spec = api.get("/api/v1/openapi.json")
    assert spec.status_code == 200 and spec.json["openapi"].startswith("3.")
    assert "/leads/{lead_id}/activities" in spec.json["paths"]
    assert spec.json["components"]["schemas"]["Lead"]["properties"]["version"]
    page = api.get("/api/v1/docs")
    assert page.status_code == 200 and b"swagger-ui-bundle.js" in page.data and b"<script>" not in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_tokens_are_hashed_scoped_expiring_and_audited(env, api):
    plain = _token(env, "zhuanyuan", scopes=("read",))
    with unit_of_work(env.session_factory) as s:
        row = s.query(ApiToken).one()
        assert row.token_hash == hash_token(plain) and plain not in (row.token_hash, row.prefix)
    r = api.get("/api/v1/chains", headers=auth(plain))
    assert r.status_code == 200 and any(c["id"] == "nev_drive" for c in r.json["items"])
    r = api.post("/api/v1/leads", json={"company_name": "只读公司"}, headers=auth(plain))
    assert r.status_code == 403 and r.json["error"]["code"] == "insufficient_scope"
    with unit_of_work(env.session_factory) as s:
        uses = s.query(AuditLog).filter_by(action="api_use").all()
        assert len(uses) == 1 and uses[0].actor_name == "zhuanyuan"  # once per hour, not per call
        token = s.query(ApiToken).one()
        assert token.use_count == 2 and token.last_used_at is not None
        token.expires_at = token.created_at  # expired
    r = api.get("/api/v1/chains", headers=auth(plain))
    assert r.status_code == 401 and "过期" in r.json["error"]["message"]


def test_a_reset_password_suspends_the_token(env, api):
    plain = _token(env, "zhuanyuan")
    with unit_of_work(env.session_factory) as s:
        reset_password(s, SYSTEM, get_by_username(s, "zhuanyuan").id, "Neues#Passwort2026", settings=SETTINGS)
    assert api.get("/api/v1/chains", headers=auth(plain)).status_code == 401


def test_admin_gets_no_token(env):
    with unit_of_work(env.session_factory) as s, pytest.raises(Exception, match="系统管理员"):
        create_token(
            s, get_by_username(s, "admin"), name="x", scopes=["read"], days=1, max_days=9, max_tokens=9
        )


# (user, lead) -> may read, may edit: the pages' rule (crm.permissions) over the API
MATRIX = {
    ("zhuanyuan", "own"): (200, 201),
    ("zhuanyuan", "pool"): (200, 201),
    ("zhuanyuan", "other"): (403, 403),
    ("zhuanyuan2", "own"): (403, 403),
    ("zhuanyuan2", "other"): (200, 201),
    ("jingli", "own"): (200, 201),
    ("jingli", "other"): (403, 403),
    ("lingdao", "own"): (200, 403),
    ("lingdao", "other"): (200, 403),
}


def test_authorisation_matrix_over_the_api(env, api):
    ids = _leads(env)
    tokens = {u: _token(env, u) for u in {u for u, _ in MATRIX}}
    for (user, which), (read, write) in MATRIX.items():
        lead_id = ids[which]
        h = auth(tokens[user])
        r = api.get(f"/api/v1/leads/{lead_id}", headers=h)
        assert r.status_code == read, (user, which, r.json)
        r = api.get(f"/api/v1/leads/{lead_id}/activities", headers=h)
        assert r.status_code == read, (user, which)
        r = api.post(
            f"/api/v1/leads/{lead_id}/activities",
            json={"kind": "电话", "outcome": f"{user} 通过接口登记"},
            headers=h,
        )
        assert r.status_code == write, (user, which, r.json)
        if r.status_code == 403:
            assert r.json["error"]["code"] == "forbidden" and r.json["error"]["message"]
        listed = {x["id"] for x in api.get("/api/v1/leads?scope=all", headers=h).json["items"]}
        assert (lead_id in listed) == (read == 200), (user, which)


def test_lead_create_update_etag_and_stage(env, api):
    plain = _token(env, "zhuanyuan")
    h = auth(plain)
    r = api.post("/api/v1/leads", json={**BASE, "company_name": "接口新建科技"}, headers=h)
    assert r.status_code == 201, r.json
    lead = r.json
    assert r.headers["Location"].endswith(f"/api/v1/leads/{lead['id']}")
    tag = r.headers["ETag"]
    again = api.post("/api/v1/leads", json={**BASE, "company_name": "接口新建科技"}, headers=h)
    assert again.status_code == 409 and again.json["error"]["code"] == "duplicate_lead"
    r = api.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "第一次"}, headers={**h, "If-Match": tag})
    assert r.status_code == 200 and r.json["notes"] == "第一次" and r.headers["ETag"] != tag
    stale = api.patch(f"/api/v1/leads/{lead['id']}", json={"notes": "旧版本"}, headers={**h, "If-Match": tag})
    assert stale.status_code == 412 and stale.json["error"]["code"] == "stale"
    r = api.patch(f"/api/v1/leads/{lead['id']}", json={"investment": "很多"}, headers=h)
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_input"
    r = api.post(f"/api/v1/leads/{lead['id']}/stage", json={"target": "接洽"}, headers=h)
    assert r.status_code == 200 and r.json["lead"]["stage"] == "接洽" and r.json["claim"] is None
    r = api.post(f"/api/v1/leads/{lead['id']}/stage", json={"target": "投产"}, headers=h)
    assert r.status_code == 400 and r.json["error"]["code"] == "workflow"


def test_stage_claims_through_the_api(env, api):
    """签约 is a claim with its facts, confirmed by the team's manager: the lead page's rule."""
    rec, mgr = auth(_token(env, "zhuanyuan")), auth(_token(env, "jingli"))
    lead_id = _leads(env)["own"]
    for stage in ("接洽", "在谈"):
        assert (
            api.post(f"/api/v1/leads/{lead_id}/stage", json={"target": stage}, headers=rec).status_code == 200
        )
    r = api.post(f"/api/v1/leads/{lead_id}/stage", json={"target": "签约"}, headers=rec)
    assert r.status_code == 400 and "签约日期" in r.json["error"]["message"]
    facts = {"signed_on": "2026-11-30", "agreed_investment": "5000", "agreement_no": "TZ-2026-001"}
    r = api.post(f"/api/v1/leads/{lead_id}/stage", json={"target": "签约", "facts": facts}, headers=rec)
    assert (
        r.status_code == 200 and r.json["claim"]["status"] == "pending" and r.json["lead"]["stage"] == "在谈"
    )
    claim_id = r.json["claim"]["id"]
    assert [c["id"] for c in api.get(f"/api/v1/leads/{lead_id}/claims", headers=mgr).json["items"]] == [
        claim_id
    ]
    r = api.post(f"/api/v1/claims/{claim_id}/decision", json={"action": "confirm"}, headers=rec)
    assert r.status_code in (400, 403)  # the claimant does not confirm their own claim
    r = api.post(f"/api/v1/claims/{claim_id}/decision", json={"action": "confirm"}, headers=mgr)
    assert r.status_code == 200 and r.json["status"] == "confirmed"
    assert api.get(f"/api/v1/leads/{lead_id}", headers=rec).json["stage"] == "签约"


def test_graph_endpoints_and_pagination(env, api):
    h = auth(_token(env, "lingdao", scopes=("read",)))
    gaps = api.get("/api/v1/chains/nev_drive/gaps?status=缺链", headers=h).json
    assert gaps["nodes"] and {n["status"] for n in gaps["nodes"]} == {"缺链"}
    page1 = api.get("/api/v1/chains/nev_drive/targets?per_page=2", headers=h).json
    assert len(page1["items"]) <= 2 and page1["total"] >= len(page1["items"])
    if page1["total"] > 2:
        page2 = api.get("/api/v1/chains/nev_drive/targets?per_page=2&page=2", headers=h).json
        assert page2["items"][0]["company_id"] != page1["items"][0]["company_id"]
    node = api.get("/api/v1/nodes/nev_drive.controller", headers=h).json
    assert node["gap"]["node_id"] == "nev_drive.controller"
    firm = page1["items"][0]["company_id"]
    assert api.get(f"/api/v1/companies/{firm}", headers=h).json["company"]["id"] == firm
    missing = api.get("/api/v1/chains/nope/gaps", headers=h)
    assert missing.status_code == 404 and missing.json["error"]["message"]
    assert api.get("/api/v1/chains/nev_drive/targets?per_page=abc", headers=h).status_code == 400


def test_rate_limit_per_token(env, app):
    env.cfg["api"]["rate_limit_per_minute"] = 3
    api = app.test_client(use_cookies=False)
    a, b = auth(_token(env, "zhuanyuan")), auth(_token(env, "jingli"))
    codes = [api.get("/api/v1/chains", headers=a).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.get("/api/v1/chains", headers=a)
    assert r.json["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    assert api.get("/api/v1/chains", headers=b).status_code == 200  # per token


def test_csrf_unchanged_for_cookie_sessions(env, as_user):
    client = as_user("zhuanyuan")
    plain = _token(env, "zhuanyuan")
    assert client.get("/api/v1/leads").status_code == 200  # the page's own session may read
    r = client.post("/api/v1/leads", json={"company_name": "会话公司"})
    assert r.status_code == 400 and r.json["error"]["code"] == "csrf"
    r = client.post("/api/v1/leads", json={"company_name": "会话公司"}, headers=auth(plain))
    assert r.status_code == 400  # a bearer token does not lift CSRF while a session cookie rides along
    token = csrf_token(client, "/leads/")
    r = client.post("/api/v1/leads", json={"company_name": "会话公司"}, headers={"X-CSRFToken": token})
    assert r.status_code == 201


def test_token_page_shows_once_and_revokes(env, as_user, app):
    client = as_user("zhuanyuan")
    token = csrf_token(client, "/account/")
    r = client.post(
        "/account/tokens", data={"name": "城市大脑", "scope": "read", "days": "30", "csrf_token": token}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="new-token"' in html
    plain = html.split('data-testid="new-token">', 1)[1].split("<", 1)[0]
    assert plain.startswith("lz_")
    later = client.get("/account/").get_data(as_text=True)
    assert plain not in later and "城市大脑" in later
    api = app.test_client(use_cookies=False)
    assert api.get("/api/v1/chains", headers=auth(plain)).status_code == 200
    with unit_of_work(env.session_factory) as s:
        token_id = s.query(ApiToken).one().id
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    r = api.get("/api/v1/chains", headers=auth(plain))
    assert r.status_code == 401 and "吊销" in r.json["error"]["message"]
    bad = client.post("/account/tokens", data={"name": "x", "days": "9999", "csrf_token": token})
    assert bad.status_code == 400


def test_a_script_with_only_the_description_and_a_token(env, app):
    """Done-when of issue 18: list a chain's gaps, log an activity on one's own lead, be refused
    on another team's lead, using only what openapi.json says."""
    ids = _leads(env)
    api = app.test_client(use_cookies=False)
    spec = api.get("/api/v1/openapi.json").json
    base = spec["servers"][0]["url"]
    ops = {
        op["operationId"]: (path, method)
        for path, item in spec["paths"].items()
        for method, op in item.items()
    }
    h = auth(_token(env, "zhuanyuan"))

    def call(op_id, body=None, **params):
        path, method = ops[op_id]
        return api.open(base + path.format(**params), method=method.upper(), json=body, headers=h)

    chains = call("list_chains").json["items"]
    gaps = call("chain_gaps", chain_id=chains[0]["id"]).json
    assert gaps["nodes"]
    required = spec["components"]["schemas"]["ActivityCreate"]["required"]
    body = {"kind": "拜访", "outcome": "实地拜访，企业有意向"}
    assert set(required) <= set(body)
    assert call("add_activity", body, lead_id=ids["own"]).status_code == 201
    refused = call("add_activity", body, lead_id=ids["other"])
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"


def test_spaces_and_indicators_follow_the_pages_rules(env, api):
    leader, recruiter = auth(_token(env, "lingdao")), auth(_token(env, "zhuanyuan"))
    r = api.get("/api/v1/indicators", headers=leader)
    assert r.status_code == 200 and r.json["items"] and "name" in r.json["items"][0]
    r = api.get("/api/v1/indicators", headers=recruiter)
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    r = api.get("/api/v1/spaces", headers=recruiter)
    assert r.status_code in (200, 403) and ("items" in r.json or r.json["error"]["code"] == "forbidden")


def test_full_export_holds_what_the_caller_may_read(env, api):
    ids = _leads(env)
    schema = api.get("/api/v1/export/schema.json").json
    assert {"companies.csv", "leads.csv", "activities.csv", "nodes.csv"} <= set(schema["files"])
    r = api.get("/api/v1/export.zip", headers=auth(_token(env, "zhuanyuan")))
    assert r.status_code == 200 and r.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        inside = json.loads(zf.read("schema.json"))
        leads = list(csv.DictReader(io.StringIO(zf.read("leads.csv").decode("utf-8"))))
        companies = list(csv.DictReader(io.StringIO(zf.read("companies.csv").decode("utf-8"))))
        assert "indicator_values.csv" not in zf.namelist()  # a recruiter may not open 监测
    got = {int(x["id"]) for x in leads}
    assert ids["own"] in got and ids["pool"] in got and ids["other"] not in got
    assert inside["files"]["leads.csv"]["rows"] == len(leads) and companies
    assert [c["name"] for c in inside["files"]["companies.csv"]["columns"]] == list(companies[0])
    r = api.get("/api/v1/export.zip", headers=auth(_token(env, "lingdao")))
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        assert "indicator_values.csv" in zf.namelist()
