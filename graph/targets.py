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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend_checks import is_active
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


def zone_fit(
    node_id: str, chain_id: str, sector_id: str, ancestors: Sequence[str], zones: Sequence[Zone]
) -> tuple[float, tuple[str, ...], str]:
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


class Ranking(Sequence[Target]):
    """A chain's ranked targets, best first. Scores, order and per-row node/company ids are arrays;
    a `Target` (with its reason) is built only when a row is read, then kept."""

    def __init__(self, order, scores, values, mask, picked, build):
        self._order = order  # row position -> index into `picked`
        self._scores, self._values, self._mask = scores, values, mask
        self._picked = picked  # (company, node_id) per candidate
        self._build = build
        self._rows: dict[int, Target] = {}
        self.node_ids = [picked[i][1] for i in order]  # per ranked row
        self.company_ids = [picked[i][0].id for i in order]

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, pos: Any) -> Any:
        if isinstance(pos, slice):
            return [self[i] for i in range(*pos.indices(len(self)))]
        if pos < 0:
            pos += len(self)
        row = self._rows.get(pos)
        if row is None:
            i = int(self._order[pos])
            row = self._rows[pos] = self._build(i, float(self._scores[i]), self._values[i], self._mask[i])
        return row

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sequence)
            and len(self) == len(other)
            and all(a == b for a, b in zip(self, other, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Ranking({len(self)} rows)"

    def where(self, *, node_id: str | None = None, company_id: str | None = None) -> Iterator[Target]:
        """Rows of one node or one firm, best first, building only those."""
        ids = self.node_ids if node_id is not None else self.company_ids
        want = node_id if node_id is not None else company_id
        return (self[i] for i, x in enumerate(ids) if x == want)

    def data_counts(self) -> tuple[int, dict[str, int]]:
        """(rows, rows with data per factor), from the mask: for `factor_coverage` without building rows."""
        return len(self), {k: int(self._mask[:, j].sum()) for j, k in enumerate(FACTORS)}


def rank_targets(
    gaps: Sequence[NodeGap],
    candidates: Iterable[Company],
    ties: Iterable[Tie],
    zones: Sequence[Zone],
    sector_id: str,
    district: District = District(),
    weights: TargetWeights = TargetWeights(),
) -> Ranking:
    """One row per outside, active firm on a leaf 缺链/弱链 node of the chain, best score first.

    A firm on several gap nodes is listed once, for the node where its gap factor is highest.
    Ties in score are broken by company id so that every backend gives the same order. A Company
    `active` field (registration status), where the model has one, drops dead firms; without it
    every firm counts as active. One Python pass collects each firm's few inputs (memoised per
    distinct node set, qualification set and place); the factors and the score are array work.
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

    choice: dict[tuple[str, ...], str | None] = {}
    qual_memo: dict[tuple[str, ...], float] = {}
    geo_memo: dict[tuple[str, str, str], tuple[str, float | None]] = {}
    points = weights.qualification_points
    picked: list[tuple[Company, str]] = []
    node_pos, qual, rev, rd, geo = [], [], [], [], []
    node_index = {n: j for j, n in enumerate(gap_by_node)}
    for company in candidates:
        if company.is_local or not is_active(company):
            continue
        key = company.node_ids
        chosen = choice.get(key, "")
        if chosen == "":
            options = [n for n in key if n in gap_by_node]
            chosen = choice[key] = max(options, key=lambda n: (gap_parts[n][0], n)) if options else None
        if chosen is None:
            continue
        node_id = chosen
        picked.append((company, node_id))
        node_pos.append(node_index[node_id])
        q = qual_memo.get(company.qualifications)
        if q is None:
            best = sorted((points.get(x, 0.0) for x in company.qualifications), reverse=True)
            q = qual_memo[company.qualifications] = min(1.0, sum(best[:3]))
        qual.append(q)
        rev.append(np.nan if company.revenue is None else company.revenue)
        rd.append(np.nan if company.rd_ratio is None else company.rd_ratio)
        place = (company.province, company.city, company.district)
        tiered = geo_memo.get(place)
        if tiered is None:
            tier = geography_tier(company, district, weights)
            tiered = geo_memo[place] = (
                tier,
                float(weights.geography_scores.get(tier, 0.4)) if tier else None,
            )
        geo.append(np.nan if tiered[1] is None else tiered[1])
    n = len(picked)
    if not n:
        return Ranking(
            np.zeros(0, dtype=int),
            np.zeros(0),
            np.zeros((0, len(FACTORS))),
            np.zeros((0, len(FACTORS)), bool),
            [],
            None,
        )

    nodes = list(gap_by_node)
    pos = np.array(node_pos, dtype=np.intp)
    per_node = {
        "gap": np.array([gap_parts[x][0] for x in nodes]),
        "demand": np.array([demand_parts[x][0] for x in nodes]),
        "zone_fit": np.array([zone_parts[x][0] for x in nodes]),
    }
    # strength: 0.55 qualifications + 0.35 log revenue + 0.10 R&D, unknown parts left out
    rev_a, rd_a = np.array(rev, dtype=float), np.array(rd, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rev_v = np.where(
            rev_a > 0,
            np.minimum(1.0, np.log10(1 + np.maximum(rev_a, 0)) / math.log10(1 + weights.revenue_saturation)),
            0.0,
        )
    rd_v = np.minimum(1.0, np.nan_to_num(rd_a) / 10.0)
    has_rev, has_rd = ~np.isnan(rev_a), ~np.isnan(rd_a)
    strength = (
        0.55 * np.array(qual) + 0.35 * np.where(has_rev, rev_v, 0) + 0.10 * np.where(has_rd, rd_v, 0)
    ) / (0.55 + 0.35 * has_rev + 0.10 * has_rd)
    geo_a = np.array(geo, dtype=float)
    ties_v = np.zeros(n)
    has_ties = np.zeros(n, dtype=bool)
    for i, (company, _) in enumerate(picked):
        mine = ties_by_company.get(company.id)
        if mine:
            ties_v[i] = min(
                1.0, sum(tie_weight(t, weights) for t in mine) / max(weights.ties_saturation, 1e-9)
            )
            has_ties[i] = True
    values = np.column_stack(
        [
            per_node["gap"][pos],
            np.round(strength, 4),
            per_node["demand"][pos],
            np.round(ties_v, 4),
            np.nan_to_num(geo_a),
            per_node["zone_fit"][pos],
        ]
    )
    mask = np.ones((n, len(FACTORS)), dtype=bool)
    mask[:, FACTORS.index("ties")] = has_ties
    mask[:, FACTORS.index("geography")] = ~np.isnan(geo_a)
    w = np.array([weights.as_dict()[k] for k in FACTORS], dtype=float)
    wm = mask * w
    denom = wm.sum(axis=1)
    scores = np.round(100 * (values * wm).sum(axis=1) / np.where(denom > 0, denom, 1.0), 1)
    ids = np.array([c.id for c, _ in picked])
    by_id = np.argsort(ids, kind="stable")
    order = by_id[np.argsort(-scores[by_id], kind="stable")]

    def build(i: int, score: float, row_values: Any, row_mask: Any) -> Target:
        company, node_id = picked[i]
        gap = gap_by_node[node_id]
        _, s_text = strength_factor(company, weights)
        mine = sorted(ties_by_company.get(company.id, ()), key=lambda t: (t.direction, t.local_id, t.product))
        _, t_text = ties_factor(mine, weights)
        _, g_text = geography_factor(company, district, weights)
        phrases = [
            gap_parts[node_id][1],
            _makes(company),
            s_text,
            demand_parts[node_id][1],
            t_text,
            g_text,
            zone_parts[node_id][1],
        ]
        return Target(
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
            factors={k: round(float(row_values[j]), 4) for j, k in enumerate(FACTORS)},
            reason="；".join(p for p in phrases if p),
            parent_id=gap.parent_id,
            no_data=tuple(k for j, k in enumerate(FACTORS) if not row_mask[j]),
            geo_tier=geography_tier(company, district, weights),
        )

    return Ranking(order, scores, values, mask, picked, build)


def factor_coverage(rankings: Iterable[Sequence[Target]]) -> dict[str, float]:
    """Share of ranked firms that had data for each factor (1.0 for the node-level factors), over
    one or more chains' rankings; a Ranking answers from its mask without building rows."""
    total, counts = 0, dict.fromkeys(FACTORS, 0)
    for rows in rankings:
        if isinstance(rows, Ranking):
            n, c = rows.data_counts()
        else:
            n, c = len(rows), {k: sum(1 for r in rows if k not in r.no_data) for k in FACTORS}
        total += n
        for k in FACTORS:
            counts[k] += c[k]
    if not total:
        return dict.fromkeys(FACTORS, 0.0)
    return {k: round(counts[k] / total, 4) for k in FACTORS}


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
