"""The embedded store's in-memory state: the chain graph and the per-node counters.

No I/O and no validation: `NetworkxStore` (graph/nx_store.py) checks a batch, commits it to the file
(graph/nx_file.py) and only then applies it here, so this state is always derived from the file.

* The chain structure (Sector, Chain, ChainNode, Zone with IN_SECTOR, IN_CHAIN, PART_OF, FEEDS) is
  a ``networkx.DiGraph`` whose vertices are ``(kind, id)`` tuples carrying the model object in
  ``obj``; an edge's data dict is keyed by relationship type, so two chain nodes may be joined by
  both PART_OF and FEEDS.
* Firms are not held here: they stay in the file and are read by indexed queries. An object per
  firm made opening a 1M-firm file cost 16 s and 2.4 GB in every process, including read-only
  commands that print 276 counters.
* Per chain node, the counters the file keeps beside the firms (backend_checks.NodeCounts: local firms, local
  output, outside firms, local firms per qualification set), so ``node_stats`` never reads a firm.
  Output is summed as integer micro-万元.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import networkx as nx

from .model import Chain, ChainNode, Sector, Zone
from .nx_file import SEP

SECTOR, CHAIN, NODE, ZONE = "Sector", "Chain", "ChainNode", "Zone"
IN_SECTOR, IN_CHAIN, PART_OF, FEEDS = "IN_SECTOR", "IN_CHAIN", "PART_OF", "FEEDS"


class NodeAgg:
    """Counters of one chain node; see NetworkxStore.node_stats."""

    __slots__ = ("local", "output", "outside", "quals")

    def __init__(self) -> None:
        self.local = 0
        self.output = 0  # micro-万元
        self.outside = 0
        self.quals: Counter[frozenset[str]] = Counter()  # qualifications of local firms -> count


class GraphMemory:
    """Everything the embedded store answers structure and counter reads from."""

    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.sectors: dict[str, Sector] = {}
        self.chains: dict[str, Chain] = {}
        self.nodes: dict[str, ChainNode] = {}
        self.chain_nodes: dict[str, set[str]] = {}  # chain id -> its node ids
        self.zones: dict[str, Zone] = {}
        self.flows: set[tuple[str, str]] = set()
        self.agg: dict[str, NodeAgg] = {}
        self.firms = 0  # every stored firm
        self.local_firms = 0  # local firms (is_local), dead ones included

    def missing(self, label: str, ids: list[str]) -> list[str]:
        """The structure ids of `label` (backend_checks.SECTOR ...) not held; firms are the store's."""
        tables: dict[str, Mapping[str, object]] = {
            "Sector": self.sectors,
            "Chain": self.chains,
            "ChainNode": self.nodes,
            "Zone": self.zones,
        }
        held = tables[label]
        return [i for i in ids if i not in held]

    def load_counters(
        self, rows: Iterable[tuple[str, str, int, int, int]], totals: Mapping[str, int]
    ) -> None:
        """Replace the counters by the file's node_counts rows and totals (nx_file.counters)."""
        aggs = self.agg = {nid: NodeAgg() for nid in self.nodes}
        for nid, quals, local, output, outside in rows:
            agg = aggs.get(nid)
            if agg is None:  # firms may name a node before it is written
                agg = aggs[nid] = NodeAgg()
            agg.local += local
            agg.output += output
            agg.outside += outside
            if local:
                agg.quals[frozenset(quals.split(SEP)) if quals else frozenset()] += local
        self.firms = totals["firms"]
        self.local_firms = totals["local_firms"]

    # ---- structure ------------------------------------------------------------------------
    def _vertex(self, kind: str, obj: Sector | Chain | ChainNode | Zone) -> None:
        self.g.add_node((kind, obj.id), obj=obj)

    def _set_edge(self, u: tuple[str, str], v: tuple[str, str], kind: str) -> None:
        data = self.g.get_edge_data(u, v)
        if data is None:
            self.g.add_edge(u, v, **{kind: True})
        else:
            data[kind] = True

    def _drop_edge(self, u: tuple[str, str], v: tuple[str, str], kind: str) -> None:
        data = self.g.get_edge_data(u, v)
        if data is not None:
            data.pop(kind, None)
            if not data:
                self.g.remove_edge(u, v)

    def apply_sectors(self, batch: dict[str, Sector]) -> None:
        for sid, s in batch.items():
            self.sectors[sid] = s
            self._vertex(SECTOR, s)

    def apply_chains(self, batch: dict[str, Chain]) -> None:
        for cid, c in batch.items():
            old = self.chains.get(cid)
            if old is not None and old.sector_id != c.sector_id:
                self._drop_edge((CHAIN, cid), (SECTOR, old.sector_id), IN_SECTOR)
            self.chains[cid] = c
            self._vertex(CHAIN, c)
            self._set_edge((CHAIN, cid), (SECTOR, c.sector_id), IN_SECTOR)

    def apply_nodes(self, batch: dict[str, ChainNode]) -> None:
        for nid, n in batch.items():
            old = self.nodes.get(nid)
            me = (NODE, nid)
            if old is not None:
                if old.chain_id != n.chain_id:
                    self._drop_edge(me, (CHAIN, old.chain_id), IN_CHAIN)
                    self.chain_nodes[old.chain_id].discard(nid)
                if old.parent_id and old.parent_id != n.parent_id:
                    self._drop_edge(me, (NODE, old.parent_id), PART_OF)
            self.nodes[nid] = n
            self.chain_nodes.setdefault(n.chain_id, set()).add(nid)
            self.agg.setdefault(nid, NodeAgg())
            self._vertex(NODE, n)
            self._set_edge(me, (CHAIN, n.chain_id), IN_CHAIN)
            if n.parent_id:
                self._set_edge(me, (NODE, n.parent_id), PART_OF)

    def apply_flows(self, batch: Iterable[tuple[str, str]]) -> None:
        for src, dst in batch:
            self.flows.add((src, dst))
            self._set_edge((NODE, src), (NODE, dst), FEEDS)

    def apply_zones(self, batch: dict[str, Zone]) -> None:
        for zid, z in batch.items():
            self.zones[zid] = z
            self._vertex(ZONE, z)
