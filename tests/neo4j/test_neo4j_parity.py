"""Parity: the seed data plus synthetic firms, written into both stores, read back identically.

What analysis consumes (node_stats, companies_on_nodes, local_ties) and what users see (the gap
report and the target list of every chain) must match row for row between networkx and Neo4j.
"""
from __future__ import annotations

import pytest

from graph.identity import normalize_name
from graph.service import ChainService
from lianzhao.config import load_config
from seed.loader import load_structure, seed_store

pytestmark = pytest.mark.neo4j

N_SYNTHETIC = 2500


@pytest.fixture(scope="module")
def pair(neo4j_env):
    """(networkx store, Neo4j store) holding the same seeded graph."""
    from graph.neo4j_store import Neo4jStore
    from graph.nx_store import NetworkxStore

    structure = load_structure()
    nx_store, neo = NetworkxStore(None), Neo4jStore(**neo4j_env)
    neo.clear()
    a = seed_store(nx_store, structure, n_synthetic=N_SYNTHETIC)
    b = seed_store(neo, structure, n_synthetic=N_SYNTHETIC)
    assert a == b and a.synthetic == N_SYNTHETIC and a.supplies > 0
    yield nx_store, neo
    nx_store.close()
    neo.close()


@pytest.fixture(scope="module")
def cfg():
    return load_config()


def test_structure_and_counts_match(pair):
    nx_store, neo = pair
    assert neo.sectors() == nx_store.sectors()
    assert neo.chains() == nx_store.chains()
    assert neo.nodes() == nx_store.nodes()
    assert neo.flows() == nx_store.flows()
    assert neo.zones() == nx_store.zones()
    for local in (None, True, False):
        assert neo.company_count(local) == nx_store.company_count(local)


def test_node_stats_match_for_all_and_each_chain(pair, cfg):
    nx_store, neo = pair
    qualified = cfg["gaps"]["qualified"]
    for wanted in (qualified, ["专精特新"], []):
        assert neo.node_stats(wanted) == nx_store.node_stats(wanted)
    for chain in nx_store.chains():
        assert neo.node_stats(qualified, chain.id) == nx_store.node_stats(qualified, chain.id)
    stats = nx_store.node_stats(qualified)
    assert any(s.local_firms for s in stats.values()) and any(not s.local_firms for s in stats.values())


def test_companies_on_nodes_match(pair):
    nx_store, neo = pair
    for chain in nx_store.chains():
        ids = [n.id for n in nx_store.nodes(chain.id)]
        for local in (None, True, False):
            assert neo.companies_on_nodes(ids, local) == nx_store.companies_on_nodes(ids, local)


def test_local_ties_and_supplies_match(pair):
    nx_store, neo = pair
    chains = nx_store.chains()
    outside = [c.id for ch in chains
               for c in nx_store.companies_on_nodes([n.id for n in nx_store.nodes(ch.id)], local=False)]
    ties = nx_store.local_ties(outside)
    assert ties, "the synthetic data must have 以商招商 ties"
    assert neo.local_ties(outside) == ties
    for cid in sorted({t.company_id for t in ties})[:50] + sorted({t.local_id for t in ties})[:50]:
        assert neo.supplies_of(cid) == nx_store.supplies_of(cid)


def test_company_reads_and_matching_match(pair):
    nx_store, neo = pair
    firms = nx_store.companies_on_nodes([n.id for n in nx_store.nodes()])
    ids = [c.id for c in firms]
    assert neo.companies(ids) == nx_store.companies(ids) == firms
    usccs = [c.uscc for c in firms if c.uscc][:500]
    names = [normalize_name(c.name) for c in firms][:500]
    assert neo.match_companies(usccs, names) == nx_store.match_companies(usccs, names)


def test_gap_reports_and_targets_match_row_for_row(pair, cfg):
    nx_store, neo = pair
    a, b = ChainService(nx_store, cfg), ChainService(neo, cfg)
    statuses = set()
    for chain in nx_store.chains():
        ra, rb = a.gap_report(chain.id), b.gap_report(chain.id)
        assert rb.nodes == ra.nodes
        assert rb.extensions == ra.extensions and rb.summary == ra.summary
        statuses.update(g.status for g in ra.nodes)
        ta, tb = a.chain_targets(chain.id), b.chain_targets(chain.id)
        assert tb == ta
    assert statuses == {"缺链", "弱链", "强链", "分组"}
    assert sum(len(a.chain_targets(c.id)) for c in nx_store.chains()) > 0


def test_parity_survives_updates(pair, cfg):
    """Re-upserting firms onto other nodes / as non-local changes both stores alike."""
    from dataclasses import replace

    nx_store, neo = pair
    chain = nx_store.chains()[0]
    nodes = [n.id for n in nx_store.nodes(chain.id)]
    firms = nx_store.companies_on_nodes(nodes[:3])[:40]
    changed = [replace(c, is_local=not c.is_local, node_ids=(nodes[-1],), revenue=(c.revenue or 0) + 0.1)
               for c in firms]
    nx_store.upsert_companies(changed)
    neo.upsert_companies(changed)
    qualified = cfg["gaps"]["qualified"]
    assert neo.node_stats(qualified, chain.id) == nx_store.node_stats(qualified, chain.id)
    assert ChainService(neo, cfg).chain_targets(chain.id) == ChainService(nx_store, cfg).chain_targets(chain.id)
