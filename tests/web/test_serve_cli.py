"""`lianzhao serve`: refuses bad options and a busy port with one Chinese line, no traceback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from lianzhao.cli import main
from lianzhao.commands import web as web_cmd
from lianzhao.commands.web import gunicorn_available


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


@pytest.mark.skipif(not gunicorn_available(), reason="gunicorn runs on POSIX with gunicorn installed")
def test_serve_with_two_workers_starts_gunicorn_and_serves(env, tmp_path):
    """`lianzhao serve --workers 2`: a gunicorn master with two worker processes answers /healthz."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(
        f'[instance]\npath = "{env.folder}"\n[database]\nurl = "sqlite:///{env.folder / "crm.sqlite3"}"\n',
        encoding="utf-8",
    )
    environ = {**os.environ, "LIANZHAO_SECRET_KEY": "serve-test-secret"}
    cmd = [
        str(Path(sys.executable).with_name("lianzhao")),
        "--config",
        str(cfg_file),
        "serve",
        "--workers",
        "2",
    ]
    proc = subprocess.Popen(
        [*cmd, "--threads", "2", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        body, deadline = None, time.monotonic() + 60
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                    body = json.loads(resp.read())
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                time.sleep(0.3)
        assert body is not None and body["status"] == "ok"
        # the master answers through its first worker while the second may still be forking (busy machine)
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == proc.pid]
            time.sleep(0.2)
        assert len(workers) == 2, "two worker processes under the gunicorn master"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert "gunicorn 2 个工作进程" in out


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def test_workers_without_gunicorn_fall_back_to_waitress(env, monkeypatch):
    """Windows (or no gunicorn): one waitress process, with a notice; a busy port still fails cleanly."""
    monkeypatch.setenv("LIANZHAO_INSTANCE", str(env.folder))
    monkeypatch.setattr(web_cmd, "gunicorn_available", lambda: False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--workers", "2", "--port", str(port)])
    assert "单进程 waitress" in result.output
    assert result.exit_code == 1 and "无法在 127.0.0.1:" in result.output
