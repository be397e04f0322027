"""Ranking scenarios where a domain expert's order is clear, on every backend (issue 11).

One small literal chain: a policy-named 缺链 material feeding an assembly node with three local
buyers, a grouping node with two parts, and a weak leaf of little consequence. Each backend's rows
must equal the embedded in-memory store's, row for row.
"""

from __future__ import annotations

import dataclasses

import pytest

from graph.model import GROUP, Chain, ChainNode, Company, Flow, Sector, Supply, Zone
from graph.nx_store import NetworkxStore
from graph.service import ChainService

CFG: dict = {}  # built-in defaults of [gaps]/[targets]/[district]

NODES = [
    ChainNode("s.mat", "s", "关键材料", "上游", 3, policy="关键材料"),
    ChainNode("s.aux", "s", "辅料", "上游", 2),
    ChainNode("s.parts", "s", "核心部件", "中游", 4),
    ChainNode("s.p1", "s", "部件甲", "中游", 4, parent_id="s.parts"),
    ChainNode("s.p2", "s", "部件乙", "中游", 3, parent_id="s.parts"),
    ChainNode("s.asm", "s", "整机", "下游", 4),
    ChainNode("s.svc", "s", "售后服务", "下游", 2),
]
FLOWS = [Flow("s.mat", "s.asm"), Flow("s.p1", "s.asm"), Flow("s.p2", "s.asm"), Flow("s.aux", "s.svc")]
ZONES = [
    Zone("z1", "甲园区", "产业城镇", focus_chains=("s.mat",)),
    Zone("z2", "乙园区", "产业城镇", focus_chains=("s",)),
    Zone("p", "三河园区", "北三县", district="三河市", focus_chains=("s",), is_local=False),
]


def local(cid, node, revenue=80000.0, quals=("高新技术企业",), **kw):
    return Company(
        cid,
        f"本地{cid}",
        province="北京市",
        city="北京市",
        district="通州区",
        is_local=True,
        revenue=revenue,
        qualifications=quals,
        node_ids=node if isinstance(node, tuple) else (node,),
        **kw,
    )


def outside(cid, node, **kw):
    base = dict(province="江苏省", city="苏州市", district="工业园区", revenue=50000.0, node_ids=(node,))
    base.update(kw)
    return Company(cid, f"外地{cid}", **base)


LOCALS = [
    local("LA1", "s.asm", 400000.0, ("链主", "上市")),
    local("LA2", "s.asm"),
    local("LA3", "s.asm"),
    local("LP1", ("s.p1", "s.svc"), 200000.0),  # on two nodes: its revenue is split, counted once
    local("LP1b", "s.p1"),
    local("LP1c", "s.p1"),
    local("LP2", "s.p2", 1000.0, ()),
    local("LX", "s.aux", 1000.0, ()),
]
OUTSIDE = [
    outside("O-giant", "s.mat", qualifications=("小巨人", "专精特新"), revenue=300000.0),
    outside("O-generic", "s.aux", qualifications=("高新技术企业",), revenue=300000.0),
    outside("O-group", "s.parts", qualifications=("链主",), revenue=900000.0),  # on the grouping node itself
    outside(
        "O-central",
        "s.mat",
        province="北京市",
        city="北京市",
        district="海淀区",
        qualifications=("专精特新",),
    ),
    outside(
        "O-daxing", "s.mat", province="北京市", city="北京市", district="大兴区", qualifications=("专精特新",)
    ),
    outside("O-plain", "s.p2", qualifications=("专精特新",)),
    outside("O-trivial", "s.p2", qualifications=("专精特新",)),
    outside("O-anchor", "s.p2", qualifications=("专精特新",)),
]
SUPPLIES = [
    Supply("LX", "O-trivial", "包装袋", 5.0),  # it buys a little from a local trader
    Supply("O-anchor", "LA1", "部件乙", 20000.0),  # it supplies the local 链主 in volume
]


