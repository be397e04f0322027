"""`lianzhao serve`: refuses bad options and a busy port with one Chinese line, no traceback."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from lianzhao.cli import main


def test_bad_port_is_refused():
    result = CliRunner().invoke(main, ["serve", "--port", "70000"])
    assert result.exit_code != 0 and "1-65535" in result.output


def test_busy_port_is_a_chinese_error(env, monkeypatch):
    monkeypatch.setenv("LIANZHAO_INSTANCE", str(env.folder))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 1
    assert "无法在 127.0.0.1:" in result.output and "Traceback" not in result.output
