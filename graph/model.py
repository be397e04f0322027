"""Plain data for the chain graph. No I/O here: stores, importers and analysis all speak these types.

Neo4j terms, mirrored by the embedded store:
(:Sector)<-[:IN_SECTOR]-(:Chain)<-[:IN_CHAIN]-(:ChainNode)-[:PART_OF]->(:ChainNode),
(:ChainNode)-[:FEEDS]->(:ChainNode), (:Company)-[:OPERATES_IN]->(:ChainNode),
(:Company)-[:SUPPLIES {product, amount}]->(:Company), (:Company)-[:LOCATED_IN]->(:Zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STAGES = ("上游", "中游", "下游")
QUALIFICATIONS = ("专精特新", "小巨人", "单项冠军", "上市", "高新技术企业", "链主")
SECTOR_KINDS = ("战略引擎", "支柱产业", "前沿新兴", "服务支撑")
# Per-node overrides of graph.gaps.GapThresholds, as ChainNode fields of the same names.
THRESHOLD_FIELDS = ("weak_firms_below", "weak_output_below", "weak_without_qualified")
# Status of a chain node for the district.
MISSING, WEAK, STRONG = "缺链", "弱链", "强链"
# A grouping node (it has PART_OF children): it shows its children's figures rolled up and is never
# itself a gap or a target node.
GROUP = "分组"


@dataclass(frozen=True)
class Sector:
    id: str
    name: str
    kind: str = "支柱产业"
    description: str = ""


@dataclass(frozen=True)
class Chain:
    id: str
    name: str
    sector_id: str
    description: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainNode:
    id: str
    chain_id: str
    name: str
    stage: str  # one of STAGES
    importance: int = 3  # 1 (peripheral) .. 5 (core)
    keywords: tuple[str, ...] = ()
    parent_id: str | None = None  # PART_OF hierarchy
    description: str = ""
    # Chain files v2 (seed/README.md). Placement reads the words and codes; analysis reads the
    # policy phrase and the per-node thresholds.
    negative_keywords: tuple[str, ...] = ()  # a firm whose text has one of these is not placed here
    industry_codes: tuple[str, ...] = ()  # GB/T 4754-2017 classes (4 digits) or groups (3 digits)
    policy: str = ""  # the policy's own phrase naming this segment, quoted verbatim; "" if not named
    sources: tuple[str, ...] = ()  # where this node's content comes from, beyond the chain's sources
    segment: str = ""  # id of the shared segment (seed/segments.toml) this node instantiates
    tags: tuple[str, ...] = ()  # attributes of the segment's products, e.g. "Ⅲ类注册证"
    # Status thresholds where the [gaps] defaults do not fit this node (None: the default applies).
    weak_firms_below: int | None = None
    weak_output_below: float | None = None
    weak_without_qualified: bool | None = None

    def threshold_overrides(self) -> dict[str, int | float | bool]:
        """The node's own thresholds, named like graph.gaps.GapThresholds fields (for `replace`)."""
        return {name: value for name in THRESHOLD_FIELDS if (value := getattr(self, name)) is not None}


