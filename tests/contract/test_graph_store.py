"""The GraphStore contract: every backend in backends.BACKENDS must pass every test here.

Small literal data: one sector, two chains, a little hierarchy and flow, local and outside firms
(names with rare characters 䶮 𠮷 that gbk would lose), and supply ties in both directions.
"""

from __future__ import annotations

import dataclasses

import pytest

from graph.errors import InvalidInput, NotFound
from graph.identity import normalize_name
from graph.model import Chain, ChainNode, Company, Flow, NodeStats, Sector, Supply, Tie, Zone
from graph.store import GraphStoreError, InvalidGraphData, UnknownReference

QUALIFIED = ("专精特新", "小巨人", "单项冠军", "上市", "高新技术企业", "链主")

SECTORS = [Sector("med", "医药健康", "战略引擎", "通州战略引擎"), Sector("ev", "新能源智能汽车")]
CHAINS = [
    Chain("med-dev", "高端医疗器械", "med", "人工关节等", ("policy/000",)),
    Chain("ev-drive", "分动器与扭矩管理", "ev"),
]
NODES = [
    ChainNode("md-1", "med-dev", "医用材料", "上游", 4, ("钛合金", "高分子")),
    ChainNode("md-1a", "med-dev", "钛合金粉末", "上游", 3, parent_id="md-1"),
    ChainNode("md-2", "med-dev", "关节假体制造", "中游", 5, ("人工关节",)),
    ChainNode("md-3", "med-dev", "临床服务", "下游", 2),
    ChainNode("ev-1", "ev-drive", "电磁式智能扭矩管理器", "中游", 5),
]
FLOWS = [Flow("md-1", "md-2"), Flow("md-2", "md-3"), Flow("md-1a", "md-2")]
ZONES = [
    Zone("huoxian", "漷县镇", "产业城镇", "通州区", ("med",), ("医药健康", "高端医疗器械")),
    Zone("sanhe", "三河市", "北三县", "三河市", (), ("新能源汽车",), is_local=False),
]
LOCAL_A = Company(
    "L-a",
    "北京春立正达医疗器械股份有限公司",
    "91350100M000100Y43",
    "北京市",
    "北京市",
    "通州区",
    True,
    "huoxian",
    120000.0,
    5000.0,
    800,
    1998,
    ("专精特新", "上市"),
    "人工关节",
    node_ids=("md-2",),
)
LOCAL_B = Company(
    "L-b",
    "北京䶮材科技有限公司",
    None,
    "北京市",
    "北京市",
    "通州区",
    True,
    "huoxian",
    3000.5,
    qualifications=("高新技术企业",),
    synthetic=True,
    node_ids=("md-1", "md-1a"),
)
LOCAL_C = Company(
    "L-c", "通州𠮷康服务有限公司", is_local=True, revenue=None, synthetic=True, node_ids=("md-3",)
)
OUT_X = Company(
    "O-x",
    "天津𠮷利精密有限公司",
    "914403001922038216",
    "天津市",
    "天津市",
    "西青区",
    False,
    None,
    80000.0,
    qualifications=("小巨人",),
    synthetic=True,
    node_ids=("md-1", "md-2"),
)
OUT_Y = Company(
    "O-y",
    "三河扭矩科技有限公司",
    None,
    "河北省",
    "廊坊市",
    "三河市",
    False,
    "sanhe",
    15000.0,
    synthetic=True,
    node_ids=("ev-1",),
)
COMPANIES = [LOCAL_A, LOCAL_B, LOCAL_C, OUT_X, OUT_Y]
SUPPLIES = [
    Supply("O-x", "L-a", "钛合金棒材", 2500.0),  # outside supplies local
    Supply("O-x", "L-a", "钛合金粉末", 300.0),  # second product, same pair
    Supply("L-b", "O-x", "高分子材料", None),  # local supplies outside: O-x buys
    Supply("O-x", "O-y", "精密件", 10.0),  # outside to outside: no tie
]


def is_chinese(text: str) -> bool:
    """Error messages are for users: they must be Chinese sentences."""
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= 4


def replace(company: Company, **changes) -> Company:
    from dataclasses import replace as dc_replace

    return dc_replace(company, **changes)


@pytest.fixture
def full(store):
    """The store filled with every literal above."""
    store.upsert_sectors(SECTORS)
    store.upsert_chains(CHAINS)
    store.upsert_nodes(NODES)
    store.upsert_flows(FLOWS)
    store.upsert_zones(ZONES)
    assert store.upsert_companies(COMPANIES) == len(COMPANIES)
    assert store.upsert_supplies(SUPPLIES) == len(SUPPLIES)
    return store


