"""筑巢: the space register, its import, matching to a lead's needs, the 准入评估, and holds that
follow the lead's stage — on SQLite and PostgreSQL; the simultaneous-hold race on PostgreSQL."""

from __future__ import annotations

import io
import threading
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import AuditLog, InboxMessage, utcnow
from crm.models_spaces import AVAILABLE, HELD, OCCUPIED, SIGNED, UNAVAILABLE, SpaceHold, SpaceResource
from crm.services import leads, spaces, spaces_holds, spaces_import, spaces_needs
from crm.services._common import SYSTEM
from crm.services.spaces_match import ZoneFocus
from crm.services.spaces_settings import SpacesSettings
from graph.errors import ConfigError, Conflict, InvalidInput, PermissionDenied
from lianzhao.config import load_config

ZONES = {"huoxian": "漷县镇", "taima": "台马地区", "canal": "运河商务区"}
FOCUS = {
    "huoxian": ZoneFocus("huoxian", "漷县镇", ("medical",), ("医药健康产业集聚区", "高端医疗器械")),
    "taima": ZoneFocus("taima", "台马地区", ("electronics",), ("集成电路产业集群",)),
    "canal": ZoneFocus("canal", "运河商务区", (), ("先进制造业企业总部",)),
}


@pytest.fixture
def sp():
    return SpacesSettings.from_config(load_config(env={}))


def land(code, mu, zone="huoxian", **kw):
    return {"code": code, "kind": "土地", "name": f"示例数据·{code}", "zone_id": zone, "area_mu": mu,
            "land_use": "工业/M1", "synthetic": True, **kw}  # fmt: skip


def add(sf, people, sp, *rows):
    with unit_of_work(sf) as s:
        return [spaces.create(s, people["mgr"], r, settings=sp, zones=ZONES).id for r in rows]


def new_lead(sf, people, who="rec", **kw):
    data = {"company_name": kw.pop("company_name", "示例数据·医疗器械公司"), "sector_id": "medical",
            "sector_name": "医药健康", "node_name": "高端医疗器械", **kw}  # fmt: skip
    with unit_of_work(sf) as s:
        return leads.create_lead(s, people[who], data, settings=leads.CrmSettings()).id


def test_config_section_is_required_and_checked(sp):
    assert sp.hold_days == 30 and sp.admission.investment_intensity_min == 300
    with pytest.raises(ConfigError, match=r"\[spaces\]"):
        SpacesSettings.from_config({})
    cfg = load_config(env={})
    cfg["spaces"] = {**cfg["spaces"], "editor_roles": ["owner"]}
    with pytest.raises(ConfigError, match="owner"):
        SpacesSettings.from_config(cfg)


def test_register_create_edit_status_and_who_may(sf, people, sp):
    [rid] = add(sf, people, sp, land("HX-1", 55))
    with unit_of_work(sf) as s:
        r = s.get(SpaceResource, rid)
        assert (r.status, r.area_mu, round(r.area_m2)) == (AVAILABLE, 55, 36667)
        with pytest.raises(PermissionDenied):
            spaces.create(s, people["rec"], land("HX-2", 10), settings=sp, zones=ZONES)
        with pytest.raises(PermissionDenied):
            spaces.get(s, people["admin"], rid)  # 三权分立
        with pytest.raises(Conflict, match="已存在"):
            spaces.create(s, people["mgr_e"], land("HX-1", 10), settings=sp, zones=ZONES)
        with pytest.raises(InvalidInput, match="用地性质须为"):
            spaces.create(s, people["mgr"], land("HX-3", 10, land_use="住宅"), settings=sp, zones=ZONES)
        with pytest.raises(InvalidInput, match="园区「火星」不存在"):
            spaces.create(s, people["mgr"], land("HX-3", 10, zone="火星"), settings=sp, zones=ZONES)
        spaces.update(
            s, people["mgr"], rid, {"readiness": "七通一平"}, settings=sp, zones=ZONES, expected_version=1
        )
        spaces.set_status(s, people["mgr"], rid, UNAVAILABLE, settings=sp)
        with pytest.raises(InvalidInput):
            spaces.set_status(s, people["mgr"], rid, HELD, settings=sp)
    with unit_of_work(sf) as s:
        with pytest.raises(Conflict, match="其他人修改"):
            spaces.update(s, people["mgr"], rid, {"note": "x"}, settings=sp, zones=ZONES, expected_version=1)
        lines, holds = spaces.history(s, people["rec"], rid)
        assert [line.action for line in lines] == ["修改", "修改", "新建"] and holds == []
        assert any("场地条件：空 → 七通一平" in c or "场地条件：七通一平" in c for c in lines[1].changes)