@dataclass(frozen=True)
class Flow:
    """Upstream -> downstream: `source_id` FEEDS `target_id`."""

    source_id: str
    target_id: str


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    kind: str  # 一极 / 服务型智造基地 / 产业城镇 / 北三县
    district: str = ""
    focus_sectors: tuple[str, ...] = ()  # sector ids
    focus: tuple[str, ...] = ()  # free-text focus fields from the policy
    focus_chains: tuple[str, ...] = ()  # chain ids, or node ids for a narrower focus (from the policy)
    is_local: bool = True  # inside the district (北三县 zones are partners, not local)
    description: str = ""


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    uscc: str | None = None  # 统一社会信用代码, validated on import
    province: str = ""
    city: str = ""
    district: str = ""
    is_local: bool = False
    zone_id: str | None = None
    revenue: float | None = None  # 营业收入, 万元
    registered_capital: float | None = None  # 注册资本, 万元
    employees: int | None = None
    founded: int | None = None
    qualifications: tuple[str, ...] = ()
    products: str = ""  # 主营产品
    scope: str = ""  # 经营范围
    rd_ratio: float | None = None  # 研发投入占营收比, %
    synthetic: bool = False  # 示例数据: generated, not a real firm
    node_ids: tuple[str, ...] = ()  # OPERATES_IN: confirmed and confident links only
    # Registry fields as exports carry them (issue 10). `active` is False for 注销/吊销/迁出...: such
    # firms are kept as history and count nowhere (gap analysis, targets, the directory's default).
    status: str = ""  # 登记状态 as written
    active: bool = True
    local_reason: str = ""  # why is_local holds: 区县, 信用代码登记机关, 园区 or 文件
    legal_rep: str = ""  # 法定代表人
    company_type: str = ""  # 企业类型
    industry_code: str = ""  # GB/T 4754-2017 class or group
    industry: str = ""  # 行业 name as written
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    insured: int | None = None  # 参保人数
    paid_capital: float | None = None  # 实缴资本, 万元
    capital_text: str = ""  # 注册资本 as written when it was converted ("3000万美元")
    founded_date: str = ""  # ISO date when the file gave one
    former_names: tuple[str, ...] = ()  # 曾用名 (matching also tries them)
    tags: tuple[str, ...] = ()  # designations not in QUALIFICATIONS, kept as written
    pending: bool = False  # 待确认: no confident placement yet; candidates are in `placements`
    placements: tuple[str, ...] = ()  # Placement.encode() per link or candidate
    # Pinyin initials of the name for directory search ("bjkh"), variants space-separated: derived
    # from `name` by the store when the firm is written (graph/pinyin.py), so never compared.
    initials: str = field(default="", compare=False)

    @property
    def display_name(self) -> str:
        """Name as every output must show it: synthetic firms are always marked."""
        return f"{self.name}（示例数据）" if self.synthetic else self.name

    def placement_list(self) -> list[Placement]:
        return [Placement.decode(text) for text in self.placements]


# Where a company -> node link comes from.
EXPLICIT, KEYWORD, INDUSTRY_CODE, CONFIRMED, CANDIDATE = (
    "explicit",
    "keyword",
    "industry_code",
    "confirmed",
    "candidate",
)
PLACEMENT_SOURCES = (EXPLICIT, KEYWORD, INDUSTRY_CODE, CONFIRMED, CANDIDATE)


@dataclass(frozen=True)
class Placement:
    """One company -> node link (or a 待确认 candidate) with its evidence.

    Stored on the firm as one string per link so that both backends keep it as a plain list
    property (Neo4j has no list-of-maps property).

    >>> p = Placement("ic.wafer", KEYWORD, 0.82, ("硅片", "外延片"))
    >>> Placement.decode(p.encode()) == p
    True
    """

    node_id: str
    source: str  # one of PLACEMENT_SOURCES
    confidence: float
    evidence: tuple[str, ...] = ()  # the words or code that matched

    def encode(self) -> str:
        return "\t".join((self.node_id, self.source, f"{self.confidence:.2f}", "|".join(self.evidence)))

    @classmethod
    def decode(cls, text: str) -> Placement:
        node_id, source, confidence, evidence = (text.split("\t") + ["", "", "0", ""])[:4]
        return cls(node_id, source, float(confidence or 0), tuple(w for w in evidence.split("|") if w))


@dataclass(frozen=True)
class Supply:
    supplier_id: str
    buyer_id: str
    product: str = ""
    amount: float | None = None  # 年交易额, 万元


@dataclass(frozen=True)
class CompanyAlias:
    """A firm merged away (GraphStore.merge_companies): its old id, credit code and normalised name
    still lead to the kept firm `company_id`."""

    id: str
    company_id: str
    uscc: str | None = None
    norm_name: str = ""


@dataclass(frozen=True)
class NodeStats:
    """Aggregates a store computes per chain node (pushed into the database where there is one)."""

    node_id: str
    local_firms: int = 0
    local_output: float = 0.0  # sum of local firms' revenue, 万元
    qualified_firms: int = 0  # local firms holding any configured qualification
    outside_firms: int = 0


@dataclass(frozen=True)
class Tie:
    """A supply relation between an outside firm and a local one, seen from the outside firm."""

    company_id: str
    local_id: str
    local_name: str
    direction: str  # "supplies" (outside -> local) or "buys" (local -> outside)
    product: str = ""
    amount: float | None = None
    local_qualifications: tuple[str, ...] = field(default=())
