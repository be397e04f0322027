"""`lianzhao graph sync`, `lianzhao health` and `backend = "neo4j"` end to end, on a real server."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from .neo4j_testkit import ROOT, free_port
from graph.neo4j_store import Neo4jStore
from graph.nx_store import NetworkxStore
from graph.sync import sync
from lianzhao.cli import main
from lianzhao.config import load_config
from seed.loader import load_structure, seed_store

pytestmark = pytest.mark.neo4j


def write_config(tmp_path, name: str, backend: str = "networkx", uri: str | None = None) -> str:
    """A copy of config.toml with its own instance folder (and optionally backend / Neo4j URI)."""
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    folder = tmp_path / name
    folder.mkdir()
    text = text.replace('path = "instance"', f'path = "{folder / "instance"}"', 1)
    text = text.replace('backend = "networkx"', f'backend = "{backend}"', 1)
    if uri:
        text = text.replace('uri = "bolt://127.0.0.1:7687"', f'uri = "{uri}"', 1)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(config: str, *args, env=None):
    result = CliRunner().invoke(main, ["--config", config, *args], env=env, catch_exceptions=False)
    return result


def test_sync_both_ways_and_gaps_identical_on_both_backends(tmp_path, neo4j_env, monkeypatch):
    monkeypatch.delenv("LIANZHAO_GRAPH_BACKEND", raising=False)
    first = write_config(tmp_path, "a")
    assert run(first, "init", "--synthetic", "400").exit_code == 0
    done = run(first, "graph", "sync", "--to", "neo4j", "--yes")
    assert done.exit_code == 0, done.output
    assert "同步完成" in done.output and "405 家企业" in done.output

    # the same gap table and target list, byte for byte, from either backend
    on_neo = write_config(tmp_path, "b", backend="neo4j")
    for command in (["gaps", "--chain", "device", "--format", "csv"],
                    ["targets", "--chain", "device", "--top", "50", "--format", "csv"]):
        a, b = run(first, *command), run(on_neo, *command)
        assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
        assert b.stdout_bytes == a.stdout_bytes and len(a.stdout_bytes) > 200

    # and back into an empty embedded store
    back = write_config(tmp_path, "c")
    done = run(back, "graph", "sync", "--to", "networkx", "--yes")
    assert done.exit_code == 0, done.output
    cfg_a, cfg_c = load_config(first), load_config(back)
    qualified = cfg_a["gaps"]["qualified"]
    with NetworkxStore(tmp_path / "a" / "instance" / "graph.sqlite3") as a_store, \
            NetworkxStore(tmp_path / "c" / "instance" / "graph.sqlite3") as c_store:
        assert c_store.node_stats(qualified) == a_store.node_stats(qualified)
        assert c_store.company_count() == a_store.company_count() == 405
        assert c_store.nodes() == a_store.nodes() and c_store.flows() == a_store.flows()
        ids = [c.id for c in a_store.companies_on_nodes([n.id for n in a_store.nodes()])]
        assert c_store.companies(ids) == a_store.companies(ids)
        assert c_store.local_ties(ids) == a_store.local_ties(ids)
    assert cfg_c["graph"]["backend"] == "networkx"


def test_sync_asks_before_clearing_the_target(tmp_path, neo4j_env):
    config = write_config(tmp_path, "a")
    result = CliRunner().invoke(main, ["--config", config, "graph", "sync", "--to", "neo4j"], input="n\n")
    assert result.exit_code != 0
    assert "将清空" in result.output


def test_interrupted_sync_leaves_whole_batches_and_a_rerun_completes(neo4j_env):
    source = NetworkxStore(None)
    seed_store(source, load_structure(), n_synthetic=350, anchors=False)
    target = Neo4jStore(**neo4j_env)
    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sync(source, target, progress=stop_after_two, batch_size=100)
    assert target.company_count() == 200  # two whole batches, nothing of the third
    summary = sync(source, target, batch_size=100)
    assert summary.companies == 350 == target.company_count()
    assert target.node_stats(["专精特新"]) == source.node_stats(["专精特新"])
    target.close()
    source.close()


def test_health_exit_code_follows_the_configured_backend(tmp_path, neo4j_env, monkeypatch):
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.delenv("LIANZHAO_GRAPH_BACKEND", raising=False)
    dead = f"bolt://127.0.0.1:{free_port()}"
    embedded = write_config(tmp_path, "a", uri=dead)
    result = run(embedded, "health")
    assert result.exit_code == 0
    assert "[正常] 嵌入式图存储" in result.output and "[不可用] Neo4j" in result.output
    assert dead in result.output

    on_dead_neo = write_config(tmp_path, "b", backend="neo4j", uri=dead)
    result = run(on_dead_neo, "health")
    assert result.exit_code == 1
    assert "（当前使用）" in result.output.split("[不可用]")[1]

    monkeypatch.setenv("NEO4J_URI", neo4j_env["uri"])
    live = write_config(tmp_path, "c", backend="neo4j")
    result = run(live, "health")
    assert result.exit_code == 0 and "[正常] Neo4j 图存储" in result.output


def test_configured_neo4j_down_gives_one_chinese_line(tmp_path, neo4j_env, monkeypatch):
    monkeypatch.delenv("NEO4J_URI", raising=False)
    monkeypatch.delenv("LIANZHAO_GRAPH_BACKEND", raising=False)
    dead = f"bolt://127.0.0.1:{free_port()}"
    config = write_config(tmp_path, "a", backend="neo4j", uri=dead)
    result = CliRunner().invoke(main, ["--config", config, "chains"])
    assert result.exit_code == 1
    assert result.output.startswith("错误：无法连接") and dead in result.output
    assert "Traceback" not in result.output
