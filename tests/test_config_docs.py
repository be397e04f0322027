"""Operators are users too: every key in config.toml is documented in docs/CONFIG.md."""

import re
import tomllib

import pytest

from lianzhao.config import (
    DEFAULT_CONFIG,
    PACKAGED_CONFIG,
    ROOT,
    ConfigError,
    build_config,
    config_source,
    load_config,
)


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


def test_packaged_default_is_the_repository_config():
    """`lianzhao init` writes the packaged copy out for editing: it must be the documented file."""
    assert PACKAGED_CONFIG.read_bytes() == (ROOT / "config.toml").read_bytes()


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_typos_and_unknown_keys_are_reported_with_the_file(tmp_path):
    bad = _write(tmp_path / "typo.toml", "[crm]\nfollow_up_dayz = 7\n\n[secutiry]\nlockout_minutes = 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(bad, env={})
    message = str(info.value)
    assert str(bad) in message
    assert "[crm] follow_up_dayz" in message and "follow_up_days" in message  # did you mean
    assert "[secutiry]" in message and "security" in message


def test_wrong_types_and_secrets_in_the_file_are_refused(tmp_path):
    bad = _write(tmp_path / "types.toml", '[web]\nport = "8000"\nsecret_key = "abc"\n')
    with pytest.raises(ConfigError) as info:
        load_config(bad, env={})
    assert "[web] port 应为数字" in str(info.value) and "LIANZHAO_SECRET_KEY" in str(info.value)


def test_missing_keys_come_from_the_shipped_file_only(tmp_path):
    """A short file is laid over the shipped defaults: every key present, none invented elsewhere."""
    short = _write(tmp_path / "short.toml", '[crm]\nfollow_up_days = 7\n[instance]\npath = "data"\n')
    cfg = load_config(short, env={})
    shipped = tomllib.loads(PACKAGED_CONFIG.read_text(encoding="utf-8"))
    assert (
        cfg["crm"]["follow_up_days"] == 7
        and cfg["crm"]["protection_days"] == shipped["crm"]["protection_days"]
    )
    assert {k for k in cfg if not k.startswith("_")} == set(shipped)
    for section, table in shipped.items():
        assert set(cfg[section]) - {"secret_key"} == set(table), section
    assert cfg["instance"]["path"] == str(tmp_path / "data")  # relative to the file
    assert cfg["_file"] == str(short)


def test_config_lookup_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_source(env={}) == PACKAGED_CONFIG
    cfg = load_config(env={})
    assert cfg["_file"] == str(PACKAGED_CONFIG) and cfg["instance"]["path"] == str(tmp_path / "instance")
    local = _write(tmp_path / "config.toml", "[web]\nport = 8080\n")
    assert config_source(env={}) == local and load_config(env={})["web"]["port"] == 8080
    other = _write(tmp_path / "other.toml", "[web]\nport = 9090\n")
    assert load_config(env={"LIANZHAO_CONFIG": str(other)})["web"]["port"] == 9090
    assert load_config(other, env={})["web"]["port"] == 9090


def test_build_config_checks_like_a_file():
    assert build_config({"gaps": {"missing_below": 2}})["gaps"]["missing_below"] == 2
    with pytest.raises(ConfigError, match="missing_belwo"):
        build_config({"gaps": {"missing_belwo": 2}})
