"""筑巢 pages: register, import, a lead's needs and matches, holds (a second manager refused),
the 准入评估表, the offline SVG map (user text escaped) and who may open what."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from crm.db import unit_of_work
from crm.models_spaces import SpaceResource
from crm.services import spaces
from crm.services._common import SYSTEM
from crm.services.spaces_settings import SpacesSettings
from crm.services.users import create_user, get_by_username
from crm.settings import CrmSettings
from tests.web.webdata import PASSWORD, XSS_NAME

from .conftest import post

ZONES = {"huoxian": "漷县镇", "taima": "台马科技板块", "xiji": "西集镇"}


def _add(env, **values):
    sp = SpacesSettings.from_config(env.cfg)
    with unit_of_work(env.session_factory) as s:
        mgr = get_by_username(s, "jingli")
        return spaces.create(s, mgr, values, settings=sp, zones=ZONES).id


@pytest.fixture
def register(env):
    return {
        "big": _add(env, code="XJ-L-01", kind="land", name="西集示例地块（65亩）", zone_id="xiji", area_mu=65,
                    land_use="工业/M1", readiness="七通一平", price_wan_per_mu=80, synthetic=True),
        "small": _add(env, code="XJ-L-02", kind="land", name="西集小地块", zone_id="xiji", area_mu=20, land_use="工业/M1"),
        "xss": _add(env, code="HX-F-01", kind="factory", name=XSS_NAME, zone_id="huoxian", area_m2=5000),
    }  # fmt: skip


def test_nav_and_roles(as_user, register):
    mgr = as_user("jingli")
    assert "空间资源" in mgr.get("/chains/").get_data(as_text=True)
    assert mgr.get("/spaces/").status_code == 200
    assert as_user("lingdao").get("/spaces/map").status_code == 200
    admin = as_user("admin")
    assert "空间资源" not in admin.get("/admin/").get_data(as_text=True)
    assert admin.get("/spaces/").status_code == 403
    rec = as_user("zhuanyuan")
    assert rec.get("/spaces/new").status_code == 403
    assert rec.get("/spaces/import").status_code == 403


def test_manager_records_a_resource_and_sees_its_history(as_user):
    mgr = as_user("jingli")
    resp = post(mgr, "/spaces/new", {"code": "HX-L-09", "kind": "land", "name": "漷县示例地块", "zone_id": "huoxian",
                                     "area_mu": "55", "land_use": "工业/M1", "synthetic": "1"})  # fmt: skip
    assert resp.status_code == 302
    page = mgr.get(resp.headers["Location"]).get_data(as_text=True)
    assert "漷县示例地块" in page and "可招商" in page and "新建" in page and "示例数据" in page
    bad = post(mgr, "/spaces/new", {"code": "HX-L-09", "kind": "land", "name": "重复"})
    assert bad.status_code == 400 and "已存在" in bad.get_data(as_text=True)
    no_csrf = mgr.post("/spaces/new", data={"code": "X", "kind": "land", "name": "无令牌"})
    assert no_csrf.status_code == 400


def test_import_upload_and_template(as_user, env):
    mgr = as_user("jingli")
    tpl = mgr.get("/spaces/template.xlsx")
    assert tpl.status_code == 200 and tpl.headers["Cache-Control"] == "no-store"
    assert load_workbook(io.BytesIO(tpl.data)).active["A1"].value == "编号"
    csv = "编号,类型,名称,所属园区,面积（亩）\nA-1,土地,甲,西集镇,30\nA-2,飞船,乙,西集镇,1\n".encode(
        "utf-8-sig"
    )
    resp = post(
        mgr, "/spaces/import", {"file": (io.BytesIO(csv), "s.csv")}, content_type="multipart/form-data"
    )
    assert "未写入任何数据" in resp.get_data(as_text=True) and "第 3 行" in resp.get_data(as_text=True)
    resp = post(mgr, "/spaces/import", {"file": (io.BytesIO(csv), "s.csv"), "partial": "1"},
                content_type="multipart/form-data")  # fmt: skip
    assert "新增 1" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        assert s.query(SpaceResource).filter_by(code="A-1").one().area_mu == 30


def test_needs_matches_hold_and_second_manager_refused(as_user, env, leads, register):
    rec = as_user("zhuanyuan")
    resp = post(rec, f"/spaces/lead/{leads.own}", {"kind": "land", "purpose": "生产", "land_mu_min": "60",
                                                   "budget_wan_per_mu": "100"})  # fmt: skip
    assert resp.status_code == 302
    page = rec.get(f"/spaces/lead/{leads.own}").get_data(as_text=True)
    assert "XJ-L-01" in page and "XJ-L-02" not in page
    assert "面积 65 亩满足 60 亩需求" in page and "西集镇" in page
    assert post(rec, f"/spaces/{register['big']}/hold", {"lead_id": leads.own}).status_code == 302
    with unit_of_work(env.session_factory) as s:
        assert s.get(SpaceResource, register["big"]).status == "意向锁定"
        create_user(s, SYSTEM, username="jingli2", display_name="周经理", role="manager", password=PASSWORD,
                    sector_id="medical", settings=CrmSettings())  # fmt: skip
    other = as_user("jingli2")
    resp = post(other, f"/spaces/{register['big']}/hold", {"lead_id": leads.other, "next": "/spaces/"},
                follow_redirects=True)  # fmt: skip
    assert "未锁定" in resp.get_data(as_text=True) and "意向锁定" in resp.get_data(as_text=True)
    lead_page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert 'data-testid="lead-space-box"' in lead_page and "XJ-L-01" in lead_page


def test_admission_sheet_printable_and_failing_check_shown_on_lead(as_user, leads):
    rec = as_user("zhuanyuan")
    post(rec, f"/leads/{leads.own}/edit", {})  # no-op; the lead has no investment yet
    post(rec, f"/spaces/lead/{leads.own}", {"land_mu_min": "60", "plot_ratio": "0.6", "vetoes": "energy"})
    sheet = rec.get(f"/spaces/lead/{leads.own}/admission").get_data(as_text=True)
    assert (
        "产业项目准入评估表" in sheet and "评估结论：不通过" in sheet and "能耗指标超出区域控制要求" in sheet
    )
    assert "print.css" in sheet
    lead_page = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "准入评估不通过" in lead_page
    assert as_user("zhuanyuan2").get(f"/spaces/lead/{leads.own}/admission").status_code == 403


def test_map_is_offline_svg_with_escaped_text(as_user, leads, register):
    mgr = as_user("jingli")
    resp = mgr.get("/spaces/map")
    html = resp.get_data(as_text=True)
    assert "<svg" in html and 'data-testid="zone-xiji"' in html and html.count('data-testid="marker"') == 3
    assert XSS_NAME not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    fit = mgr.get(f"/spaces/map?lead={leads.pool}").get_data(as_text=True)
    assert "适合线索" in fit
    assert XSS_NAME not in mgr.get("/spaces/").get_data(as_text=True)


def test_dashboard_area_per_zone(as_user, register):
    html = as_user("lingdao").get("/spaces/dashboard").get_data(as_text=True)
    assert "西集镇" in html and "56,667" in html  # 65 + 20 亩 free, in ㎡