def test_import_all_or_nothing_then_partial(sf, people, sp, tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_text(
        "编号,类型,名称,所属园区,面积（亩）,用地性质,供电容量（kVA）,可用日期\n"
        "HX-1,土地,示例地块一,漷县,55,工业/M1,,2026年3月1日\n"
        'HX-2,厂房,示例厂房,漷县镇,,,"2,000",2026/5/1\n'
        "HX-3,车库,坏行,漷县镇,1,,,\n",
        encoding="utf-8-sig",
    )
    with unit_of_work(sf) as s:
        report = spaces_import.import_file(s, people["mgr"], path, settings=sp, zones=ZONES)
        assert not report.committed and [e.row for e in report.errors] == [4]
        assert "类型须为" in str(report.errors[0])
        assert s.scalar(select(SpaceResource.id)) is None
    with unit_of_work(sf) as s:
        report = spaces_import.import_file(s, people["mgr"], path, settings=sp, zones=ZONES, partial=True)
        assert (report.committed, report.created, len(report.errors)) == (True, 2, 1)
    with unit_of_work(sf) as s:
        rows = {r.code: r for r in s.scalars(select(SpaceResource))}
        assert rows["HX-1"].zone_id == "huoxian" and rows["HX-1"].available_from == date(2026, 3, 1)
        assert rows["HX-2"].power_kva == 2000 and rows["HX-2"].area_mu is None
        report = spaces_import.import_file(s, people["mgr"], path, settings=sp, zones=ZONES, partial=True)
        assert (report.created, report.updated) == (0, 2)  # same codes: updated in place
        assert s.scalar(select(AuditLog.id).where(AuditLog.action == "import")) is not None
        with pytest.raises(PermissionDenied):
            spaces_import.import_file(s, people["rec"], path, settings=sp, zones=ZONES)


def test_template_has_the_import_headers():
    wb = load_workbook(io.BytesIO(spaces_import.template_xlsx()))
    headers = [c.value for c in wb.active[1]]
    assert headers[:4] == ["编号", "类型", "名称", "所属园区"] and "供电容量（kVA）" in headers


def test_match_a_60_mu_project_with_reasons(sf, people, sp):
    add(
        sf, people, sp,
        land("HX-55", 55),  # too small
        land("HX-65", 65, readiness="七通一平", price_wan_per_mu=80),
        land("TM-70", 70, zone="taima"),
        land("HX-M4", 62, land_use="研发/M4"),  # not for production
        land("HX-300", 300),  # far too big
        {"code": "HX-F", "kind": "厂房", "name": "示例厂房", "zone_id": "huoxian", "area_m2": 5000},
    )  # fmt: skip
    lead_id = new_lead(sf, people, land_mu=60)
    with unit_of_work(sf) as s:
        spaces_needs.save_need(
            s, people["rec"], lead_id,
            {"kind": "land", "purpose": "生产", "land_mu_min": "60", "budget_wan_per_mu": "100",
             "planned_start": "2027-01-01"},
            settings=sp, zones=ZONES,
        )  # fmt: skip
        found = spaces_needs.match_for_lead(s, people["rec"], lead_id, settings=sp, zones=FOCUS)
        assert [m.code for m in found] == ["HX-65", "TM-70"]
        best = found[0]
        assert best.reasons[:3] == [
            "面积 65 亩满足 60 亩需求",
            "用地性质 工业/M1 可用于生产",
            "漷县镇聚焦高端医疗器械",
        ]
        assert "地价 80 万元/亩在预算 100 以内" in best.reasons and best.score > found[1].score
        with pytest.raises(PermissionDenied):
            spaces_needs.match_for_lead(s, people["rec_e"], lead_id, settings=sp, zones=FOCUS)
        with pytest.raises(InvalidInput, match="下限不能大于上限"):
            spaces_needs.save_need(
                s, people["rec"], lead_id, {"land_mu_min": 9, "land_mu_max": 1}, settings=sp, zones=ZONES
            )


def test_admission_check_thresholds_and_veto(sf, people, sp):
    lead_id = new_lead(sf, people, land_mu=60, investment=24000, expected_output=36000)
    with unit_of_work(sf) as s:
        _l, _n, a = spaces_needs.admission_for_lead(s, people["rec"], lead_id, settings=sp)
        assert a.verdict == "资料不全" and "亩均税收" in a.summary
        spaces_needs.save_need(
            s, people["rec"], lead_id,
            {"land_mu_min": 60, "annual_tax_wan": 2400, "plot_ratio": 1.2, "building_coefficient": 45, "jobs": 300},
            settings=sp, zones=ZONES,
        )  # fmt: skip
        _l, _n, a = spaces_needs.admission_for_lead(s, people["rec"], lead_id, settings=sp)
        assert a.verdict == "通过" and [i.value_text for i in a.items][:3] == [
            "400 万元/亩",
            "600 万元/亩·年",
            "40 万元/亩·年",
        ]
        spaces_needs.save_need(
            s, people["rec"], lead_id, {"vetoes": ["energy"], "plot_ratio": 0.8}, settings=sp, zones=ZONES
        )
        _l, _n, a = spaces_needs.admission_for_lead(s, people["rec"], lead_id, settings=sp)
        assert a.verdict == "不通过" and a.vetoed == ["能耗指标超出区域控制要求"] and "容积率" in a.summary


def test_hold_refuses_a_second_lead_and_follows_the_stage(sf, people, sp):
    [rid] = add(sf, people, sp, land("HX-65", 65))
    mine = new_lead(sf, people, land_mu=60)
    other = new_lead(
        sf,
        people,
        who="mgr_e",
        company_name="示例数据·电子公司",
        sector_id="electronics",
        sector_name="电子信息",
    )
    with unit_of_work(sf) as s:
        spaces_holds.hold(s, people["rec"], rid, mine, settings=sp)
    with unit_of_work(sf) as s:
        with pytest.raises(Conflict, match="意向锁定"):
            spaces_holds.hold(s, people["mgr_e"], rid, other, settings=sp)  # a second manager is refused
        with pytest.raises(PermissionDenied):
            spaces_holds.hold(s, people["rec_e"], rid, mine, settings=sp)  # not their lead
        with pytest.raises(PermissionDenied):
            spaces_holds.release(s, people["rec_e"], rid, settings=sp)
    for stage in ("接洽", "在谈", "签约"):
        with unit_of_work(sf) as s:
            leads.transition(s, people["rec"], mine, stage, settings=leads.CrmSettings())
    with unit_of_work(sf) as s:
        r = s.get(SpaceResource, rid)
        assert (r.status, r.lead_id, r.hold_until) == (SIGNED, mine, None)
        hold = s.scalar(select(SpaceHold))
        assert hold.end_reason == "signed" and hold.ended_at is not None
        with pytest.raises(Conflict):
            spaces.set_status(s, people["mgr"], rid, AVAILABLE, settings=sp)
        leads.transition(s, people["rec"], mine, "落地", settings=leads.CrmSettings())
    with unit_of_work(sf) as s:
        assert s.get(SpaceResource, rid).status == OCCUPIED
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity == "space").order_by(AuditLog.id)
        ).all()
        assert actions == ["create", "hold", "follow_stage", "follow_stage"]


