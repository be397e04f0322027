"""补链 target ranking: outside firms on gap nodes, scored from named, weighted factors.

Every score carries its factor breakdown and a one-line Chinese reason, because leadership signs
off a list it can read, not a number. Pure functions over plain data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .gaps import NodeGap, format_wan
from .model import MISSING, WEAK, Company, Tie, Zone

FACTOR_LABELS = {
    "gap": "缺口程度",
    "strength": "企业实力",
    "ties": "本地关联",
    "geography": "区位",
    "zone_fit": "园区匹配",
}
_STATUS_BASE = {MISSING: 1.0, WEAK: 0.6}
_ANCHOR_QUALS = ("链主", "上市", "单项冠军")


@dataclass(frozen=True)
class TargetWeights:
    """Weights and strength scales from config.toml's [targets] section (see docs/CONFIG.md)."""

    gap: float = 0.35
    strength: float = 0.25
    ties: float = 0.20
    geography: float = 0.10
    zone_fit: float = 0.10
    qualification_points: Mapping[str, float] = field(
        default_factory=lambda: {
            "链主": 0.5,
            "单项冠军": 0.45,
            "小巨人": 0.4,
            "上市": 0.35,
            "专精特新": 0.25,
            "高新技术企业": 0.15,
        }
    )
    revenue_saturation: float = 1_000_000.0

    @classmethod
    def from_config(cls, cfg: Mapping) -> TargetWeights:
        s = cfg.get("targets", {})
        base = cls()
        return cls(
            gap=float(s.get("weight_gap", base.gap)),
            strength=float(s.get("weight_strength", base.strength)),
            ties=float(s.get("weight_ties", base.ties)),
            geography=float(s.get("weight_geography", base.geography)),
            zone_fit=float(s.get("weight_zone_fit", base.zone_fit)),
            qualification_points=dict(s.get("qualification_points", base.qualification_points)),
            revenue_saturation=float(s.get("revenue_saturation", base.revenue_saturation)),
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "gap": self.gap,
            "strength": self.strength,
            "ties": self.ties,
            "geography": self.geography,
            "zone_fit": self.zone_fit,
        }


@dataclass(frozen=True)
class District:
    """Where "here" is: the district itself, its region (京津冀) and partner places (北三县)."""

    province: str = "北京市"
    district: str = "通州区"
    region_provinces: tuple[str, ...] = ("北京市", "天津市", "河北省")
    partner_districts: tuple[str, ...] = ("三河市", "香河县", "大厂回族自治县")

    @classmethod
    def from_config(cls, cfg: Mapping) -> District:
        s = cfg.get("district", {})
        base = cls()
        return cls(
            province=s.get("province", base.province),
            district=s.get("district", base.district),
            region_provinces=tuple(s.get("region_provinces", base.region_provinces)),
            partner_districts=tuple(s.get("partner_districts", base.partner_districts)),
        )


@dataclass(frozen=True)
class Target:
    company_id: str
    company_name: str  # display name: synthetic firms carry （示例数据）
    uscc: str | None
    province: str
    city: str
    synthetic: bool
    qualifications: tuple[str, ...]
    revenue: float | None
    chain_id: str
    node_id: str
    node_name: str
    status: str
    score: float  # 0..100
    factors: dict[str, float]  # factor key -> 0..1, keys of FACTOR_LABELS
    reason: str


# ---- factors, each 0..1 with the Chinese phrase that explains it ---------------------------


def gap_factor(gap: NodeGap) -> tuple[float, str]:
    base = _STATUS_BASE.get(gap.status, 0.0)
    value = base * (0.5 + 0.5 * gap.criticality)
    verb = "填补缺链" if gap.status == MISSING else "补强弱链"
    return round(value, 4), f"{verb}「{gap.name}」"


def strength_factor(company: Company, w: TargetWeights) -> tuple[float, str]:
    """Qualifications (best few, capped), revenue on a log scale and R&D intensity."""
    points = sorted((w.qualification_points.get(q, 0.0) for q in company.qualifications), reverse=True)
    qual = min(1.0, sum(points[:3]))
    revenue = company.revenue or 0.0
    rev = min(1.0, math.log10(1 + revenue) / math.log10(1 + w.revenue_saturation)) if revenue > 0 else 0.0
    rd = min(1.0, (company.rd_ratio or 0.0) / 10.0)
    value = round(0.55 * qual + 0.35 * rev + 0.10 * rd, 4)
    phrases = [
        q
        for q in ("链主", "单项冠军", "小巨人", "上市", "专精特新", "高新技术企业")
        if q in company.qualifications
    ]
    text = "、".join(phrases[:2])
    if revenue >= 100000:
        text = f"{text}，营收{format_wan(revenue)}" if text else f"营收{format_wan(revenue)}"
    return value, text