# ---- structure ------------------------------------------------------------------------------
def test_empty_store_reads_empty(store):
    assert store.sectors() == [] and store.chains() == [] and store.nodes() == []
    assert store.flows() == [] and store.zones() == []
    assert store.company("L-a") is None and store.companies(["L-a"]) == []
    assert store.company_count() == 0
    assert store.node_stats(QUALIFIED) == {}
    assert store.match_companies(["91350100M000100Y43"], ["甲"]) == {}
    assert store.supplies_of("L-a") == [] and store.local_ties(["O-x"]) == []


def test_structure_round_trip_sorted(full):
    assert full.sectors() == sorted(SECTORS, key=lambda s: s.id)
    assert full.chains() == sorted(CHAINS, key=lambda c: c.id)
    assert full.chains("med") == [CHAINS[0]]
    assert full.chains("nope") == []
    assert full.chain("med-dev") == CHAINS[0]
    assert full.chain("nope") is None
    assert full.nodes() == sorted(NODES, key=lambda n: n.id)
    assert [n.id for n in full.nodes("med-dev")] == ["md-1", "md-1a", "md-2", "md-3"]
    assert full.zones() == sorted(ZONES, key=lambda z: z.id)
    assert full.flows() == sorted(FLOWS, key=lambda f: (f.source_id, f.target_id))
    assert full.flows("ev-drive") == []
    assert full.flows("med-dev") == full.flows()


def test_structure_upserts_are_idempotent_and_replace(full):
    full.upsert_sectors(SECTORS)
    full.upsert_chains(CHAINS)
    full.upsert_nodes(NODES)
    full.upsert_flows(FLOWS + FLOWS)
    full.upsert_zones(ZONES)
    assert len(full.sectors()) == 2 and len(full.chains()) == 2 and len(full.nodes()) == 5
    assert len(full.flows()) == 3 and len(full.zones()) == 2

    renamed = replace(NODES[1], name="钛合金粉末（3D打印）", parent_id=None, importance=5)
    full.upsert_nodes([renamed])
    assert [n for n in full.nodes() if n.id == "md-1a"] == [renamed]
    moved = replace(CHAINS[1], sector_id="med", sources=("a", "b"))
    full.upsert_chains([moved])
    assert full.chains("med") == [moved, CHAINS[0]] and full.chains("ev") == []
    full.upsert_zones([replace(ZONES[0], focus=("合成生物",))])
    assert full.zones()[0].focus == ("合成生物",)


def test_chain_file_v2_fields_round_trip(full):
    """Every field chain files v2 add (issue 12) survives a write and a read on every backend."""
    rich = replace(
        NODES[2],
        negative_keywords=("宠物", "兽用"),
        industry_codes=("3584", "358"),
        policy="进口替代高值耗材",
        sources=("《城市副中心先进制造业三年行动计划》二（一）",),
        segment="joint_implant",
        tags=("Ⅲ类注册证",),
        weak_firms_below=2,
        weak_output_below=20000.0,
        weak_without_qualified=False,
    )
    zone = replace(ZONES[0], focus_chains=("med-dev", "md-2"))
    full.upsert_nodes([rich])
    full.upsert_zones([zone])
    assert [n for n in full.nodes() if n.id == "md-2"] == [rich]
    assert rich.threshold_overrides() == {
        "weak_firms_below": 2,
        "weak_output_below": 20000.0,
        "weak_without_qualified": False,
    }
    assert [z for z in full.zones() if z.id == "huoxian"] == [zone]
    # Back to defaults: nothing of the old values is left behind.
    full.upsert_nodes([NODES[2]])
    assert [n for n in full.nodes() if n.id == "md-2"] == [NODES[2]]
    assert NODES[2].threshold_overrides() == {}


def test_flows_may_cross_chains(full):
    """A flow from one chain's node into another chain's (功率器件 -> 电驱) is listed with its source's chain."""
    full.upsert_flows([Flow("md-2", "ev-1")])
    assert Flow("md-2", "ev-1") in full.flows("med-dev")
    assert full.flows("ev-drive") == []


def test_node_moved_to_another_chain(full):
    full.upsert_nodes([replace(NODES[3], chain_id="ev-drive")])  # md-3 临床服务 -> ev-drive
    assert [n.id for n in full.nodes("med-dev")] == ["md-1", "md-1a", "md-2"]
    assert [n.id for n in full.nodes("ev-drive")] == ["ev-1", "md-3"]
    assert list(full.node_stats(QUALIFIED, "med-dev")) == ["md-1", "md-1a", "md-2"]
    assert full.node_stats(QUALIFIED, "ev-drive")["md-3"].local_firms == 1
    assert [(f.source_id, f.target_id) for f in full.flows("med-dev")] == [
        ("md-1", "md-2"),
        ("md-1a", "md-2"),
        ("md-2", "md-3"),
    ]
    assert full.flows("ev-drive") == []


