"""Open the graph store a configuration names. Nothing connects until a caller asks for a store.

Here, in the lowest layer, so the web app, the command line and tools all open stores the same
way without importing the command line's package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .nx_store import NetworkxStore
from .store import GraphStore

BACKENDS = ("networkx", "neo4j")
EMBEDDED_FILE = "graph.sqlite3"


def backend_name(cfg: Mapping[str, Any]) -> str:
    """[graph] backend, normalised; an unknown name is a configuration error in Chinese."""
    backend = str(cfg["graph"]["backend"]).strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"未知的图存储后端「{backend}」：[graph] backend 应为 networkx 或 neo4j")
    return backend


def embedded_path(cfg: Mapping[str, Any]) -> Path:
    """Where the embedded store keeps its file: <instance>/graph.sqlite3."""
    folder = Path(cfg["instance"]["path"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder / EMBEDDED_FILE


def store_identity(cfg: Mapping[str, Any]) -> str:
    """A short key naming the store a configuration opens (the embedded file, or the Neo4j server
    and database): processes with the same key write to the same data (one import at a time)."""
    backend = backend_name(cfg)
    if backend == "neo4j":
        section = cfg.get("neo4j") or {}
        where = f"{section.get('uri', '')}/{section.get('database', '')}"
    else:
        where = str(embedded_path(cfg).resolve())
    return f"{backend}:{hashlib.sha256(where.encode()).hexdigest()[:24]}"


def open_backend(cfg: Mapping[str, Any], backend: str) -> GraphStore:
    """Open one backend explicitly, whatever [graph] backend says (graph sync, health)."""
    if backend == "neo4j":
        # The optional backend's driver takes about 0.5 s to import: only when it is chosen.
        from .neo4j_store import Neo4jStore  # noqa: PLC0415

        return Neo4jStore.from_config(dict(cfg))
    return NetworkxStore(embedded_path(cfg))


def open_graph_store(cfg: Mapping[str, Any]) -> GraphStore:
    """The graph store named by cfg["graph"]["backend"] ("networkx" or "neo4j")."""
    return open_backend(cfg, backend_name(cfg))
