"""A lead's space needs as structured fields, the resources that fit them, and its 准入评估.

The needs live beside the lead (lead_space_needs, 1:1); who may read or change them is who may
read or edit the lead (crm.permissions). Matching and the admission check are the pure functions
of spaces_match and spaces_admission; this module only loads and saves.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.errors import Conflict, InvalidInput, PermissionDenied

from .. import permissions as perm
from ..models import Lead, utcnow
from ..models_spaces import KINDS, LeadSpaceNeed, SpaceResource
from . import audit
from ._common import Actor, SystemActor, current_actor, get_lead, snapshot
from .spaces import _number, can_read, parse_date
from .spaces_admission import Assessment, Figures, assess
from .spaces_match import Match, MatchRules, Need, Resource, ZoneFocus, match
from .spaces_settings import PURPOSES, SpacesSettings

ENTITY = "lead_space_need"
NUMBERS = {
    "land_mu_min": "用地需求下限（亩）",
    "land_mu_max": "用地需求上限（亩）",
    "floor_m2_min": "用房需求下限（㎡）",
    "floor_m2_max": "用房需求上限（㎡）",
    "power_kva": "用电需求（kVA）",
    "floor_height_m": "层高需求（米）",
    "floor_load_kn": "荷载需求（kN/㎡）",
    "crane_t": "行车需求（吨）",
    "budget_wan_per_mu": "地价预算（万元/亩）",
    "budget_rent_yuan": "租金预算（元/㎡/天）",
    "annual_tax_wan": "预计年税收（万元）",
    "plot_ratio": "容积率",
    "building_coefficient": "建筑系数（%）",
    "jobs": "就业人数",
}
FIELDS = (*NUMBERS, "kind", "purpose", "wanted_zones", "planned_start", "vetoes")
LABELS = {
    **NUMBERS,
    "kind": "载体类型",
    "purpose": "用途",
    "wanted_zones": "意向园区",
    "planned_start": "计划开工",
    "vetoes": "一票否决",
}


def _readable_lead(session: Session, actor: Actor, lead_id: int) -> tuple[Actor, Lead]:
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not (isinstance(actor, SystemActor) or (can_read(actor) and perm.can_read(actor, lead))):
        raise PermissionDenied("您无权查看该线索")
    return actor, lead


def get_need(session: Session, actor: Actor, lead_id: int) -> tuple[Lead, LeadSpaceNeed | None]:
    _actor, lead = _readable_lead(session, actor, lead_id)
    return lead, session.get(LeadSpaceNeed, lead_id)


def clean(data: Mapping[str, Any], settings: SpacesSettings, zones: Mapping[str, str]) -> dict[str, Any]:
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, label in NUMBERS.items():
        if name in data:
            raw = data[name]
            text = "" if raw is None else str(raw).strip()
            try:
                out[name] = _number(text, label, name == "jobs") if text else None
            except ValueError as exc:
                problems.append(str(exc))
    for lo, hi, label in (
        ("land_mu_min", "land_mu_max", "用地需求"),
        ("floor_m2_min", "floor_m2_max", "用房需求"),
    ):
        if out.get(lo) is not None and out.get(hi) is not None and out[lo] > out[hi]:
            problems.append(f"{label}下限不能大于上限")
    if "kind" in data:
        kind = (data["kind"] or "").strip() or None
        if kind is not None and kind not in KINDS:
            problems.append("载体类型无效")
        out["kind"] = kind
    if "purpose" in data:
        purpose = (data["purpose"] or "").strip() or None
        if purpose is not None and purpose not in PURPOSES:
            problems.append(f"用途须为：{'、'.join(PURPOSES)}")
        out["purpose"] = purpose
    if "wanted_zones" in data:
        wanted = data["wanted_zones"] or []
        if isinstance(wanted, str):
            wanted = [w for w in wanted.replace("，", ",").split(",") if w.strip()]
        bad = [z for z in wanted if z not in zones]
        if bad:
            problems.append(f"意向园区「{'、'.join(bad)}」不存在")
        out["wanted_zones"] = [z for z in wanted if z in zones]
    if "planned_start" in data:
        raw = data["planned_start"]
        try:
            out["planned_start"] = raw if isinstance(raw, _dt.date) else parse_date(str(raw or ""))
        except ValueError as exc:
            problems.append(str(exc))
    if "vetoes" in data:
        vetoes = data["vetoes"] or []
        bad = [v for v in vetoes if v not in settings.admission.vetoes]
        if bad:
            problems.append(f"一票否决事项「{'、'.join(bad)}」未定义")
        out["vetoes"] = {v: True for v in vetoes if v in settings.admission.vetoes}
    if problems:
        raise InvalidInput("；".join(problems))
    return out


def save_need(
    session: Session,
    actor: Actor,
    lead_id: int,
    data: Mapping[str, Any],
    *,
    settings: SpacesSettings,
    zones: Mapping[str, str],
    expected_version: int | None = None,
    ip: str | None = None,
    now: _dt.datetime | None = None,
) -> LeadSpaceNeed:
    """Record the lead's needs (whoever may edit the lead); audited on the lead's history."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not (can_read(actor) and perm.can_edit(actor, lead)):
        raise PermissionDenied("您无权修改该线索的用地用房需求")
    values = clean(data, settings, zones)
    need = session.get(LeadSpaceNeed, lead_id)
    if need is not None and expected_version is not None and int(expected_version) != need.version:
        raise Conflict(f"线索「{lead.company_name}」的需求已被其他人修改，请刷新后重试")
    creating = need is None
    if need is None:
        need = LeadSpaceNeed(lead_id=lead_id, wanted_zones=[], vetoes={})
        session.add(need)
    before = {} if creating else snapshot(need, FIELDS)
    for name, value in values.items():
        setattr(need, name, value)
    need.updated_at = now or utcnow()
    session.flush()
    b, a = audit.diff(before, snapshot(need, FIELDS))
    if a:
        audit.record(
            session, actor, audit.CREATE if creating else audit.UPDATE, ENTITY, lead_id, b or None, a, ip
        )
    return need


