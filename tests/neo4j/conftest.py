"""Fixtures for tests against real Neo4j servers.

`neo4j_env` is the server that `eval "$(bash scripts/neo4j.sh start)"` started (NEO4J_* env):
absent -> skip with how to start it, or fail when CI=true. `spare_server` starts a SECOND
throw-away server through scripts/neo4j.sh (own port and folder) that tests may stop and kill.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from graph.neo4j_store import Neo4jStore
from graph.nx_store import NetworkxStore
from graph.store import GraphStoreUnavailable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "neo4j.sh"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SpareServer:
    """A second Neo4j instance run by scripts/neo4j.sh in its own folder under .neo4j/."""

    def __init__(self):
        self.port = free_port()
        self.home = ROOT / ".neo4j" / f"test-{self.port}"
        self.uri = f"bolt://127.0.0.1:{self.port}"
        self.password = ""

    def _run(self, command: str, keep_data: bool = False) -> str:
        env = dict(os.environ, NEO4J_PORT=str(self.port), NEO4J_HOME=str(self.home))
        if keep_data:
            env["NEO4J_KEEP_DATA"] = "1"
        done = subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"neo4j.sh {command} 失败：{done.stderr[-2000:]}")
        return done.stdout

    def start(self, keep_data: bool = False) -> None:
        out = self._run("start", keep_data)
        exports = dict(part.strip().removeprefix("export ").split("=", 1)
                       for part in out.strip().split(";") if part.strip())
        assert exports["NEO4J_URI"] == self.uri
        self.password = exports["NEO4J_PASSWORD"]

    def stop(self, keep_data: bool = False) -> None:
        self._run("stop", keep_data)

    def kill(self) -> None:
        """SIGKILL, as a crash or power loss would."""
        pid = int((self.home / "neo4j.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid):
                return
            time.sleep(0.1)

    def store(self, **kw) -> Neo4jStore:
        return Neo4jStore(self.uri, "neo4j", self.password, **kw)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"


@pytest.fixture(scope="module")
def spare_server(neo4j_env):
    server = SpareServer()
    server.start()
    yield server
    server.stop()
    subprocess.run(["rm", "-rf", str(server.home)], check=False)
