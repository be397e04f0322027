"""Gap analysis: which chain nodes the district lacks (缺链) or holds weakly (弱链).

Pure functions over plain data (graph.model objects and NodeStats from any store), so the
embedded and Neo4j backends give the same report and tests need no store at all.

Rules, each in one place here:

* a node with PART_OF children is a grouping node (分组): its figures are its children's rolled up
  (plus firms placed on it directly), and it is never 缺链/弱链 itself;
* a leaf's status compares its figures with the [gaps] thresholds, or with its own (chain files v2);
* criticality mixes declared importance, downstream share, the policy naming the node, how many of
  the chain's end products can only be reached through it (dominators on FEEDS) and local demand
  (local firms on the nodes it feeds), and says which of these apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import networkx as nx

from .model import GROUP, MISSING, QUALIFICATIONS, STAGES, STRONG, WEAK, ChainNode, Flow, NodeStats

OUTPUT_RULE = "本地营收：本地企业营业收入之和，一家企业在多个环节时按环节数均摊（不重复计）"


@dataclass(frozen=True)
class GapThresholds:
    """Thresholds and weights from config.toml's [gaps] section (see docs/CONFIG.md)."""

    missing_below: int = 1
    weak_firms_below: int = 3
    weak_output_below: float = 50000.0
    weak_without_qualified: bool = True
    qualified: tuple[str, ...] = QUALIFICATIONS
    importance_weight: float = 0.35
    downstream_weight: float = 0.2
    policy_weight: float = 0.15
    chokepoint_weight: float = 0.15
    demand_weight: float = 0.15
    demand_saturation: int = 20  # local downstream firms at which the demand part reaches 1

    @classmethod
    def from_config(cls, cfg: Mapping) -> GapThresholds:
        section = dict(cfg.get("gaps", {}))
        known = {k: section[k] for k in cls.__dataclass_fields__ if k in section}
        if "qualified" in known:
            known["qualified"] = tuple(known["qualified"])
        return cls(**known)

    def for_node(self, node: ChainNode) -> GapThresholds:
        """The thresholds that apply to one node: its own from the chain file win over [gaps]."""
        overrides = node.threshold_overrides()
        return replace(self, **overrides) if overrides else self  # type: ignore[arg-type]  # names checked by THRESHOLD_FIELDS


@dataclass(frozen=True)
class NodeGap:
    node_id: str
    chain_id: str
    name: str
    stage: str
    importance: int
    local_firms: int
    local_output: float  # 本地营收, 万元, split over a firm's nodes (OUTPUT_RULE)
    qualified_firms: int
    outside_firms: int
    status: str  # 缺链 / 弱链 / 强链, or 分组 for a grouping node
    criticality: float  # 0..1
    downstream_count: int  # nodes that depend on this one through FEEDS
    downstream_share: float  # downstream_count / (nodes in chain - 1)
    reason: str  # one Chinese line explaining the status
    parent_id: str | None = None
    is_group: bool = False
    children: int = 0  # direct PART_OF children
    policy: str = ""  # the policy's phrase naming the node
    chokepoint_ends: int = 0  # end products of the chain every path to which passes through this node
    end_products: int = 0  # end products of the chain (FEEDS sinks)
    demand_firms: int = 0  # local firms on the nodes this one feeds
    demand_output: float = 0.0  # their 本地营收, 万元
    demand_nodes: tuple[str, ...] = ()  # names of the fed nodes holding local firms
    why: str = ""  # why the node matters: which criticality parts apply


@dataclass(frozen=True)
class Extension:
    """延链 candidate: an uncovered node next to a strong one, where the district can extend."""

    node_id: str
    name: str
    via_node_id: str
    via_name: str
    direction: str  # 上游 or 下游 of the strong node
    status: str


def format_wan(amount: float) -> str:
    """万元 amount as a short Chinese figure: 亿元 above 10,000 万元.

    >>> format_wan(125000)
    '12.5亿元'
    >>> format_wan(800)
    '800万元'
    """
    if amount >= 10000:
        return f"{amount / 10000:.1f}亿元"
    return f"{amount:.0f}万元"


