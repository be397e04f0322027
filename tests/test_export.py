"""Export writers: aligned CJK table, CSV (utf-8-sig), JSON, XLSX — and formula neutralisation."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from wcwidth import wcswidth

from crm.tables import Column, ExportError, format_for_path, table_bytes, write_table

COLUMNS = [
    Column("name", "企业名称"),
    Column("score", "综合得分", "score"),
    Column("revenue", "营业收入(万元)", "money"),
    Column("quals", "资质", "list"),
    Column("local", "是否本地", "bool"),
    Column("rank", "排名", "int"),
]
ROWS = [
    {
        "name": "北京䶮𠮷科技有限公司",
        "score": 87.25,
        "revenue": 12345.5,
        "quals": ("专精特新", "上市"),
        "local": True,
        "rank": 1,
    },
    {
        "name": '=HYPERLINK("http://evil","点我")',
        "score": 10.0,
        "revenue": -300,
        "quals": [],
        "local": False,
        "rank": 2,
    },
    {"name": "+86 热线", "score": None, "revenue": None, "quals": None, "local": None, "rank": 3},
    {"name": "@SUM(A1)", "score": 1.5, "revenue": 0, "quals": ["-负面"], "local": True, "rank": 4},
    {"name": "\tTAB公司", "score": 2, "revenue": 1, "quals": (), "local": True, "rank": 5},
]


def test_table_aligns_cjk_by_display_width():
    text = table_bytes(ROWS[:1] + [{"name": "ABC", "score": 5.0, "rank": 12}], COLUMNS, "table").decode()
    lines = text.rstrip("\n").split("\n")
    assert len(lines) == 4
    # the numeric right-aligned last column ends at the same display column on every line
    assert len({wcswidth(line) for line in lines}) == 1, lines
    assert (
        "北京䶮𠮷科技有限公司" in text and "87.2" in text and "12,345.50" in text and "专精特新、上市" in text
    )


def test_table_strips_terminal_control_characters():
    text = table_bytes([{"name": "恶意\x1b[2J公司\n换行"}], [Column("name", "企业名称")], "table").decode()
    assert "\x1b" not in text and "恶意 [2J公司 换行" in text


def test_empty_table():
    assert "无数据" in table_bytes([], COLUMNS, "table").decode()


def test_csv_is_utf8_sig_and_neutralises_formulas_but_not_numbers():
    data = table_bytes(ROWS, COLUMNS, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [c.title for c in COLUMNS]
    assert rows[1][0] == "北京䶮𠮷科技有限公司" and rows[1][3] == "专精特新、上市" and rows[1][4] == "是"
    assert rows[2][0] == '\'=HYPERLINK("http://evil","点我")'
    assert rows[2][2] == "-300"  # a number stays a number
    assert rows[3][0] == "'+86 热线" and rows[3][1] == ""
    assert rows[4][0] == "'@SUM(A1)" and rows[4][3] == "'-负面"
    assert rows[5][0] == "'\tTAB公司"


def test_json_keys_are_column_keys_and_text_is_not_escaped():
    data = table_bytes(ROWS[:2], COLUMNS, "json")
    assert "䶮𠮷" in data.decode("utf-8")
    parsed = json.loads(data)
    assert parsed[0] == {
        "name": "北京䶮𠮷科技有限公司",
        "score": 87.25,
        "revenue": 12345.5,
        "quals": ["专精特新", "上市"],
        "local": True,
        "rank": 1,
    }
    assert parsed[1]["name"].startswith("=")  # JSON is data, not a spreadsheet


def test_xlsx_header_widths_formats_and_formula_cells(tmp_path):
    path = tmp_path / "out" / "targets.xlsx"
    write_table(ROWS, COLUMNS, "xlsx", path, title="补链目标企业名录（示例）")
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet.title == "补链目标企业名录（示例）"
    assert sheet["A1"].value == "补链目标企业名录（示例）"
    assert [c.value for c in sheet[2]] == [c.title for c in COLUMNS]
    assert all(c.font.b for c in sheet[2])
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == "A2:F7"
    # the formula is stored as text, never as a formula; Excel's quote prefix set
    evil = sheet["A4"]
    assert evil.value == '=HYPERLINK("http://evil","点我")' and evil.data_type == "s"
    assert evil.quotePrefix
    assert sheet["A5"].data_type == "s" and sheet["A6"].data_type == "s"
    # numbers stay numbers, with formats
    assert sheet["C4"].value == -300 and sheet["C4"].data_type == "n"
    assert sheet["C3"].number_format == "#,##0.00" and sheet["B3"].number_format == "0.0"
    assert sheet["F3"].value == 1 and sheet["F3"].number_format == "#,##0"
    assert sheet["A3"].value == "北京䶮𠮷科技有限公司"
    # CJK width: the name column is wider than its 4-character title needs
    assert sheet.column_dimensions["A"].width >= wcswidth("北京䶮𠮷科技有限公司")
    # print fitness (issue 15): title and header on every page, wrapped readable text, page numbers
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$2"
    assert sheet["A3"].alignment.wrap_text and sheet["A3"].font.size >= 10.5
    assert "&P" in sheet.oddFooter.center.text and "&D" in sheet.oddHeader.right.text
    raw = path.read_bytes()
    assert b"<f>" not in raw  # no formula element anywhere in the workbook


def test_write_to_streams_and_stdout(capsys):
    text_stream = io.StringIO()
    write_table(ROWS[:1], COLUMNS, "csv", text_stream)
    assert text_stream.getvalue().startswith("企业名称")
    binary = io.BytesIO()
    write_table(ROWS[:1], COLUMNS, "xlsx", binary)
    assert binary.getvalue().startswith(b"PK")
    write_table(ROWS[:1], COLUMNS, "json")
    assert json.loads(capsys.readouterr().out)[0]["rank"] == 1
    with pytest.raises(ExportError, match="--output"):
        write_table(ROWS, COLUMNS, "xlsx")
    with pytest.raises(ExportError, match="不支持的导出格式"):
        write_table(ROWS, COLUMNS, "pdf", io.BytesIO())


def test_objects_as_rows_and_format_guess():
    @dataclass
    class Target:
        name: str
        score: float

    data = table_bytes(
        [Target("甲", 1.0)], [Column("name", "名称"), Column("score", "得分", "score")], "json"
    )
    assert json.loads(data) == [{"name": "甲", "score": 1.0}]
    assert format_for_path("a/b.XLSX") == "xlsx" and format_for_path("x.txt") == "table"
    assert format_for_path(None, "csv") == "csv"
    with pytest.raises(ValueError):
        Column("x", "X", "colour")
