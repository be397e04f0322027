"""Seed files, their loader and the synthetic firm generator."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import networkx as nx
import pytest

from graph.gaps import GapThresholds, classify
from graph.identity import is_valid_uscc
from graph.model import MISSING, QUALIFICATIONS, STAGES, STRONG, WEAK, Flow
from graph.nx_store import NetworkxStore
from seed.loader import SEED_DIR, SeedError, load_anchors, load_structure, seed_store
from seed.synthetic import SupplySampler, generate_companies, generate_supplies

POLICY_SECTORS = {
    "medical": ("医药健康", "战略引擎"),
    "equipment": ("智能装备", "支柱产业"),
    "electronics": ("电子信息", "支柱产业"),
    "nev": ("新能源智能汽车", "支柱产业"),
    "urban": ("绿色都市", "支柱产业"),
    "lowcarbon": ("绿色低碳", "前沿新兴"),
    "digital": ("新一代数字科技", "前沿新兴"),
    "crossover": ("交叉融合", "前沿新兴"),
    "services": ("服务型制造与总部经济", "服务支撑"),
}
# Segments the policy names, which must appear among a chain's node names.
POLICY_SEGMENTS = {
    "device": ["人工关节", "高值医用耗材", "高性能诊疗设备", "分子诊断", "组织再生", "数字化医疗"],
    "biopharma": ["胰岛素", "靶向药物", "生物标志物", "仿制药", "心血管", "罕见病"],
    "healthsvc": ["基因测序", "基因编辑", "干细胞", "免疫细胞", "AI+医疗", "疫苗", "CXO"],
    "equipment": ["高空作业", "特种导电", "智能制造服务", "智慧农业装备"],
    "ic": ["磷化铟衬底", "石英制品", "大尺寸硅片", "光刻胶", "靶材", "电子封装", "集成电路设计"],
    "nev": ["分动器", "电磁式智能扭矩管理器", "控制器系统", "新器件", "储氢瓶"],
    "food": ["休闲食品", "乳制品", "委托生产", "营销结算"],
    "home": ["定制家居", "家居设计", "智能家居"],
    "storage": [
        "电化学储能",
        "空气储能",
        "飞轮储能",
        "储能电池",
        "储能变流器",
        "能源路由器",
        "能量控制系统",
        "系统集成",
        "运维",
        "能源互联网",
    ],
    "robot": ["建筑机器人", "医疗健康机器人", "物流机器人", "水下机器人"],
    "xr": ["VR", "AR", "XR", "可穿戴", "智能终端"],
    "synbio": ["基因编辑", "菌株改造", "合成生物产品", "固废资源化", "医美", "特医食品", "生物基材料"],
    "materials": ["钛合金", "碳纤维", "特种工程塑料", "先进陶瓷", "稀土"],
    "hydrogen": ["电解槽", "制氢", "储氢瓶", "加氢站", "燃料电池", "氢气压缩机"],
    "cybersec": ["网络安全装备", "防火墙", "安全芯片", "密码机", "工控安全", "测评"],
    "servicemfg": [
        "工业设计",
        "新能源装备设计",
        "元宇宙硬件设计",
        "区域性总部",
        "功能型总部",
        "概念验证",
        "共享产线",
        "平台经济",
    ],
}
ZONES = [
    "台马",
    "运河商务区",
    "张家湾设计小镇",
    "西集",
    "漷县",
    "永乐店",
    "于家务",
    "潞城",
    "三河",
    "香河机器人小镇",
    "大厂",
]
URL_SAFE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@pytest.fixture(scope="module")
def structure():
    return load_structure()


@pytest.fixture(scope="module")
def firms(structure):
    return list(generate_companies(structure, 6000, seed=7))


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of the seed folder to break on purpose."""
    target = tmp_path / "seed"
    shutil.copytree(SEED_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    return target


# ---- structure -----------------------------------------------------------------------------------


def test_policy_sectors_present(structure):
    assert {s.id: (s.name, s.kind) for s in structure.sectors} == POLICY_SECTORS


def test_every_chain_has_20_nodes_over_three_stages(structure):
    assert {c.id for c in structure.chains} == set(POLICY_SEGMENTS)
    for chain in structure.chains:
        nodes = structure.chain_nodes(chain.id)
        assert len(nodes) >= 20, chain.id
        assert {n.stage for n in nodes} == set(STAGES), chain.id
        assert chain.sources, chain.id
        assert any(n.parent_id for n in nodes), f"{chain.id} has no PART_OF hierarchy"
        for node in nodes:
            assert URL_SAFE.match(node.id) and node.id.startswith(chain.id + "."), node.id
            assert 1 <= node.importance <= 5 and node.keywords, node.id
            if node.parent_id:
                assert structure.node_by_id[node.parent_id].chain_id == chain.id


def test_policy_segments_are_nodes(structure):
    for chain_id, segments in POLICY_SEGMENTS.items():
        names = " ".join(n.name for n in structure.chain_nodes(chain_id))
        missing = [s for s in segments if s not in names]
        assert not missing, f"{chain_id} lacks {missing}"


def test_flows_form_a_dag_over_known_nodes(structure):
    node_ids = {n.id for n in structure.nodes}
    for chain in structure.chains:
        flows = structure.chain_flows(chain.id)
        assert len(flows) >= len(structure.chain_nodes(chain.id)) - 5, chain.id
        for f in flows:
            assert f.source_id in node_ids and f.target_id in node_ids
    # Flows may cross chains (功率器件 -> 电驱), a few on purpose.
    crossing = [f for f in structure.flows if f.source_id.split(".")[0] != f.target_id.split(".")[0]]
    assert Flow("ic.analog", "nev.motor") in crossing
    graph = nx.DiGraph((f.source_id, f.target_id) for f in structure.flows)
    assert nx.is_directed_acyclic_graph(graph)
    # Flow runs upstream -> downstream: never from a later stage back to an earlier one.
    rank = {s: i for i, s in enumerate(STAGES)}
    for f in structure.flows:
        assert (
            rank[structure.node_by_id[f.source_id].stage] <= rank[structure.node_by_id[f.target_id].stage]
        ), f


def test_zones(structure):
    sector_ids = {s.id for s in structure.sectors}
    names = [z.name for z in structure.zones]
    for zone in ZONES:
        assert any(zone in name for name in names), zone
    for zone in structure.zones:
        assert set(zone.focus_sectors) <= sector_ids, zone.id
        if zone.kind in ("北三县", "协作园区"):
            assert not zone.is_local and zone.district != structure.home.district
        else:
            assert zone.is_local and zone.district == structure.home.district
    by_name = {z.name: z for z in structure.zones}
    assert (
        "digital" in by_name["香河机器人小镇"].focus_sectors and "medical" in by_name["漷县镇"].focus_sectors
    )
    # The policy's focus per zone, machine-readable (issue 11 names the zone per node from it).
    assert by_name["台马地区"].focus_chains == ("ic",)
    assert "synbio" in by_name["漷县镇"].focus_chains and "cybersec" in by_name["西集镇"].focus_chains


def test_doctests():
    import doctest

    from seed import synthetic

    assert doctest.testmod(synthetic).failed == 0


# ---- broken files ------------------------------------------------------------------------------


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize(
    "file, old, new, message",
    [
        ("chains/nev.toml", 'stage = "中游"', 'stage = "中段"', "阶段「中段」未知"),
        ("chains/nev.toml", '["oem", "mobility"]', '["oem", "nowhere"]', "不存在的环节「nowhere」"),
        ("chains/nev.toml", 'key = "motor"', 'key = "battery"', "key「battery」重复"),
        ("chains/nev.toml", '["oem", "mobility"]', '["oem", "cathode"]', "出现循环"),
        ("chains/nev.toml", 'sector = "nev"', 'sector = "cars"', "产业「cars」未在 sectors.toml 中定义"),
        ("chains/nev.toml", "importance = 5", "importance = 9", "重要度应为 1 到 5"),
        ("chains/nev.toml", 'parent = "controllers"', 'parent = "nothing"', "上级环节「nothing」不存在"),
        ("chains/nev.toml", 'key = "motor"', 'key = "电机"', "只能用小写英文字母"),
        ("chains/nev.toml", 'name = "分动器"', 'name = "域控制器"', "环节名称「域控制器」重复"),
        ("chains/nev.toml", 'name = "新能源智能汽车"', 'name = "新能源智能汽车', "种子文件格式错误"),
        ("chains/nev.toml", 'id = "nev"', 'id = "cars"', "应与文件名「nev」一致"),
        (
            "zones.toml",
            'focus_sectors = ["medical", "crossover"]',
            'focus_sectors = ["pharma"]',
            "重点产业「pharma」",
        ),
        ("sectors.toml", 'kind = "战略引擎"', 'kind = "引擎"', "类型「引擎」未知"),
    ],
)
def test_broken_file_gives_chinese_error_naming_it(seed_copy, file, old, new, message):
    _edit(seed_copy / file, old, new)
    with pytest.raises(SeedError) as info:
        load_structure(seed_copy)
    assert message in str(info.value)
    assert Path(file).name in str(info.value)


def test_flows_after_nodes_is_explained(seed_copy):
    path = seed_copy / "chains" / "food.toml"
    text = path.read_text(encoding="utf-8")
    head, rest = text.split("[chain]", 1)
    flows = head[head.index("flows = [") :]
    path.write_text(head[: head.index("flows = [")] + "[chain]" + rest + "\n" + flows, encoding="utf-8")
    with pytest.raises(SeedError, match="flows 必须写在文件开头") as info:
        load_structure(seed_copy)
    assert "food.toml" in str(info.value)


def test_a_new_chain_is_a_new_file(seed_copy):
    nodes = "".join(
        f'[[nodes]]\nkey = "n{i}"\nname = "环节{i}"\nstage = "{STAGES[i % 3]}"\nimportance = 3\nkeywords = ["关键词{i}"]\n\n'
        for i in range(6)
    )
    (seed_copy / "chains" / "hydrogen.toml").write_text(
        'flows = [["n0", "n1"], ["n1", "n2"]]\n\n[chain]\nid = "hydrogen"\nname = "氢能"\nsector = "lowcarbon"\n'
        'sources = ["测试"]\n\n' + nodes,
        encoding="utf-8",
    )
    structure = load_structure(seed_copy)
    assert "hydrogen" in structure.chain_by_id
    assert len(structure.chain_nodes("hydrogen")) == 6
    made = [c for c in generate_companies(structure, 3000, seed=3) if c.node_ids[0].startswith("hydrogen.")]
    assert made and all(is_valid_uscc(c.uscc) for c in made)


# ---- anchors ---------------------------------------------------------------------------------------


def test_anchor_firms(structure):
    anchors = load_anchors(structure)
    by_name = {c.name: c for c in anchors}
    for firm, node in [
        ("甘李药业", "biopharma.insulin"),
        ("春立正达", "device.joint"),
        ("天海氢能", "nev.hydrogen_tank"),
        ("福元", "biopharma.generic"),
        ("蒙牛", "food.dairy"),
    ]:
        match = [c for name, c in by_name.items() if firm in name]
        assert len(match) == 1, firm
        assert node in match[0].node_ids and match[0].is_local and not match[0].synthetic
    assert all(c.district == structure.home.district for c in anchors)
    assert SEED_DIR.joinpath("anchors.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_anchors_come_from_the_structure_folder(seed_copy):
    path = seed_copy / "anchors.csv"
    path.write_text(
        path.read_text(encoding="utf-8-sig").replace("甘李药业", "甲乙药业"), encoding="utf-8-sig"
    )
    assert any(c.name.startswith("甲乙药业") for c in load_anchors(load_structure(seed_copy)))


def test_anchor_csv_errors_name_file_and_line(structure, tmp_path):
    text = (SEED_DIR / "anchors.csv").read_text(encoding="utf-8-sig")
    bad = tmp_path / "anchors.csv"
    bad.write_text(text.replace("nev.hydrogen_tank", "nev.nothing"), encoding="utf-8-sig")
    with pytest.raises(SeedError, match=r"anchors\.csv 第4行：产业链环节「nev\.nothing」"):
        load_anchors(structure, bad)
    bad.write_text(text.replace("上市；高新技术企业", "上市；独角兽", 1), encoding="utf-8-sig")
    with pytest.raises(SeedError, match="资质「独角兽」未知"):
        load_anchors(structure, bad)


def test_anchor_csv_in_gb18030_with_node_names(structure, tmp_path):
    text = (
        (SEED_DIR / "anchors.csv")
        .read_text(encoding="utf-8-sig")
        .replace("device.joint；device.spine", "人工关节、脊柱与创伤植入物")
    )
    path = tmp_path / "anchors.csv"
    path.write_bytes(text.encode("gb18030"))
    chunli = [c for c in load_anchors(structure, path) if "春立" in c.name][0]
    assert chunli.node_ids == ("device.joint", "device.spine")


# ---- synthetic firms --------------------------------------------------------------------------------


def test_generator_streams(structure):
    stream = generate_companies(structure, 10**9)
    assert isinstance(stream, Iterator)
    assert next(stream).synthetic  # a billion firms would never fit in a list


def test_generator_is_deterministic(structure, firms):
    assert list(generate_companies(structure, 6000, seed=7)) == firms
    assert list(generate_companies(structure, 200, seed=8)) != firms[:200]
    assert list(generate_companies(structure, 200, seed=7)) == firms[:200]


def test_credit_codes_valid_and_unique(firms):
    assert all(is_valid_uscc(c.uscc) and c.id == c.uscc for c in firms)
    assert len({c.uscc for c in firms}) == len(firms)
    assert len({c.name for c in firms}) == len(firms)


def test_every_firm_is_synthetic_and_marked(firms):
    assert all(c.synthetic and c.display_name.endswith("（示例数据）") for c in firms)


def test_firms_look_plausible(structure, firms):
    node_ids = {n.id for n in structure.nodes}
    for c in firms:
        assert 1 <= len(c.node_ids) <= 3 and set(c.node_ids) <= node_ids
        assert len({structure.node_by_id[n].chain_id for n in c.node_ids}) == 1
        assert c.revenue > 0 and c.registered_capital > 0 and c.employees >= 1 and 1980 <= c.founded <= 2025
        assert set(c.qualifications) <= set(QUALIFICATIONS)
        assert c.products and c.products in c.scope
        assert c.name.endswith("公司") and c.province and c.city and c.district
    provinces = Counter(c.province for c in firms if not c.is_local)
    assert {p for p, _ in provinces.most_common(6)} >= {"北京市", "江苏省", "广东省"}
    quals = Counter(q for c in firms for q in c.qualifications)
    n = len(firms)
    assert 0.2 * n < quals["高新技术企业"] < 0.6 * n
    assert 0.03 * n < quals["专精特新"] < quals["高新技术企业"]
    assert quals["小巨人"] < quals["专精特新"] and quals["上市"] < 0.05 * n and quals["链主"] < 0.01 * n
    listed = [c.revenue for c in firms if "上市" in c.qualifications]
    assert sorted(listed)[len(listed) // 2] > 5 * sorted(c.revenue for c in firms)[n // 2]


def test_local_coverage_is_an_outcome_not_a_design(structure, firms):
    """No node is kept empty or thin on purpose: coverage differs between chains (it was ~78 % in every
    chain when the generator planned it), and local firms land where the sizes put them."""
    home = structure.home
    local_zone_ids = {z.id for z in structure.zones if z.is_local}
    partner = {z.district: z.id for z in structure.zones if not z.is_local and z.kind == "北三县"}
    covered = Counter(n for c in firms if c.is_local for n in c.node_ids)
    shares = []
    for chain in structure.chains:
        nodes = structure.chain_nodes(chain.id)
        with_local = [n for n in nodes if covered[n.id]]
        assert with_local, chain.id
        shares.append(len(with_local) / len(nodes))
    assert len({round(x, 2) for x in shares}) > 3, shares
    assert any(covered[n.id] <= 2 for n in structure.nodes)
    for c in firms:
        if c.is_local:
            assert (c.province, c.city, c.district) == (home.province, home.city, home.district)
            assert c.zone_id is None or c.zone_id in local_zone_ids
        else:
            assert c.district != home.district and c.zone_id == partner.get(c.district)
    assert 0.15 < sum(c.is_local for c in firms) / len(firms) < 0.35
    assert any(c.zone_id in partner.values() for c in firms)


def test_supplies_follow_feeds_and_tie_outside_to_local(structure, firms):
    supplies = list(generate_supplies(firms, structure, seed=7))
    assert supplies == list(generate_supplies(firms, structure, seed=7))
    by_id = {c.id: c for c in firms}
    feeds = {(f.source_id, f.target_id) for f in structure.flows}
    keys = set()
    for s in supplies:
        sup, buy = by_id[s.supplier_id], by_id[s.buyer_id]
        assert sup.id != buy.id and s.amount > 0 and s.product
        assert any((a, b) in feeds for a in sup.node_ids for b in buy.node_ids)
        keys.add((s.supplier_id, s.buyer_id, s.product))
    assert len(keys) == len(supplies)
    mixed = sum(by_id[s.supplier_id].is_local != by_id[s.buyer_id].is_local for s in supplies)
    assert mixed > 0.4 * len(supplies)
    assert len(supplies) == SupplySampler(structure, 7).planned_total(len(firms))


# ---- into a store -------------------------------------------------------------------------------------


def test_seed_store_fills_a_networkx_store(structure):
    store = NetworkxStore(None)
    calls = []
    summary = seed_store(
        store, structure, n_synthetic=3000, progress=lambda d, t: calls.append((d, t)), batch_size=1000
    )
    assert summary.anchors == 5 and summary.synthetic == 3000 and summary.supplies > 1000
    assert store.company_count() == 3005
    assert len(store.nodes()) == len(structure.nodes) and len(store.zones()) == len(structure.zones)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and calls[-1][0] == calls[-1][1]
    assert len(calls) >= 5
    gan_li = store.companies_on_nodes(["biopharma.insulin"], local=True)
    assert any("甘李" in c.name and not c.synthetic for c in gan_li)

    t = GapThresholds()
    stats = store.node_stats(t.qualified)
    for chain in structure.chains:
        status = Counter(classify(stats[n.id], t)[0] for n in structure.chain_nodes(chain.id))
        assert len([k for k in status if status[k]]) >= 2, (chain.id, status)
    every = Counter(classify(stats[n.id], t)[0] for n in structure.nodes)
    assert every[MISSING] and every[WEAK] and every[STRONG], every
    ties = store.local_ties(
        [c.id for c in store.companies_on_nodes([n.id for n in structure.nodes], local=False)]
    )
    assert len({t.company_id for t in ties}) > 100

    again = seed_store(store, structure, n_synthetic=3000)  # same ids: idempotent, nothing doubled
    assert again == summary and store.company_count() == 3005


def test_import_keyword_placement_finds_generated_nodes(structure, firms):
    """Keywords must be distinctive: the importer's placer, given a synthetic firm's 主营产品 and
    经营范围, lands on the nodes the firm was generated on (so import by keyword works)."""
    from graph.importer import EvidencePlacer

    placer = EvidencePlacer(structure.nodes)
    sample = firms[:3000]
    results = [placer.place(c.products, c.scope) for c in sample]
    placed = [{p.node_id for p in (r.placed or r.candidates)} for r in results]
    assert sum(bool(p & set(c.node_ids)) for p, c in zip(placed, sample)) > 0.98 * len(sample)
    # A shared segment (正极材料 in 新能源汽车 and 储能) places a firm in both chains, by design.
    same_chain = sum(
        structure.node_by_id[c.node_ids[0]].chain_id in {structure.node_by_id[n].chain_id for n in p}
        for p, c in zip(placed, sample)
    )
    assert same_chain > 0.9 * len(sample)
