"""Load config.toml once per process and apply environment overrides.

Nothing here connects to anything: callers pass the resulting dict to the
factories that build stores and services.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.toml"

# Environment variable -> (section, key). Secrets belong here, never in the file.
ENV_OVERRIDES = {
    "LIANZHAO_INSTANCE": ("instance", "path"),
    "LIANZHAO_GRAPH_BACKEND": ("graph", "backend"),
    "LIANZHAO_DATABASE_URL": ("database", "url"),
    "LIANZHAO_SECRET_KEY": ("web", "secret_key"),
    "NEO4J_URI": ("neo4j", "uri"),
    "NEO4J_USER": ("neo4j", "user"),
    "NEO4J_PASSWORD": ("neo4j", "password"),
    "NEO4J_DATABASE": ("neo4j", "database"),
}


class ConfigError(Exception):
    """config.toml is missing or wrong; the message is for the operator."""


def load_config(path: str | os.PathLike | None = None, env: dict | None = None) -> dict[str, Any]:
    """Read the TOML file (LIANZHAO_CONFIG, else the repository's config.toml) plus overrides."""
    env = os.environ if env is None else env
    path = Path(path or env.get("LIANZHAO_CONFIG") or DEFAULT_CONFIG)
    try:
        with open(path, "rb") as fh:
            cfg = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到配置文件：{path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件格式错误（{path}）：{exc}") from exc
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            cfg.setdefault(section, {})[key] = env[var]
    cfg["_base_dir"] = str(path.resolve().parent)
    return cfg


def instance_path(cfg: dict[str, Any]) -> Path:
    """The instance folder, created on first use, relative to the config file."""
    raw = Path(cfg.get("instance", {}).get("path", "instance"))
    folder = raw if raw.is_absolute() else Path(cfg["_base_dir"]) / raw
    folder.mkdir(parents=True, exist_ok=True)
    return folder