def test_release_and_lost_lead_free_the_resource(sf, people, sp):
    a, b = add(sf, people, sp, land("HX-A", 65), land("HX-B", 66))
    lead_id = new_lead(sf, people, land_mu=60)
    with unit_of_work(sf) as s:
        spaces_holds.hold(s, people["rec"], a, lead_id, settings=sp)
        spaces_holds.hold(s, people["rec"], b, lead_id, settings=sp)
        spaces_holds.release(s, people["mgr"], a, settings=sp, reason="企业改选他址")
        leads.transition(s, people["rec"], lead_id, "流失", "企业放弃", settings=leads.CrmSettings())
    with unit_of_work(sf) as s:
        assert [s.get(SpaceResource, i).status for i in (a, b)] == [AVAILABLE, AVAILABLE]
        reasons = s.scalars(select(SpaceHold.end_reason).order_by(SpaceHold.id)).all()
        assert reasons == ["released", "lost"]


def test_hold_expires_with_an_inbox_notice_and_can_be_taken_over(sf, people, sp):
    a, b = add(sf, people, sp, land("HX-A", 65), land("HX-B", 66))
    first = new_lead(sf, people, land_mu=60)
    second = new_lead(sf, people, who="rec2", company_name="示例数据·第二家公司", land_mu=60)
    then = utcnow() - timedelta(days=sp.hold_days + 1)
    with unit_of_work(sf) as s:
        spaces_holds.hold(s, people["rec"], a, first, settings=sp, now=then)
        spaces_holds.hold(s, people["rec"], b, first, settings=sp, now=then)
    with unit_of_work(sf) as s:
        freed = spaces_holds.expire_due(s)
        assert [r.code for r in freed] == ["HX-A", "HX-B"]
    with unit_of_work(sf) as s:
        assert s.get(SpaceResource, a).status == AVAILABLE
        spaces_holds.hold(s, people["rec"], a, first, settings=sp, now=then)  # expired again, not swept
    with unit_of_work(sf) as s:
        spaces_holds.hold(s, people["rec2"], a, second, settings=sp)  # takes over the lapsed hold
    with unit_of_work(sf) as s:
        assert s.get(SpaceResource, a).lead_id == second
        titles = s.scalars(select(InboxMessage.title).where(InboxMessage.user_id == people["rec"].id)).all()
        assert len(titles) == 3 and all("到期释放" in t for t in titles)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_simultaneous_holds_exactly_one_wins(sf, engine, people, sp):
    """Two users hold the same resource at the same moment for their own leads: one wins, the
    other is refused once the first commits (row lock + re-check), on real PostgreSQL."""
    [rid] = add(sf, people, sp, land("HX-RACE", 65))
    lead_a = new_lead(sf, people, land_mu=60)
    lead_b = new_lead(
        sf,
        people,
        who="mgr_e",
        company_name="示例数据·竞争企业",
        sector_id="electronics",
        sector_name="电子信息",
    )
    s1, s2 = sf(), sf()
    outcome = {}
    try:
        spaces_holds.hold(s1, people["rec"], rid, lead_a, settings=sp)  # row locked until commit

        def second():
            try:
                with s2.begin():
                    spaces_holds.hold(s2, people["mgr_e"], rid, lead_b, settings=sp)
                outcome["second"] = "held"
            except Conflict as exc:
                outcome["second"] = exc

        t = threading.Thread(target=second)
        t.start()
        t.join(0.5)
        assert t.is_alive()  # waiting on the first hold's row lock
        s1.commit()
        t.join(10)
        assert isinstance(outcome["second"], Conflict)
    finally:
        s1.close(), s2.close()
    with unit_of_work(sf) as s:
        assert s.get(SpaceResource, rid).lead_id == lead_a
        assert len(s.scalars(select(SpaceHold)).all()) == 1


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_many_threads_race_for_one_resource(sf, engine, people, sp):
    """Eight holds released at once by a barrier: exactly one commits."""
    [rid] = add(sf, people, sp, land("HX-RACE8", 65))
    lead_ids = [new_lead(sf, people, company_name=f"示例数据·竞速{i}", land_mu=60) for i in range(8)]
    barrier = threading.Barrier(len(lead_ids))
    results = []

    def run(lead_id):
        barrier.wait()
        try:
            with unit_of_work(sf) as s:
                spaces_holds.hold(s, people["rec"], rid, lead_id, settings=sp)
            results.append("won")
        except Conflict:
            results.append("refused")

    threads = [threading.Thread(target=run, args=(i,)) for i in lead_ids]
    [t.start() for t in threads]
    [t.join(20) for t in threads]
    assert sorted(results) == ["refused"] * 7 + ["won"]


def test_system_actor_cannot_hold(sf, people, sp):
    [rid] = add(sf, people, sp, land("HX-S", 65))
    lead_id = new_lead(sf, people, land_mu=60)
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            spaces_holds.hold(s, SYSTEM, rid, lead_id, settings=sp)
