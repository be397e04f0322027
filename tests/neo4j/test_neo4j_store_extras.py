"""Neo4jStore behaviour beyond the shared contract: versions, chunked clear, layout migration,
bulk reads for sync. Against the real server."""

from __future__ import annotations

import pytest

from graph import neo4j_store
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStoreError
from seed.loader import load_structure, seed_store

pytestmark = pytest.mark.neo4j

QUALIFIED = ["专精特新", "小巨人", "单项冠军", "上市", "高新技术企业", "链主"]


@pytest.fixture
def seeded(neo):
    seed_store(neo, load_structure(), n_synthetic=300)
    return neo


def test_data_version_moves_with_writes_only(seeded):
    first = seeded.data_version()
    seeded.node_stats(QUALIFIED)
    seeded.companies_on_nodes([n.id for n in seeded.nodes()][:5])
    assert seeded.data_version() == first
    firm = seeded.company(seeded.company_ids()[0])
    seeded.upsert_companies([firm])
    second = seeded.data_version()
    assert second != first and second.split(":")[0] == first.split(":")[0]
    with pytest.raises(GraphStoreError):
        seeded.upsert_companies([firm.__class__("X", "坏", node_ids=("ghost",))])
    assert seeded.data_version() == second  # a rejected write changes nothing, not even the version


def test_chunked_clear_empties_a_graph_bigger_than_a_chunk(seeded, monkeypatch):
    monkeypatch.setattr(neo4j_store, "_CLEAR_CHUNK", 100)
    before = seeded.data_version()
    seeded.clear()
    assert seeded.company_count() == 0 and seeded.nodes() == [] and seeded.sectors() == []
    assert seeded.data_version() != before


def test_layout_1_database_is_relabelled_on_connect(seeded, neo4j_env):
    expected = seeded.node_stats(QUALIFIED)
    locals_ = seeded.company_count(local=True)
    assert locals_ > 0
    with seeded._driver.session() as session:  # make it look like a database written by layout 1
        session.run("MATCH (c:Local) REMOVE c:Local").consume()
        session.run("MATCH (m:Meta) REMOVE m.schema").consume()
    with Neo4jStore(**neo4j_env) as reopened:
        assert reopened.company_count(local=True) == locals_
        assert reopened.node_stats(QUALIFIED) == expected


def test_bulk_reads_for_sync(seeded):
    ids = seeded.company_ids()
    assert ids == sorted(ids) and len(ids) == seeded.company_count()
    edges = seeded.supplies_from(ids)
    assert len(edges) == seeded.supply_count() > 0
    some = edges[0].supplier_id
    assert [e for e in seeded.supplies_of(some) if e.supplier_id == some] == seeded.supplies_from([some])


def test_layout_3_database_gets_counters_on_connect(seeded, neo4j_env):
    """A database written before counters existed (or by neo4j-admin) derives them once."""
    before = seeded.node_stats(QUALIFIED)
    with seeded._driver.session(database=seeded.database) as session:
        session.run("MATCH (k:NodeCount) DELETE k").consume()
        session.run("MATCH (m:Meta) SET m.schema = 3").consume()
    assert all(s.local_firms == 0 for s in seeded.node_stats(QUALIFIED).values())
    with Neo4jStore(**neo4j_env) as again:
        assert again.node_stats(QUALIFIED) == before


def test_recount_nodes_after_a_write_outside_upserts(seeded):
    """The hook for merges and deletes: their Cypher, then the touched nodes recounted, one transaction."""
    firm = next(c for c in seeded.companies(seeded.company_ids()) if c.is_local and c.active and c.node_ids)
    before = seeded.node_stats(QUALIFIED)
    seeded.recount_nodes(
        firm.node_ids, lambda tx: tx.run("MATCH (c:Company {id: $id}) DETACH DELETE c", id=firm.id).consume()
    )
    after = seeded.node_stats(QUALIFIED)
    for nid in firm.node_ids:
        assert after[nid].local_firms == before[nid].local_firms - 1
    assert sum(s.local_firms for s in after.values()) == sum(s.local_firms for s in before.values()) - len(
        firm.node_ids
    )


def test_layout_4_database_gets_missing_search_text_only(seeded, neo4j_env):
    """Opening a layout-4 database fills the search text of firms without it and leaves the rest
    (a bulk load writes it already: rewriting millions of firms on first connect would take hours)."""
    ids = seeded.company_ids()[:2]
    query = "MATCH (c:Company {id: $id}) RETURN c.search_text AS t, c.initials AS i"
    with seeded._driver.session(database=seeded.database) as session:
        before = session.run(query, id=ids[0]).single(strict=True)
        assert before["t"]
        session.run("MATCH (c:Company {id: $id}) REMOVE c.search_text, c.initials", id=ids[0]).consume()
        session.run("MATCH (c:Company {id: $id}) SET c.search_text = 'marker'", id=ids[1]).consume()
        session.run("MATCH (m:Meta) SET m.schema = 4").consume()
    with Neo4jStore(**neo4j_env) as again, again._driver.session(database=again.database) as session:
        filled = session.run(query, id=ids[0]).single(strict=True)
        assert (filled["t"], filled["i"]) == (before["t"], before["i"])
        assert session.run(query, id=ids[1]).single(strict=True)["t"] == "marker"
        assert session.run("MATCH (m:Meta) RETURN m.schema AS s").single(strict=True)["s"] >= 5
