"""The ranking across chains (ChainService.targets, a lazy k-way merge of the cached per-chain
lists) equals sorting every candidate, row for row. The ranking page and its export call it."""

from __future__ import annotations

from graph.service import ChainService


def _sorted_reference(svc, sector=None, node=None, status=None, top=None):
    """What the merge must give: every chain's rows, filtered, fully sorted."""
    rows = [r for c in svc.chains(sector) for r in svc.chain_targets(c.id)]
    rows = [r for r in rows if (node is None or r.node_id == node) and (status is None or r.status == status)]
    rows.sort(key=lambda r: (-r.score, r.company_id, r.chain_id))
    return rows[:top] if top else rows


def _keys(rows):
    return [(t.company_id, t.chain_id, t.node_id) for t in rows]


def test_merge_matches_full_sort(env):
    svc = ChainService(env.store, env.cfg)
    for sector in (None, "nev", "medical"):
        for status in (None, "缺链", "弱链"):
            for top in (1, 3, 50, None):
                expected = _sorted_reference(svc, sector, status=status, top=top)
                assert _keys(svc.targets(None, sector_id=sector, status=status, top=top)) == _keys(expected)


def test_node_filter_applies_across_chains(env):
    """Disagreed before: web/ranking.py dropped `node_id` when no chain was chosen."""
    svc = ChainService(env.store, env.cfg)
    node = svc.targets(None, top=1)[0].node_id
    got = svc.targets(None, node_id=node, top=None)
    assert got and {t.node_id for t in got} == {node}
    assert _keys(got) == _keys(_sorted_reference(svc, node=node))
