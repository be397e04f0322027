"""open_graph_store picks the backend from config; bad names fail in Chinese."""

from __future__ import annotations

import pytest

from graph.model import Sector
from graph.nx_store import NetworkxStore
from lianzhao.config import ConfigError
from lianzhao.stores import open_graph_store


def test_networkx_backend_persists_in_instance_folder(cfg, tmp_path):
    with open_graph_store(cfg) as st:
        assert isinstance(st, NetworkxStore)
        st.upsert_sectors([Sector("med", "医药健康")])
    assert (tmp_path / "instance" / "graph.sqlite3").exists()
    with open_graph_store(cfg) as st:
        assert [s.name for s in st.sectors()] == ["医药健康"]


def test_backend_name_is_case_insensitive(cfg):
    cfg["graph"]["backend"] = " NetworkX "
    with open_graph_store(cfg) as st:
        assert st.health()[0]


def test_unknown_backend_is_a_chinese_config_error(cfg):
    cfg["graph"]["backend"] = "janusgraph"
    with pytest.raises(ConfigError, match="未知的图存储后端「janusgraph」"):
        open_graph_store(cfg)


def test_neo4j_backend_is_chosen_lazily(cfg):
    """The neo4j branch reaches Neo4jStore.from_config: with no address it says so in Chinese."""
    from graph.store import GraphStoreUnavailable

    cfg["graph"]["backend"] = "neo4j"
    cfg["neo4j"] = {"uri": "", "user": "neo4j", "password": ""}
    with pytest.raises(GraphStoreUnavailable, match="Neo4j"):
        open_graph_store(cfg)
