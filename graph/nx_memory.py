"""The embedded store's in-memory state: the chain graph, the company layer, indexes and aggregates.

No I/O and no validation: `NetworkxStore` (graph/nx_store.py) checks a batch, commits it to the file
(graph/nx_file.py) and only then applies it here, so this state is always derived from the file.

* The chain structure (Sector, Chain, ChainNode, Zone with IN_SECTOR, IN_CHAIN, PART_OF, FEEDS) is
  a ``networkx.DiGraph`` whose vertices are ``(kind, id)`` tuples carrying the model object in
  ``obj``; an edge's data dict is keyed by relationship type, so two chain nodes may be joined by
  both PART_OF and FEEDS.
* The company layer (Company with OPERATES_IN, SUPPLIES, LOCATED_IN) is held as adjacency dicts
  beside the graph: node -> member firms, firm -> its sales and purchases keyed by (partner,
  product). A networkx vertex per firm costs three dicts plus a dict per edge: measured at 100k
  firms it made opening the file 2x slower and memory 2x larger, and the target is 1M firms.
* Per chain node, aggregates (local firms, local output, outside firms, local firms per
  qualification set) are kept up to date on every company upsert (old contribution subtracted,
  new added), so ``node_stats`` never walks the companies. Output is summed as integer micro-万元.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence

import networkx as nx

from .backend_checks import is_active, output_micro
from .identity import normalize_name
from .model import Chain, ChainNode, Company, Sector, Supply, Zone
from .nx_file import C_BOOLS, C_TUPLES, COMPANY_FIELDS, SEP

SECTOR, CHAIN, NODE, ZONE = "Sector", "Chain", "ChainNode", "Zone"
IN_SECTOR, IN_CHAIN, PART_OF, FEEDS = "IN_SECTOR", "IN_CHAIN", "PART_OF", "FEEDS"


class NodeAgg:
    """Running totals of one chain node; see NetworkxStore.node_stats."""

    __slots__ = ("local", "output", "outside", "quals")

    def __init__(self) -> None:
        self.local = 0
        self.output = 0  # micro-万元
        self.outside = 0
        self.quals: Counter[frozenset[str]] = Counter()  # qualifications of local firms -> count


def _index(index: dict[str, str | set[str]], key: str, cid: str) -> None:
    """Add to a key -> id index; a key shared by several firms maps to a set of ids."""
    cur = index.get(key)
    if cur is None:
        index[key] = cid
    elif isinstance(cur, set):
        cur.add(cid)
    elif cur != cid:
        index[key] = {cur, cid}


def _unindex(index: dict[str, str | set[str]], key: str, cid: str) -> None:
    cur = index.get(key)
    if cur == cid:
        del index[key]
    elif isinstance(cur, set):
        cur.discard(cid)
        if len(cur) == 1:
            index[key] = next(iter(cur))


class GraphMemory:
    """Everything the embedded store answers reads from; `apply_*` take validated batches."""

    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.sectors: dict[str, Sector] = {}
        self.chains: dict[str, Chain] = {}
        self.nodes: dict[str, ChainNode] = {}
        self.chain_nodes: dict[str, set[str]] = {}  # chain id -> its node ids
        self.zones: dict[str, Zone] = {}
        self.flows: set[tuple[str, str]] = set()
        self.companies: dict[str, Company] = {}
        self.norm: dict[str, str] = {}  # company id -> normalised name
        self.members: dict[str, set[str]] = {}  # chain node id -> firms OPERATES_IN it
        self.sells: dict[str, dict[tuple[str, str], Supply]] = {}  # supplier -> (buyer, product)
        self.buys: dict[str, dict[tuple[str, str], Supply]] = {}  # buyer -> (supplier, product)
        self.by_uscc: dict[str, str | set[str]] = {}
        self.by_name: dict[str, str | set[str]] = {}
        self.agg: dict[str, NodeAgg] = {}
        self.local_count = 0
        # Firms merged away (GraphStore.merge_companies): old id / credit code / name -> kept id.
        self.aliases: dict[str, str] = {}
        self.alias_uscc: dict[str, str] = {}
        self.alias_name: dict[str, str] = {}
        self.alias_rows: dict[str, tuple] = {}  # merged id -> (kept id, credit code, normalised name)

    def missing(self, label: str, ids: list[str]) -> list[str]:
        """The ids of `label` (backend_checks.SECTOR ...) not held: the stores' one reference check."""
        tables: dict[str, Mapping[str, object]] = {
            "Sector": self.sectors,
            "Chain": self.chains,
            "ChainNode": self.nodes,
            "Zone": self.zones,
            "Company": self.companies,
        }
        held = tables[label]
        return [i for i in ids if i not in held]

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
            self.members.setdefault(nid, set())
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

    # ---- companies ------------------------------------------------------------------------
    def _link(self, c: Company, norm: str, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) a firm's links, indexes and share of node aggregates."""
        cid = c.id
        members, aggs = self.members, self.agg
        if sign > 0:
            self.companies[cid] = c
            self.norm[cid] = norm
            for nid in c.node_ids:
                members[nid].add(cid)
            if c.uscc:
                _index(self.by_uscc, c.uscc, cid)
            _index(self.by_name, norm, cid)
        else:
            for nid in c.node_ids:
                members[nid].discard(cid)
            if c.uscc:
                _unindex(self.by_uscc, c.uscc, cid)
            _unindex(self.by_name, norm, cid)
        if not is_active(c):
            pass  # a dead firm stays findable but counts in no aggregate
        elif c.is_local:
            self.local_count += sign
            out = output_micro(c) * sign
            sig = frozenset(c.qualifications)
            for nid in c.node_ids:
                agg = aggs[nid]
                agg.local += sign
                agg.output += out
                agg.quals[sig] += sign
                if not agg.quals[sig]:
                    del agg.quals[sig]
        else:
            for nid in c.node_ids:
                aggs[nid].outside += sign

    def apply_companies(self, batch: dict[str, tuple[Company, str]]) -> None:
        """Firms with their normalised names; a stored firm's old contribution is taken out first."""
        for cid, (c, norm) in batch.items():
            old = self.companies.get(cid)
            if old is not None:
                self._link(old, self.norm[cid], -1)
            self._link(c, norm, 1)

    def apply_aliases(self, rows: Iterable[tuple[str, str, str | None, str]]) -> None:
        """(merged id, kept id, its credit code, its normalised name) rows; a kept id that was itself
        merged away later is followed, so every alias names a live firm."""
        for mid, kid, uscc, norm in rows:
            for index in (self.aliases, self.alias_uscc, self.alias_name):
                for key, target in list(index.items()):
                    if target == mid:
                        index[key] = kid
            for key, (target, *rest) in list(self.alias_rows.items()):
                if target == mid:
                    self.alias_rows[key] = (kid, *rest)
            self.alias_rows[mid] = (kid, uscc, norm)
            self.aliases[mid] = kid
            if uscc:
                self.alias_uscc[uscc] = kid
            if norm:
                self.alias_name[norm] = kid

    def remove_company(self, cid: str) -> None:
        """Drop a firm, its links, indexes, aggregates and ties (a merge deletes the merged firm)."""
        old = self.companies.get(cid)
        if old is None:
            return
        self._link(old, self.norm[cid], -1)
        del self.companies[cid], self.norm[cid]
        for own, other in ((self.sells, self.buys), (self.buys, self.sells)):
            for partner, product in own.pop(cid, {}):
                deals = other.get(partner)
                if deals is not None:
                    deals.pop((cid, product), None)
                    if not deals:
                        del other[partner]

    def apply_supplies(self, batch: dict[tuple[str, str, str], Supply]) -> None:
        sells, buys = self.sells, self.buys
        for (sup, buy, product), s in batch.items():
            out = sells.get(sup)
            if out is None:
                out = sells[sup] = {}
            out[buy, product] = s
            into = buys.get(buy)
            if into is None:
                into = buys[buy] = {}
            into[sup, product] = s

    # ---- bulk load at open (hot loops: inlined) -------------------------------------------
    def load_companies(self, chunks: Iterator[Sequence[tuple]]) -> None:
        """Company rows of the file (nx_file layout) -> apply_companies of an empty memory,
        inlined with the row decoding: this loop runs a million times at open."""
        new, cls, names, tuples, bools, sep = object.__new__, Company, COMPANY_FIELDS, C_TUPLES, C_BOOLS, SEP
        companies, norms, members, aggs = self.companies, self.norm, self.members, self.agg
        by_uscc, by_name, index = self.by_uscc, self.by_name, _index
        local_count = 0
        for rows in chunks:
            for row in rows:
                v = list(row)
                for i in tuples:
                    v[i] = tuple(v[i].split(sep)) if v[i] else ()
                for i in bools:
                    v[i] = bool(v[i])
                c = new(cls)
                c.__dict__.update(zip(names, v, strict=False))
                cid, norm = v[0], v[-1]
                if norm is None:
                    norm = normalize_name(c.name)
                companies[cid] = c
                norms[cid] = norm
                if c.uscc:
                    index(by_uscc, c.uscc, cid)
                index(by_name, norm, cid)
                if not is_active(c):
                    for nid in c.node_ids:
                        members[nid].add(cid)
                elif c.is_local:
                    local_count += 1
                    out, sig = output_micro(c), frozenset(c.qualifications)
                    for nid in c.node_ids:
                        members[nid].add(cid)
                        agg = aggs[nid]
                        agg.local += 1
                        agg.output += out
                        agg.quals[sig] += 1
                else:
                    for nid in c.node_ids:
                        members[nid].add(cid)
                        aggs[nid].outside += 1
        self.local_count += local_count

    def load_supplies(self, chunks: Iterator[Sequence[tuple]]) -> None:
        """apply_supplies for (supplier, buyer, product, amount) rows read at open, inlined."""
        new, cls, names = object.__new__, Supply, ("supplier_id", "buyer_id", "product", "amount")
        sells, buys = self.sells, self.buys
        for rows in chunks:
            for row in rows:
                s = new(cls)
                s.__dict__.update(zip(names, row, strict=False))
                sup, buy, product = row[0], row[1], row[2]
                out = sells.get(sup)
                if out is None:
                    out = sells[sup] = {}
                out[buy, product] = s
                into = buys.get(buy)
                if into is None:
                    into = buys[buy] = {}
                into[sup, product] = s
