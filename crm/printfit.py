"""XLSX that prints legibly on A4 landscape (openpyxl page setup): title and date on top, header
repeated on every page, wrapped text at a readable size, one page wide, page numbers in the footer.

Used by the 项目台账 / 任务台账 exports and by crm.tables (the 名录 and every table export).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from wcwidth import wcswidth

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BODY_SIZE = 10.5  # 五号: the smallest size offices print tables in
THIN = Side(style="thin", color="808080")
LINE_PT = 14.5  # one line of 10.5 pt text


def _lines(value: Any, width: float) -> int:
    """Printed lines of a wrapped cell: CJK characters take two width units, as in Excel."""
    if value is None:
        return 1
    text = value if isinstance(value, str) else f"{value}"
    usable = max(width - 1, 2)
    return sum(max(1, -(-max(wcswidth(part), 0) // int(usable))) for part in text.split("\n"))


def safe_text(cell: Any, text: str) -> None:
    """Text stays text: never a formula (CSV/XLSX injection), risky cells get Excel's quote prefix."""
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def print_fit(sheet: Worksheet, header_row: int, last_row: int, ncols: int, footer_note: str = "") -> None:
    """A4 landscape, one page wide, header rows repeated, wrapped body at 10.5 pt, 第 &P 页 / 共 &N 页,
    the print date top right."""
    border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
    widths = [sheet.column_dimensions[get_column_letter(i)].width or 8.43 for i in range(1, ncols + 1)]
    for row in sheet.iter_rows(min_row=header_row, max_row=max(last_row, header_row), max_col=ncols):
        lines = 1
        for cell, width in zip(row, widths, strict=True):
            bold = cell.row == header_row
            cell.font = Font(size=BODY_SIZE, bold=bold)
            cell.alignment = Alignment(wrap_text=True, vertical="center" if bold else "top")
            cell.border = border
            lines = max(lines, _lines(cell.value, width))
        # Row heights are written out: LibreOffice/WPS do not grow rows for wrapped text on open.
        sheet.row_dimensions[row[0].row].height = min(lines, 30) * LINE_PT + 4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"1:{header_row}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top, sheet.page_margins.bottom = 0.6, 0.7
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    sheet.oddFooter.center.size = 9
    sheet.oddHeader.right.text = "打印日期：&D"
    sheet.oddHeader.right.size = 9
    if footer_note:
        sheet.oddFooter.right.text = footer_note
        sheet.oddFooter.right.size = 9


def ledger_xlsx(
    title: str,
    subtitle: str,
    headers: Sequence[str],
    widths: Sequence[float],
    rows: Sequence[Sequence[Any]],
    sheet_name: str,
) -> bytes:
    """A titled, dated, print-fit table; numbers stay numbers, everything else is text."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name[:31]
    n = len(headers)
    safe_text(ws.cell(row=1, column=1), title)
    ws.cell(row=1, column=1).font = Font(size=16, bold=True)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center")
    safe_text(ws.cell(row=2, column=1), subtitle)
    ws.cell(row=2, column=1).alignment = Alignment(horizontal="right")
    if n > 1:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    header_row = 3
    fill = PatternFill("solid", fgColor="DDE5F0")
    for i, text in enumerate(headers, start=1):
        safe_text(ws.cell(row=header_row, column=i), text)
    for r, row in enumerate(rows, start=header_row + 1):
        for i, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=i)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.value = value
            elif value is not None and value != "":
                safe_text(cell, str(value))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last = header_row + len(rows)
    print_fit(ws, header_row, last, n, footer_note=title)
    for cell in ws[header_row]:
        cell.fill = fill
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
