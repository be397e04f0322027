"""Write a list of records as an aligned text table, CSV, JSON or XLSX — one writer for CLI and web.

CSV and XLSX are opened by Excel, so every text cell that Excel would read as a formula
(starting with = + - @, tab or CR) is neutralised (OWASP "CSV injection"); numbers stay numbers.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO, cast

import tabulate as _tabulate
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from wcwidth import wcswidth

from crm.printfit import print_fit

FORMATS = ("table", "csv", "json", "xlsx")
MIME_TYPES = {
    "table": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
SUFFIXES = {"table": ".txt", "csv": ".csv", "json": ".json", "xlsx": ".xlsx"}
KINDS = ("text", "int", "float", "number", "money", "score", "percent", "bool", "list", "date")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_XLSX_FORMATS = {
    "int": "#,##0",
    "float": "#,##0.00",
    "number": "#,##0.00",
    "money": "#,##0.00",
    "score": "0.0",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
}
_MAX_XLSX_WIDTH = 60
# Control characters (ESC sequences, tabs, newlines) would garble or hijack a terminal table.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class ExportError(ValueError):
    """Bad export request; the message is Chinese, for the user."""


@dataclass(frozen=True)
class Column:
    """One output column: record key, Chinese title, and kind (see KINDS) for formatting."""

    key: str
    title: str
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


def neutralise(value: str) -> str:
    """Prefix an apostrophe to text Excel would run as a formula."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _raw(record: Any, key: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(key)
    return getattr(record, key, None)


def _text(value: Any, kind: str = "text") -> str:
    """A value as display text (lists joined with 、, booleans as 是/否)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if kind == "percent":
            return f"{value * 100:.1f}%"
        if kind == "score":
            return f"{value:.1f}"
        if kind in ("money", "float", "number"):
            return f"{value:,.2f}"
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    if isinstance(value, int) and kind in ("int", "money", "float", "number"):
        return f"{value:,}"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return [_json_value(v) for v in value]
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---- renderers -------------------------------------------------------------------------------
def render_table(rows: Iterable[Any], columns: Sequence[Column]) -> str:
    """Aligned plain text; CJK characters count as two columns (tabulate + wcwidth)."""

    _tabulate.WIDE_CHARS_MODE = True  # needs wcwidth; the default when it is installed
    data = [[_CONTROL.sub(" ", _text(_raw(r, c.key), c.kind)) for c in columns] for r in rows]
    align = [
        "right" if c.kind in ("int", "float", "number", "money", "score", "percent") else "left"
        for c in columns
    ]
    if not data:
        return "（无数据）\n"
    return (
        _tabulate.tabulate(
            data, headers=[c.title for c in columns], tablefmt="simple", disable_numparse=True, colalign=align
        )
        + "\n"
    )


def render_csv(rows: Iterable[Any], columns: Sequence[Column]) -> str:
    """CSV text (the caller encodes it as utf-8-sig so Excel detects UTF-8)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c.title) for c in columns])
    for record in rows:
        line = []
        for column in columns:
            value = _raw(record, column.key)
            if _is_number(value):
                line.append(repr(value) if isinstance(value, float) else str(value))
            else:
                line.append(neutralise(_text(value, "text")))
        writer.writerow(line)
    return buffer.getvalue()