def fill(store):
    store.upsert_sectors([Sector("eq", "装备", "支柱产业")])
    store.upsert_chains([Chain("s", "示例装备链", "eq")])
    store.upsert_nodes(NODES)
    store.upsert_flows(FLOWS)
    store.upsert_zones(ZONES)
    store.upsert_companies(LOCALS + OUTSIDE)
    store.upsert_supplies(SUPPLIES)
    return ChainService(store, CFG)


@pytest.fixture
def svc(store):
    return fill(store)


def ranked(svc) -> dict[str, int]:
    return {t.company_id: i for i, t in enumerate(svc.targets("s", top=None))}


def test_little_giant_on_policy_gap_with_local_buyers_above_generic_firm_on_weak_leaf(svc):
    gaps = {g.node_id: g for g in svc.gap_report("s").nodes}
    assert gaps["s.mat"].status == "缺链" and gaps["s.aux"].status == "弱链"
    assert gaps["s.mat"].demand_firms == 3 and "政策点名「关键材料」" in gaps["s.mat"].why
    order = ranked(svc)
    assert order["O-giant"] < order["O-generic"]
    giant = svc.targets("s", top=None)[order["O-giant"]]
    assert "本地3家下游企业（整机）需外购该环节产品" in giant.reason and "政策点名" in giant.reason


def test_grouping_node_rolls_up_and_is_never_a_target(svc):
    gaps = {g.node_id: g for g in svc.gap_report("s").nodes}
    group = gaps["s.parts"]
    assert group.is_group and group.status == GROUP and group.children == 2
    assert group.local_firms == 4 and group.outside_firms == 1 + 3  # its children's plus its own
    assert gaps["s.p1"].status == "强链" and gaps["s.p1"].parent_id == "s.parts"
    assert "O-group" not in ranked(svc)
    assert all(t.node_id != "s.parts" for t in svc.targets("s", top=None))
    assert svc.gap_report("s").summary["groups"] == 1


def test_central_district_firm_above_other_beijing_district_firm_of_equal_strength(svc):
    rows = {t.company_id: t for t in svc.targets("s", top=None)}
    central, daxing = rows["O-central"], rows["O-daxing"]
    assert central.factors["strength"] == daxing.factors["strength"]
    assert central.score > daxing.score and central.geo_tier == "central" and daxing.geo_tier == "beijing"
    assert "疏解" in central.reason and "不跨区挖转" in daxing.reason


def test_firm_without_ties_not_below_a_firm_with_one_trivial_tie(svc):
    rows = {t.company_id: t for t in svc.targets("s", top=None)}
    plain, trivial, anchor = rows["O-plain"], rows["O-trivial"], rows["O-anchor"]
    assert "ties" in plain.no_data and "ties" not in trivial.no_data
    assert plain.score >= trivial.score
    assert anchor.score > plain.score and "向本地链主" in anchor.reason


def test_zone_named_for_the_node_not_alphabetically(svc):
    rows = {t.company_id: t for t in svc.targets("s", top=None)}
    assert "可落位甲园区（园区重点环节）" in rows["O-giant"].reason
    assert "可落位乙园区（园区重点产业链）" in rows["O-generic"].reason
    assert "三河园区" not in rows["O-generic"].reason  # a partner zone is not a landing place


def test_revenue_counted_once(svc):
    gaps = {g.node_id: g for g in svc.gap_report("s").nodes}
    # LP1 (200000) sits on 部件甲 and 售后服务: 100000 on each
    assert gaps["s.svc"].local_output == pytest.approx(100000.0)
    assert gaps["s.p1"].local_output == pytest.approx(100000.0 + 2 * 80000.0)


def test_rows_identical_to_the_embedded_store(svc):
    reference = fill(NetworkxStore(None))
    assert svc.gap_report("s").nodes == reference.gap_report("s").nodes
    assert svc.targets("s", top=None) == reference.targets("s", top=None)


@pytest.mark.skipif(
    "active" not in {f.name for f in dataclasses.fields(Company)}, reason="Company has no active field yet"
)
def test_dead_firm_is_never_a_target(svc, store):
    store.upsert_companies([dataclasses.replace(OUTSIDE[0], active=False)])
    assert "O-giant" not in ranked(ChainService(store, CFG))
