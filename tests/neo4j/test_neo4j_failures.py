"""What users see when Neo4j fails: wrong address, wrong password, a server that stops or crashes.

All against real servers: the shared one for address checks, a second throw-away instance
(scripts/neo4j.sh with its own port and folder) for stopping and killing.
"""
from __future__ import annotations

import threading
import time

import pytest

from graph.model import Chain, ChainNode, Company, Sector
from graph.neo4j_store import Neo4jStore
from graph.store import GraphStoreError, GraphStoreUnavailable

from .neo4j_testkit import free_port

SECTOR = Sector("s1", "智能装备")
CHAIN = Chain("c1", "机器人", "s1")
NODES = [ChainNode(f"n{i}", "c1", f"环节{i}", ("上游", "中游", "下游")[i % 3]) for i in range(6)]


def structure(store) -> None:
    store.upsert_sectors([SECTOR])
    store.upsert_chains([CHAIN])
    store.upsert_nodes(NODES)


def firms(n: int, start: int = 0) -> list[Company]:
    return [Company(f"F{i:07d}", f"示例机器人{i}有限公司", is_local=i % 4 == 0, revenue=float(i % 997),
                    qualifications=("专精特新",) if i % 7 == 0 else (), synthetic=True,
                    node_ids=(f"n{i % 6}", f"n{(i + 1) % 6}"))
            for i in range(start, start + n)]


def test_wrong_port_names_the_uri(neo4j_env):
    uri = f"bolt://127.0.0.1:{free_port()}"
    with pytest.raises(GraphStoreUnavailable) as info:
        Neo4jStore(uri, "neo4j", "whatever", connect_timeout=2)
    message = str(info.value)
    assert uri in message
    assert "是否已启动" in message and "端口" in message


def test_malformed_uri_is_explained():
    with pytest.raises(GraphStoreUnavailable) as info:
        Neo4jStore("http://127.0.0.1:7474", "neo4j", "x")
    assert "http://127.0.0.1:7474" in str(info.value) and "bolt://" in str(info.value)


def test_missing_uri_in_config_is_explained():
    with pytest.raises(GraphStoreUnavailable) as info:
        Neo4jStore.from_config({"neo4j": {"uri": ""}})
    assert "NEO4J_URI" in str(info.value)


def test_unknown_database_is_named(neo4j_env):
    with pytest.raises(GraphStoreUnavailable) as info:
        Neo4jStore(**dict(neo4j_env, database="nosuchdb"))
    assert "nosuchdb" in str(info.value) and "NEO4J_DATABASE" in str(info.value)


def test_wrong_password_is_about_credentials(spare_server):
    with pytest.raises(GraphStoreUnavailable) as info:
        Neo4jStore(spare_server.uri, "neo4j", "not-the-password")
    message = str(info.value)
    assert spare_server.uri in message
    assert "用户名或密码错误" in message and "NEO4J_PASSWORD" in message


def test_health_is_ok_on_a_live_server(spare_server):
    with spare_server.store() as store:
        ok, message = store.health()
    assert ok is True and "正常" in message and spare_server.uri in message


def test_crash_during_big_write_leaves_nothing_half_written(spare_server):
    """SIGKILL the server while one upsert_companies transaction is writing 10,000 firms: after
    recovery either all or none of them exist (here: none, the kill comes first), and the same
    call, retried, completes."""
    batch = firms(10_000)
    store = spare_server.store(retry_seconds=0, connect_timeout=2)
    structure(store)
    store.upsert_companies(firms(5, start=900_000))  # committed before the crash
    errors: list[BaseException] = []

    def write():
        try:
            store.upsert_companies(batch)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    worker = threading.Thread(target=write)
    worker.start()
    with spare_server.store() as watcher:  # wait until the big transaction is writing firms
        deadline = time.monotonic() + 60
        while not _writing_firms(watcher) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert worker.is_alive(), "the batch finished before the crash: make it bigger"
    spare_server.kill()
    worker.join(60)
    assert store.health()[0] is False
    store.close()
    assert errors and isinstance(errors[0], GraphStoreError)
    assert "未写入任何数据" in str(errors[0])

    spare_server.start(keep_data=True)  # recovery from the transaction log
    with spare_server.store() as again:
        assert again.company_count() == 5
        assert [n.id for n in again.nodes()] == [n.id for n in NODES]
        assert again.upsert_companies(batch) == 10_000
        assert again.company_count() == 10_005
        stats = again.node_stats(["专精特新"])
        assert sum(s.local_firms + s.outside_firms for s in stats.values()) == 2 * 10_005


def test_server_stopped_mid_work(spare_server):
    """Runs last in this module: it leaves the spare server stopped."""
    store = spare_server.store(retry_seconds=1, connect_timeout=2)
    try:
        structure(store)
        assert store.data_version()
        spare_server.stop()
        with pytest.raises(GraphStoreError) as info:
            store.upsert_companies(firms(10))
        assert spare_server.uri in str(info.value)
        assert "未写入任何数据" in str(info.value)
        with pytest.raises(GraphStoreError):
            store.nodes()
        t0 = time.monotonic()
        ok, message = store.health()
        assert ok is False
        assert "不可用" in message and spare_server.uri in message
        assert time.monotonic() - t0 < 10  # health answers, it does not retry for long
    finally:
        store.close()


def _writing_firms(store: Neo4jStore) -> bool:
    with store._driver.session(database="system") as session:
        queries = [r["q"] for r in session.run("SHOW TRANSACTIONS YIELD currentQuery AS q")]
    return any("UNWIND $rows AS row" in (q or "") and "c:Company" in q for q in queries)