def ties_factor(ties: Sequence[Tie]) -> tuple[float, str]:
    """以商招商: supplying to or buying from local firms; a tie to a local anchor counts most."""
    if not ties:
        return 0.0, ""
    anchor = [t for t in ties if any(q in t.local_qualifications for q in _ANCHOR_QUALS)]
    value = 1.0 if anchor else min(1.0, 0.5 + 0.25 * (len({t.local_id for t in ties}) - 1))
    best = (anchor or list(ties))[0]
    who = "本地链主" if "链主" in best.local_qualifications else "本地企业"
    text = (
        f"向{who}「{best.local_name}」供货"
        if best.direction == "supplies"
        else f"采购{who}「{best.local_name}」产品"
    )
    others = len({t.local_id for t in ties}) - 1
    if others > 0:
        text += f"等{others + 1}家"
    return round(value, 4), text


def geography_factor(company: Company, d: District) -> tuple[float, str]:
    if company.district in d.partner_districts or company.city in d.partner_districts:
        return 1.0, f"位于北三县（{company.district or company.city}）"
    if company.province == d.province:
        return 0.8, f"位于{company.province}，便于就近转移"
    if company.province in d.region_provinces:
        return 0.6, f"京津冀企业（{company.province}）"
    return 0.2, ""


def _focus_zones(sector_id: str, zones: Sequence[Zone]) -> list[Zone]:
    return [z for z in zones if z.is_local and sector_id in z.focus_sectors]


def _zone_fit(company: Company, focus_zones: Sequence[Zone]) -> tuple[float, str]:
    if not focus_zones:
        return 0.0, ""
    text_blob = f"{company.products}{company.scope}"
    best_zone = next((z for z in focus_zones if any(f and f in text_blob for f in z.focus)), None)
    if best_zone is not None:
        return 1.0, f"契合{best_zone.name}产业定位"
    return 0.7, f"契合{focus_zones[0].name}产业定位"


# ---- ranking ------------------------------------------------------------------------------


def rank_targets(
    gaps: Sequence[NodeGap],
    candidates: Iterable[Company],
    ties: Iterable[Tie],
    zones: Sequence[Zone],
    sector_id: str,
    district: District = District(),
    weights: TargetWeights = TargetWeights(),
) -> list[Target]:
    """One row per outside firm on a 缺链/弱链 node of the chain, best score first.

    A firm on several gap nodes is listed once, for the node where its gap factor is highest.
    Ties in score are broken by company id so that every backend gives the same order.
    """
    gap_by_node = {g.node_id: g for g in gaps if g.status in _STATUS_BASE}
    gap_parts = {node_id: gap_factor(g) for node_id, g in gap_by_node.items()}
    ties_by_company: dict[str, list[Tie]] = defaultdict(list)
    for tie in ties:
        ties_by_company[tie.company_id].append(tie)
    focus_zones = _focus_zones(sector_id, zones)
    wdict = weights.as_dict()
    wsum = sum(wdict.values()) or 1.0
    rows = []
    for company in candidates:
        if company.is_local:
            continue
        options = [n for n in company.node_ids if n in gap_by_node]
        if not options:
            continue
        node_id = max(options, key=lambda n: (gap_parts[n][0], n))
        gap = gap_by_node[node_id]
        parts = {
            "gap": gap_parts[node_id],
            "strength": strength_factor(company, weights),
            "ties": ties_factor(
                sorted(
                    ties_by_company.get(company.id, ()), key=lambda t: (t.direction, t.local_id, t.product)
                )
            ),
            "geography": geography_factor(company, district),
            "zone_fit": _zone_fit(company, focus_zones),
        }
        factors = {k: v for k, (v, _) in parts.items()}
        score = round(100 * sum(wdict[k] * v for k, v in factors.items()) / wsum, 1)
        reason = "；".join(text for _, text in parts.values() if text)
        rows.append(
            Target(
                company_id=company.id,
                company_name=company.display_name,
                uscc=company.uscc,
                province=company.province,
                city=company.city,
                synthetic=company.synthetic,
                qualifications=company.qualifications,
                revenue=company.revenue,
                chain_id=gap.chain_id,
                node_id=gap.node_id,
                node_name=gap.name,
                status=gap.status,
                score=score,
                factors=factors,
                reason=reason,
            )
        )
    rows.sort(key=lambda r: (-r.score, r.company_id))
    return rows