def test_node_parent_may_come_in_same_batch(store):
    store.upsert_sectors(SECTORS)
    store.upsert_chains(CHAINS)
    store.upsert_nodes([NODES[1], NODES[0]])  # child before parent
    assert [n.parent_id for n in store.nodes()] == [None, "md-1"]


def test_structure_validation_writes_nothing(store):
    store.upsert_sectors(SECTORS)
    with pytest.raises(UnknownReference):
        store.upsert_chains([CHAINS[0], Chain("bad", "坏链", "no-such-sector")])
    assert store.chains() == []
    store.upsert_chains(CHAINS)
    with pytest.raises(UnknownReference):
        store.upsert_nodes([NODES[0], ChainNode("bad", "no-such-chain", "坏", "上游")])
    with pytest.raises(UnknownReference):
        store.upsert_nodes([NODES[0], ChainNode("bad", "med-dev", "坏", "上游", parent_id="ghost")])
    assert store.nodes() == []
    store.upsert_nodes(NODES)
    with pytest.raises(UnknownReference):
        store.upsert_flows([Flow("md-1", "md-2"), Flow("md-2", "ghost")])
    assert store.flows() == []


# ---- companies ------------------------------------------------------------------------------
def test_companies_round_trip(full):
    assert full.company("L-b") == LOCAL_B
    assert full.company("L-b").name == "北京䶮材科技有限公司"
    assert full.company("O-x").name == "天津𠮷利精密有限公司"
    assert full.companies(["O-y", "L-a", "ghost", "L-a"]) == [LOCAL_A, OUT_Y]
    assert full.company_count() == 5
    assert full.company_count(local=True) == 3
    assert full.company_count(local=False) == 2


def test_company_node_ids_are_sorted_and_unique(store, full):
    full.upsert_companies([replace(LOCAL_B, node_ids=("md-1a", "md-1", "md-1a"))])
    assert full.company("L-b").node_ids == ("md-1", "md-1a")


def test_company_upsert_is_idempotent(full):
    assert full.upsert_companies(COMPANIES) == 5
    assert full.company_count() == 5
    assert [c.id for c in full.companies_on_nodes(["md-2"])] == ["L-a", "O-x"]


def test_last_duplicate_in_batch_wins(full):
    full.upsert_companies([replace(OUT_Y, name="第一"), replace(OUT_Y, name="第二")])
    assert full.company("O-y").name == "第二"


def test_replacing_company_replaces_links_and_zone(full):
    moved = replace(LOCAL_A, node_ids=("md-3",), zone_id=None, name="春立正达新名")
    full.upsert_companies([moved])
    assert full.company("L-a") == moved
    assert "L-a" not in [c.id for c in full.companies_on_nodes(["md-2"])]
    assert "L-a" in [c.id for c in full.companies_on_nodes(["md-3"])]
    full.upsert_companies([replace(moved, zone_id="sanhe")])
    assert full.company("L-a").zone_id == "sanhe"


# ---- the write rules (graph/backend_checks.py): same error TYPE and message on every backend ----
# Input that breaks a rule needing no stored data: InvalidInput, whatever the store holds.
BAD_INPUT = [
    ("upsert_sectors", [Sector("", "无编号")]),
    ("upsert_sectors", ["不是产业"]),
    ("upsert_chains", [Chain(" ", "空编号", "med")]),
    ("upsert_nodes", [ChainNode("x", "med-dev", "坏阶段", "左游")]),
    ("upsert_nodes", [ChainNode("x", "med-dev", "自身上级", "上游", parent_id="x")]),
    ("upsert_flows", [Flow("md-1", "md-1")]),
    ("upsert_flows", [("md-1", "md-2")]),
    ("upsert_zones", [Zone("", "无编号", "产业城镇")]),
    ("upsert_companies", [Company("", "无编号")]),
    ("upsert_companies", [Company("N-q", "空资质", qualifications=("",))]),
    # disagreed before: Neo4j stored a qualification holding U+001F, which the embedded file cannot
    ("upsert_companies", [Company("N-q", "分隔符资质", qualifications=("专精\x1f特新",))]),
    # disagreed before: the embedded store raised TypeError instead of refusing the firm
    ("upsert_companies", [Company("N-q", "非文本资质", qualifications=(5,))]),
    ("upsert_companies", [Company("N-n", "无效营收", revenue=float("nan"))]),
    ("upsert_companies", [Company("N-n", "无效注册资本", registered_capital=float("inf"))]),
    ("upsert_supplies", [Supply("L-a", "L-a", "自供")]),
    ("upsert_supplies", [Supply("O-x", "L-a", "金额", float("nan"))]),
    # disagreed before: the embedded store raised AttributeError on a non-Supply item
    ("upsert_supplies", ["不是供货关系"]),
    ("upsert_supplies", [Supply("", "L-a", "空供应方")]),
]
# Both a stateless rule and a reference broken: the stateless rule is reported (disagreed before:
# the embedded store checked references first and said "does not exist").
BAD_INPUT_AND_REFERENCE = [
    ("upsert_nodes", [ChainNode("x", "ghost-chain", "坏阶段", "左游")]),
    ("upsert_flows", [Flow("ghost", "ghost")]),
    ("upsert_supplies", [Supply("ghost", "ghost", "自供")]),
    ("upsert_companies", [Company("N-z", "坏", node_ids=("ghost",), revenue=float("nan"))]),
]
# Well-formed input naming what the store does not hold: NotFound, and the missing id is named.
MISSING_REFERENCE = [
    ("upsert_chains", [Chain("c-x", "新链", "ghost")], "ghost"),
    ("upsert_nodes", [ChainNode("n-x", "ghost", "新环节", "上游")], "ghost"),
    ("upsert_nodes", [ChainNode("n-x", "med-dev", "新环节", "上游", parent_id="ghost")], "ghost"),
    ("upsert_flows", [Flow("md-1", "ghost")], "ghost"),
    ("upsert_companies", [Company("N-r", "新公司", node_ids=("md-1", "ghost"))], "ghost"),
    ("upsert_companies", [Company("N-r", "新公司", zone_id="ghost")], "ghost"),
    ("upsert_supplies", [Supply("O-x", "ghost", "新品")], "ghost"),
    # the smallest missing id is reported, whichever the batch names first
    ("upsert_supplies", [Supply("zz-ghost", "L-a"), Supply("L-a", "aa-ghost")], "aa-ghost"),
]


