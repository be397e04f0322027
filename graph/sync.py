"""Copy the whole chain graph from one GraphStore to another (`lianzhao graph sync`).

The target is cleared, then filled in batches: structure first, then firms, then supply edges,
each batch one transaction of the target, and last the aliases of merged-away firms. Every write is an idempotent upsert keyed by id, so an
interrupted sync (Ctrl-C, lost connection) is completed by running it again; until then the
target holds whole batches only. Reads page through `company_ids()` and `supplies_from(ids)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .store import GraphStore, GraphStoreConflict

BATCH = 5_000


@dataclass(frozen=True)
class SyncSummary:
    sectors: int
    chains: int
    nodes: int
    flows: int
    zones: int
    companies: int
    supplies: int


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def sync(
    source: GraphStore,
    target: GraphStore,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH,
) -> SyncSummary:
    """Make `target` hold exactly what `source` holds. `progress(done, total)` counts firms.

    Raises GraphStoreError (Chinese) when either store fails, GraphStoreConflict when the copy
    does not add up (the source changed meanwhile).
    """
    sectors, chains, nodes = source.sectors(), source.chains(), source.nodes()
    flows, zones = source.flows(), source.zones()
    ids = source.company_ids()
    total = len(ids)

    target.clear()
    target.upsert_sectors(sectors)
    target.upsert_chains(chains)
    target.upsert_nodes(nodes)  # one batch: a parent may come after its child
    target.upsert_flows(flows)
    target.upsert_zones(zones)

    done = 0
    for chunk in _chunks(ids, batch_size):
        firms = source.companies(chunk)
        target.upsert_companies(firms)
        done += len(firms)
        if progress:
            progress(done, total)

    supplies = 0
    for chunk in _chunks(ids, batch_size):
        edges = source.supplies_from(chunk)
        if edges:
            supplies += target.upsert_supplies(edges)

    aliases = source.company_aliases()  # merged-away ids keep resolving in the copy
    if aliases:
        target.upsert_aliases(aliases)

    copied = target.company_count()
    if copied != total:
        raise GraphStoreConflict(
            f"同步结果不一致：源图存储有 {total} 家企业，目标只有 {copied} 家，请重新同步"
        )
    return SyncSummary(len(sectors), len(chains), len(nodes), len(flows), len(zones), done, supplies)
