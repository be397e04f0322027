"""Deterministic synthetic firms (示例数据) and supply ties for demos, tests and benchmarks.

Why synthetic: a bureau's real firm list is confidential, yet gap analysis and target ranking need
a populated graph. The generator builds one with a realistic shape: firms weighted toward the
big industrial provinces, log-normal sizes, qualifications that grow with size. It does not decide
which nodes the district lacks: every node gets a plausible market size (how many firms a segment
of that kind has), local and outside firms are drawn from the same sizes, and 缺链 / 弱链 / 强链 come
out of the draw and the gap thresholds, as they would from a real firm list. Every firm it makes
has `synthetic=True` (shown as 示例数据).

Same arguments -> identical output (each call owns its `random.Random`; nothing global). Firms
are streamed, never held in a list, so a million of them cost seconds and little memory.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Collection, Iterable, Iterator
from dataclasses import MISSING, fields
from functools import cache
from itertools import accumulate

from graph.identity import USCC_CHARS, company_id_for, uscc_check_char  # noqa: F401 (doctest)
from graph.model import Company, Supply

DEFAULT_SEED = 20221028  # the policy's publication date
DEFAULT_LOCAL_SHARE = 0.25
NORTH_THREE_SHARE = 0.05  # share of outside firms registered in 北三县 (partner zones)
SUPPLIES_PER_FIRM = 0.8
RESERVOIR = 512  # firms kept per (node, local?) pool when sampling supply partners
CURRENT_YEAR = 2024

# Relative number of firms in a segment by stage (many suppliers upstream, fewer integrators and
# end users downstream), times a seeded log-normal spread per node (some segments are crowded,
# some niche), times 1.5 for a chain a local zone focuses on (the district's firms cluster there).
STAGE_SIZE = {"上游": 1.2, "中游": 1.0, "下游": 0.7}
SIZE_SPREAD = 0.8  # sigma of the per-node log-normal factor
FOCUS_LOCAL_BOOST = 1.5

# (province, weight, [(city, short name, [(district, admin code), ...]), ...]). Real places and
# GB/T 2260 codes; weights roughly follow where chain firms cluster, tilted to 京津冀.
PLACES = [
    (
        "北京市",
        16,
        [
            (
                "北京市",
                "北京",
                [
                    ("海淀区", "110108"),
                    ("朝阳区", "110105"),
                    ("大兴区", "110115"),
                    ("昌平区", "110114"),
                    ("顺义区", "110113"),
                    ("丰台区", "110106"),
                    ("西城区", "110102"),
                    ("东城区", "110101"),
                ],
            )
        ],
    ),
    (
        "天津市",
        7,
        [
            (
                "天津市",
                "天津",
                [("滨海新区", "120116"), ("西青区", "120111"), ("武清区", "120114"), ("东丽区", "120110")],
            )
        ],
    ),
    (
        "河北省",
        7,
        [
            ("石家庄市", "石家庄", [("长安区", "130102"), ("裕华区", "130108")]),
            ("保定市", "保定", [("竞秀区", "130602")]),
            ("唐山市", "唐山", [("路北区", "130203")]),
            ("沧州市", "沧州", [("运河区", "130903")]),
            ("廊坊市", "廊坊", [("广阳区", "131003"), ("固安县", "131022")]),
        ],
    ),
    (
        "江苏省",
        12,
        [
            ("苏州市", "苏州", [("吴中区", "320506"), ("昆山市", "320583")]),
            ("南京市", "南京", [("江宁区", "320115")]),
            ("无锡市", "无锡", [("新吴区", "320214")]),
            ("常州市", "常州", [("武进区", "320412")]),
        ],
    ),
    (
        "浙江省",
        9,
        [
            ("杭州市", "杭州", [("滨江区", "330108"), ("余杭区", "330110")]),
            ("宁波市", "宁波", [("鄞州区", "330212")]),
            ("嘉兴市", "嘉兴", [("南湖区", "330402")]),
        ],
    ),
    (
        "广东省",
        12,
        [
            ("深圳市", "深圳", [("南山区", "440305"), ("宝安区", "440306"), ("龙岗区", "440307")]),
            ("广州市", "广州", [("黄埔区", "440112"), ("番禺区", "440113")]),
            ("佛山市", "佛山", [("顺德区", "440606")]),
        ],
    ),
    (
        "上海市",
        10,
        [
            (
                "上海市",
                "上海",
                [("浦东新区", "310115"), ("闵行区", "310112"), ("嘉定区", "310114"), ("松江区", "310117")],
            )
        ],
    ),
    (
        "山东省",
        7,
        [
            ("济南市", "济南", [("历下区", "370102")]),
            ("青岛市", "青岛", [("黄岛区", "370211")]),
            ("烟台市", "烟台", [("莱山区", "370613")]),
        ],
    ),
    ("安徽省", 3, [("合肥市", "合肥", [("蜀山区", "340104"), ("包河区", "340111")])]),
    ("湖北省", 3, [("武汉市", "武汉", [("洪山区", "420111")])]),
    ("四川省", 3, [("成都市", "成都", [("武侯区", "510107"), ("双流区", "510116")])]),
    ("陕西省", 2, [("西安市", "西安", [("雁塔区", "610113")])]),
    ("河南省", 2, [("郑州市", "郑州", [("金水区", "410105")])]),
    ("湖南省", 2, [("长沙市", "长沙", [("岳麓区", "430104")])]),
    ("福建省", 2, [("厦门市", "厦门", [("思明区", "350203"), ("集美区", "350211")])]),
    ("辽宁省", 2, [("大连市", "大连", [("甘井子区", "210211")]), ("沈阳市", "沈阳", [("浑南区", "210112")])]),
    ("重庆市", 1, [("重庆市", "重庆", [("渝北区", "500112")])]),
]
# 北三县 (partner districts of 廊坊市), matched to zones.toml by district name.
NORTH_THREE = [
    ("三河市", "三河", "131082"),
    ("香河县", "香河", "131024"),
    ("大厂回族自治县", "大厂", "131028"),
]
ADMIN_CODES = {
    "通州区": "110112",
    **{d: code for _, _, cities in PLACES for _, _, ds in cities for d, code in ds},
    **{d: code for d, _, code in NORTH_THREE},
}

# Firm-name parts: 字号 from two or three characters (never repeated within one run), and a
# generic industry word for chains whose file gives no `firm_words`.
_FIRST = "".join(
    dict.fromkeys(
        "华瑞恒博信达泰宏中安嘉润鑫盛天兴正和康力通远锐明光辰奥凯海方元成诚德创金隆新科"
        "晟昊启航领拓睿智精卓越腾聚祥丰汇利恩弘昌永泽鼎维佳宇峰星云蓝银益同鸿普"
    )
)
_SECOND = "".join(
    dict.fromkeys(
        "源德昌科盛泰通达恒远华信瑞康隆丰祥和利新安宏博创业成辉腾基航凯峰迈捷嘉诺威力明视芯微联众图锦森"
    )
)
_THIRD = "".join(dict.fromkeys("达盛源通泰兴科瑞诚昌恒德宏力安康华信"))
GENERIC_WORDS = ("科技", "技术", "实业", "智能科技")
_W16 = pow(3, 16, 31)
TECH_SCOPE = ("技术开发、技术咨询、技术服务、技术转让", "技术开发、技术推广", "工程和技术研究和试验发展")


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _org_code(body: str) -> str:
    """GB 11714 organisation code: 8 digits plus check character."""
    total = sum(int(ch) * w for ch, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=False))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


@cache
def _uscc_tables() -> tuple[list[int], list[int], list[int], list[int]]:
    """Weighted-sum contributions of each 4-digit half of an org-code body (GB 11714, GB 32100)."""
    org_w, uscc_w = (3, 7, 9, 10, 5, 8, 4, 2), [pow(3, i, 31) for i in range(17)]
    halves = [f"{i:04d}" for i in range(10_000)]
    org_hi = [sum(int(c) * w for c, w in zip(h, org_w[:4], strict=False)) for h in halves]
    org_lo = [sum(int(c) * w for c, w in zip(h, org_w[4:], strict=False)) for h in halves]
    uscc_hi = [sum(int(c) * w for c, w in zip(h, uscc_w[8:12], strict=False)) for h in halves]
    uscc_lo = [sum(int(c) * w for c, w in zip(h, uscc_w[12:16], strict=False)) for h in halves]
    return org_hi, org_lo, uscc_hi, uscc_lo


@cache
def _prefix_sum(admin_code: str) -> int:
    return sum(USCC_CHARS.index(c) * pow(3, i, 31) for i, c in enumerate("91" + admin_code))


def make_uscc(admin_code: str, body: int) -> str:
    """A valid 统一社会信用代码 for an enterprise ("91") in `admin_code` with org-code body `body`.

    Same result as building the org code and calling graph.identity.uscc_check_char, by table
    lookups, because a million firms must stay fast.

    >>> make_uscc("110112", 12345678) == "91110112" + _org_code("12345678") + uscc_check_char(
    ...     "91110112" + _org_code("12345678"))
    True
    """
    org_hi, org_lo, uscc_hi, uscc_lo = _uscc_tables()
    hi, lo = divmod(body, 10_000)
    check = 11 - (org_hi[hi] + org_lo[lo]) % 11
    org_check = "X" if check == 10 else "0" if check == 11 else str(check)
    total = _prefix_sum(admin_code) + uscc_hi[hi] + uscc_lo[lo] + USCC_CHARS.index(org_check) * _W16
    return f"91{admin_code}{body:08d}{org_check}{USCC_CHARS[(31 - total % 31) % 31]}"


class _Plan:
    """Per-run precomputation: chain weights, node tiers (strong/weak/missing), neighbours, places."""

    def __init__(self, structure, seed: int, favoured: Collection[str] = ()):
        self.structure = structure
        rng = random.Random(f"{seed}:plan")
        sector_of = {c.id: c.sector_id for c in structure.chains}
        self.chains = [c.id for c in structure.chains]
        self.nodes = {cid: structure.chain_nodes(cid) for cid in self.chains}
        self.chain_cum = list(accumulate(len(self.nodes[c]) for c in self.chains))
        neighbours: dict[str, set[str]] = {n.id: set() for n in structure.nodes}
        for f in structure.flows:
            neighbours[f.source_id].add(f.target_id)
            neighbours[f.target_id].add(f.source_id)
        for n in structure.nodes:
            if n.parent_id:
                neighbours[n.id].add(n.parent_id)
                neighbours[n.parent_id].add(n.id)
        self.neighbours = {k: sorted(v) for k, v in neighbours.items()}

        # Grouping nodes (those with children) hold few firms of their own: most sit on a child.
        groups = {n.parent_id for n in structure.nodes if n.parent_id}
        self.size = {
            n.id: STAGE_SIZE[n.stage]
            * math.exp(rng.gauss(0.0, SIZE_SPREAD))
            * (0.2 if n.id in groups else 1.0)
            for n in structure.nodes
        }
        self.node_cum = {
            cid: list(accumulate(self.size[n.id] for n in self.nodes[cid])) for cid in self.chains
        }
        focused = {ref.split(".", 1)[0] for z in structure.zones if z.is_local for ref in z.focus_chains} | {
            c.id
            for c in structure.chains
            for z in structure.zones
            if z.is_local and c.sector_id in z.focus_sectors
        }
        boost = {cid: FOCUS_LOCAL_BOOST if cid in focused else 1.0 for cid in self.chains}
        # Normalised so the overall local share stays what the caller asked for.
        mean = sum(boost[c] * len(self.nodes[c]) for c in self.chains) / max(1, len(structure.nodes))
        self.local_boost = {cid: b / mean for cid, b in boost.items()}

        local_zones = [z for z in structure.zones if z.is_local]
        self.zone_choices: dict[str, tuple[list[str], list[float]]] = {}
        for cid in self.chains:
            ids = [z.id for z in local_zones]
            weights = [
                1.0
                if cid in {r.split(".", 1)[0] for r in z.focus_chains} or sector_of[cid] in z.focus_sectors
                else 0.12
                for z in local_zones
            ]
            self.zone_choices[cid] = (ids, list(accumulate(weights)))
        self.partner_zone = {
            z.district: z.id for z in structure.zones if not z.is_local and z.kind == "北三县"
        }

        places = []  # (weight, province, city, short, district, code)
        for province, weight, cities in PLACES:
            if province == structure.home.province:
                cities = [(c, s, [d for d in ds if d[0] != structure.home.district]) for c, s, ds in cities]
            flat = [(province, c, s, d, code) for c, s, ds in cities for d, code in ds]
            places += [(weight * (1 - NORTH_THREE_SHARE) / len(flat),) + p for p in flat]
        for district, short, code in NORTH_THREE:
            share = 100 * NORTH_THREE_SHARE / (1 - NORTH_THREE_SHARE) / len(NORTH_THREE)
            places.append((share, "河北省", "廊坊市", short, district, code))
        self.places = [p[1:] for p in places]
        self.place_cum = list(accumulate(p[0] for p in places))
        home = structure.home
        self.home_place = (
            home.province,
            home.city,
            home.city.removesuffix("市"),
            home.district,
            ADMIN_CODES.get(home.district, "110000"),
        )


@cache
def _company_defaults() -> dict | None:
    """Field defaults of Company, or None when it validates in __post_init__ (then use __init__)."""
    if hasattr(Company, "__post_init__"):
        return None
    defaults = {}
    for f in fields(Company):
        if f.default is not MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not MISSING:
            return None  # a mutable default would be shared: keep the real __init__
    return defaults


def _new_company(**values) -> Company:
    """Company(**values) without the frozen-dataclass __init__, which costs ~15 µs per call here
    (most of a firm's budget at a million firms). Equal to the normal object in every way."""
    defaults = _company_defaults()
    if defaults is None:
        return Company(**values)
    company = object.__new__(Company)
    company.__dict__.update(defaults, **values)
    return company


def _pick(rand, items, cum):
    """A weighted choice given cumulative weights (cheaper than Random.choices for one item)."""
    return items[bisect(cum, rand() * cum[-1])]


def _firm_name_key(index: int, seed: int) -> str:
    """A 字号 unique for every index of one run: 2 characters first, then 3, then 4 (bijective
    scrambles), so even a million firms get distinct names and import without renaming."""
    n1, n2, n3 = len(_FIRST), len(_SECOND), len(_THIRD)
    two = n1 * n2
    if index < two:
        k = (index * 7919 + seed) % two
        return _FIRST[k // n2] + _SECOND[k % n2]
    space = two * n3
    if index < two + space:
        k = ((index - two) * 104729 + seed) % space
        return _FIRST[k // (n2 * n3)] + _SECOND[(k // n3) % n2] + _THIRD[k % n3]
    four = space * n2
    k = ((index - two - space) * 1299709 + seed) % four
    return (
        _FIRST[k // (n2 * n3 * n2)]
        + _SECOND[(k // (n3 * n2)) % n2]
        + _THIRD[(k // n2) % n3]
        + _SECOND[k % n2]
    )


def generate_companies(
    structure,
    n: int,
    seed: int = DEFAULT_SEED,
    local_share: float = DEFAULT_LOCAL_SHARE,
    favoured: Collection[str] = (),
) -> Iterator[Company]:
    """Yield `n` synthetic firms, each on 1-3 neighbouring nodes of one chain.

    Local and outside firms are drawn from the same per-node sizes; whether a node ends up 缺链, 弱链
    or 强链 is the outcome, not a plan. `favoured` is accepted for compatibility and ignored (real
    anchor firms are not given synthetic neighbours).

    >>> from seed.loader import load_structure
    >>> firms = list(generate_companies(load_structure(), 3, seed=1))
    >>> [f.synthetic for f in firms]
    [True, True, True]
    """
    if n < 0:
        raise ValueError("企业数量不能为负数")
    if not structure.chains:
        return
    plan = _Plan(structure, seed, set(favoured))
    rng = random.Random(seed)
    words = structure.firm_words
    node_by_id = structure.node_by_id
    sector_of = {c.id: c.sector_id for c in structure.chains}
    # Revenue (万元) is log-normal: median 3,000万 with a long tail. Local firms are the bureau's
    # known, mostly above-scale (规上) firms, so their median is higher.
    mu, sigma, mu_local = math.log(3000.0), 1.6, math.log(6000.0)
    rand, gauss = rng.random, rng.gauss
    body_mul, body_add = 3_467_389, (seed * 7_654_321) % 100_000_000  # bijection on 8 digits

    for index in range(n):
        chain_id = _pick(rand, plan.chains, plan.chain_cum)
        is_local = rand() < min(0.9, local_share * plan.local_boost[chain_id])
        # -- nodes
        primary = _pick(rand, plan.nodes[chain_id], plan.node_cum[chain_id]).id
        node_ids = [primary]
        extra = rand()
        extra = 0 if extra < 0.55 else 1 if extra < 0.85 else 2
        if extra:
            options = [o for o in plan.neighbours[primary] if node_by_id[o].chain_id == chain_id]
            if options:
                start = int(rand() * len(options))
                node_ids += [options[(start + j) % len(options)] for j in range(min(extra, len(options)))]
        # -- place
        if is_local:
            province, city, short, district, code = plan.home_place
            if rand() < 0.9:
                zone_ids, zone_cum = plan.zone_choices[chain_id]
                zone_id = _pick(rand, zone_ids, zone_cum) if zone_ids else None
            else:
                zone_id = None
        else:
            province, city, short, district, code = _pick(rand, plan.places, plan.place_cum)
            zone_id = plan.partner_zone.get(district)
        # -- size and standing
        log_rev = gauss(mu_local if is_local else mu, sigma)
        revenue = round(min(max(math.exp(log_rev), 30.0), 30_000_000.0), 1)
        z = (log_rev - mu) / sigma
        capital = math.exp(log_rev + gauss(-1.0, 0.8))
        capital = float(round(capital, -1) if capital >= 100 else max(10, round(capital)))
        employees = max(3, int(revenue / math.exp(gauss(4.1, 0.5))))
        founded = max(1985, min(CURRENT_YEAR, CURRENT_YEAR - int(rng.expovariate(1 / 8) + max(0.0, z) * 4)))
        quals = []
        if rand() < _logistic(-0.5 + 0.9 * z):
            quals.append("高新技术企业")
        if rand() < _logistic(-2.2 + 0.8 * z):
            quals.append("专精特新")
            if rand() < _logistic(-2.0 + 0.8 * z):
                quals.append("小巨人")
        if rand() < _logistic(-6.5 + 1.4 * z):
            quals.append("单项冠军")
        listed = rand() < _logistic(-4.8 + 1.4 * z)
        if listed:
            quals.append("上市")
        if rand() < _logistic(-8.0 + 1.7 * z):
            quals.append("链主")
        rd_base = 1.8 if sector_of[chain_id] in ("medical", "electronics", "crossover") else 1.2
        rd_ratio = round(min(35.0, math.exp(gauss(rd_base, 0.6))), 1)
        # -- identity
        chain_words = words.get(chain_id) or GENERIC_WORDS
        word = chain_words[int(rand() * len(chain_words))]
        form = (
            "股份有限公司"
            if listed or (z > 1 and rand() < 0.4)
            else ("有限责任公司" if rand() < 0.12 else "有限公司")
        )
        name = f"{short}{_firm_name_key(index, seed)}{word}{form}"
        uscc = make_uscc(code, (index * body_mul + body_add) % 100_000_000)
        # -- products and scope from the nodes' keywords
        primary_node = node_by_id[primary]
        kws = primary_node.keywords or (primary_node.name,)
        k = min(len(kws), (1, 2, 2, 3)[int(rand() * 4)])
        start = int(rand() * len(kws))
        products = [kws[(start + j) % len(kws)] for j in range(k)]
        for nid in node_ids[1:]:
            other = node_by_id[nid]
            products.append(
                other.keywords[int(rand() * len(other.keywords))] if other.keywords else other.name
            )
        products = list(dict.fromkeys(products))
        scope = f"{TECH_SCOPE[int(rand() * len(TECH_SCOPE))]}；{'、'.join(products)}的研发、生产、销售；货物进出口。"
        yield _new_company(
            id=company_id_for(name, uscc),
            name=name,
            uscc=uscc,
            province=province,
            city=city,
            district=district,
            is_local=is_local,
            zone_id=zone_id,
            revenue=revenue,
            registered_capital=capital,
            employees=employees,
            founded=founded,
            qualifications=tuple(quals),
            products="、".join(products),
            scope=scope,
            rd_ratio=rd_ratio,
            synthetic=True,
            node_ids=tuple(node_ids),
        )


class SupplySampler:
    """Collects supply partners while firms stream past, then draws SUPPLIES along FEEDS edges.

    Keeps at most RESERVOIR firm ids per (node, local?) pool (reservoir sampling), so memory stays
    bounded at any firm count. The number of ties per edge depends only on the firm count and the
    structure, so a caller knows the total (for progress) before drawing them.
    """

    def __init__(self, structure, seed: int = DEFAULT_SEED, per_firm: float = SUPPLIES_PER_FIRM):
        self.structure = structure
        self.seed = seed
        self.per_firm = per_firm
        self._rng = random.Random(f"{seed}:reservoir")
        self._pools: dict[tuple[str, bool], list[str]] = {}
        self._seen: dict[tuple[str, bool], int] = {}
        self.firms = 0

    def add(self, company: Company) -> None:
        self.firms += 1
        for nid in company.node_ids:
            key = (nid, company.is_local)
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
            pool = self._pools.setdefault(key, [])
            if seen < RESERVOIR:
                pool.append(company.id)
            else:
                j = self._rng.randrange(seen + 1)
                if j < RESERVOIR:
                    pool[j] = company.id

    def _per_edge(self, n_firms: int) -> dict[tuple[str, str], int]:
        s = self.structure
        total_nodes = len(s.nodes) or 1
        counts = {}
        for chain in s.chains:
            flows = s.chain_flows(chain.id)
            if not flows:
                continue
            chain_firms = n_firms * len(s.chain_nodes(chain.id)) / total_nodes
            per_edge = round(self.per_firm * chain_firms / len(flows))
            for f in flows:
                counts[(f.source_id, f.target_id)] = per_edge
        return counts

    def planned_total(self, n_firms: int) -> int:
        return sum(self._per_edge(n_firms).values())

    def supplies(self) -> Iterator[Supply]:
        """Draw the ties: outside firms supplying to and buying from local firms (以商招商) are common."""
        rng = random.Random(f"{self.seed}:supplies")
        node_by_id = self.structure.node_by_id
        current, seen = None, set()
        for (src, dst), wanted in sorted(self._per_edge(self.firms).items()):
            if src != current:  # edges come grouped by source: only its keys can repeat
                current, seen = src, set()
            pools = {
                k: self._pools.get(k, []) for k in ((src, True), (src, False), (dst, True), (dst, False))
            }
            if not (pools[(src, True)] or pools[(src, False)]) or not (
                pools[(dst, True)] or pools[(dst, False)]
            ):
                continue
            products = node_by_id[src].keywords or (node_by_id[src].name,)
            got = tries = 0
            while got < wanted and tries < wanted * 4:
                tries += 1
                r = rng.random()
                # outside -> local 35%, local -> outside 25%, local -> local 15%, outside -> outside 25%
                sup_local, buy_local = (
                    (False, True)
                    if r < 0.35
                    else (True, False)
                    if r < 0.60
                    else (True, True)
                    if r < 0.75
                    else (False, False)
                )
                sup_pool = pools[(src, sup_local)] or pools[(src, not sup_local)]
                buy_pool = pools[(dst, buy_local)] or pools[(dst, not buy_local)]
                supplier, buyer = rng.choice(sup_pool), rng.choice(buy_pool)
                product = rng.choice(products)
                key = (supplier, buyer, product)
                if supplier == buyer or key in seen:
                    continue
                seen.add(key)
                got += 1
                yield Supply(
                    supplier_id=supplier,
                    buyer_id=buyer,
                    product=product,
                    amount=round(math.exp(rng.gauss(math.log(300.0), 1.2)), 1),
                )


def generate_supplies(companies: Iterable[Company], structure, seed: int = DEFAULT_SEED) -> Iterator[Supply]:
    """SUPPLIES edges among `companies` along the structure's FEEDS edges (one pass over them)."""
    sampler = SupplySampler(structure, seed)
    for company in companies:
        sampler.add(company)
    yield from sampler.supplies()
