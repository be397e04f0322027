"""Gap analysis: which chain nodes the district lacks (缺链) or holds weakly (弱链).

Pure functions over plain data (graph.model objects and NodeStats from any store), so the
embedded and Neo4j backends give the same report and tests need no store at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from .model import MISSING, QUALIFICATIONS, STAGES, STRONG, WEAK, ChainNode, Flow, NodeStats


@dataclass(frozen=True)
class GapThresholds:
    """Thresholds and weights from config.toml's [gaps] section (see docs/CONFIG.md)."""

    missing_below: int = 1
    weak_firms_below: int = 3
    weak_output_below: float = 50000.0
    weak_without_qualified: bool = True
    qualified: tuple[str, ...] = QUALIFICATIONS
    importance_weight: float = 0.6
    downstream_weight: float = 0.4

    @classmethod
    def from_config(cls, cfg: Mapping) -> GapThresholds:
        section = dict(cfg.get("gaps", {}))
        known = {k: section[k] for k in cls.__dataclass_fields__ if k in section}
        if "qualified" in known:
            known["qualified"] = tuple(known["qualified"])
        return cls(**known)


@dataclass(frozen=True)
class NodeGap:
    node_id: str
    chain_id: str
    name: str
    stage: str
    importance: int
    local_firms: int
    local_output: float
    qualified_firms: int
    outside_firms: int
    status: str  # 缺链 / 弱链 / 强链
    criticality: float  # 0..1
    downstream_count: int  # nodes that depend on this one through FEEDS
    downstream_share: float  # downstream_count / (nodes in chain - 1)
    reason: str  # one Chinese line explaining the status


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
    """Status and its reason for one node's aggregates.

    >>> classify(NodeStats("n", local_firms=0), GapThresholds())
    ('缺链', '本地无企业')
    """
    if stats.local_firms < t.missing_below:
        if stats.local_firms == 0:
            return MISSING, "本地无企业"
        return MISSING, f"本地仅{stats.local_firms}家企业，低于{t.missing_below}家"
    weak = []
    if stats.local_firms < t.weak_firms_below:
        weak.append(f"本地仅{stats.local_firms}家企业")
    if stats.local_output < t.weak_output_below:
        weak.append(f"本地产值{format_wan(stats.local_output)}，低于{format_wan(t.weak_output_below)}")
    if t.weak_without_qualified and stats.qualified_firms == 0:
        weak.append("无优质企业")
    if weak:
        return WEAK, "；".join(weak)
    return (
        STRONG,
        f"本地{stats.local_firms}家企业，产值{format_wan(stats.local_output)}，优质企业{stats.qualified_firms}家",
    )


def downstream_counts(node_ids: Iterable[str], flows: Iterable[Flow]) -> dict[str, int]:
    """How many nodes lie downstream of each node along FEEDS edges (its descendants).

    One pass in reverse topological order (each node's set is the union of its successors');
    a cyclic chain, which the seed loader refuses, falls back to a search per node.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(node_ids)
    graph.add_edges_from(
        (f.source_id, f.target_id) for f in flows if f.source_id in graph and f.target_id in graph
    )
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


def criticality(importance: int, downstream_share: float, t: GapThresholds) -> float:
    """Weighted mix of the node's declared importance (1..5) and how much of the chain it feeds."""
    total = t.importance_weight + t.downstream_weight
    if total <= 0:
        return 0.0
    value = (
        t.importance_weight * max(0, min(importance, 5)) / 5 + t.downstream_weight * downstream_share
    ) / total
    return round(value, 4)


def analyse_chain(
    nodes: Sequence[ChainNode],
    flows: Iterable[Flow],
    stats: Mapping[str, NodeStats],
    t: GapThresholds,
) -> list[NodeGap]:
    """Gap row for every node of one chain, ordered by stage then criticality (desc) then id.

    Examples
    --------
    >>> a = ChainNode("c.a", "c", "原料", "上游", importance=5)
    >>> b = ChainNode("c.b", "c", "制造", "中游", importance=3)
    >>> rows = analyse_chain([a, b], [Flow("c.a", "c.b")], {}, GapThresholds())
    >>> [(r.name, r.status, r.downstream_count) for r in rows]
    [('原料', '缺链', 1), ('制造', '缺链', 0)]
    """
    flows = list(flows)
    downstream = downstream_counts([n.id for n in nodes], flows)
    others = max(len(nodes) - 1, 1)
    rows = []
    for node in nodes:
        s = stats.get(node.id) or NodeStats(node.id)
        status, reason = classify(s, t)
        share = round(downstream.get(node.id, 0) / others, 4)
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
                status=status,
                criticality=criticality(node.importance, share, t),
                downstream_count=downstream.get(node.id, 0),
                downstream_share=share,
                reason=reason,
            )
        )
    stage_rank = {s: i for i, s in enumerate(STAGES)}
    rows.sort(key=lambda r: (stage_rank.get(r.stage, 9), -r.criticality, r.node_id))
    return rows


def extension_candidates(gaps: Sequence[NodeGap], flows: Iterable[Flow]) -> list[Extension]:
    """延链: nodes the district does not hold strongly that sit next to a node it does."""
    by_id = {g.node_id: g for g in gaps}
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
    """Counts per status and coverage (share of nodes with at least one local firm)."""
    counts = {MISSING: 0, WEAK: 0, STRONG: 0}
    for g in gaps:
        counts[g.status] += 1
    covered = sum(1 for g in gaps if g.local_firms > 0)
    return {**counts, "nodes": len(gaps), "coverage": round(covered / len(gaps), 4) if gaps else 0.0}