def _write_refused(full, method: str, batch: list, kind: type) -> str:
    version = full.data_version()
    with pytest.raises(kind) as info:
        getattr(full, method)(batch)
    assert full.data_version() == version  # nothing written
    assert is_chinese(str(info.value))
    return str(info.value)


@pytest.mark.parametrize("method, batch", BAD_INPUT + BAD_INPUT_AND_REFERENCE)
def test_bad_input_is_invalid_input(full, method, batch):
    _write_refused(full, method, batch, InvalidGraphData)
    assert issubclass(InvalidGraphData, InvalidInput) and issubclass(InvalidGraphData, GraphStoreError)


@pytest.mark.parametrize("method, batch, missing", MISSING_REFERENCE)
def test_missing_reference_is_not_found(full, method, batch, missing):
    message = _write_refused(full, method, batch, UnknownReference)
    assert missing in message
    assert issubclass(UnknownReference, NotFound) and issubclass(UnknownReference, GraphStoreError)


def test_company_validation_writes_nothing(full):
    before = full.company_count()
    bad_node = Company("N-1", "坏环节公司", node_ids=("ghost",))
    with pytest.raises(UnknownReference) as info:
        full.upsert_companies([Company("N-0", "好公司", node_ids=("md-1",)), bad_node])
    assert "ghost" in str(info.value) and is_chinese(str(info.value))
    bad_zone = Company("N-2", "坏园区公司", zone_id="ghost-zone")
    with pytest.raises(UnknownReference):
        full.upsert_companies([replace(LOCAL_A, node_ids=("md-3",)), bad_zone])
    assert full.company_count() == before
    assert full.company("N-0") is None
    assert full.company("L-a") == LOCAL_A


def test_match_companies_by_uscc_and_name(full):
    got = full.match_companies(
        ["91350100M000100Y43", "914403001922038216", "91110000000000000X"],
        [
            normalize_name("北京䶮材科技有限责任公司"),
            normalize_name("三河 扭矩科技 股份有限公司"),
            normalize_name("不存在公司"),
        ],
    )
    assert got == {
        "91350100M000100Y43": "L-a",
        "914403001922038216": "O-x",
        normalize_name("北京䶮材科技有限公司"): "L-b",
        normalize_name("三河扭矩科技有限公司"): "O-y",
    }


def test_match_follows_renames(full):
    full.upsert_companies([replace(OUT_Y, name="香河机器人有限公司", uscc="91350100M000100Y43")])
    old, new = normalize_name(OUT_Y.name), normalize_name("香河机器人有限公司")
    got = full.match_companies([], [old, new])
    assert got == {new: "O-y"}


def test_match_shared_keys_give_smallest_id(full):
    twin = replace(OUT_Y, id="A-twin", uscc=LOCAL_A.uscc, name=LOCAL_B.name)
    full.upsert_companies([twin])
    key = normalize_name(LOCAL_B.name)
    assert full.match_companies([LOCAL_A.uscc], [key]) == {LOCAL_A.uscc: "A-twin", key: "A-twin"}
    full.upsert_companies([replace(twin, uscc=None, name="另一家公司")])
    assert full.match_companies([LOCAL_A.uscc], [key]) == {LOCAL_A.uscc: "L-a", key: "L-b"}


