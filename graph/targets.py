"""补链 target ranking: outside firms on gap nodes, scored from named, weighted factors.

Every score carries its factor breakdown and a Chinese reason, because leadership signs off a list
it can read, not a number. Pure functions over plain data.

Rules, each in one place here:

* only leaf 缺链/弱链 nodes take targets (a grouping node never does), only outside, active firms;
* a factor without data for a firm (no supply ties recorded, no province) is left out of that firm's
  score and its weight spread over the factors that have data: missing data is not a zero;
* geography follows the policy: 中心城区疏解 is sanctioned, other Beijing districts are not poached,
  北三县 firms are 配套 partners, not a pool to pull from (tiers and scores in [targets]);
* zone fit names the zone whose focus (zones.toml focus_chains) is this node, else this chain, else
  this sector; several equally fitting zones are all named, never the alphabetically first.

Scoring runs over numpy arrays; reasons are plain strings built per row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .gaps import NodeGap, format_wan
from .model import MISSING, WEAK, Company, Tie, Zone

FACTOR_LABELS = {
    "gap": "缺口程度",
    "strength": "企业实力",
    "demand": "本地需求",
    "ties": "本地关联",
    "geography": "区位",
    "zone_fit": "园区匹配",
}
FACTORS = tuple(FACTOR_LABELS)
_STATUS_BASE = {MISSING: 1.0, WEAK: 0.6}
_ANCHOR_QUALS = ("链主", "上市", "单项冠军")
_QUAL_ORDER = ("链主", "单项冠军", "小巨人", "上市", "专精特新", "高新技术企业")
GEO_TIERS = ("central", "beijing", "partner", "region", "china", "abroad")
_CN_SUFFIXES = ("省", "市", "自治区", "特别行政区")


@dataclass(frozen=True)
class TargetWeights:
    """Weights, scales and geography tiers from config.toml's [targets] section (docs/CONFIG.md)."""

    gap: float = 0.30
    strength: float = 0.32
    demand: float = 0.10
    ties: float = 0.10
    geography: float = 0.10
    zone_fit: float = 0.08
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
    demand_saturation: int = 20  # local downstream firms at which local demand reaches 1
    ties_saturation: float = 1.0  # weighted ties at which the ties factor reaches 1
    tie_amount_saturation: float = 10_000.0  # 年交易额 (万元) at which one tie counts in full
    geography_scores: Mapping[str, float] = field(
        default_factory=lambda: {
            "central": 1.0,
            "beijing": 0.2,
            "partner": 0.3,
            "region": 0.6,
            "china": 0.4,
            "abroad": 0.5,
        }
    )
    central_districts: tuple[str, ...] = ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区")
    per_node: int = 5  # default view: at most this many targets per gap node (0: no cap)

    @classmethod
    def from_config(cls, cfg: Mapping) -> TargetWeights:
        s = cfg.get("targets", {})
        base = cls()
        return cls(
            gap=float(s.get("weight_gap", base.gap)),
            strength=float(s.get("weight_strength", base.strength)),
            demand=float(s.get("weight_demand", base.demand)),
            ties=float(s.get("weight_ties", base.ties)),
            geography=float(s.get("weight_geography", base.geography)),
            zone_fit=float(s.get("weight_zone_fit", base.zone_fit)),
            qualification_points=dict(s.get("qualification_points", base.qualification_points)),
            revenue_saturation=float(s.get("revenue_saturation", base.revenue_saturation)),
            demand_saturation=int(s.get("demand_saturation", base.demand_saturation)),
            ties_saturation=float(s.get("ties_saturation", base.ties_saturation)),
            tie_amount_saturation=float(s.get("tie_amount_saturation", base.tie_amount_saturation)),
            geography_scores={**base.geography_scores, **dict(s.get("geography_scores", {}))},
            central_districts=tuple(s.get("central_districts", base.central_districts)),
            per_node=int(s.get("per_node", base.per_node)),
        )

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in FACTORS}


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
    parent_id: str | None = None  # the target node's grouping node, if any
    no_data: tuple[str, ...] = ()  # factors without data for this firm (left out of its score)
    geo_tier: str = ""  # one of GEO_TIERS, "" when the firm's province is unknown


