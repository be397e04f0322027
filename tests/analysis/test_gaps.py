"""Gap analysis on small literal graphs: no store involved."""

from graph.gaps import (
    GapThresholds,
    analyse_chain,
    classify,
    downstream_counts,
    extension_candidates,
    summarise,
)
from graph.model import ChainNode, Flow, NodeStats
from seed.loader import read_chain_file

T = GapThresholds(missing_below=1, weak_firms_below=3, weak_output_below=50000, weak_without_qualified=True)


def chain():
    # 原料 -> 部件 -> 整机 -> 服务, and 材料 -> 部件
    nodes = [
        ChainNode("c.raw", "c", "原料", "上游", importance=2),
        ChainNode("c.mat", "c", "材料", "上游", importance=5),
        ChainNode("c.part", "c", "部件", "中游", importance=4),
        ChainNode("c.machine", "c", "整机", "中游", importance=3),
        ChainNode("c.service", "c", "服务", "下游", importance=1),
    ]
    flows = [
        Flow("c.raw", "c.part"),
        Flow("c.mat", "c.part"),
        Flow("c.part", "c.machine"),
        Flow("c.machine", "c.service"),
    ]
    return nodes, flows


def test_status_thresholds():
    assert classify(NodeStats("n"), T)[0] == "缺链"
    weak_count = NodeStats("n", local_firms=2, local_output=900000, qualified_firms=1)
    status, reason = classify(weak_count, T)
    assert status == "弱链" and "本地仅2家企业" in reason
    weak_output = NodeStats("n", local_firms=5, local_output=100, qualified_firms=2)
    assert classify(weak_output, T)[0] == "弱链"
    no_qualified = NodeStats("n", local_firms=5, local_output=900000, qualified_firms=0)
    assert classify(no_qualified, T) == ("弱链", "无优质企业")
    lenient = GapThresholds(weak_without_qualified=False)
    assert classify(no_qualified, lenient)[0] == "强链"
    assert classify(NodeStats("n", local_firms=3, local_output=50000, qualified_firms=1), T)[0] == "强链"


def test_missing_threshold_above_one():
    t = GapThresholds(missing_below=2)
    status, reason = classify(NodeStats("n", local_firms=1, local_output=1e6, qualified_firms=1), t)
    assert status == "缺链" and "仅1家" in reason


def test_downstream_counts_follow_feeds():
    nodes, flows = chain()
    counts = downstream_counts([n.id for n in nodes], flows)
    assert counts == {"c.raw": 3, "c.mat": 3, "c.part": 2, "c.machine": 1, "c.service": 0}


def test_criticality_combines_importance_and_structure():
    nodes, flows = chain()
    rows = {r.node_id: r for r in analyse_chain(nodes, flows, {}, T)}
    # 部件 is the one node every path to the end product (服务) passes through besides 整机.
    assert rows["c.part"].chokepoint_ends == 1 and rows["c.machine"].chokepoint_ends == 1
    assert rows["c.mat"].chokepoint_ends == 0 and rows["c.service"].end_products == 1
    assert "终端产品的必经环节" in rows["c.part"].why
    # 材料 (importance 5, feeds 3 of 4 others, no chokepoint) beats 原料 (importance 2, same flows).
    assert rows["c.mat"].criticality > rows["c.raw"].criticality
    assert rows["c.service"].criticality == min(r.criticality for r in rows.values())
    t = GapThresholds()
    total = (
        t.importance_weight + t.downstream_weight + t.policy_weight + t.chokepoint_weight + t.demand_weight
    )
    assert rows["c.mat"].criticality == round(
        (t.importance_weight * 1.0 + t.downstream_weight * 0.75) / total, 4
    )
    # Same importance, more downstream -> more critical.
    same = [
        ChainNode("d.a", "d", "A", "上游", 3),
        ChainNode("d.b", "d", "B", "中游", 3),
        ChainNode("d.c", "d", "C", "下游", 3),
    ]
    r = {x.node_id: x for x in analyse_chain(same, [Flow("d.a", "d.b"), Flow("d.b", "d.c")], {}, T)}
    assert r["d.a"].criticality > r["d.b"].criticality > r["d.c"].criticality


def test_rows_ordered_by_stage_then_criticality():
    nodes, flows = chain()
    rows = analyse_chain(nodes, flows, {}, T)
    assert [r.stage for r in rows] == ["上游", "上游", "中游", "中游", "下游"]
    assert [r.node_id for r in rows][:2] == ["c.mat", "c.raw"]


def test_extension_candidates_next_to_strong_nodes():
    nodes, flows = chain()
    stats = {"c.part": NodeStats("c.part", local_firms=6, local_output=600000, qualified_firms=2)}
    rows = analyse_chain(nodes, flows, stats, T)
    ext = {e.node_id: e for e in extension_candidates(rows, flows)}
    assert set(ext) == {"c.raw", "c.mat", "c.machine"}
    assert ext["c.machine"].direction == "下游" and ext["c.mat"].direction == "上游"
    assert ext["c.mat"].via_name == "部件"


def test_summary_counts_and_coverage():
    nodes, flows = chain()
    stats = {
        "c.part": NodeStats("c.part", local_firms=6, local_output=600000, qualified_firms=2),
        "c.raw": NodeStats("c.raw", local_firms=1, local_output=10, qualified_firms=0),
    }
    s = summarise(analyse_chain(nodes, flows, stats, T))
    assert (s["缺链"], s["弱链"], s["强链"], s["nodes"]) == (3, 1, 1, 5)
    assert s["coverage"] == 0.4


def test_thresholds_from_config():
    t = GapThresholds.from_config({"gaps": {"missing_below": 2, "qualified": ["上市"], "unknown": 1}})
    assert t.missing_below == 2 and t.qualified == ("上市",)


def test_downstream_counts_tolerate_a_cycle():
    flows = [Flow("a", "b"), Flow("b", "a"), Flow("b", "c")]
    assert downstream_counts(["a", "b", "c"], flows) == {"a": 2, "b": 2, "c": 0}


def test_per_node_thresholds_win_over_config():
    design = ChainNode(
        "s.design", "s", "工业设计", "上游", 5, weak_firms_below=5, weak_without_qualified=False
    )
    oem = ChainNode("s.oem", "s", "整车制造", "下游", 5, weak_firms_below=1)
    stats = {
        "s.design": NodeStats("s.design", local_firms=3, local_output=900000, qualified_firms=0),
        "s.oem": NodeStats("s.oem", local_firms=1, local_output=900000, qualified_firms=1),
    }
    rows = {r.node_id: r for r in analyse_chain([design, oem], [Flow("s.design", "s.oem")], stats, T)}
    assert rows["s.design"].status == "弱链" and "要求≥5家" in rows["s.design"].reason
    assert rows["s.oem"].status == "强链"  # one OEM is enough where the chain file says so


def test_chain_file_thresholds_apply_to_every_node(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(
        """format = 2
[chain]
id = "x"
name = "测试链"
sector = "eq"
sources = ["测试"]
thresholds = { weak_firms_below = 2 }
[[nodes]]
key = "a"
name = "甲"
stage = "上游"
[[nodes]]
key = "b"
name = "乙"
stage = "下游"
thresholds = { weak_firms_below = 7 }
""",
        encoding="utf-8",
    )
    nodes = {n.id: n for n in read_chain_file(path, ["eq"]).nodes}
    assert nodes["x.a"].weak_firms_below == 2 and nodes["x.b"].weak_firms_below == 7