def test_companies_on_nodes_with_local_filter(full):
    ids = lambda cs: [c.id for c in cs]  # noqa: E731
    assert ids(full.companies_on_nodes(["md-1", "md-2"])) == ["L-a", "L-b", "O-x"]
    assert ids(full.companies_on_nodes(["md-1", "md-2"], local=True)) == ["L-a", "L-b"]
    assert ids(full.companies_on_nodes(["md-1", "md-2"], local=False)) == ["O-x"]
    assert ids(full.companies_on_nodes(["ev-1", "ghost"])) == ["O-y"]
    assert full.companies_on_nodes([]) == []
    # PART_OF children and FEEDS neighbours are nodes, never returned as companies
    assert ids(full.companies_on_nodes(["md-1a"])) == ["L-b"]


# ---- supplies and ties ----------------------------------------------------------------------
def test_supplies_of_both_directions_sorted(full):
    assert full.supplies_of("O-x") == sorted(SUPPLIES, key=lambda s: (s.supplier_id, s.buyer_id, s.product))
    assert full.supplies_of("L-c") == []
    assert full.supplies_of("ghost") == []


def test_bulk_reads_for_sync(full, store):
    assert full.company_ids() == sorted(c.id for c in COMPANIES)
    suppliers = sorted({s.supplier_id for s in SUPPLIES})
    assert full.supplies_from(suppliers + ["ghost"]) == sorted(
        SUPPLIES, key=lambda s: (s.supplier_id, s.buyer_id, s.product)
    )
    only = suppliers[:1]
    assert all(s.supplier_id in only for s in full.supplies_from(only))
    full.clear()
    assert full.company_ids() == [] and full.supplies_from(suppliers) == []


def test_supplies_upsert_replaces_by_key(full):
    assert full.upsert_supplies([Supply("O-x", "L-a", "钛合金棒材", 9999.0)]) == 1
    deals = [s for s in full.supplies_of("L-a") if s.product == "钛合金棒材"]
    assert deals == [Supply("O-x", "L-a", "钛合金棒材", 9999.0)]
    assert len(full.supplies_of("L-a")) == 2


def test_supplies_validation_is_atomic(full):
    before = full.supplies_of("L-c")
    with pytest.raises(UnknownReference) as info:
        full.upsert_supplies([Supply("L-c", "O-y", "服务", 1.0), Supply("ghost-firm", "L-c", "x")])
    assert "ghost-firm" in str(info.value) and is_chinese(str(info.value))
    assert full.supplies_of("L-c") == before == []
    assert full.supplies_of("O-y") == [Supply("O-x", "O-y", "精密件", 10.0)]


def test_local_ties_both_directions(full):
    assert full.local_ties(["O-x"]) == [
        Tie("O-x", "L-b", LOCAL_B.name, "buys", "高分子材料", None, ("高新技术企业",)),
        Tie("O-x", "L-a", LOCAL_A.name, "supplies", "钛合金棒材", 2500.0, ("专精特新", "上市")),
        Tie("O-x", "L-a", LOCAL_A.name, "supplies", "钛合金粉末", 300.0, ("专精特新", "上市")),
    ]
    assert full.local_ties(["O-y", "ghost"]) == []  # only outside partners


def test_local_ties_follow_local_status(full):
    full.upsert_companies([replace(LOCAL_A, is_local=False)])
    assert [t.local_id for t in full.local_ties(["O-x"])] == ["L-b"]
    full.upsert_companies([replace(OUT_Y, is_local=True, qualifications=("链主",))])
    ties = full.local_ties(["O-x", "O-y"])
    assert [(t.company_id, t.local_id, t.direction) for t in ties] == [
        ("O-x", "L-b", "buys"),
        ("O-x", "O-y", "supplies"),
    ]
    assert ties[1].local_qualifications == ("链主",)


def test_supplies_survive_company_replacement(full):
    full.upsert_companies([replace(OUT_X, node_ids=("md-3",))])
    assert len(full.supplies_of("O-x")) == 4


# ---- aggregation ----------------------------------------------------------------------------
def test_node_stats_every_node_with_zeros(full):
    stats = full.node_stats(QUALIFIED)
    assert sorted(stats) == ["ev-1", "md-1", "md-1a", "md-2", "md-3"]
    assert stats["ev-1"] == NodeStats("ev-1", 0, 0.0, 0, 1)
    # L-b (3000.5 万元) sits on md-1 and md-1a: its revenue is split, counted once in total
    assert stats["md-1"] == NodeStats("md-1", 1, pytest.approx(1500.25), 1, 1)
    assert stats["md-1a"] == NodeStats("md-1a", 1, pytest.approx(1500.25), 1, 0)
    assert stats["md-2"] == NodeStats("md-2", 1, pytest.approx(120000.0), 1, 1)
    assert stats["md-3"] == NodeStats("md-3", 1, 0.0, 0, 0)  # revenue None counts as 0


