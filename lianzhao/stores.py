"""Build the configured GraphStore. Nothing connects until a caller asks for a store."""

from __future__ import annotations

from typing import Any

from graph.store import GraphStore

from .config import ConfigError, instance_path

BACKENDS = ("networkx", "neo4j")


def open_graph_store(cfg: dict[str, Any]) -> GraphStore:
    """The graph store named by cfg["graph"]["backend"] ("networkx" by default, or "neo4j")."""
    backend = str(cfg.get("graph", {}).get("backend", "networkx")).strip().lower()
    if backend == "networkx":
        from graph.nx_store import NetworkxStore

        return NetworkxStore(instance_path(cfg) / "graph.sqlite3")
    if backend == "neo4j":
        from graph.neo4j_store import Neo4jStore  # optional backend, imported only when chosen

        return Neo4jStore.from_config(cfg)
    raise ConfigError(f"未知的图存储后端「{backend}」：[graph] backend 应为 networkx 或 neo4j")
