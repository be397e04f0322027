"""Read the plan's editable files (indicators.toml, tasks.toml) as plain data.

The rules that check and use them live in crm.monitoring (`parse_plan`); this module only finds
and parses the files, so the seed layer stays below the CRM.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graph.errors import ConfigError

HERE = Path(__file__).resolve().parent


def resolve(path: str, base_dir: str | None) -> Path:
    """A seed path from config.toml: absolute, or relative to the config file's folder."""
    p = Path(path)
    if p.is_absolute():
        return p
    if base_dir and (Path(base_dir) / p).exists():
        return Path(base_dir) / p
    return HERE.parent / p  # the packaged copy beside the code


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到文件：{path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"文件格式错误（{path}）：{exc}") from exc


def read_plan_files(indicators_file: str, tasks_file: str, cfg: Mapping[str, Any]) -> tuple[dict, dict]:
    """(parsed indicators.toml, parsed tasks.toml); relative paths from the config file's folder."""
    base_dir = config_dir(cfg)
    return read_toml(resolve(indicators_file, base_dir)), read_toml(resolve(tasks_file, base_dir))


def config_dir(cfg: Mapping[str, Any]) -> str | None:
    """The folder of the configuration file that was read (None for a configuration built in code)."""
    source = cfg.get("_file")
    return str(Path(source).parent) if source and source != "<dict>" else None
