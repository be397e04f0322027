"""Chain-gap graph data for the browser, built with pyvis but rendered by our own template.

pyvis builds the network (nodes, FEEDS edges, hierarchical left-to-right options); we take its
data out as plain dicts and hand them to the page as JSON, never pyvis's HTML: its template pulls
vis-network from a CDN, and a title containing "href" makes it use innerHTML. No node gets a
`title` here at all; the page builds its tooltip with textContent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pyvis.network import Network

from graph.model import GROUP, MISSING, STAGES, STRONG, WEAK

COLORS = {
    MISSING: {"background": "#c0392b", "border": "#8e2a1f"},
    WEAK: {"background": "#e0a030", "border": "#a86f10"},
    STRONG: {"background": "#2f7d4f", "border": "#1f5635"},
    GROUP: {"background": "#eef2f6", "border": "#52606d"},  # grouping node: a box, never a gap
}
DIMMED = {"background": "#d5dae0", "border": "#aab4c0"}
STAGE_LEVEL = {stage: i for i, stage in enumerate(STAGES)}
MIN_SIZE, MAX_SIZE = 10, 26
# Vertical distance between dots of one stage: the largest dot (52 px) plus its label below it.
NODE_SPACING = 80


def node_size(criticality: float) -> float:
    """Dot radius grows with criticality (0..1)."""
    return round(MIN_SIZE + (MAX_SIZE - MIN_SIZE) * max(0.0, min(criticality, 1.0)), 1)


def build_network(
    report, *, zone_nodes: Iterable[str] | None = None, top_targets: dict[str, list[str]] | None = None
) -> Network:
    """pyvis Network of one chain's gap report.

    zone_nodes: when a zone filter is on, the node ids with local firms in that zone; the
    other nodes are drawn dimmed (still clickable).
    top_targets: node id -> names of its best-ranked targets, shown in the tooltip.
    """
    highlight = set(zone_nodes) if zone_nodes is not None else None
    top_targets = top_targets or {}
    net = Network(directed=True, layout=True, cdn_resources="local")
    for gap in report.nodes:
        dimmed = highlight is not None and gap.node_id not in highlight
        color = dict(DIMMED if dimmed else COLORS.get(gap.status, DIMMED))
        color["highlight"] = {"background": color["background"], "border": "#1d3557"}
        color["hover"] = color["highlight"]
        net.add_node(
            gap.node_id,
            label=f"{gap.name}（{gap.children}个子环节）" if gap.is_group else gap.name,
            shape="box" if gap.is_group else "dot",
            size=node_size(gap.criticality),
            level=STAGE_LEVEL.get(gap.stage, 1),
            color=color,
            borderWidth=3 if gap.status == MISSING and not dimmed else 1,
            font={
                "size": 16,
                "color": "#1f2933",
                "face": "sans-serif",
                "strokeWidth": 3,
                "strokeColor": "#ffffff",
            },
            # Fields for our tooltip (rendered with textContent, never HTML):
            status=gap.status,
            stage=gap.stage,
            importance=gap.importance,
            local_firms=gap.local_firms,
            local_output=gap.local_output,
            qualified_firms=gap.qualified_firms,
            outside_firms=gap.outside_firms,
            criticality=gap.criticality,
            downstream_share=gap.downstream_share,
            reason=gap.reason,
            why=gap.why,
            is_group=gap.is_group,
            targets=top_targets.get(gap.node_id, []),
            dimmed=dimmed,
        )
    known = {g.node_id for g in report.nodes}
    for flow in report.flows:
        if flow.source_id in known and flow.target_id in known:
            net.add_edge(flow.source_id, flow.target_id, arrows="to", color="#8a96a3", width=1.5)
    for gap in report.nodes:  # PART_OF: a child to its grouping node, dashed, no arrow
        if gap.parent_id in known:
            net.add_edge(gap.node_id, gap.parent_id, dashes=True, color="#b8c2cc", width=1, title="属于")
    hier = net.options.layout.hierarchical
    hier.direction = "LR"
    hier.sortMethod = "directed"
    hier.levelSeparation = 300  # a minimum: the page widens it to fill the canvas (chain_graph.js)
    hier.nodeSpacing = NODE_SPACING
    hier.treeSpacing = NODE_SPACING  # nodes without flows sit next to the others, not far below
    hier.blockShifting = True
    hier.edgeMinimization = True
    net.options.layout.improvedLayout = True
    net.toggle_physics(False)
    net.options.interaction.hover = True
    net.options.interaction.navigationButtons = False
    net.options.interaction.tooltipDelay = 100000  # vis tooltips off: ours are built with textContent
    net.options.edges.smooth = {
        "enabled": True,
        "type": "cubicBezier",
        "forceDirection": "horizontal",
        "roundness": 0.4,
    }
    return net


def graph_payload(net: Network) -> dict:
    """Plain JSON-able dict {nodes, edges, options} for a <script type="application/json"> block."""
    nodes, edges, _heading, _height, _width, options = net.get_network_data()
    for node in nodes:
        node.pop("title", None)  # never let vis build an HTML tooltip
    return {"nodes": nodes, "edges": edges, "options": json.loads(options)}


def zone_node_ids(chain_service, report, zone_id: str) -> set[str]:
    """Nodes of the chain where at least one local firm sits in the given zone."""
    node_ids = [g.node_id for g in report.nodes]
    firms = chain_service.store.companies_on_nodes(node_ids, local=True)
    wanted = set(node_ids)
    return {n for c in firms if c.zone_id == zone_id for n in c.node_ids if n in wanted}


def top_target_names(targets, per_node: int = 3) -> dict[str, list[str]]:
    """Names of the best `per_node` targets of each node, from an already ranked list."""
    names: dict[str, list[str]] = {}
    for t in targets:
        bucket = names.setdefault(t.node_id, [])
        if len(bucket) < per_node:
            bucket.append(t.company_name)
    return names