def test_node_stats_by_chain(full):
    stats = full.node_stats(QUALIFIED, chain_id="ev-drive")
    assert list(stats) == ["ev-1"]
    assert full.node_stats(QUALIFIED, chain_id="ghost") == {}


def test_node_stats_empty_chain_has_zero_entries(store):
    store.upsert_sectors(SECTORS)
    store.upsert_chains(CHAINS)
    store.upsert_nodes(NODES)
    assert full_zero(store.node_stats(QUALIFIED, "med-dev"))


def full_zero(stats: dict[str, NodeStats]) -> bool:
    return len(stats) == 4 and all(s == NodeStats(nid, 0, 0.0, 0, 0) for nid, s in stats.items())


def test_node_stats_qualified_set_is_honoured(full):
    assert full.node_stats(["上市"])["md-2"].qualified_firms == 1
    assert full.node_stats(["链主"])["md-2"].qualified_firms == 0
    assert full.node_stats([])["md-1"].qualified_firms == 0
    assert full.node_stats(["高新技术企业", "链主"])["md-1"].qualified_firms == 1
    # outside firms never count as qualified, whatever they hold
    assert full.node_stats(["小巨人"])["md-1"].qualified_firms == 0


def test_node_stats_sums_local_output(full):
    full.upsert_companies(
        [
            Company("L-d", "通州第二关节有限公司", is_local=True, revenue=0.1, node_ids=("md-2",)),
            Company("L-e", "通州第三关节有限公司", is_local=True, revenue=0.2, node_ids=("md-2",)),
        ]
    )
    s = full.node_stats(QUALIFIED)["md-2"]
    assert s.local_firms == 3
    assert s.local_output == pytest.approx(120000.3)


def test_node_stats_count_a_firms_revenue_once(full):
    full.upsert_companies(
        [Company("L-t", "通州三环节有限公司", is_local=True, revenue=0.3, node_ids=("md-1", "md-2", "md-3"))]
    )
    stats = full.node_stats(QUALIFIED)
    assert stats["md-3"].local_output == pytest.approx(0.1)
    assert stats["md-2"].local_output == pytest.approx(120000.1)
    # moving to one node puts the whole revenue there
    full.upsert_companies(
        [Company("L-t", "通州三环节有限公司", is_local=True, revenue=0.3, node_ids=("md-3",))]
    )
    assert full.node_stats(QUALIFIED)["md-3"].local_output == pytest.approx(0.3)


@pytest.mark.skipif(
    "active" not in {f.name for f in dataclasses.fields(Company)}, reason="Company has no active field yet"
)
def test_node_stats_skip_inactive_firms(full):
    full.upsert_companies([replace(LOCAL_A, active=False), replace(OUT_X, active=False)])
    stats = full.node_stats(QUALIFIED)
    assert stats["md-2"].local_firms == 0 and stats["md-2"].local_output == 0
    assert stats["md-1"].outside_firms == 0


def test_node_stats_follow_reupserts(full):
    full.node_stats(QUALIFIED)  # warm any cache
    # L-a moves from md-2 to md-3 and loses 上市
    full.upsert_companies([replace(LOCAL_A, node_ids=("md-3",), qualifications=("专精特新",), revenue=100.0)])
    stats = full.node_stats(QUALIFIED)
    assert stats["md-2"] == NodeStats("md-2", 0, 0.0, 0, 1)
    assert stats["md-3"] == NodeStats("md-3", 2, pytest.approx(100.0), 1, 0)
    assert full.node_stats(["上市"])["md-3"].qualified_firms == 0
    # L-b becomes non-local: its nodes lose a local firm and gain an outside one
    full.upsert_companies([replace(LOCAL_B, is_local=False)])
    stats = full.node_stats(QUALIFIED)
    assert stats["md-1"] == NodeStats("md-1", 0, 0.0, 0, 2)
    assert stats["md-1a"] == NodeStats("md-1a", 0, 0.0, 0, 1)
    # and back again, idempotently
    full.upsert_companies([LOCAL_A, LOCAL_B])
    full.upsert_companies([LOCAL_A, LOCAL_B])
    assert full.node_stats(QUALIFIED)["md-1"] == NodeStats("md-1", 1, pytest.approx(1500.25), 1, 1)
    assert full.node_stats(QUALIFIED)["md-2"] == NodeStats("md-2", 1, pytest.approx(120000.0), 1, 1)


