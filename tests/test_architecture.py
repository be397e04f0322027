"""The layers of the tree and the absence of import cycles, checked by import-linter.

The contracts live in pyproject.toml ([tool.importlinter]); these tests run them on the real tree
and show, on a throw-away tree with the same contracts, that a climbing import or a cycle is caught.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("graph", "seed", "crm", "web", "lianzhao")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def test_the_tree_keeps_its_layers_and_has_no_cycles():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def _toy_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """Our five packages, empty but for `files`, with the real contracts."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(text)
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[tool.importlinter]", f"root_packages = {contracts['root_packages']!r}".replace("'", '"')]
    for c in contracts["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        for key, value in c.items():
            lines.append(f"{key} = " + repr(value).replace("'", '"'))
    (tmp_path / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize(
    "files, broken",
    [
        ({"graph/model.py": "import crm\n"}, "graph is not allowed to import crm"),
        ({"crm/db.py": "import lianzhao.config\n"}, "crm is not allowed to import lianzhao"),
        ({"web/views.py": "import lianzhao.cli\n"}, "web is not allowed to import lianzhao"),
        ({"seed/loader.py": "import web\n"}, "seed is not allowed to import web"),
        ({"crm/services/a.py": "from . import b\n", "crm/services/b.py": "from . import a\n"}, "No cycles"),
    ],
)
def test_a_climbing_import_or_a_cycle_is_caught(tmp_path, files, broken):
    result = _lint(_toy_tree(tmp_path, files))
    assert result.returncode == 1
    assert broken in result.stdout
