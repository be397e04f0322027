"""`lianzhao indicators report|import`, `lianzhao ledger export`, `lianzhao report weekly|monthly`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from docx import Document
from openpyxl import Workbook, load_workbook

from lianzhao.cli import main


@pytest.fixture
def run(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("LIANZHAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LIANZHAO_INSTANCE", str(tmp_path / "instance"))

    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args])

    return invoke


def test_indicators_import_and_report(run, tmp_path):
    wb = Workbook()
    for row in (
        ["指标编号", "期间", "数值", "来源"],
        ["output_value", "2024年1-9月", "500", ""],
        ["9", "2024-Q3", "x", ""],
    ):
        wb.active.append(row)
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    result = run("indicators", "import", bad)
    assert result.exit_code == 1 and "第 3 行" in result.output and "未导入任何数据" in result.output
    wb.active.delete_rows(3)
    good = tmp_path / "good.xlsx"
    wb.save(good)
    result = run("indicators", "import", good)
    assert result.exit_code == 0 and "已导入 1 条" in result.output, result.output
    result = run("indicators", "report", "--year", 2024, "--format", "json")
    data = json.loads(result.output)
    assert len(data["indicators"]) == 12
    first = data["indicators"][0]
    assert (first["name"], first["target_2024"], first["target_2025"]) == (
        "全区规模以上先进制造业总产值",
        "650",
        "680",
    )
    assert (
        first["latest"] == 500 and first["period"] == "2024-09" and first["progress"] == round(500 / 650, 4)
    )
    table = run("indicators", "report", "--year", 2024)
    assert table.exit_code == 0 and "突破3" in table.output
    out = tmp_path / "ind.xlsx"
    assert run("indicators", "report", "--format", "xlsx", "-o", out).exit_code == 0
    assert load_workbook(out).active["B4"].value == "全区规模以上先进制造业总产值"


def test_ledger_export_and_report(run, tmp_path):
    for kind in ("projects", "tasks"):
        out = tmp_path / f"{kind}.xlsx"
        result = run("ledger", "export", "--kind", kind, "-o", out)
        assert result.exit_code == 0, result.output
        assert load_workbook(out).active.page_setup.orientation == "landscape"
    out = tmp_path / "weekly.docx"
    result = run("report", "weekly", "--date", "2026-11-30", "-o", out)
    assert result.exit_code == 0, result.output
    text = "\n".join(p.text for p in Document(out).paragraphs)
    assert "招商工作周报" in text and "2026年11月30日至2026年12月6日" in text
    assert run("report", "monthly", "--sector", "nope", "-o", out).exit_code == 1
