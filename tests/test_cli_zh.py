"""`lianzhao` speaks Chinese in click's own messages too: usage, errors, help headings."""

from __future__ import annotations

from click.testing import CliRunner

from lianzhao.cli import main


def _run(*args):
    return CliRunner().invoke(main, list(args), prog_name="lianzhao")


def test_help_is_chinese():
    result = _run("targets", "--help")
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("用法： lianzhao targets [选项]")
    assert "选项：" in out and "[必填]" in out and "显示本帮助并退出。" in out and "[默认：20" in out
    for english in ("Usage:", "Options:", "[required]", "Show this message", "default:"):
        assert english not in out
    top = _run("--help").output
    assert "命令：" in top and "[选项] 命令 [参数]..." in top and "Commands:" not in top


def test_missing_option_is_chinese():
    result = _run("gaps")
    assert result.exit_code == 2
    assert "错误：缺少选项 '--chain'。" in result.output
    assert "运行「lianzhao gaps --help」查看帮助。" in result.output
    assert "Error" not in result.output and "Missing" not in result.output


def test_bad_value_and_unknown_command_are_chinese():
    result = _run("targets", "--chain", "x", "--top", "many")
    assert result.exit_code == 2 and "错误：'--top' 的值无效：'many' 不是有效的数字。" in result.output
    result = _run("targets", "--chain", "x", "--status", "好")
    assert "不在可选值" in result.output and "is not one of" not in result.output
    result = _run("nosuch")
    assert "错误：没有命令 'nosuch'。" in result.output
