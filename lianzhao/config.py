"""Find, read and check the configuration once per process; apply environment overrides.

Which file: the explicit path (``--config`` / ``LIANZHAO_CONFIG``), else ``./config.toml``, else the
copy shipped in the package (``lianzhao/default_config.toml``, kept identical to the repository's
``config.toml`` by a test). The shipped file is also the one place defaults come from: a user's
file is checked against it (unknown sections and keys, typos and wrong types are refused at start,
naming the key and the file) and laid over it, so every key is present with its type and callers
read ``cfg["section"]["key"]`` without a fallback.

Nothing here connects to anything: callers pass the resulting dict to the factories that build
stores and services.
"""

from __future__ import annotations

import copy
import difflib
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graph.errors import ConfigError

__all__ = [
    "ConfigError",
    "DEFAULT_CONFIG",
    "ENV_OVERRIDES",
    "PACKAGED_CONFIG",
    "build_config",
    "config_source",
    "instance_path",
    "load_config",
]

# The repository root when run from a checkout (docs, tests); site-packages when installed.
ROOT = Path(__file__).resolve().parent.parent
PACKAGED_CONFIG = Path(__file__).resolve().with_name("default_config.toml")
# Kept for callers that mean "the shipped configuration" (tests, benchmarks).
DEFAULT_CONFIG = PACKAGED_CONFIG
LOCAL_CONFIG = "config.toml"

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
# Keys that exist in the loaded config but may only come from the environment.
ENV_ONLY = {("web", "secret_key"): "LIANZHAO_SECRET_KEY"}


def config_source(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The file load_config would read: explicit path or LIANZHAO_CONFIG, ./config.toml, packaged copy.

    Only looks at names, never parses, so ``lianzhao --help`` can show it cheaply.
    """
    env = os.environ if env is None else env
    explicit = path or env.get("LIANZHAO_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / LOCAL_CONFIG
    return local if local.is_file() else PACKAGED_CONFIG


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到配置文件：{path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件格式错误（{path}）：{exc}") from exc


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


KIND_NAMES = {"bool": "true/false", "number": "数字", "str": "字符串", "list": "列表", "table": "表"}


def _suggest(word: str, candidates) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"；是否应为「{close[0]}」？" if close else ""


def check_against(user: Mapping[str, Any], defaults: Mapping[str, Any], where: Path) -> None:
    """Refuse sections, keys and value types the shipped file does not have; messages name both."""
    problems = []
    for section, table in user.items():
        if section not in defaults:
            problems.append(f"未知的配置节 [{section}]{_suggest(section, defaults)}")
            continue
        if not isinstance(table, dict):
            problems.append(f"[{section}] 应为一个配置节（表），而不是单个取值")
            continue
        for key, value in table.items():
            name = f"[{section}] {key}"
            if (section, key) in ENV_ONLY:
                problems.append(f"{name} 不能写在配置文件中，请改用环境变量 {ENV_ONLY[section, key]}")
                continue
            if key not in defaults[section]:
                problems.append(f"未知的配置项 {name}{_suggest(key, defaults[section])}")
                continue
            want, got = _kind(defaults[section][key]), _kind(value)
            if want != got:
                problems.append(f"配置项 {name} 应为{KIND_NAMES.get(want, want)}，实际为 {value!r}")
    if problems:
        raise ConfigError(f"配置文件 {where} 有误：" + "；".join(problems) + "（各配置项见 docs/CONFIG.md）")


def build_config(
    user: Mapping[str, Any], where: str | os.PathLike = "<dict>", base: str | os.PathLike | None = None
) -> dict[str, Any]:
    """The shipped defaults with `user`'s sections laid over them, checked like a file.

    load_config's core, and the way tests and tools build a partial configuration:
    ``build_config({"crm": {"follow_up_days": 7}})``. Relative instance paths are taken from
    `base` (default: the current folder).
    """
    defaults = _read(PACKAGED_CONFIG)
    check_against(user, defaults, Path(where))
    cfg = copy.deepcopy(defaults)
    for section, table in user.items():
        cfg[section].update(copy.deepcopy(table))
    cfg["web"]["secret_key"] = ""
    raw = Path(cfg["instance"]["path"]).expanduser()
    folder = raw if raw.is_absolute() else (Path(base) if base else Path.cwd()) / raw
    cfg["instance"]["path"] = str(folder.resolve())
    cfg["_file"] = str(Path(where).resolve()) if where != "<dict>" else "<dict>"
    return cfg


def load_config(
    path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The checked configuration: the shipped defaults, the chosen file over them, then the environment.

    ``cfg["instance"]["path"]`` comes back absolute (relative paths are taken from the config file's
    folder, or from the current folder when the packaged copy is used); ``cfg["_file"]`` names the
    file that was read.
    """
    env = os.environ if env is None else env
    source = config_source(path, env)
    packaged = source.resolve() == PACKAGED_CONFIG
    user = {} if packaged else _read(source)
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var) and section == "instance":
            user = {**user, section: {**user.get(section, {}), key: env[var]}}
    cfg = build_config(user, source, base=Path.cwd() if packaged else source.resolve().parent)
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var) and section != "instance":
            cfg[section][key] = env[var]
    return cfg


def instance_path(cfg: Mapping[str, Any]) -> Path:
    """The instance folder (absolute after load_config), created on first use."""
    folder = Path(cfg["instance"]["path"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder
