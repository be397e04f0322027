"""Kept for callers of the old path: the store factory lives in graph.backends."""

from __future__ import annotations

from graph.backends import BACKENDS, open_graph_store

__all__ = ["BACKENDS", "open_graph_store"]