# ---- factors, each 0..1 with the Chinese phrase that explains it ---------------------------


def gap_factor(gap: NodeGap) -> tuple[float, str]:
    """Status (缺链 over 弱链) times criticality; the phrase says why the node matters."""
    base = _STATUS_BASE.get(gap.status, 0.0)
    value = base * (0.5 + 0.5 * gap.criticality)
    verb = "填补缺链" if gap.status == MISSING else "补强弱链"
    why = []
    if gap.policy:
        why.append(f"政策点名「{gap.policy}」")
    if gap.chokepoint_ends:
        why.append(
            "终端产品必经环节" if gap.end_products <= 1 else f"{gap.chokepoint_ends}个终端产品的必经环节"
        )
    text = f"{verb}「{gap.name}」" + (f"（{'，'.join(why)}）" if why else "")
    return round(value, 4), text


def demand_factor(gap: NodeGap, w: TargetWeights) -> tuple[float, str]:
    """Demand pull: local firms on the nodes this node feeds would buy the firm's products."""
    if not gap.demand_firms:
        return 0.0, ""
    value = min(1.0, math.log1p(gap.demand_firms) / math.log1p(max(w.demand_saturation, 1)))
    where = "、".join(gap.demand_nodes[:2]) + ("等" if len(gap.demand_nodes) > 2 else "")
    text = f"本地{gap.demand_firms}家下游企业（{where}）需外购该环节产品，合计营收{format_wan(gap.demand_output)}"
    return round(value, 4), text


def strength_factor(company: Company, w: TargetWeights) -> tuple[float, str]:
    """Qualifications (best few, capped), revenue on a log scale and R&D intensity; a part the firm
    has no figure for (revenue, R&D unknown) is left out, not counted as zero."""
    points = sorted((w.qualification_points.get(q, 0.0) for q in company.qualifications), reverse=True)
    parts = [(0.55, min(1.0, sum(points[:3])))]
    revenue = company.revenue
    if revenue is not None:
        rev = min(1.0, math.log10(1 + revenue) / math.log10(1 + w.revenue_saturation)) if revenue > 0 else 0.0
        parts.append((0.35, rev))
    if company.rd_ratio is not None:
        parts.append((0.10, min(1.0, company.rd_ratio / 10.0)))
    value = round(sum(a * b for a, b in parts) / sum(a for a, _ in parts), 4)
    phrases = [q for q in _QUAL_ORDER if q in company.qualifications]
    text = "、".join(phrases[:2])
    if revenue is not None and revenue >= 100000:
        text = f"{text}，营收{format_wan(revenue)}" if text else f"营收{format_wan(revenue)}"
    return value, text


def tie_weight(tie: Tie, w: TargetWeights) -> float:
    """One supply tie's weight: supplying a local anchor in volume counts most, buying a little least."""
    direction = 1.0 if tie.direction == "supplies" else 0.5
    partner = 1.0 if any(q in tie.local_qualifications for q in _ANCHOR_QUALS) else 0.4
    if tie.amount is None or tie.amount <= 0:
        amount = 0.5
    else:
        amount = min(1.0, math.log1p(tie.amount) / math.log1p(max(w.tie_amount_saturation, 1.0)))
    return direction * partner * amount


def ties_factor(ties: Sequence[Tie], w: TargetWeights | None = None) -> tuple[float | None, str]:
    """以商招商: supplying to or buying from local firms, saturating. None: no tie recorded (no data)."""
    if not ties:
        return None, ""
    w = w or TargetWeights()
    value = min(1.0, sum(tie_weight(t, w) for t in ties) / max(w.ties_saturation, 1e-9))
    best = max(ties, key=lambda t: (tie_weight(t, w), t.local_id))
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


