"""Chain files v2: the checker passes on the shipped files (CI runs this), finds each defect it names,
and the review workbook reads back to the same files."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from lianzhao.cli import main
from seed import checks, review
from seed.loader import SEED_DIR, load_anchors, load_structure


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    target = tmp_path / "seed"
    shutil.copytree(SEED_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_chain_files_pass_the_checker():
    structure, findings = checks.check_files()
    assert structure is not None
    coverage = checks.policy_coverage(structure, checks.read_policy_terms())
    bad = checks.errors(findings + checks.coverage_findings(coverage))
    assert not bad, "\n".join(f.line() for f in bad)


def test_cli_check_exits_zero_and_prints_the_policy_table():
    runner = CliRunner()
    result = runner.invoke(main, ["chains", "check"])
    assert result.exit_code == 0, result.output
    table = runner.invoke(main, ["chains", "check", "--policy-table"])
    assert "| 电磁式智能扭矩管理器 |" in table.output and "缺 0 项" in table.output


@pytest.mark.parametrize(
    "file, old, new, check",
    [
        ("chains/xr.toml", '"增强现实"', '"AR"', "short-ascii"),
        ("chains/ic.toml", '"3973"', '"3999"', "unknown-code"),
        ("chains/ic.toml", 'policy = "靶材"', 'policy = "高端靶材产业"', "policy-phrase"),
        ("chains/home.toml", '"家具五金"', '"储能电芯"', "shared-keyword"),
        ("chains/robot.toml", '  ["humanoid", "ops"],\n', "", None),
    ],
)
def test_checker_finds_each_defect(seed_copy, file, old, new, check):
    _edit(seed_copy / file, old, new)
    _, findings = checks.check_files(seed_copy)
    if check is None:  # removing one of several flows out of a node is fine
        assert not checks.errors(findings)
    else:
        assert check in {f.check for f in checks.errors(findings)}, [f.line() for f in findings]


def test_checker_finds_a_product_node_without_downstream(seed_copy):
    path = seed_copy / "chains" / "robot.toml"
    text = path.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith('["humanoid",')]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, findings = checks.check_files(seed_copy)
    assert any(f.check == "no-downstream" and f.node_id == "robot.humanoid" for f in findings)


def test_shared_segment_gives_each_chain_its_own_node():
    structure = load_structure()
    cathodes = [n for n in structure.nodes if n.segment == "cathode"]
    assert {n.id for n in cathodes} == {"nev.cathode", "storage.cathode"}
    assert len({n.keywords for n in cathodes}) == 1 and all("3985" in n.industry_codes for n in cathodes)


def test_policy_firms_sit_on_the_right_nodes():
    structure = load_structure()
    on = {c.name: set(c.node_ids) for c in load_anchors(structure)}
    assert on["甘李药业股份有限公司"] == {"biopharma.insulin"}
    assert {"device.joint"} <= on["北京市春立正达医疗器械股份有限公司"]
    assert "hydrogen.hydrogen_tank" in on["北京天海氢能装备有限公司"]
    assert on["北京福元医药股份有限公司"] == {"biopharma.generic"}
    assert on["蒙牛乳业（北京）有限责任公司"] == {"food.dairy"}
    node = structure.node_by_id
    assert node["biopharma.insulin"].policy == "胰岛素" and node["device.joint"].policy == "人工关节"


def test_review_workbook_round_trips_and_shows_a_diff(seed_copy, tmp_path):
    structure = load_structure(seed_copy)
    data = review.export_workbook(structure, checks.read_codes())
    assert all(not review.diff(structure, c) for c in review.read_workbook(data, structure))

    wb = load_workbook(io.BytesIO(data))
    sheet = wb["nev"]
    titles = [c.value for c in sheet[review.HEADER_ROW]]
    col = {t: i + 1 for i, t in enumerate(titles)}
    for row in range(review.HEADER_ROW + 1, sheet.max_row + 1):
        if sheet.cell(row, col["环节标识"]).value == "transfer_case":
            sheet.cell(row, col["重要度(1-5)"]).value = 4
            sheet.cell(row, col["关键词"]).value = "分动器、新一代分动器、电控分动器"
            sheet.cell(row, col["审核意见"]).value = "补充电控分动器"
    path = tmp_path / "review.xlsx"
    wb.save(path)
    runner = CliRunner()
    shown = runner.invoke(main, ["chains", "import", "--seed-dir", str(seed_copy), str(path)])
    assert shown.exit_code == 0, shown.output
    assert (
        "重要度：5 → 4" in shown.output and "电控分动器" in shown.output and "补充电控分动器" in shown.output
    )
    assert load_structure(seed_copy).node_by_id["nev.transfer_case"].importance == 5  # nothing written yet
    applied = runner.invoke(main, ["chains", "import", "--seed-dir", str(seed_copy), str(path), "--apply"])
    assert applied.exit_code == 0, applied.output
    after = load_structure(seed_copy).node_by_id["nev.transfer_case"]
    assert after.importance == 4 and "电控分动器" in after.keywords
    assert load_structure(seed_copy).nodes == tuple(
        n if n.id != "nev.transfer_case" else after for n in structure.nodes
    )


def test_cli_export_writes_a_workbook(tmp_path):
    out = tmp_path / "chains.xlsx"
    result = CliRunner().invoke(
        main, ["chains", "export", "--format", "xlsx", "-o", str(out), "--chain", "ic"]
    )
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["说明", "ic"]
    assert "（ic）" in wb["ic"]["A1"].value
