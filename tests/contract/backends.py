"""Every GraphStore backend the contract suite runs against: name -> factory(tmp_path).

Adding a backend is one line here. A factory may call pytest.skip() when its server is absent.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from graph.nx_store import NetworkxStore
from graph.store import GraphStore

BACKENDS: dict[str, Callable[[Path], GraphStore]] = {
    "networkx-memory": lambda tmp_path: NetworkxStore(None),
    "networkx-file": lambda tmp_path: NetworkxStore(tmp_path / "graph.sqlite3"),
}