def is_abroad(province: str) -> bool:
    """A province field naming no Chinese province-level division is a place abroad (外资)."""
    return bool(province) and not province.endswith(_CN_SUFFIXES) and province not in ("香港", "澳门", "台湾")


def geography_tier(company: Company, d: District, w: TargetWeights) -> str:
    if not company.province:
        return ""
    if company.district in d.partner_districts or company.city in d.partner_districts:
        return "partner"
    if company.province == d.province:
        return "central" if company.district in w.central_districts else "beijing"
    if company.province in d.region_provinces:
        return "region"
    return "abroad" if is_abroad(company.province) else "china"


def geography_factor(
    company: Company, d: District, w: TargetWeights | None = None
) -> tuple[float | None, str]:
    """Score and wording of the firm's geography tier; None when the province is unknown."""
    w = w or TargetWeights()
    tier = geography_tier(company, d, w)
    if not tier:
        return None, ""
    value = float(w.geography_scores.get(tier, 0.4))
    place = company.district or company.city
    text = {
        "central": f"北京中心城区（{place}）企业，可按中心城区疏解对接",
        "beijing": f"北京市{place}企业，不跨区挖转，宜以合作或设分支机构对接",
        "partner": f"北三县（{place}）企业，宜作为本地企业配套伙伴，不作迁移对象",
        "region": f"京津冀协同（{company.province}）",
        "china": "",
        "abroad": f"外资企业（{company.province}），可引进在华总部、分支或研发中心",
    }[tier]
    return value, text


def zone_fit(node_id: str, chain_id: str, sector_id: str, ancestors: Sequence[str], zones: Sequence[Zone]):
    """(value, zone names, level) of the best fitting local zones for one node: a zone focusing the node
    (or its grouping node) 1.0, the chain 0.8, only the sector 0.4; all equally fitting zones are named."""
    local = [z for z in zones if z.is_local]
    node_refs = {node_id, *ancestors}
    for value, level, test in (
        (1.0, "环节", lambda z: node_refs & set(z.focus_chains)),
        (0.8, "产业链", lambda z: chain_id in z.focus_chains),
        (0.4, "产业", lambda z: sector_id in z.focus_sectors),
    ):
        names = [z.name for z in local if test(z)]
        if names:
            return value, tuple(names), level
    return 0.0, (), ""


def _zone_text(names: Sequence[str], level: str) -> str:
    if not names:
        return ""
    who = "、".join(names[:2]) + ("等" if len(names) > 2 else "")
    return f"可落位{who}（园区重点{level}）" if level != "产业" else f"可落位{who}（园区重点产业方向）"


