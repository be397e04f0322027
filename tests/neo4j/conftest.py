"""Fixtures for tests against real Neo4j servers.

`neo4j_env` is the server that `eval "$(bash scripts/neo4j.sh start)"` started (NEO4J_* env):
absent -> skip with how to start it, or fail when CI=true. `spare_server` starts a SECOND
throw-away server through scripts/neo4j.sh (own port and folder) that tests may stop and kill.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from graph.neo4j_store import Neo4jStore
from graph.nx_store import NetworkxStore
from graph.store import GraphStoreUnavailable
from .neo4j_testkit import SpareServer

HOW = '启动方法：eval "$(bash scripts/neo4j.sh start)"'


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def neo4j_env() -> dict[str, str]:
    if not os.environ.get("NEO4J_URI"):
        _unavailable(f"未设置 NEO4J_URI，跳过 Neo4j 测试。{HOW}")
    env = {"uri": os.environ["NEO4J_URI"], "user": os.environ.get("NEO4J_USER", "neo4j"),
           "password": os.environ.get("NEO4J_PASSWORD", ""),
           "database": os.environ.get("NEO4J_DATABASE", "neo4j")}
    try:
        Neo4jStore(**env).close()
    except GraphStoreUnavailable as exc:
        _unavailable(f"Neo4j 不可用：{exc}。{HOW}")
    return env


@pytest.fixture
def neo(neo4j_env):
    """The shared server's store, emptied (Community has one database)."""
    store = Neo4jStore(**neo4j_env)
    store.clear()
    yield store
    store.close()


@pytest.fixture
def nx_store():
    store = NetworkxStore(None)
    yield store
    store.close()


@pytest.fixture(scope="module")
def spare_server(neo4j_env):
    server = SpareServer()
    server.start()
    yield server
    server.stop()
    subprocess.run(["rm", "-rf", str(server.home)], check=False)
