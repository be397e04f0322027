"""Top-N targets across many chains without sorting every candidate on each request.

ChainService caches each chain's ranked list (sorted by score, then company id); the best N
over several chains is a lazy k-way merge of those lists, so a page costs O(N log k), not a
sort of every candidate in the district.
"""

from __future__ import annotations

import heapq
from itertools import islice


def ranked_targets(
    svc,
    *,
    chain_id: str | None = None,
    sector_id: str | None = None,
    node_id: str | None = None,
    status: str | None = None,
    top: int = 50,
) -> list:
    """Same rows and order as ChainService.targets, cheaper for the all-chains case."""
    if chain_id:
        return svc.targets(chain_id, node_id=node_id, status=status, top=top)
    lists = [svc.chain_targets(c.id) for c in svc.chains(sector_id)]
    merged = heapq.merge(*lists, key=lambda r: (-r.score, r.company_id, r.chain_id))
    if status:
        merged = (r for r in merged if r.status == status)
    return list(islice(merged, top))