def _makes(company: Company) -> str:
    """What the firm makes, from 主营产品 (the discriminating words), else a short 经营范围."""
    text = (company.products or "").strip()
    if not text:
        return ""
    return f"主营{text[:30]}{'…' if len(text) > 30 else ''}"


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
    """One row per outside, active firm on a leaf 缺链/弱链 node of the chain, best score first.

    A firm on several gap nodes is listed once, for the node where its gap factor is highest.
    Ties in score are broken by company id so that every backend gives the same order. A Company
    `active` field (registration status), where the model has one, drops dead firms; without it
    every firm counts as active.
    """
    gap_by_node = {g.node_id: g for g in gaps if g.status in _STATUS_BASE and not g.is_group}
    gap_parts = {node_id: gap_factor(g) for node_id, g in gap_by_node.items()}
    demand_parts = {node_id: demand_factor(g, weights) for node_id, g in gap_by_node.items()}
    parents = {g.node_id: g.parent_id for g in gaps}

    def ancestors(nid: str) -> list[str]:
        out, p = [], parents.get(nid)
        while p and p not in out:
            out.append(p)
            p = parents.get(p)
        return out

    zone_parts = {}
    for node_id, g in gap_by_node.items():
        value, names, level = zone_fit(node_id, g.chain_id, sector_id, ancestors(node_id), zones)
        zone_parts[node_id] = (value, _zone_text(names, level))
    ties_by_company: dict[str, list[Tie]] = defaultdict(list)
    for tie in ties:
        ties_by_company[tie.company_id].append(tie)

    picked: list[tuple[Company, str]] = []
    for company in candidates:
        if company.is_local or not getattr(company, "active", True):
            continue
        options = [n for n in company.node_ids if n in gap_by_node]
        if options:
            picked.append((company, max(options, key=lambda n: (gap_parts[n][0], n))))
    if not picked:
        return []

    n = len(picked)
    values = np.zeros((n, len(FACTORS)))
    mask = np.ones((n, len(FACTORS)), dtype=bool)
    texts: list[dict[str, str]] = []
    tiers: list[str] = []
    i_ties, i_geo = FACTORS.index("ties"), FACTORS.index("geography")
    for i, (company, node_id) in enumerate(picked):
        s_val, s_text = strength_factor(company, weights)
        t_val, t_text = ties_factor(
            sorted(ties_by_company.get(company.id, ()), key=lambda t: (t.direction, t.local_id, t.product)),
            weights,
        )
        g_val, g_text = geography_factor(company, district, weights)
        row = (gap_parts[node_id][0], s_val, demand_parts[node_id][0], t_val, g_val, zone_parts[node_id][0])
        values[i] = [0.0 if v is None else v for v in row]
        mask[i, i_ties] = t_val is not None
        mask[i, i_geo] = g_val is not None
        texts.append({"strength": s_text, "ties": t_text, "geography": g_text})
        tiers.append(geography_tier(company, district, weights))

    w = np.array([weights.as_dict()[k] for k in FACTORS], dtype=float)
    wm = mask * w
    denom = wm.sum(axis=1)
    scores = np.round(
        100 * np.where(denom > 0, (values * wm).sum(axis=1) / np.where(denom > 0, denom, 1), 0), 1
    )

    rows = []
    for i, (company, node_id) in enumerate(picked):
        gap = gap_by_node[node_id]
        phrases = [
            gap_parts[node_id][1],
            _makes(company),
            texts[i]["strength"],
            demand_parts[node_id][1],
            texts[i]["ties"],
            texts[i]["geography"],
            zone_parts[node_id][1],
        ]
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
                score=float(scores[i]),
                factors={k: round(float(values[i, j]), 4) for j, k in enumerate(FACTORS)},
                reason="；".join(p for p in phrases if p),
                parent_id=gap.parent_id,
                no_data=tuple(k for j, k in enumerate(FACTORS) if not mask[i, j]),
                geo_tier=tiers[i],
            )
        )
    rows.sort(key=lambda r: (-r.score, r.company_id))
    return rows


def factor_coverage(rows: Sequence[Target]) -> dict[str, float]:
    """Share of ranked firms that had data for each factor (1.0 for the node-level factors)."""
    if not rows:
        return dict.fromkeys(FACTORS, 0.0)
    return {k: round(sum(1 for r in rows if k not in r.no_data) / len(rows), 4) for k in FACTORS}


def coverage_sentence(coverage: Mapping[str, float]) -> str:
    """One Chinese line saying which factors had data, for the list's title or footer."""
    had = [
        f"{FACTOR_LABELS[k]}" + (f"（{v:.0%}企业有数据）" if v < 1 else "")
        for k, v in coverage.items()
        if v > 0
    ]
    none = [FACTOR_LABELS[k] for k, v in coverage.items() if v == 0]
    text = "有数据的因素：" + "、".join(had)
    if none:
        text += f"；无数据的因素：{'、'.join(none)}（不计分，权重分给其余因素）"
    return text
