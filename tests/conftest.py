"""Fixtures every test folder may use. Keep this small: area fixtures live in their own conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

from lianzhao.config import DEFAULT_CONFIG, load_config


@pytest.fixture
def cfg(tmp_path: Path) -> dict:
    """The repository's config.toml with the instance folder and embedded store in tmp_path."""
    config = load_config(DEFAULT_CONFIG, env={})
    config["instance"] = {"path": str(tmp_path / "instance")}
    config["graph"] = {**config.get("graph", {}), "backend": "networkx"}
    return config
