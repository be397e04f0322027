"""`lianzhao graph bulk-load`: neo4j-admin offline import of a few hundred firms on a spare server,
then the same answers as the embedded store the firms came from, counters included."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from graph.model import Company
from graph.nx_store import NetworkxStore
from lianzhao.config import load_config

from .test_neo4j_sync_cli import run, write_config

pytestmark = pytest.mark.neo4j


def test_bulk_load_gives_the_embedded_answers(tmp_path, spare_server, monkeypatch):
    monkeypatch.delenv("LIANZHAO_GRAPH_BACKEND", raising=False)
    if not shutil.which("java"):
        pytest.skip("需要 java 运行 neo4j-admin")
    env = {"NEO4J_URI": spare_server.uri, "NEO4J_USER": "neo4j", "NEO4J_PASSWORD": spare_server.password}
    config = write_config(tmp_path, "a")
    assert run(config, "init", "--synthetic", "300").exit_code == 0
    done = run(
        config, "graph", "bulk-load", "--from-embedded", "--yes", "--neo4j-home", str(spare_server.home), env=env
    )
    assert done.exit_code == 0, done.output
    assert "装载完成：305 家企业" in done.output

    qualified = load_config(config)["gaps"]["qualified"]
    with NetworkxStore(tmp_path / "a" / "instance" / "graph.sqlite3") as src, spare_server.store() as neo:
        ids = src.company_ids()
        assert neo.company_ids() == ids and len(ids) == 305
        assert neo.companies(ids) == src.companies(ids)  # every field, typed, through the CSV
        assert neo.supplies_from(ids) == src.supplies_from(ids) and src.supplies_from(ids)
        for read in ("sectors", "chains", "nodes", "flows", "zones"):
            assert getattr(neo, read)() == getattr(src, read)(), read
        assert neo.node_stats(qualified) == src.node_stats(qualified)  # counters derived after import
        assert (neo.company_count(), neo.company_count(True)) == (src.company_count(), src.company_count(True))
        firm = src.companies(ids[:1])[0]
        assert neo.find_companies(firm.name[:4]) == src.find_companies(firm.name[:4])
        assert neo.match_companies([], [firm.name]) == src.match_companies([], [firm.name])
        # ordinary writes after the bulk load keep the counters right
        moved = dataclasses.replace(firm, node_ids=(src.nodes()[0].id,), is_local=not firm.is_local)
        new = Company("bulk-new", "装载后新增企业", is_local=True, revenue=3.0, node_ids=(src.nodes()[1].id,))
        src.upsert_companies([moved, new])
        neo.upsert_companies([moved, new])
        assert neo.node_stats(qualified) == src.node_stats(qualified)
