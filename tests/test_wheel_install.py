"""The built wheel works as a program: installed into a fresh virtualenv, `lianzhao init` in an
empty folder writes the packaged configuration there, seeds from the installed package's seed
files, and `lianzhao chains` reads it back. Nothing comes from the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args, **kw):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from the test venv by a .pth
    line (a plain path: that folder's own .pth files, e.g. the editable install, are not run)."""
    tmp = tmp_path_factory.mktemp("wheel")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp),
            str(ROOT),
        ]
    )
    (wheel,) = tmp.glob("lianzhao-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(
        _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    )
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)])
    return env_dir


def test_init_and_chains_in_an_empty_folder(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANZHAO_", "NEO4J_", "PYTHON"))}
    lianzhao = str(installed / "bin" / "lianzhao")
    folder = tmp_path / "site"
    folder.mkdir()
    where = _run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import lianzhao, seed; print(lianzhao.__file__, seed.__file__)",
        ],
        cwd=folder,
        env=env,
    ).stdout
    assert str(ROOT) not in where and "site-packages" in where  # the installed copy, not the checkout
    out = _run([lianzhao, "--help"], cwd=folder, env=env).stdout
    assert "default_config.toml" in out.replace("\n", "").replace(" ", "")
    out = _run([lianzhao, "init", "--synthetic", "30"], cwd=folder, env=env).stdout
    assert (folder / "config.toml").is_file() and (folder / "instance" / "graph.sqlite3").is_file()
    assert (folder / "instance" / "crm.sqlite3").is_file()
    assert "已写出默认配置文件" in out and "产业链" in out
    out = _run([lianzhao, "chains"], cwd=folder, env=env).stdout
    assert "医药健康" in out and "缺链" in out
    assert f"配置文件：{folder / 'config.toml'}" in _run(
        [lianzhao, "--help"], cwd=folder, env=env
    ).stdout.replace("\n", "")
