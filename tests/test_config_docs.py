"""Operators are users too: every key in config.toml is documented in docs/CONFIG.md."""

import re
import tomllib

from lianzhao.config import DEFAULT_CONFIG, ROOT, ConfigError, load_config


def test_every_config_key_is_documented():
    cfg = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    doc = (ROOT / "docs" / "CONFIG.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^##+ `\[([\w.]+)\]`", doc, flags=re.M))
    missing = []
    for section, table in cfg.items():
        if section not in sections:
            missing.append(f"[{section}]")
            continue
        body = re.split(rf"^##+ `\[{re.escape(section)}\]`", doc, maxsplit=1, flags=re.M)[1].split(
            "\n## ", 1
        )[0]
        missing += [f"[{section}] {key}" for key in table if f"`{key}`" not in body]
    assert not missing, f"undocumented config keys: {missing}"


def test_environment_overrides_win(tmp_path):
    cfg = load_config(env={"NEO4J_PASSWORD": "s3cret", "LIANZHAO_GRAPH_BACKEND": "neo4j"})
    assert cfg["neo4j"]["password"] == "s3cret" and cfg["graph"]["backend"] == "neo4j"


def test_broken_config_is_a_chinese_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[graph\nbackend = 1", encoding="utf-8")
    try:
        load_config(bad, env={})
    except ConfigError as exc:
        assert "配置文件格式错误" in str(exc)
    else:
        raise AssertionError("a broken file must raise ConfigError")
    try:
        load_config(tmp_path / "none.toml", env={})
    except ConfigError as exc:
        assert "找不到配置文件" in str(exc)
