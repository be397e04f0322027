"""筑巢 in the browser: a manager records a 60-亩 project's needs, sees the fitting resources with
reasons in the list and on the offline map, holds one (a second manager is refused), prints the
准入评估表, and moves the lead on to 签约, which the held resource follows."""

from __future__ import annotations

import pytest

from crm.db import unit_of_work
from crm.services import spaces
from crm.services._common import SYSTEM
from crm.services.spaces_settings import SpacesSettings
from crm.services.users import create_user
from crm.settings import CrmSettings
from tests.browser.conftest import login, screenshot
from tests.web.webdata import PASSWORD

pytestmark = pytest.mark.browser
SEEDED_LEADS = True
ZONES = {"huoxian": "漷县镇", "taima": "台马科技板块", "xiji": "西集镇"}


@pytest.fixture(scope="module")
def register(web_env):
    sp = SpacesSettings.from_config(web_env.cfg)
    rows = [
        dict(code="XJ-L-01", kind="land", name="西集示例地块一（65亩）", zone_id="xiji", area_mu=65,
             land_use="工业/M1", readiness="七通一平", price_wan_per_mu=80, synthetic=True),
        dict(code="XJ-L-02", kind="land", name="西集示例地块二（62亩）", zone_id="xiji", area_mu=62,
             land_use="集体经营性建设用地", supply_mode="代建", synthetic=True),
        dict(code="HX-L-01", kind="land", name="漷县示例地块（58亩）", zone_id="huoxian", area_mu=58,
             land_use="工业/M1", synthetic=True),
        dict(code="TM-F-01", kind="factory", name="台马示例厂房", zone_id="taima", area_m2=8000, synthetic=True),
    ]  # fmt: skip
    with unit_of_work(web_env.session_factory) as s:
        ids = {r["code"]: spaces.create(s, SYSTEM, r, settings=sp, zones=ZONES).id for r in rows}
        create_user(s, SYSTEM, username="jingli2", display_name="周经理", role="manager", password=PASSWORD,
                    sector_id="medical", settings=CrmSettings())  # fmt: skip
    return ids


def flash(page) -> str:
    return page.locator(".flashes").inner_text()


def test_needs_map_hold_refusal_admission_and_stage(new_page, web_env, register):
    lead_id = web_env.seeded.own  # 精控电驱科技 (nev), not a key project
    mgr = new_page()
    login(mgr, "jingli")
    mgr.goto(f"/leads/{lead_id}")
    mgr.click("[data-testid=lead-space-link]")

    # 1. record the needs: 60 亩 of production land
    form = mgr.locator("[data-testid=need-form]")
    form.locator("select[name=kind]").select_option("land")
    form.locator("select[name=purpose]").select_option("生产")
    form.locator("[data-testid=need-land_mu_min]").fill("60")
    form.locator("[data-testid=need-budget_wan_per_mu]").fill("100")
    form.locator("[data-testid=need-annual_tax_wan]").fill("900")
    form.locator("[data-testid=need-save]").click()
    assert "已保存用地用房需求" in flash(mgr)
    matches = mgr.locator("[data-testid=match]")
    assert [matches.nth(i).get_attribute("data-code") for i in range(matches.count())] == [
        "XJ-L-01",
        "XJ-L-02",
    ]
    first = matches.first.inner_text()
    assert (
        "面积 65 亩满足 60 亩需求" in first and "用地性质 工业/M1 可用于生产" in first and "西集镇" in first
    )
    screenshot(mgr, "spaces-matches")

    # 2. the same on the map: fitting markers outlined, others plain
    mgr.click("[data-testid=fit-map]")
    assert mgr.locator("[data-testid=space-map]").is_visible()
    assert "适合线索「精控电驱科技」" in mgr.locator("[data-testid=fit-note]").inner_text()
    assert mgr.locator(".marker-fit").count() == 2
    screenshot(mgr, "spaces-map")
    mgr.locator("a.marker[data-code='XJ-L-01']").click()
    assert "适合该线索" in mgr.locator("[data-testid=space-fit]").inner_text()

    # 3. hold it
    mgr.click("[data-testid=hold]")
    assert "已为线索意向锁定" in flash(mgr)

    # 4. a second manager, for a lead of their own team, is refused
    other = new_page()
    login(other, "jingli2")
    other.goto(f"/spaces/{register['XJ-L-01']}?lead={web_env.seeded.other_team}")
    other.click("[data-testid=hold]")
    assert "未锁定" in flash(other) and "意向锁定" in flash(other)

    # 5. the 准入评估表, printable
    mgr.goto(f"/spaces/lead/{lead_id}")
    mgr.click("[data-testid=admission-link]")
    sheet = mgr.locator("[data-testid=admission-sheet]").inner_text()
    assert "产业项目准入评估表" in sheet and "投资强度" in sheet and "亩均税收" in sheet
    assert "评估结论：不通过" in sheet  # 3000 万元 over 60 亩 = 50 万元/亩 < 300
    mgr.emulate_media(media="print")
    screenshot(mgr, "spaces-admission-print")
    mgr.emulate_media(media="screen")
    mgr.goto(f"/leads/{lead_id}")
    assert "准入评估不通过" in mgr.locator("[data-testid=lead-admission]").inner_text()

    # 6. the hold follows the lead: 接洽 -> 在谈 -> 签约 signs the resource
    for stage in ("接洽", "在谈"):
        mgr.click(f"[data-testid=move-{stage}]")
        mgr.wait_for_selector("[data-testid=lead-header]")
    # 签约 asks for its facts; the team's manager claims it, so it counts at once
    form = mgr.locator("[data-testid=claim-form-签约]")
    form.locator("[data-testid=fact-signed_on]").fill("2027-03-01")
    form.locator("[data-testid=fact-agreed_investment]").fill("3000")
    form.locator("[data-testid=fact-agreement_no]").fill("TZ-2027-060")
    form.locator("[data-testid=move-签约]").click()
    mgr.wait_for_selector("[data-testid=lead-header]")
    mgr.goto(f"/spaces/{register['XJ-L-01']}")
    assert mgr.locator("[data-testid=space-status]").first.inner_text() == "已签约"
    assert "转为签约" in mgr.locator("[data-testid=hold-history]").inner_text()
    screenshot(mgr, "spaces-resource-signed")