def to_need(lead: Lead, row: LeadSpaceNeed | None) -> Need:
    """The plain Need of spaces_match from a lead and its needs row (the lead's 用地/用房 figures
    stand in while no structured needs were recorded)."""
    if row is None:
        return Need(
            lead_id=lead.id,
            land_mu_min=lead.land_mu,
            floor_m2_min=lead.floor_m2,
            sector_id=lead.sector_id,
            sector_name=lead.sector_name,
            chain_name=lead.chain_name,
            node_name=lead.node_name,
        )
    return Need(
        lead_id=lead.id,
        kind=row.kind,
        purpose=row.purpose,
        land_mu_min=row.land_mu_min
        if row.land_mu_min is not None
        else (None if row.land_mu_max else lead.land_mu),
        land_mu_max=row.land_mu_max,
        floor_m2_min=row.floor_m2_min
        if row.floor_m2_min is not None
        else (None if row.floor_m2_max else lead.floor_m2),
        floor_m2_max=row.floor_m2_max,
        power_kva=row.power_kva,
        floor_height_m=row.floor_height_m,
        floor_load_kn=row.floor_load_kn,
        crane_t=row.crane_t,
        budget_wan_per_mu=row.budget_wan_per_mu,
        budget_rent_yuan=row.budget_rent_yuan,
        wanted_zones=tuple(row.wanted_zones or ()),
        planned_start=row.planned_start,
        sector_id=lead.sector_id,
        sector_name=lead.sector_name,
        chain_name=lead.chain_name,
        node_name=lead.node_name,
    )


PLAIN_COLUMNS = (
    SpaceResource.id,
    SpaceResource.code,
    SpaceResource.name,
    SpaceResource.kind,
    SpaceResource.zone_id,
    SpaceResource.area_mu,
    SpaceResource.area_m2,
    SpaceResource.land_use,
    SpaceResource.power_kva,
    SpaceResource.floor_height_m,
    SpaceResource.floor_load_kn,
    SpaceResource.crane_t,
    SpaceResource.price_wan_per_mu,
    SpaceResource.rent_yuan,
    SpaceResource.readiness,
    SpaceResource.available_from,
    SpaceResource.status,
    SpaceResource.lead_id,
    SpaceResource.hold_until,
)


def plain_resources(session: Session) -> list[Resource]:
    """Every resource as plain data for matching (one query, no ORM objects)."""
    return [Resource(*row) for row in session.execute(select(*PLAIN_COLUMNS).order_by(SpaceResource.code))]


def rules(settings: SpacesSettings) -> MatchRules:
    return MatchRules(settings.area_tolerance, settings.purpose_land_uses, settings.weights)


def match_for_lead(
    session: Session,
    actor: Actor,
    lead_id: int,
    *,
    settings: SpacesSettings,
    zones: Mapping[str, ZoneFocus],
    limit: int | None = None,
    now: _dt.datetime | None = None,
) -> list[Match]:
    """The fitting resources for a lead the actor may read, best first, with reasons."""
    _actor, lead = _readable_lead(session, actor, lead_id)
    need = to_need(lead, session.get(LeadSpaceNeed, lead_id))
    return match(
        need,
        plain_resources(session),
        zones,
        rules(settings),
        limit=settings.match_limit if limit is None else limit,
        now=now or utcnow(),
    )


def admission(lead: Lead, row: LeadSpaceNeed | None, settings: SpacesSettings) -> Assessment:
    """The lead's 准入评估 from its investment, output and the figures of its needs row."""
    land = None
    if row is not None:
        land = row.land_mu_min if row.land_mu_min is not None else row.land_mu_max
        if row.kind not in (None, "land"):
            land = None
    if land is None and (row is None or row.kind in (None, "land")):
        land = lead.land_mu
    figures = Figures(
        land_mu=land,
        investment_wan=lead.investment,
        output_wan=lead.expected_output,
        tax_wan=row.annual_tax_wan if row else None,
        plot_ratio=row.plot_ratio if row else None,
        building_coefficient=row.building_coefficient if row else None,
        jobs=row.jobs if row else None,
        vetoes=tuple(k for k, v in (row.vetoes or {}).items() if v) if row else (),
    )
    return assess(figures, settings.admission)


def admission_for_lead(
    session: Session, actor: Actor, lead_id: int, *, settings: SpacesSettings
) -> tuple[Lead, LeadSpaceNeed | None, Assessment]:
    lead, row = get_need(session, actor, lead_id)
    return lead, row, admission(lead, row, settings)
