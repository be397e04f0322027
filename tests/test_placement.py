"""Placement by evidence on the shipped chain files: realistic 企查查 text lands where a recruiter expects,
traps (光伏 硅片, 控股公司, scene words) do not, and the benchmark sets keep their figures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from graph.importer import EvidencePlacer
from graph.importer.placement import CONFIRM_TAG
from graph.model import ChainNode
from seed.loader import load_structure

ROOT = Path(__file__).resolve().parent.parent
BOILERPLATE = "（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"


@pytest.fixture(scope="module")
def structure():
    return load_structure()


@pytest.fixture(scope="module")
def placer(structure):
    return EvidencePlacer(structure.nodes)


def top(result):
    return result.placed[0].node_id if result.placed else None


def test_a_realistic_scope_text_lands_on_the_right_node(placer):
    result = placer.place(
        "植入式神经刺激器、心脏起搏器",
        "许可项目：第三类医疗器械生产；第三类医疗器械经营。一般项目：第二类医疗器械销售；技术服务、技术开发、"
        "技术咨询、技术交流、技术转让、技术推广；货物进出口。" + BOILERPLATE,
        "3584",
        "北京品驰示例医疗设备有限公司",
    )
    assert top(result) == "device.active_implant"
    assert result.placed[0].evidence  # the words that matched are kept


def test_a_device_maker_is_not_a_distributor_because_its_scope_says_医疗器械经营(placer):
    result = placer.place(
        "血管支架、球囊扩张导管", "第三类医疗器械生产；第三类医疗器械经营；第二类医疗器械销售", "3584"
    )
    assert top(result) == "device.vascular"


def test_a_photovoltaic_firm_with_硅片_is_not_on_the_semiconductor_wafer_node(placer):
    result = placer.place(
        "单晶硅片、光伏电池片",
        "光伏设备及元器件制造；电子专用材料制造；太阳能发电技术服务；货物进出口",
        "3825",
        "江苏示例光伏科技有限公司",
    )
    nodes = {p.node_id for p in (*result.placed, *result.candidates)}
    assert "ic.silicon" not in nodes and "ic.polysilicon" not in nodes
    semiconductor = placer.place("12英寸抛光硅片、外延硅片", "电子专用材料制造", "3985")
    assert top(semiconductor) == "ic.silicon"  # the same word without 光伏 is a wafer maker


def test_a_holding_company_goes_to_none_or_pending(placer):
    for products, scope in [
        ("投资控股、资产管理", "投资管理；资产管理；企业管理；以自有资金从事投资活动"),
        ("对外投资、股权投资", "企业总部管理；私募股权投资基金管理、创业投资基金管理服务；企业管理咨询"),
    ]:
        result = placer.place(products, scope, "7212", "北京示例投资控股集团有限公司")
        assert not result.placed, result


def test_scene_words_of_firms_of_no_chain_are_only_proposed(placer):
    courier = placer.place("快递收派、同城配送", "快递服务；道路货物运输（不含危险货物）", "6020")
    developer = placer.place("住宅开发、商业地产", "房地产开发经营；物业管理；非居住房地产租赁", "7010")
    restaurant = placer.place("火锅餐厅", "餐饮服务；食品销售", "6210")
    assert not courier.placed and not developer.placed and not restaurant.placed


def test_a_node_tagged_需确认_is_proposed_never_placed():
    nodes = [
        ChainNode("c.scene", "c", "物流场景", "下游", 3, ("快递", "物流园区"), tags=(CONFIRM_TAG,)),
        ChainNode("c.robot", "c", "物流机器人", "中游", 3, ("物流机器人", "AMR")),
    ]
    placer = EvidencePlacer(nodes, generic=())
    scene = placer.place("快递、物流园区运营")
    assert scene.pending and scene.candidates[0].node_id == "c.scene"
    robot = placer.place("AMR物流机器人", "快递")  # a tagged runner-up is not placed beside the winner
    assert [p.node_id for p in robot.placed] == ["c.robot"]


def test_every_tagged_node_exists_and_the_tag_is_documented(structure):
    tagged = {n.id for n in structure.nodes if CONFIRM_TAG in n.tags}
    assert {"robot.logistics_scene", "home.project", "servicemfg.invest_center"} <= tagged
    assert CONFIRM_TAG in (ROOT / "seed" / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "bench"))
    import placement_bench

    return placement_bench


def test_benchmark_sets_are_well_formed(bench, structure):
    known = {n.id for n in structure.nodes}
    for name, path in bench.SETS.items():
        firms = bench.read_labels(path)
        assert firms, name
        assert {lab for labels, *_ in firms for lab in labels} <= known, name
    assert len(bench.read_labels(bench.SETS["fresh"])) >= 300


@pytest.mark.parametrize("name", ["labelled", "heldout"])
def test_the_tuning_sets_keep_their_figures(bench, structure, placer, name):
    """A guard against regressions on the sets placement was tuned on (not an accuracy claim: see
    docs/BENCHMARKS.md for the fresh set, which is never tuned on)."""
    segment = {n.id: n.segment for n in structure.nodes if n.segment}
    result = bench.evaluate(placer, bench.read_labels(bench.SETS[name]), segment)
    assert result["right"] >= 0.95 and result["confidently_wrong"] <= 0.02, result["wrong_list"]
