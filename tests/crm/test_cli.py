"""`lianzhao db upgrade`, `lianzhao user add|list|disable|enable|reset-password` end to end."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from crm.db import head_revision, make_session_factory, unit_of_work
from crm.services import users
from crm.settings import CrmSettings as _CrmSettings
from lianzhao.cli import main

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


@pytest.fixture
def run(engine, monkeypatch):
    monkeypatch.setenv("LIANZHAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))

    def invoke(*args, input=None):
        return CliRunner().invoke(main, list(args), input=input)

    return invoke


def test_user_commands(run, engine):
    result = run("db", "upgrade")
    assert result.exit_code == 0 and f"最新版本（{head_revision()}）" in result.output
    result = run(
        "user",
        "add",
        "chen",
        "--name",
        "陈专员",
        "--role",
        "招商专员",
        "--sector",
        "medical",
        "--random-password",
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"：(\S+)$", result.output.strip().splitlines()[-1]).group(1)
    sf = make_session_factory(engine)
    with unit_of_work(sf) as s:
        login = users.authenticate(s, "chen", password, settings=SETTINGS)
        assert login.ok and login.must_change_password
    result = run("user", "add", "wang", "--role", "区领导", input="Lingdao#2026x\nLingdao#2026x\n")
    assert result.exit_code == 0 and "wang（区领导）" in result.output
    result = run("user", "add", "li", "--role", "招商经理", input="Jingli#2026xx\nJingli#2026xx\n")
    assert result.exit_code == 1 and "产业组" in result.output
    result = run("user", "add", "weak", "--role", "leader", input="short\nshort\n")
    assert result.exit_code == 1 and "安全策略" in result.output
    result = run("user", "list")
    assert "陈专员" in result.output and "医药健康招商组" in result.output and "共 2 个用户" in result.output
    assert run("user", "disable", "chen").exit_code == 0
    assert "停用" in run("user", "list").output
    with unit_of_work(sf) as s:
        assert not users.authenticate(s, "chen", password, settings=SETTINGS).ok
    result = run("user", "disable", "nobody")
    assert result.exit_code == 1 and "不存在" in result.output
    assert run("user", "enable", "chen").exit_code == 0
    result = run("user", "reset-password", "chen")
    new = result.output.strip().rsplit("：", 1)[1]
    assert new != password
    with unit_of_work(sf) as s:
        assert users.authenticate(s, "chen", new, settings=SETTINGS).ok


def test_commands_apply_the_settings_saved_in_the_database(engine, tmp_path, monkeypatch):
    """`lianzhao leads overdue` and every CRM command use the administrator's stored settings,
    and a settings.json of an older release is taken over once (audited), not lost."""
    from types import SimpleNamespace

    from crm.models import AuditLog
    from crm.services import runtime_settings
    from crm.services._common import SYSTEM
    from lianzhao.commands.crm import _open
    from lianzhao.config import build_config

    cfg = build_config({"instance": {"path": str(tmp_path / "inst")}})
    cfg["database"]["url"] = engine.url.render_as_string(hide_password=False)
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "settings.json").write_text('{"crm.follow_up_days": 5}', encoding="utf-8")
    ctx = SimpleNamespace(obj=SimpleNamespace(cfg=cfg))
    _, settings = _open(ctx)
    assert settings.follow_up_days == 5
    assert not (tmp_path / "inst" / "settings.json").exists()
    assert (tmp_path / "inst" / "settings.json.imported").exists()
    sf = make_session_factory(engine)
    with unit_of_work(sf) as s:
        assert s.query(AuditLog).filter_by(entity="settings").count() == 1
        runtime_settings.save_settings(s, SYSTEM, cfg, {"crm.follow_up_days": "21"})
    assert _open(ctx)[1].follow_up_days == 21