def test_node_stats_include_new_nodes(full):
    full.upsert_nodes([ChainNode("md-4", "med-dev", "康复器械", "下游")])
    assert full.node_stats(QUALIFIED, "med-dev")["md-4"] == NodeStats("md-4")


# ---- lifecycle ------------------------------------------------------------------------------
def test_data_version_changes_on_every_write_only(store):
    seen = [store.data_version()]

    def changed() -> bool:
        seen.append(store.data_version())
        return seen[-1] != seen[-2]

    store.upsert_sectors(SECTORS)
    assert changed()
    store.sectors(), store.node_stats(QUALIFIED), store.company_count()
    assert not changed()
    store.upsert_chains(CHAINS)
    assert changed()
    with pytest.raises(UnknownReference):
        store.upsert_nodes([ChainNode("bad", "ghost-chain", "坏", "上游")])
    assert not changed()  # a rejected write changes nothing
    store.upsert_nodes(NODES)
    assert changed()
    store.upsert_zones(ZONES)
    assert changed()
    store.upsert_companies(COMPANIES)
    assert changed()
    store.upsert_supplies(SUPPLIES)
    assert changed()
    store.upsert_companies(COMPANIES)  # same data again is still a write
    assert changed()
    store.clear()
    assert changed()
    assert len(set(seen)) == 9


def test_clear_removes_everything(full):
    full.clear()
    assert full.sectors() == [] and full.chains() == [] and full.nodes() == []
    assert full.flows() == [] and full.zones() == [] and full.company_count() == 0
    assert full.supplies_of("O-x") == [] and full.node_stats(QUALIFIED) == {}
    assert full.match_companies(["91350100M000100Y43"], [normalize_name(LOCAL_B.name)]) == {}
    # and the store is usable again afterwards
    full.upsert_sectors(SECTORS)
    assert len(full.sectors()) == 2


def test_health_reports_ok_in_chinese(full):
    ok, message = full.health()
    assert ok is True
    assert isinstance(message, str) and message
    assert is_chinese(message)


def test_context_manager_closes(store):
    with store as st:
        st.upsert_sectors(SECTORS[:1])
        assert len(st.sectors()) == 1


# ---- registry fields of issue 10 ---------------------------------------------------------------
REGISTRY = Company(
    "R-1",
    "北京通州示例骨科器械有限公司",
    is_local=True,
    revenue=500.0,
    qualifications=("小巨人", "专精特新"),
    node_ids=("md-2",),
    status="存续（在营、开业、在册）",
    local_reason="信用代码登记机关 110112 属本区",
    legal_rep="张三",
    company_type="有限责任公司(自然人投资或控股)",
    industry_code="3586",
    industry="医疗仪器设备及器械制造",
    address="北京市通州区示例路1号",
    phone="010-12345678",
    email="info@example.com",
    website="www.example.com",
    insured=56,
    paid_capital=1200.5,
    capital_text="3000万美元",
    founded_date="2012-05-01",
    former_names=("北京通州示例医械科技有限公司", "北京示例旧名有限公司"),
    tags=("瞪羚企业",),
    placements=("md-2\tkeyword\t0.82\t人工关节|骨科植入物",),
)


def test_registry_fields_round_trip(full):
    dead = replace(
        REGISTRY, id="R-2", name="北京示例已注销有限公司", status="注销", active=False, placements=()
    )
    pending = replace(
        REGISTRY, id="R-3", name="北京示例待确认有限公司", node_ids=(), pending=True, former_names=(), tags=()
    )
    full.upsert_companies([REGISTRY, dead, pending])
    assert full.company("R-1") == REGISTRY
    assert full.company("R-2") == dead and not full.company("R-2").active
    assert full.company("R-3") == pending and full.company("R-3").pending
    placement = full.company("R-1").placement_list()[0]
    assert (placement.node_id, placement.source, placement.confidence) == ("md-2", "keyword", 0.82)
    assert placement.evidence == ("人工关节", "骨科植入物")


def test_dead_firms_count_on_no_node(full):
    before = full.node_stats(QUALIFIED)["md-2"]
    full.upsert_companies([replace(REGISTRY, active=False, status="注销")])
    assert full.node_stats(QUALIFIED)["md-2"] == before  # a 注销 firm is history
    full.upsert_companies([REGISTRY])  # revived (e.g. a wrong status corrected)
    after = full.node_stats(QUALIFIED)["md-2"]
    assert after.local_firms == before.local_firms + 1 and after.qualified_firms == before.qualified_firms + 1
    full.upsert_companies([replace(REGISTRY, is_local=False, active=False)])
    assert full.node_stats(QUALIFIED)["md-2"] == before


