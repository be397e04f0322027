"""Reading CSV/XLSX files: every encoding users send, BOMs, rare characters, cells kept as text."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook

from graph.tabular import TabularError, detect_encoding, normalize_header, read_table

RARE = "䶮𠮷"
HEADER = ["统一社会信用代码", "企业名称", "注册资本（万元）"]
ROWS = [["014403001922038210", f"北京{RARE}科技有限公司", "1,000"], ["", "天津示例材料有限公司", "20"]]


def _csv_text(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "encoding, bom, expected",
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("gb18030", b"", "gb18030"),
        ("utf-16-le", b"\xff\xfe", "utf-16"),
        ("utf-16-be", b"\xfe\xff", "utf-16"),
    ],
)
def test_every_encoding_keeps_rare_characters(tmp_path, encoding, bom, expected):
    path = tmp_path / "firms.csv"
    path.write_bytes(bom + _csv_text([HEADER, *ROWS]).encode(encoding))
    table = read_table(path)
    assert table.encoding == expected
    assert table.headers == HEADER
    assert table.rows == ROWS
    assert RARE in table.rows[0][1]
    assert table.rows[0][0].startswith("0")  # leading zero kept: cells are text
    assert table.row_numbers == [2, 3]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(tmp_path, codec):
    path = tmp_path / "nobom.csv"
    path.write_bytes(_csv_text([HEADER, *ROWS]).encode(codec))
    table = read_table(path)
    assert table.encoding == codec and table.rows == ROWS


def test_gb18030_is_not_read_as_gbk():
    data = f"企业名称\n{RARE}\n".encode("gb18030")
    assert detect_encoding(data) == "gb18030"
    with pytest.raises(UnicodeEncodeError):
        RARE.encode("gbk")  # why plain gbk is never an option


def test_undecodable_file_is_a_chinese_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\x81\x30\xff\xff\xfe" * 3)
    with pytest.raises(TabularError, match="无法识别文件编码"):
        read_table(path)


def test_truncated_utf16_is_a_chinese_error(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes("企业名称\n甲".encode("utf-16") + b"\x00")
    with pytest.raises(TabularError, match="无法解码"):
        read_table(path)


def test_blank_rows_skipped_but_excel_row_numbers_kept(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("\n企业名称,城市\nA公司,北京\n,\nB公司,天津\n", encoding="utf-8")
    table = read_table(path)
    assert table.headers == ["企业名称", "城市"]
    assert [r[0] for r in table.rows] == ["A公司", "B公司"]
    assert table.row_numbers == [3, 5]


def test_short_rows_padded_and_overflow_flagged(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("企业名称,城市\nA公司\nB公司,天津,多余\n", encoding="utf-8")
    table = read_table(path)
    assert table.rows == [["A公司", ""], ["B公司", "天津"]]
    assert table.overflow == {1}


def test_neutralised_formula_from_a_rejects_file_is_restored(tmp_path):
    path = tmp_path / "rejects.csv"
    path.write_text("企业名称,城市\n'=危险公司,北京\n'普通',北京\n", encoding="utf-8-sig")
    table = read_table(path)
    assert table.rows[0][0] == "=危险公司"
    assert table.rows[1][0] == "'普通'"


def test_tab_separated_text(tmp_path):
    path = tmp_path / "tabs.txt"
    path.write_text("企业名称\t城市\nA公司\t北京\n", encoding="utf-16")
    assert read_table(path).rows == [["A公司", "北京"]]


def test_xlsx_first_sheet_as_text(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "企业"
    sheet.append(["企业名称", "注册资本(万元)", "成立年份", "统一社会信用代码"])
    sheet.append([f"{RARE}精密有限公司", 1200.0, 2015, "014403001922038210"])
    sheet.append([None, None, None, None])
    sheet.append(["第二家", 12.5, None, None])
    workbook.create_sheet("说明")
    path = tmp_path / "firms.xlsx"
    workbook.save(path)
    table = read_table(path)
    assert table.encoding == "xlsx" and table.sheet == "企业"
    assert table.rows == [
        [f"{RARE}精密有限公司", "1200", "2015", "014403001922038210"],
        ["第二家", "12.5", "", ""],
    ]
    assert table.row_numbers == [2, 4]
    assert any("多个工作表" in w for w in table.warnings)


def test_broken_xlsx_and_old_xls(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TabularError, match="XLSX"):
        read_table(broken)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(TabularError, match=".xls"):
        read_table(old)
    with pytest.raises(TabularError, match="找不到文件"):
        read_table(tmp_path / "missing.csv")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\xef\xbb\xbf\n\n")
    with pytest.raises(TabularError, match="空"):
        read_table(path)


def test_header_folding():
    assert normalize_header("注册资本（万元）") == normalize_header("注册资本 (万元)") == "注册资本(万元)"
    assert normalize_header("Registered_Capital") == "registeredcapital"


def _small_workbook(path):
    workbook = Workbook()
    workbook.active.append(["企业名称"])
    workbook.active.append(["甲公司"])
    workbook.save(path)


def test_xlsx_that_unpacks_past_the_limit_is_refused_unread(tmp_path, monkeypatch):
    """A zip bomb: a small file whose members unpack to far more than the limit."""
    import zipfile

    from graph.upload_limits import UploadLimits

    path = tmp_path / "bomb.xlsx"
    _small_workbook(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.bin", b"\0" * (4 * 1024 * 1024))
    assert path.stat().st_size < 200 * 1024
    lenient = UploadLimits(max_compression_ratio=10**6)  # the size limit alone
    with pytest.raises(TabularError, match="解压后超过 1 MB"):
        read_table(path, limits=UploadLimits(max_unpacked_mb=1, max_compression_ratio=10**6))
    with pytest.raises(TabularError, match="压缩比超过 100:1"):
        read_table(path)  # the default limits: the ratio alone gives it away
    assert read_table(path, limits=lenient).rows == [["甲公司"]]


def test_xlsx_with_xml_entities_is_refused(tmp_path):
    """Entity expansion (billion laughs) in a sheet: defusedxml makes openpyxl refuse it."""
    import zipfile

    path = tmp_path / "laughs.xlsx"
    _small_workbook(path)
    rebuilt = tmp_path / "laughs2.xlsx"
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "哈哈哈哈哈哈哈哈">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>'
    )
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, bomb.encode("utf-8") if info.filename == "xl/worksheets/sheet1.xml" else data)
    with pytest.raises(TabularError, match="XLSX"):
        read_table(rebuilt)
