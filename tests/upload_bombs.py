"""Hostile table files for the upload-limit tests (web and CLI): built on the fly, never committed."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row><c t="inlineStr"><is><t>企业名称</t></is></c></row>'
)
ROW = '<row><c t="inlineStr"><is><t>示例数据·压缩炸弹企业</t></is></c></row>'
TAIL = "</sheetData></worksheet>"


def xlsx_bomb(path: Path, unpacked_mb: int = 400) -> Path:
    """A small XLSX whose first sheet unpacks to `unpacked_mb` MB of sheet XML (the review's bomb:
    about 1 MB on disk, 400 MB of XML)."""
    plain = path.with_suffix(".plain.xlsx")
    workbook = Workbook()
    workbook.active.append(["企业名称"])
    workbook.save(plain)
    chunk = (ROW * 4096).encode("utf-8")
    with (
        zipfile.ZipFile(plain) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst,
    ):
        for info in src.infolist():
            if info.filename != SHEET:
                dst.writestr(info, src.read(info.filename))
                continue
            member = zipfile.ZipInfo(SHEET)
            member.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(member, "w", force_zip64=True) as out:
                out.write(HEAD.encode("utf-8"))
                written = 0
                while written < unpacked_mb * 1024 * 1024:
                    out.write(chunk)
                    written += len(chunk)
                out.write(TAIL.encode("utf-8"))
    plain.unlink()
    return path
