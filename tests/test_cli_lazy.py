"""`lianzhao --help` imports no command module, lists every command with its own help line, and
names the configuration file it would read."""

from __future__ import annotations

import importlib
import subprocess
import sys

from click.testing import CliRunner

from lianzhao.cli import COMMANDS, main


def test_help_imports_no_command_module():
    code = (
        "import sys; from lianzhao.cli import main\n"
        "try:\n    main(['--help'], prog_name='lianzhao')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('lianzhao.commands.crm', 'lianzhao.commands.graph', 'lianzhao.commands.web',\n"
        "         'flask', 'pandas', 'sqlalchemy', 'neo4j', 'networkx') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out, out
    assert "配置文件：" in out and "init" in out and "serve" in out


def test_help_lines_equal_the_commands_own():
    """COMMANDS repeats each command's first help line so --help stays fast; they must not drift."""
    for name, (target, short) in COMMANDS.items():
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert command.name == name
        assert (command.help or "").strip().splitlines()[0] == short, name


def test_every_command_runs_its_help():
    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(main, [name, "--help"], prog_name="lianzhao")
        assert result.exit_code == 0 and f"用法： lianzhao {name}" in result.output, result.output


def test_help_names_the_config_file(tmp_path):
    other = tmp_path / "site.toml"
    other.write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["--help"], env={"LIANZHAO_CONFIG": str(other)}, prog_name="lianzhao")
    assert f"配置文件：{other}" in result.output.replace("\n", "")


def test_a_config_mistake_is_one_chinese_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[crm]\nfollow_up_dayz = 7\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(bad), "chains"])
    assert (
        result.exit_code == 1
        and result.output.startswith("错误：配置文件")
        and "follow_up_days" in result.output
    )
