"""Helpers for the Neo4j tests: free ports and a second, disposable server run by scripts/neo4j.sh.

(A module of its own rather than conftest.py: test modules import from it.)
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from graph.neo4j_store import Neo4jStore

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "neo4j.sh"


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