def render_json(rows: Iterable[Any], columns: Sequence[Column]) -> str:
    data = [{c.key: _json_value(_raw(r, c.key)) for c in columns} for r in rows]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def render_xlsx(
    rows: Iterable[Any], columns: Sequence[Column], *, title: str | None = None, sheet_name: str | None = None
) -> bytes:
    """A formatted workbook: optional title row, bold frozen header, fitted widths, autofilter."""

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(sheet_name or title or "数据")
    widths = [max(wcswidth(c.title), 4) for c in columns]
    header_row = 1
    if title:
        sheet.cell(row=1, column=1, value=neutralise(title)).font = Font(bold=True, size=14)
        if len(columns) > 1:
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
        header_row = 2
    fill = PatternFill("solid", fgColor="DDE5F0")
    for position, column in enumerate(columns, start=1):
        cell = sheet.cell(row=header_row, column=position)
        _set_text(cell, column.title)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(vertical="center", wrap_text=False)
    row_number = header_row
    for record in rows:
        row_number += 1
        for position, column in enumerate(columns, start=1):
            value = _raw(record, column.key)
            cell = sheet.cell(row=row_number, column=position)
            if _is_number(value):
                cell.value = value
                if column.kind in _XLSX_FORMATS:
                    cell.number_format = _XLSX_FORMATS[column.kind]
                shown = _text(value, column.kind)
            elif isinstance(value, (_dt.date, _dt.datetime)):
                cell.value = value
                cell.number_format = (
                    "yyyy-mm-dd" if not isinstance(value, _dt.datetime) else "yyyy-mm-dd hh:mm"
                )
                shown = _text(value)
            else:
                shown = _text(value)
                if shown:
                    _set_text(cell, shown)
            widths[position - 1] = max(widths[position - 1], wcswidth(shown) if shown else 0)
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(width + 2, _MAX_XLSX_WIDTH)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    # Printed on A4 landscape, one page wide, title and header repeated, wrapped text at a readable
    # size, page numbers and the print date (the same print fitness as the 台账 exports).
    print_fit(sheet, header_row, row_number, len(columns), footer_note=title or "")
    for cell in sheet[header_row]:
        cell.fill = fill
    if title:
        sheet.cell(row=1, column=1).font = Font(bold=True, size=14)
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A{header_row}:{last}{max(row_number, header_row)}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _set_text(cell: Any, text: str) -> None:
    """Store text as a string cell, never a formula; risky text also gets Excel's quote prefix."""
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True


def _sheet_title(text: str) -> str:
    for ch in "[]:*?/\\":
        text = text.replace(ch, "_")
    return text[:31] or "数据"


# ---- entry points ----------------------------------------------------------------------------
def table_bytes(
    rows: Iterable[Any],
    columns: Sequence[Column],
    fmt: str,
    *,
    title: str | None = None,
    sheet_name: str | None = None,
) -> bytes:
    """The whole export as bytes (web downloads). CSV is utf-8-sig; text formats utf-8."""
    if fmt not in FORMATS:
        raise ExportError(f"不支持的导出格式「{fmt}」（可选：{'、'.join(FORMATS)}）")
    if fmt == "xlsx":
        return render_xlsx(rows, columns, title=title, sheet_name=sheet_name)
    if fmt == "csv":
        return render_csv(rows, columns).encode("utf-8-sig")
    if fmt == "json":
        return render_json(rows, columns).encode("utf-8")
    text = render_table(rows, columns)
    return ((title + "\n") if title else "").encode("utf-8") + text.encode("utf-8")


def write_table(
    rows: Iterable[Any],
    columns: Sequence[Column],
    fmt: str,
    out: str | os.PathLike | TextIO | BinaryIO | None = None,
    *,
    title: str | None = None,
    sheet_name: str | None = None,
) -> None:
    """Write rows to a path (atomically: temp file + rename), a stream, or stdout when `out` is None.

    Rows are mappings or objects; `Column.key` picks the value. XLSX needs a path or binary stream.
    """
    if fmt not in FORMATS:
        raise ExportError(f"不支持的导出格式「{fmt}」（可选：{'、'.join(FORMATS)}）")
    if out is None:
        if fmt == "xlsx":
            raise ExportError("XLSX 格式需要用 --output 指定输出文件")
        out = sys.stdout
    if isinstance(out, (str, os.PathLike)):
        _write_atomically(Path(out), table_bytes(rows, columns, fmt, title=title, sheet_name=sheet_name))
        return
    if isinstance(out, io.TextIOBase) or hasattr(out, "encoding"):
        if fmt == "xlsx":
            raise ExportError("XLSX 格式需要二进制输出（文件路径）")
        data = table_bytes(rows, columns, fmt, title=title, sheet_name=sheet_name)
        cast(TextIO, out).write(data.decode("utf-8-sig" if fmt == "csv" else "utf-8"))
        return
    cast(BinaryIO, out).write(table_bytes(rows, columns, fmt, title=title, sheet_name=sheet_name))


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; an export is an ordinary file
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def format_for_path(path: str | os.PathLike | None, default: str = "table") -> str:
    """Guess a format from an output file's suffix (.csv/.json/.xlsx), else `default`."""
    if path is None:
        return default
    suffix = Path(path).suffix.lower()
    for fmt, known in SUFFIXES.items():
        if suffix == known and fmt != "table":
            return fmt
    return default