def classify(stats: NodeStats, t: GapThresholds) -> tuple[str, str]:
    """Status and its reason for one leaf node's aggregates.

    >>> classify(NodeStats("n", local_firms=0), GapThresholds())
    ('缺链', '本地无企业')
    """
    if stats.local_firms < t.missing_below:
        if stats.local_firms == 0:
            return MISSING, "本地无企业"
        return MISSING, f"本地仅{stats.local_firms}家企业，低于{t.missing_below}家"
    weak = []
    if stats.local_firms < t.weak_firms_below:
        weak.append(f"本地仅{stats.local_firms}家企业（该环节要求≥{t.weak_firms_below}家）")
    if stats.local_output < t.weak_output_below:
        weak.append(f"本地营收{format_wan(stats.local_output)}，低于{format_wan(t.weak_output_below)}")
    if t.weak_without_qualified and stats.qualified_firms == 0:
        weak.append("无优质企业")
    if weak:
        return WEAK, "；".join(weak)
    return (
        STRONG,
        f"本地{stats.local_firms}家企业，营收{format_wan(stats.local_output)}，优质企业{stats.qualified_firms}家",
    )


def _feeds_graph(node_ids: Iterable[str], flows: Iterable[Flow]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(node_ids)
    graph.add_edges_from(
        (f.source_id, f.target_id) for f in flows if f.source_id in graph and f.target_id in graph
    )
    return graph


def downstream_counts(node_ids: Iterable[str], flows: Iterable[Flow]) -> dict[str, int]:
    """How many nodes lie downstream of each node along FEEDS edges (its descendants).

    One pass in reverse topological order (each node's set is the union of its successors');
    a cyclic chain, which the seed loader refuses, falls back to a search per node.
    """
    graph = _feeds_graph(node_ids, flows)
    try:
        order = list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        return {n: len(nx.descendants(graph, n)) for n in graph.nodes}
    below: dict[str, set[str]] = {}
    for node in reversed(order):
        acc: set[str] = set()
        for child in graph.successors(node):
            acc.add(child)
            acc |= below[child]
        below[node] = acc
    return {n: len(below[n]) for n in graph.nodes}


def chokepoints(node_ids: Iterable[str], flows: Iterable[Flow]) -> tuple[dict[str, int], int]:
    """For each node, how many end products (FEEDS sinks that something feeds) every path to which
    passes through it; and the number of end products. Dominators from a virtual root above all sources.

    >>> ids = ["a", "b", "c", "d"]
    >>> chokepoints(ids, [Flow("a", "c"), Flow("b", "c"), Flow("c", "d")])
    ({'a': 0, 'b': 0, 'c': 1, 'd': 0}, 1)
    """
    graph = _feeds_graph(node_ids, flows)
    ends = [n for n in graph.nodes if graph.out_degree(n) == 0 and graph.in_degree(n) > 0]
    counts = dict.fromkeys(graph.nodes, 0)
    if not ends:
        return counts, 0
    root = ("__root__",)
    graph.add_edges_from((root, n) for n in list(graph.nodes) if graph.in_degree(n) == 0)
    idom = nx.immediate_dominators(graph, root)
    for end in ends:
        node = idom.get(end, root)
        while node != root:
            counts[node] += 1
            node = idom[node]
    return counts, len(ends)


def criticality_parts(
    importance: int,
    downstream_share: float,
    policy: bool,
    choke_share: float,
    demand_firms: int,
    t: GapThresholds,
) -> float:
    """Weighted mix (0..1) of importance, downstream share, policy flag, chokepoint share, local demand."""
    weights = (
        t.importance_weight,
        t.downstream_weight,
        t.policy_weight,
        t.chokepoint_weight,
        t.demand_weight,
    )
    total = sum(weights)
    if total <= 0:
        return 0.0
    sat = max(t.demand_saturation, 1)
    demand = min(1.0, math.log1p(demand_firms) / math.log1p(sat))
    values = (max(0, min(importance, 5)) / 5, downstream_share, 1.0 if policy else 0.0, choke_share, demand)
    return round(sum(w * v for w, v in zip(weights, values, strict=True)) / total, 4)


def criticality(importance: int, downstream_share: float, t: GapThresholds) -> float:
    """Criticality from importance and downstream share alone (no policy, chokepoint or demand data)."""
    return criticality_parts(importance, downstream_share, False, 0.0, 0, t)


def _why(node: ChainNode, choke: int, ends: int, demand_firms: int, demand_output: float) -> str:
    parts = []
    if node.policy:
        parts.append(f"政策点名「{node.policy}」")
    if choke and ends:
        parts.append(f"全链{ends}个终端产品中{choke}个须经此环节" if ends > 1 else "终端产品的必经环节")
    if demand_firms:
        parts.append(f"本地{demand_firms}家下游企业需外购该环节产品，合计营收{format_wan(demand_output)}")
    if node.importance >= 5:
        parts.append("链上核心环节")
    return "；".join(parts)


def _descendants(node_id: str, children: Mapping[str, list[str]]) -> list[str]:
    out, stack = [], list(children.get(node_id, ()))
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(children.get(n, ()))
    return out


def analyse_chain(
    nodes: Sequence[ChainNode],
    flows: Iterable[Flow],
    stats: Mapping[str, NodeStats],
    t: GapThresholds,
    node_names: Mapping[str, str] | None = None,
) -> list[NodeGap]:
    """Gap row for every node of one chain, ordered by stage then criticality (desc) then id.

    `stats` may hold other chains' nodes too: a flow into another chain's node (功率器件 -> 电驱)
    counts that node's local firms as demand. `node_names` names such nodes in reasons.

    Examples
    --------
    >>> a = ChainNode("c.a", "c", "原料", "上游", importance=5)
    >>> b = ChainNode("c.b", "c", "制造", "中游", importance=3)
    >>> rows = analyse_chain([a, b], [Flow("c.a", "c.b")], {}, GapThresholds())
    >>> [(r.name, r.status, r.downstream_count) for r in rows]
    [('原料', '缺链', 1), ('制造', '缺链', 0)]
    """
    flows = list(flows)
    ids = [n.id for n in nodes]
    names = {**(node_names or {}), **{n.id: n.name for n in nodes}}
    downstream = downstream_counts(ids, flows)
    choke, ends = chokepoints(ids, flows)
    others = max(len(nodes) - 1, 1)
    children: dict[str, list[str]] = {}
    for n in nodes:
        if n.parent_id:
            children.setdefault(n.parent_id, []).append(n.id)

    def rolled(node_id: str) -> NodeStats:
        own = stats.get(node_id) or NodeStats(node_id)
        if node_id not in children:
            return own
        parts = [own] + [stats.get(d) or NodeStats(d) for d in _descendants(node_id, children)]
        return NodeStats(
            node_id,
            local_firms=sum(p.local_firms for p in parts),
            local_output=sum(p.local_output for p in parts),
            qualified_firms=sum(p.qualified_firms for p in parts),
            outside_firms=sum(p.outside_firms for p in parts),
        )

    fed: dict[str, list[str]] = {}
    for f in flows:
        fed.setdefault(f.source_id, []).append(f.target_id)

    leaves: dict[str, NodeGap] = {}
    groups: list[ChainNode] = []
    for node in nodes:
        if node.id in children:
            groups.append(node)
            continue
        s = rolled(node.id)
        status, reason = classify(s, t.for_node(node))
        share = round(downstream.get(node.id, 0) / others, 4)
        targets = [
            rolled(d) if d in children else (stats.get(d) or NodeStats(d)) for d in fed.get(node.id, ())
        ]
        d_firms = sum(x.local_firms for x in targets)
        d_output = round(sum(x.local_output for x in targets), 2)
        d_names = tuple(names.get(x.node_id, x.node_id) for x in targets if x.local_firms)
        leaves[node.id] = NodeGap(
            node_id=node.id,
            chain_id=node.chain_id,
            name=node.name,
            stage=node.stage,
            importance=node.importance,
            local_firms=s.local_firms,
            local_output=round(s.local_output, 2),
            qualified_firms=s.qualified_firms,
            outside_firms=s.outside_firms,
            status=status,
            criticality=criticality_parts(
                node.importance, share, bool(node.policy), choke[node.id] / ends if ends else 0.0, d_firms, t
            ),
            downstream_count=downstream.get(node.id, 0),
            downstream_share=share,
            reason=reason,
            parent_id=node.parent_id,
            policy=node.policy,
            chokepoint_ends=choke[node.id],
            end_products=ends,
            demand_firms=d_firms,
            demand_output=d_output,
            demand_nodes=d_names,
            why=_why(node, choke[node.id], ends, d_firms, d_output),
        )
    rows = list(leaves.values())
    for node in groups:
        s = rolled(node.id)
        below = [leaves[d] for d in _descendants(node.id, children) if d in leaves]
        counts = {k: sum(1 for g in below if g.status == k) for k in (MISSING, WEAK, STRONG)}
        detail = "、".join(f"{k}{v}" for k, v in counts.items() if v)
        reason = f"分组环节，含{len(below)}个子环节（{detail}）；数字为子环节合计" + (
            "（含直接归属本环节的企业）" if (stats.get(node.id) or NodeStats(node.id)).local_firms else ""
        )
        rows.append(
            NodeGap(
                node_id=node.id,
                chain_id=node.chain_id,
                name=node.name,
                stage=node.stage,
                importance=node.importance,
                local_firms=s.local_firms,
                local_output=round(s.local_output, 2),
                qualified_firms=s.qualified_firms,
                outside_firms=s.outside_firms,
                status=GROUP,
                criticality=max((g.criticality for g in below), default=0.0),
                downstream_count=downstream.get(node.id, 0),
                downstream_share=round(downstream.get(node.id, 0) / others, 4),
                reason=reason,
                parent_id=node.parent_id,
                is_group=True,
                children=len(children[node.id]),
                policy=node.policy,
                end_products=ends,
            )
        )
    stage_rank = {s: i for i, s in enumerate(STAGES)}
    rows.sort(key=lambda r: (stage_rank.get(r.stage, 9), -r.criticality, r.node_id))
    return rows


def extension_candidates(gaps: Sequence[NodeGap], flows: Iterable[Flow]) -> list[Extension]:
    """延链: leaf nodes the district does not hold strongly that sit next to a node it does."""
    by_id = {g.node_id: g for g in gaps if not g.is_group}
    found: dict[str, Extension] = {}
    for f in flows:
        src, dst = by_id.get(f.source_id), by_id.get(f.target_id)
        if not src or not dst:
            continue
        for strong, other, direction in ((src, dst, "下游"), (dst, src, "上游")):
            if strong.status == STRONG and other.status != STRONG and other.node_id not in found:
                found[other.node_id] = Extension(
                    other.node_id, other.name, strong.node_id, strong.name, direction, other.status
                )
    return sorted(found.values(), key=lambda e: (-by_id[e.node_id].criticality, e.node_id))


def summarise(gaps: Sequence[NodeGap]) -> dict[str, float]:
    """Counts per status and coverage (share of leaf nodes with at least one local firm); groups apart."""
    counts = {MISSING: 0, WEAK: 0, STRONG: 0}
    leaves = [g for g in gaps if not g.is_group]
    for g in leaves:
        counts[g.status] += 1
    covered = sum(1 for g in leaves if g.local_firms > 0)
    return {
        **counts,
        "nodes": len(leaves),
        "groups": len(gaps) - len(leaves),
        "coverage": round(covered / len(leaves), 4) if leaves else 0.0,
    }
