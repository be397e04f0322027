"""ChainService: the one place that turns store data into gap reports and target lists.

Views and commands call it; it calls the store for data and graph.gaps / graph.targets for the
rules. Results are cached per chain and dropped whenever the store's data_version changes.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from .backend_checks import is_active
from .errors import NotFound
from .gaps import Extension, GapThresholds, NodeGap, analyse_chain, extension_candidates, summarise
from .model import (
    MISSING,
    SECTOR_KINDS,
    WEAK,
    Chain,
    ChainNode,
    Company,
    Flow,
    NodeStats,
    Sector,
    Supply,
    Tie,
    Zone,
)
from .store import GraphStore
from .targets import District, Ranking, Target, TargetWeights, factor_coverage, rank_targets

log = logging.getLogger(__name__)

# Under stale_while_updating: how often the store's data version is looked at, and how long a
# request waits for that look before going on with the previous version (ChainService._version).
CHECK_EVERY_S = 0.05
CHECK_WAIT_S = 0.05


class NotFoundError(NotFound):
    """A chain, sector, node or company the user asked for does not exist (not a store failure)."""


@dataclass(frozen=True)
class GapReport:
    chain: Chain
    sector: Sector | None
    nodes: list[NodeGap]
    flows: list[Flow]
    extensions: list[Extension]
    summary: dict[str, float]

    def critical_gaps(self, limit: int = 5) -> list[NodeGap]:
        """The most critical 缺链/弱链 nodes, 缺链 first."""
        gaps = [g for g in self.nodes if g.status in (MISSING, WEAK)]
        gaps.sort(key=lambda g: (g.status != MISSING, -g.criticality, g.node_id))
        return gaps[:limit]


@dataclass(frozen=True)
class NodeDetail:
    gap: NodeGap
    node: ChainNode
    chain: Chain
    local_firms: list[Company]
    targets: list[Target]


@dataclass(frozen=True)
class CompanyDetail:
    company: Company
    nodes: list[ChainNode]
    zone: Zone | None
    ties: list[Tie]  # outside firm: its ties to local firms
    supplies: list[Supply]  # every supply edge, both directions
    partners: dict[str, Company]  # companies named in `supplies`


def _cap_per_node(rows: Iterable[Target], cap: int) -> Iterator[Target]:
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r.chain_id, r.node_id)
        if seen.get(key, 0) < cap:
            seen[key] = seen.get(key, 0) + 1
            yield r


class ChainService:
    """Gap reports and target lists of one store, cached per store data version.

    After another process's large write (an import of 100k firms) the embedded store needs seconds to
    catch up and every chain's analysis must be recomputed. Pages must not wait for that (issue 16:
    p50 8.9 s after an import under load), so the cache is "stale while revalidating": one helper
    thread checks the store's version at a time, and a request waits for it CHECK_WAIT_S at most (then
    goes on with the last version seen: a catch-up finishes in the background); when the version
    has changed, results of the previous version are served, marked `updating` (pages show 更新中),
    while ONE background thread recomputes what was cached, then swaps it in. A result never
    computed before is computed on demand. Off by default (`stale_while_updating = False`: every
    call sees the current data, as commands and tests need); `lianzhao serve` turns it on.
    """

    stale_while_updating = False

    def __init__(self, store: GraphStore, cfg: Mapping):
        self.store = store
        self.thresholds = GapThresholds.from_config(cfg)
        self.weights = TargetWeights.from_config(cfg)
        self.district = District.from_config(cfg)
        self._cache: dict[tuple, object] = {}
        self._cache_version: str | None = None
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()  # one version check (maybe a catch-up) at a time
        self._known_version: str | None = None
        self._checked_at = 0.0
        self._catching_up = False  # a version check is still catching up with another process
        self._refreshing: str | None = None  # the version a background refresh is computing
        self._local = threading.local()  # .fresh: inside the refresh thread, compute for the new version
        self._next: dict[tuple, object] = {}

    # ---- cache ----------------------------------------------------------------------------
    @property
    def updating(self) -> bool:
        """True while results of a previous data version are served: the store is catching up with
        another process's write, or a background refresh is recomputing."""
        return self._refreshing is not None or self._catching_up

    @contextmanager
    def _one_version(self) -> Iterator[None]:
        """Inside: this thread's cached lookups all use the data version the first one reads. A
        report over every chain then asks the store for its version once, not ~6 times a chain (on
        Neo4j each ask is a Bolt round trip). A write meanwhile is seen by the next call, as before."""
        if getattr(self._local, "pinned", None) is not None:  # nested: the outer call pinned it
            yield
            return
        self._local.pinned = ""  # set by the first _version() inside
        try:
            yield
        finally:
            self._local.pinned = None

    def _version(self) -> str:
        pinned = getattr(self._local, "pinned", None)
        if pinned:
            return pinned
        version = self._store_version()
        if pinned is not None:
            self._local.pinned = version
        return version

    def _store_version(self) -> str:
        """The store's data version. Under `stale_while_updating`, checked at most every
        CHECK_EVERY_S, in a helper thread waited for CHECK_WAIT_S: when the store has to catch up
        with another process's large write (seconds), the request goes on with the last version
        seen (and its results) instead of waiting, and the catch-up finishes in the background."""
        if not self.stale_while_updating or getattr(self._local, "fresh", False):
            version = self.store.data_version()
            self._known_version = version
            return version
        known = self._known_version
        if known is not None and time.monotonic() - self._checked_at < CHECK_EVERY_S:
            return known
        if not self._check_lock.acquire(blocking=known is None):
            return known  # type: ignore[return-value]  # a check (maybe a catch-up) is running
        done = threading.Event()
        failure: list[BaseException] = []

        def check() -> None:
            try:
                self._known_version = self.store.data_version()
                self._checked_at = time.monotonic()
            except BaseException as exc:  # handed to the waiting request below
                failure.append(exc)
            finally:
                self._catching_up = False
                self._check_lock.release()
                done.set()

        threading.Thread(target=check, name="lianzhao-version-check", daemon=True).start()
        if not done.wait(CHECK_WAIT_S if known is not None else None):
            self._catching_up = True
            return known  # type: ignore[return-value]
        if failure:
            raise failure[0]
        return self._known_version  # type: ignore[return-value]

    def _cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if getattr(self._local, "fresh", False):  # the refresh thread: build the new version's cache
            if key not in self._next:
                self._next[key] = compute()
            return self._next[key]
        version = self._version()
        with self._lock:
            if version == self._cache_version:
                if key in self._cache:
                    return self._cache[key]
                keep = True
            elif self.stale_while_updating and self._cache:
                self._start_refresh(version)
                if key in self._cache:
                    return self._cache[key]  # the previous version's result, while the refresh runs
                keep = False  # computed now from current data; the refresh builds the new cache
            else:
                self._cache.clear()
                self._cache_version = version
                keep = True
        value = compute()
        if keep:
            with self._lock:
                if self._cache_version == version:
                    self._cache[key] = value
        return value

    def _start_refresh(self, version: str) -> None:
        """(under self._lock) One background thread recomputes every cached key for `version`."""
        if self._refreshing is not None:
            return
        self._refreshing = version
        keys = list(self._cache)
        threading.Thread(
            target=self._refresh, args=(version, keys), name="lianzhao-analysis-refresh", daemon=True
        ).start()

    def _refresh(self, version: str, keys: list[tuple]) -> None:
        self._local.fresh = True
        self._next = {}
        try:
            for key in keys:
                if key[0] in _REFRESHERS:
                    _REFRESHERS[key[0]](self, *key[1:])
        except Exception:  # the data changed again or a store error: pages compute on demand
            log.exception("后台更新产业链分析失败")
        finally:
            self._local.fresh = False
            with self._lock:
                if self._known_version == version:
                    self._cache, self._cache_version = self._next, version
                else:  # changed again meanwhile: drop everything, the next request starts over
                    self._cache, self._cache_version = {}, None
                self._next = {}
                self._refreshing = None

    # ---- structure ------------------------------------------------------------------------
    def sectors(self) -> list[Sector]:
        """Sectors in the plan's order: 战略引擎, then 支柱产业, then 前沿新兴."""
        rank = {kind: i for i, kind in enumerate(SECTOR_KINDS)}
        return self._cached(
            ("sectors",),
            lambda: sorted(self.store.sectors(), key=lambda s: (rank.get(s.kind, len(rank)), s.id)),
        )

    def chains(self, sector_id: str | None = None) -> list[Chain]:
        return self._cached(("chains", sector_id), lambda: self.store.chains(sector_id))

    def zones(self) -> list[Zone]:
        return self._cached(("zones",), self.store.zones)

    def chain(self, chain_id: str) -> Chain:
        chain = next((c for c in self.chains() if c.id == chain_id), None)  # one read for all chains
        if chain is None:
            raise NotFoundError(f"产业链「{chain_id}」不存在")
        return chain

    def find_chain(self, ref: str) -> Chain:
        """A chain by id or by its Chinese name (what a user types on the command line)."""
        ref = (ref or "").strip()
        chains = self.chains()
        match = (
            [c for c in chains if c.id == ref]
            or [c for c in chains if c.name == ref]
            or [c for c in chains if ref and ref in c.name]
        )
        if len(match) == 1:
            return match[0]
        names = "、".join(f"{c.name}（{c.id}）" for c in (match or chains))
        if match:
            raise NotFoundError(f"「{ref}」匹配到多条产业链：{names}，请写得更具体些")
        raise NotFoundError(f"找不到产业链「{ref}」。现有产业链：{names}")

    def _nodes(self, chain_id: str) -> list[ChainNode]:
        return self._structure()[0].get(chain_id, [])

    def _structure(self) -> tuple[dict[str, list[ChainNode]], dict[str, list[Flow]]]:
        """Every chain's nodes and the flows out of them (store.flows' rule: the flow's source lies
        in the chain), from one store read of each, cached: gap reports of every chain cost two
        reads, not two per chain (on Neo4j, round trips were most of their time)."""

        def read() -> tuple[dict[str, list[ChainNode]], dict[str, list[Flow]]]:
            nodes: dict[str, list[ChainNode]] = {}
            for n in self.store.nodes():  # sorted by id, so each chain's list is too
                nodes.setdefault(n.chain_id, []).append(n)
            chain_of = {n.id: chain for chain, ns in nodes.items() for n in ns}
            flows: dict[str, list[Flow]] = {}
            for f in self.store.flows():  # sorted, so each chain's list is too
                if f.source_id in chain_of:
                    flows.setdefault(chain_of[f.source_id], []).append(f)
            return nodes, flows

        return self._cached(("structure",), read)

    # ---- gaps -----------------------------------------------------------------------------
    def gap_report(self, chain_id: str) -> GapReport:
        return self._cached(("gaps", chain_id), lambda: self._gap_report(chain_id))

    def _all_stats(self) -> dict[str, NodeStats]:
        """Every node's aggregates (one store call per data version): a flow may feed another chain's
        node, whose local firms are demand for this one."""
        return self._cached(("stats",), lambda: self.store.node_stats(self.thresholds.qualified))

    def _node_names(self) -> dict[str, str]:
        return self._cached(
            ("node_names",), lambda: {n.id: n.name for ns in self._structure()[0].values() for n in ns}
        )

    def _gap_report(self, chain_id: str) -> GapReport:
        chain = self.chain(chain_id)
        nodes = self._nodes(chain_id)
        flows = self._structure()[1].get(chain_id, [])
        gaps = analyse_chain(nodes, flows, self._all_stats(), self.thresholds, self._node_names())
        sector = next((s for s in self.sectors() if s.id == chain.sector_id), None)
        return GapReport(chain, sector, gaps, flows, extension_candidates(gaps, flows), summarise(gaps))

    def all_gap_reports(self) -> list[GapReport]:
        with self._one_version():
            return [self.gap_report(c.id) for c in self.chains()]

    def sector_overview(self, sector_id: str) -> list[GapReport]:
        if not any(s.id == sector_id for s in self.sectors()):
            raise NotFoundError(f"产业「{sector_id}」不存在")
        with self._one_version():
            return [self.gap_report(c.id) for c in self.chains(sector_id)]

    # ---- targets --------------------------------------------------------------------------
    def chain_targets(self, chain_id: str) -> Sequence[Target]:
        """Every ranked target of one chain (cached); filter with `targets`."""
        return self._cached(("targets", chain_id), lambda: self._chain_targets(chain_id))

    def _chain_targets(self, chain_id: str) -> Sequence[Target]:
        report = self.gap_report(chain_id)
        gap_ids = [g.node_id for g in report.nodes if g.status in (MISSING, WEAK) and not g.is_group]
        if not gap_ids:
            return []
        candidates = self.store.companies_on_nodes(gap_ids, local=False)  # rank_targets skips dead firms
        ties = self._display_ties(self.store.local_ties([c.id for c in candidates]))
        return rank_targets(
            report.nodes, candidates, ties, self.zones(), report.chain.sector_id, self.district, self.weights
        )

    def _display_ties(self, ties: list[Tie]) -> list[Tie]:
        """Local partners named as every output must name them: synthetic ones marked 示例数据."""
        partners = {c.id: c for c in self.store.companies(sorted({t.local_id for t in ties}))}
        return [
            replace(t, local_name=partners[t.local_id].display_name) if t.local_id in partners else t
            for t in ties
        ]

    def targets(
        self,
        chain_id: str | None = None,
        *,
        sector_id: str | None = None,
        node_id: str | None = None,
        status: str | None = None,
        top: int | None = 50,
        per_node: int | None = None,
    ) -> list[Target]:
        """Ranked targets for one chain, a sector's chains, or all chains, optionally filtered.

        Best score first, ties by company id, then chain id. Each chain's list is cached sorted
        that way, so the best `top` over many chains is a lazy k-way merge of those lists: a page
        costs O(top log chains), not a sort of every candidate in the district. `top` None or 0: all.
        `per_node` keeps at most that many per gap node (the leader's default view: `self.per_node`).
        """
        if chain_id:
            lists = [self.chain_targets(self.chain(chain_id).id)]
        else:
            lists = [self.chain_targets(c.id) for c in self.chains(sector_id)]
        rows: Iterable[Target] = (
            lists[0]
            if len(lists) == 1
            else heapq.merge(*lists, key=lambda r: (-r.score, r.company_id, r.chain_id))
        )
        if node_id and len(lists) == 1:
            rows = self._where(lists[0], node_id=node_id)
        elif node_id:
            rows = (r for r in rows if r.node_id == node_id)
        if status:
            rows = (r for r in rows if r.status == status)
        if per_node:
            rows = _cap_per_node(rows, per_node)
        return list(islice(rows, top)) if top else list(rows)

    @staticmethod
    def _where(rows: Any, **match: Any) -> Iterator[Target]:
        """Rows of one node or firm; a Ranking finds them without building the others."""
        if isinstance(rows, Ranking):
            return rows.where(**match)
        key, value = next(iter(match.items()))
        return (r for r in rows if getattr(r, key) == value)

    def company_targets(self, company_id: str, chain_ids: Iterable[str]) -> list[Target]:
        """The firm's rows in these chains' rankings (its 补链 scores on its company page)."""
        return [t for c in chain_ids for t in self._where(self.chain_targets(c), company_id=company_id)]

    @property
    def per_node(self) -> int:
        """[targets] per_node: how many targets per gap node a default list shows (0: no cap)."""
        return self.weights.per_node

    def factor_coverage(self, chain_id: str | None = None, sector_id: str | None = None) -> dict[str, float]:
        """Which factors had data over the ranked firms of a chain (or a sector's chains, or all)."""
        if chain_id:
            return factor_coverage([self.chain_targets(self.chain(chain_id).id)])
        return factor_coverage([self.chain_targets(c.id) for c in self.chains(sector_id)])

    # ---- details --------------------------------------------------------------------------
    def node_detail(self, node_id: str, top: int = 10) -> NodeDetail:
        node = self._find_node(node_id)
        report = self.gap_report(node.chain_id)
        gap = next(g for g in report.nodes if g.node_id == node_id)
        local = [c for c in self.store.companies_on_nodes([node_id], local=True) if is_active(c)]
        local.sort(key=lambda c: (-(c.revenue or 0), c.id))
        targets = list(islice(self._where(self.chain_targets(node.chain_id), node_id=node_id), top))
        return NodeDetail(gap, node, report.chain, local, targets)

    def _find_node(self, node_id: str) -> ChainNode:
        """Node ids are "<chain_id>.<key>": look in that chain first, then everywhere."""
        chain_id = node_id.split(".", 1)[0]
        candidates = self._nodes(chain_id) if self.store.chain(chain_id) else self.store.nodes()
        node = next((n for n in candidates if n.id == node_id), None)
        if node is None:
            raise NotFoundError(f"产业链环节「{node_id}」不存在")
        return node

    def company_detail(self, company_id: str) -> CompanyDetail:
        company = self.store.company(company_id)
        if company is None:
            raise NotFoundError("企业不存在")
        node_index = {n.id: n for n in self.store.nodes()}
        nodes = [node_index[n] for n in company.node_ids if n in node_index]
        zone = next((z for z in self.zones() if z.id == company.zone_id), None)
        ties = [] if company.is_local else self._display_ties(self.store.local_ties([company.id]))
        supplies = self.store.supplies_of(company.id)
        partner_ids = sorted(
            {s.supplier_id for s in supplies} | {s.buyer_id for s in supplies} - {company.id}
        )
        partners = {c.id: c for c in self.store.companies(partner_ids)}
        return CompanyDetail(company, nodes, zone, ties, supplies, partners)


# What a background refresh recomputes, by cache key kind: the method that fills that key.
_REFRESHERS: dict[str, Callable[..., Any]] = {
    "sectors": lambda svc: svc.sectors(),
    "chains": lambda svc, sector_id: svc.chains(sector_id),
    "zones": lambda svc: svc.zones(),
    "structure": lambda svc: svc._structure(),
    "gaps": lambda svc, chain_id: svc.gap_report(chain_id),
    "stats": lambda svc: svc._all_stats(),
    "node_names": lambda svc: svc._node_names(),
    "targets": lambda svc, chain_id: svc.chain_targets(chain_id),
}
