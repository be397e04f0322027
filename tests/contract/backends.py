"""Every GraphStore backend the contract suite runs against: name -> factory(tmp_path).

Adding a backend is one line here. A factory may call pytest.skip() when its server is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graph.nx_store import NetworkxStore
from graph.store import GraphStore


def neo4j_store(tmp_path: Path | None = None) -> GraphStore:
    """The Neo4j server named by NEO4J_URI; skipped when absent, but CI=true makes that a failure."""
    import os

    import pytest

    from graph.neo4j_store import Neo4jStore
    from graph.store import GraphStoreUnavailable

    how = '启动方法：eval "$(bash scripts/neo4j.sh start)"'
    reason = None
    if not os.environ.get("NEO4J_URI"):
        reason = f"未设置 NEO4J_URI，跳过 Neo4j 测试。{how}"
    else:
        try:
            return Neo4jStore(
                os.environ["NEO4J_URI"],
                os.environ.get("NEO4J_USER", "neo4j"),
                os.environ.get("NEO4J_PASSWORD", ""),
                os.environ.get("NEO4J_DATABASE", "neo4j"),
            )
        except GraphStoreUnavailable as exc:
            reason = f"Neo4j 不可用：{exc}。{how}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


BACKENDS: dict[str, Callable[[Path], GraphStore]] = {
    "neo4j": neo4j_store,
    "networkx-memory": lambda tmp_path: NetworkxStore(None),
    "networkx-file": lambda tmp_path: NetworkxStore(tmp_path / "graph.sqlite3"),
}
