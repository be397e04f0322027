"""智慧选址: which resources fit a project's needs, ranked, each with the reasons in Chinese.

A pure function over plain data (no database, no graph): the service loads the rows, the
benchmark calls it on 10 000 generated resources. Hard requirements filter (kind, area within
range, use permitted for the project's purpose, power / floor load / floor height / crane,
wanted zones, available by the planned start, free or held by this very lead); soft ones
score (area closeness, zone focus on the lead's sector or node, price within budget,
readiness, capacity known), with the weights of config [spaces] weights.

>>> need = Need(lead_id=1, kind="land", purpose="生产", land_mu_min=50, sector_id="medical",
...             sector_name="医药健康")
>>> land = Resource(id=7, code="HX-01", name="示例地块", kind="land", zone_id="huoxian",
...                 area_mu=55, land_use="工业/M1", status="可招商")
>>> zones = {"huoxian": ZoneFocus("huoxian", "漷县镇", ("medical",), ("高端医疗器械",))}
>>> rules = MatchRules(0.5, {"生产": ("工业/M1",)}, {"area": 1, "zone": 1})
>>> [m] = match(need, [land], zones, rules)
>>> m.reasons[:3]
['面积 55 亩满足 50 亩需求', '用地性质 工业/M1 可用于生产', '漷县镇重点产业含医药健康（高端医疗器械）']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

LAND, FACTORY, OFFICE = "land", "factory", "office"  # = crm.models_spaces kinds
AVAILABLE, HELD, SIGNED = "可招商", "意向锁定", "已签约"
READY_WORDS = (("七通一平", 1.0), ("九通一平", 1.0), ("五通一平", 0.7), ("三通一平", 0.5))


@dataclass(frozen=True, slots=True)
class Need:
    """What a project needs; any field left None is not a requirement."""

    lead_id: int
    kind: str | None = None  # land / factory / office; None: any kind whose area is given
    purpose: str | None = None  # 生产 / 研发 / 办公
    land_mu_min: float | None = None
    land_mu_max: float | None = None
    floor_m2_min: float | None = None
    floor_m2_max: float | None = None
    power_kva: float | None = None
    floor_height_m: float | None = None
    floor_load_kn: float | None = None
    crane_t: float | None = None
    budget_wan_per_mu: float | None = None
    budget_rent_yuan: float | None = None
    wanted_zones: tuple[str, ...] = ()
    planned_start: date | None = None
    sector_id: str | None = None
    sector_name: str | None = None
    chain_name: str | None = None
    node_name: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    id: int
    code: str
    name: str
    kind: str
    zone_id: str | None = None
    area_mu: float | None = None
    area_m2: float | None = None
    land_use: str | None = None
    power_kva: float | None = None
    floor_height_m: float | None = None
    floor_load_kn: float | None = None
    crane_t: float | None = None
    price_wan_per_mu: float | None = None
    rent_yuan: float | None = None
    readiness: str | None = None
    available_from: date | None = None
    status: str = AVAILABLE
    lead_id: int | None = None
    hold_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class ZoneFocus:
    id: str
    name: str
    focus_sectors: tuple[str, ...] = ()
    focus: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchRules:
    area_tolerance: float
    purpose_land_uses: Mapping[str, tuple[str, ...]]
    weights: Mapping[str, float]


@dataclass
class Match:
    resource_id: int
    code: str
    name: str
    kind: str
    zone_id: str | None
    score: float
    factors: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    held_by_this_lead: bool = False


def _num(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


def _area(need: Need, r: Resource) -> tuple[float | None, float | None, float | None, str]:
    """(resource area, wanted min, wanted max) in the unit that kind is measured in, and the unit."""
    if r.kind == LAND:
        return r.area_mu, need.land_mu_min, need.land_mu_max, "亩"
    return r.area_m2, need.floor_m2_min, need.floor_m2_max, "㎡"


def failures(
    need: Need, r: Resource, rules: MatchRules, now: datetime | None = None, first_only: bool = False
) -> list[str]:
    """Why `r` cannot take the project (Chinese), empty when it fits every hard requirement."""
    out: list[str] = []

    def fail(text: str) -> bool:
        out.append(text)
        return first_only

    mine = r.lead_id is not None and r.lead_id == need.lead_id
    if r.status != AVAILABLE and not mine:
        expired = r.status == HELD and r.hold_until is not None and now is not None and r.hold_until < now
        if not expired and fail(f"状态为{r.status}"):
            return out
    if need.kind and r.kind != need.kind:
        if fail("载体类型不符"):
            return out
    area, lo, hi, unit = _area(need, r)
    if lo is None and hi is None:
        other = (
            (need.floor_m2_min, need.floor_m2_max) if r.kind == LAND else (need.land_mu_min, need.land_mu_max)
        )
        if any(v is not None for v in other) and fail("未提出此类载体的面积需求"):
            return out
    elif area is None:
        if fail("面积未登记"):
            return out
    else:
        bound = hi if hi is not None else lo
        assert bound is not None  # one of them is set on this branch
        top = bound * (1 + rules.area_tolerance)
        if lo is not None and area < lo:
            if fail(f"面积 {_num(area)} {unit} 小于需求 {_num(lo)} {unit}"):
                return out
        elif area > top:
            if fail(f"面积 {_num(area)} {unit} 远超需求"):
                return out
    if r.kind == LAND and need.purpose and r.land_use:
        allowed = rules.purpose_land_uses.get(need.purpose, ())
        if r.land_use not in allowed and fail(f"用地性质 {r.land_use} 不可用于{need.purpose}"):
            return out
    if r.kind != LAND:
        for wanted, have, label, unit in (
            (need.power_kva, r.power_kva, "供电容量", "kVA"),
            (need.floor_load_kn, r.floor_load_kn, "楼面荷载", "kN/㎡"),
            (need.floor_height_m, r.floor_height_m, "层高", "米"),
            (need.crane_t, r.crane_t, "行车", "吨"),
        ):
            if wanted and have is not None and have < wanted:
                if fail(f"{label} {_num(have)} {unit} 低于需求 {_num(wanted)} {unit}"):
                    return out
    if need.wanted_zones and r.zone_id not in need.wanted_zones:
        if fail("不在意向园区内"):
            return out
    if need.planned_start and r.available_from and r.available_from > need.planned_start:
        if fail(f"{r.available_from:%Y-%m-%d} 才可使用，晚于计划开工"):
            return out
    return out


def _zone_fit(need: Need, zone: ZoneFocus | None) -> tuple[float, str | None]:
    if zone is None:
        return 0.0, None
    named = [
        f
        for f in zone.focus
        if (need.node_name and need.node_name in f) or (f and need.node_name and f in need.node_name)
    ]
    if not named and need.chain_name:
        named = [f for f in zone.focus if need.chain_name in f or f in need.chain_name]
    if need.sector_id and need.sector_id in zone.focus_sectors:
        if named:
            return 1.0, f"{zone.name}聚焦{'、'.join(named)}"
        what = need.sector_name or need.sector_id
        return 1.0, f"{zone.name}重点产业含{what}（{'、'.join(zone.focus[:2])}）"
    if named:
        return 0.8, f"{zone.name}发展方向含{'、'.join(named)}"
    if not zone.focus_sectors:
        return 0.3, f"{zone.name}不限定产业"
    return 0.0, f"{zone.name}重点产业与本项目不同"


def _factors(need: Need, r: Resource, zones: Mapping[str, ZoneFocus], rules: MatchRules) -> dict[str, float]:
    area, lo, hi, _unit = _area(need, r)
    if area is None or lo is None and hi is None:
        f_area = 0.5
    else:
        target = (lo + hi) / 2 if lo is not None and hi is not None else (lo if lo is not None else hi)
        f_area = max(0.0, 1.0 - abs(area - target) / target) if target else 0.5
    f_zone = _zone_fit(need, zones.get(r.zone_id or ""))[0]
    if r.kind == LAND:
        price, budget = r.price_wan_per_mu, need.budget_wan_per_mu
    else:
        price, budget = r.rent_yuan, need.budget_rent_yuan
    if price is None or not budget:
        f_budget = 0.5
    elif price <= budget:
        f_budget = 1.0
    else:
        f_budget = max(0.0, 1.0 - 2 * (price - budget) / budget)
    f_ready = 0.4
    if r.kind == LAND:
        for word, value in READY_WORDS:
            if r.readiness and word in r.readiness:
                f_ready = value
                break
    elif need.planned_start is None or r.available_from is None or r.available_from <= need.planned_start:
        f_ready = 1.0
    if r.kind == LAND:
        f_cap = 1.0
    else:
        wanted = [
            (need.power_kva, r.power_kva),
            (need.floor_load_kn, r.floor_load_kn),
            (need.floor_height_m, r.floor_height_m),
        ]
        asked = [have for want, have in wanted if want]
        f_cap = 1.0 if not asked else sum(1.0 for h in asked if h is not None) / len(asked)
    return {"area": f_area, "zone": f_zone, "budget": f_budget, "readiness": f_ready, "capacity": f_cap}


def _reasons(
    need: Need, r: Resource, zones: Mapping[str, ZoneFocus], rules: MatchRules
) -> tuple[list[str], list[str]]:
    reasons: list[str] = []
    warnings: list[str] = []
    area, lo, hi, unit = _area(need, r)
    if area is not None and (lo is not None or hi is not None):
        wanted = (
            f"{_num(lo)}–{_num(hi)}"
            if lo is not None and hi is not None
            else _num(lo if lo is not None else hi)  # type: ignore[arg-type]  # one is set
        )
        reasons.append(f"面积 {_num(area)} {unit}满足 {wanted} {unit}需求")
    if r.kind == LAND and r.land_use:
        reasons.append(f"用地性质 {r.land_use}" + (f" 可用于{need.purpose}" if need.purpose else ""))
    zone_reason = _zone_fit(need, zones.get(r.zone_id or ""))[1]
    if zone_reason:
        reasons.append(zone_reason)
    if r.kind != LAND:
        for wanted_v, have, label, unit2 in (
            (need.power_kva, r.power_kva, "供电", "kVA"),
            (need.floor_load_kn, r.floor_load_kn, "荷载", "kN/㎡"),
            (need.floor_height_m, r.floor_height_m, "层高", "米"),
            (need.crane_t, r.crane_t, "行车", "吨"),
        ):
            if wanted_v and have is not None:
                reasons.append(f"{label} {_num(have)} {unit2} ≥ 需求 {_num(wanted_v)} {unit2}")
            elif wanted_v:
                warnings.append(f"{label}未登记，需现场核实")
    price, budget, what, unit3 = (
        (r.price_wan_per_mu, need.budget_wan_per_mu, "地价", "万元/亩")
        if r.kind == LAND
        else (r.rent_yuan, need.budget_rent_yuan, "租金", "元/㎡/天")
    )
    if price is not None and budget:
        if price <= budget:
            reasons.append(f"{what} {_num(price)} {unit3}在预算 {_num(budget)} 以内")
        else:
            warnings.append(f"{what} {_num(price)} {unit3}超出预算 {_num(budget)}")
    if r.kind == LAND and r.readiness:
        reasons.append(f"场地条件：{r.readiness}")
    if need.planned_start and r.available_from:
        reasons.append(f"{r.available_from:%Y-%m-%d} 起可用，不晚于计划开工")
    if r.lead_id is not None and r.lead_id == need.lead_id:
        reasons.append(f"已为本项目{r.status}")
    return reasons, warnings


def match(
    need: Need,
    resources: Iterable[Resource],
    zones: Mapping[str, ZoneFocus],
    rules: MatchRules,
    *,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[Match]:
    """The resources that pass every hard requirement, best score first (ties: code), with reasons
    for the `limit` returned (None: all that fit)."""
    weights = rules.weights
    total = sum(weights.values()) or 1.0
    scored: list[tuple[float, str, Resource, dict[str, float]]] = []
    for r in resources:
        if failures(need, r, rules, now, first_only=True):
            continue
        f = _factors(need, r, zones, rules)
        score = 100.0 * sum(weights.get(k, 0.0) * v for k, v in f.items()) / total
        scored.append((-score, r.code, r, f))
    scored.sort(key=lambda t: (t[0], t[1]))
    chosen: Sequence = scored if limit is None else scored[:limit]
    out = []
    for neg, _code, r, f in chosen:
        reasons, warnings = _reasons(need, r, zones, rules)
        out.append(
            Match(
                r.id,
                r.code,
                r.name,
                r.kind,
                r.zone_id,
                round(-neg, 1),
                {k: round(v, 3) for k, v in f.items()},
                reasons,
                warnings,
                r.lead_id is not None and r.lead_id == need.lead_id,
            )
        )
    return out