def test_find_companies_by_name_former_name_and_code_any_length(full):
    full.upsert_companies(
        [REGISTRY, replace(REGISTRY, id="R-9", name="北京示例已注销有限公司", active=False)]
    )
    assert [c.id for c in full.find_companies("骨科")] == ["R-1"]  # 2 characters
    assert [c.id for c in full.find_companies("骨")] == ["R-1"]  # 1 character
    assert [c.id for c in full.find_companies("旧名")] == ["R-1"]  # 曾用名
    assert [c.id for c in full.find_companies("北京 通州")] == ["R-1"]  # spaces folded
    assert full.find_companies(OUT_X.uscc)[0].id == "O-x"  # credit code
    assert "R-9" not in [c.id for c in full.find_companies("北京示例")]
    assert "R-9" in [c.id for c in full.find_companies("北京示例", include_inactive=True)]
    # names starting with the text first, then the rest, each by id; at most `limit`
    assert [c.id for c in full.find_companies("通州")] == ["L-c", "R-1"]  # 通州𠮷康 starts with it
    assert [c.id for c in full.find_companies("北京")] == ["L-a", "L-b", "R-1"]
    assert len(full.find_companies("有限公司", limit=2)) == 2
    assert full.find_companies("不存在的名字") == []


def _recount(store, qualified=QUALIFIED) -> dict[str, NodeStats]:
    """node_stats recomputed from the firms themselves: what the stored counters must equal."""
    from graph.backend_checks import MICRO, is_active, output_micro

    out = {}
    for node in store.nodes():
        firms = [c for c in store.companies_on_nodes([node.id]) if is_active(c)]
        local = [c for c in firms if c.is_local]
        out[node.id] = NodeStats(
            node.id,
            len(local),
            sum(output_micro(c) for c in local) / MICRO,
            sum(1 for c in local if set(c.qualifications) & set(qualified)),
            len(firms) - len(local),
        )
    return out


def _totals(store) -> tuple[int, int, int]:
    every = store.companies(store.company_ids())
    return (
        len(every),
        sum(1 for c in every if c.is_local),
        sum(1 for c in every if not c.is_local),
    )


def test_counters_equal_a_recount_after_every_kind_of_write(full, store):
    """Stored counters (both backends keep them beside the firms) against a recount from the firms:
    new firms, moves between nodes, local ↔ outside, qualification and revenue changes, death,
    a rejected batch (rolled back) and a duplicate id within a batch."""

    def check():
        assert store.node_stats(QUALIFIED) == _recount(store)
        assert store.node_stats(("上市",)) == _recount(store, ("上市",))
        assert (store.company_count(), store.company_count(True), store.company_count(False)) == _totals(
            store
        )

    check()
    store.upsert_companies(
        [
            replace(LOCAL_A, node_ids=("md-3", "md-1a"), qualifications=("链主",), revenue=9.0),
            replace(OUT_X, is_local=True),
            replace(LOCAL_B, is_local=False, node_ids=("ev-1",)),
            Company("N-1", "新𠮷", is_local=True, revenue=7.0, node_ids=("md-2", "md-3")),
            Company("N-2", "新二", revenue=1.0, node_ids=("md-2",)),
        ]
    )
    check()
    with pytest.raises(GraphStoreError):  # names a node the store lacks: nothing written
        store.upsert_companies(
            [replace(LOCAL_C, node_ids=("md-1",)), Company("N-3", "x", node_ids=("ghost",))]
        )
    check()
    store.upsert_companies(
        [
            replace(LOCAL_C, active=False, status="注销"),
            Company("N-2", "新二", revenue=5.0, node_ids=("md-1",)),
        ]
    )
    check()
    store.upsert_companies([Company("N-4", "甲", is_local=True, node_ids=("md-2",)), Company("N-4", "乙")])
    check()
    assert store.node_stats(QUALIFIED)["md-2"].local_firms == _recount(store)["md-2"].local_firms
    from graph.merge import merge_companies

    merge_companies(store, "N-1", "N-2")  # a local firm absorbs an outside one (recount_nodes)
    check()
    merge_companies(store, "L-a", "L-b")  # and a firm on other nodes
    check()
    store.clear()
    assert store.company_count() == 0 and store.node_stats(QUALIFIED) == {}


def test_counters_survive_reopening(tmp_path):
    from graph.nx_store import NetworkxStore

    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        for method, batch in (
            (st.upsert_sectors, SECTORS),
            (st.upsert_chains, CHAINS),
            (st.upsert_nodes, NODES),
            (st.upsert_zones, ZONES),
            (st.upsert_companies, COMPANIES),
        ):
            method(batch)
        st.upsert_companies([replace(LOCAL_A, node_ids=("md-1",)), replace(OUT_Y, active=False)])
        expected, totals = _recount(st), _totals(st)
    with NetworkxStore(path) as st:
        assert st.node_stats(QUALIFIED) == expected
        assert (st.company_count(), st.company_count(True), st.company_count(False)) == totals
