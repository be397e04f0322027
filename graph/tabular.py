"""Read a CSV or XLSX file into header + rows of plain strings, whatever Excel or WPS saved.

Why a module of its own: Chinese bureaus send files in four encodings (UTF-8, UTF-8 with BOM,
GB18030, UTF-16) and as XLSX, and every cell must stay a string (credit codes have leading zeros),
so neither pandas' dtype guessing nor plain `gbk` (loses 䶮 𠮷) may touch them.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from .errors import InvalidInput
from .upload_limits import LimitExceeded, RowGuard, UploadLimits, check_csv_lines, check_zip

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_ZIP_MAGIC = b"PK\x03\x04"
_HEADER_SPACE = re.compile(r"\s+")
# Rejects files neutralise formulas with a leading apostrophe; undo that on the way back in.
_NEUTRALISED = re.compile(r"^'(?=[=+\-@\t\r])")


class TabularError(InvalidInput):
    """The file cannot be read as a table; the message is Chinese, for the user."""


@dataclass
class Table:
    """A file's header and data rows. `row_numbers[i]` is the row Excel shows for `rows[i]`."""

    headers: list[str]
    rows: list[list[str]]
    row_numbers: list[int]
    encoding: str  # "xlsx" for workbooks
    sheet: str | None = None
    overflow: set[int] = field(default_factory=set)  # indexes of rows with cells beyond the header
    warnings: list[str] = field(default_factory=list)
    header_row: int = 1  # the header's row as Excel shows it (title rows above it skipped)


def normalize_header(text: str) -> str:
    """Fold a header so 「注册资本（万元）」, 「注册资本 (万元)」 and 「注册资本(万元)」 compare equal."""
    folded = unicodedata.normalize("NFKC", text or "")
    return _HEADER_SPACE.sub("", folded).lower().replace("_", "")


def detect_encoding(data: bytes) -> str:
    """BOM sniff (UTF-16, UTF-8), NUL bytes (UTF-16 without BOM), strict UTF-8, then GB18030.

    Never plain GBK: it cannot carry rare name characters such as 䶮 𠮷.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    head = data[:4096]
    if b"\x00" in head:  # text CSV never holds NUL: UTF-16 saved without a BOM
        odd, even = head[1::2].count(0), head[0::2].count(0)
        return "utf-16-le" if odd >= even else "utf-16-be"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise TabularError(
            "无法识别文件编码：请另存为 UTF-8、GB18030 或 UTF-16 编码的 CSV，或 XLSX 工作簿"
            f"（第 {exc.start} 字节处无法解码）"
        ) from exc


# How far down a header row is looked for (title and note rows of vendor exports sit above it).
HEADER_SEARCH_ROWS = 30
IsHeader = Callable[[Sequence[str]], bool]


def read_table(
    path: str | os.PathLike,
    *,
    limits: UploadLimits | None = None,
    display_name: str | None = None,
    is_header: IsHeader | None = None,
) -> Table:
    """Read a CSV (any supported encoding) or an XLSX workbook's first sheet, within `limits`
    (graph/upload_limits.py; config [import]). `display_name` is how messages name the file
    (an upload's own name rather than the server's temporary file).

    With `is_header`, the header is the first of the leading rows it accepts (rows above it, such as
    an export's title or note, are skipped with a warning); without, or when it accepts none, the
    first non-blank row."""
    path = Path(path)
    limits = limits or UploadLimits()
    name = display_name or path.name
    try:
        return _read_table(path, limits, name, is_header)
    except LimitExceeded as exc:
        raise TabularError(str(exc)) from exc


def _read_table(path: Path, limits: UploadLimits, name: str, is_header: IsHeader | None = None) -> Table:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError as exc:
        raise TabularError(f"找不到文件：{name}") from exc
    except OSError as exc:
        raise TabularError(f"无法读取文件 {name}：{exc.strerror}") from exc
    if path.suffix.lower() == ".xls":
        raise TabularError("不支持旧版 .xls 格式：请在 Excel/WPS 中另存为 .xlsx 或 CSV")
    if path.suffix.lower() in XLSX_SUFFIXES or head == _ZIP_MAGIC:
        return _read_xlsx(path, limits, name, is_header)
    return _read_csv(path.read_bytes(), limits, name, is_header)


def _read_csv(
    data: bytes, limits: UploadLimits | None = None, name: str = "CSV", is_header: IsHeader | None = None
) -> Table:
    limits = limits or UploadLimits()
    encoding = detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:  # a BOM or NUL bytes promised UTF-16/8, the rest disagrees
        raise TabularError(f"文件编码（{encoding}）与内容不符：第 {exc.start} 字节处无法解码") from exc
    if text.startswith("\ufeff"):  # UTF-16 with BOM decoded by "utf-16" keeps no BOM, but be safe
        text = text[1:]
    check_csv_lines(text, limits, name)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    guard = RowGuard(limits, name)
    raw_rows = []
    try:
        for row in reader:
            guard.row(row)
            raw_rows.append(row)
    except csv.Error as exc:
        raise TabularError(f"CSV 格式错误（第 {reader.line_num} 行）：{exc}") from exc
    return _build(raw_rows, encoding, is_header)


def _read_xlsx(path: Path, limits: UploadLimits, name: str, is_header: IsHeader | None = None) -> Table:
    check_zip(path, limits, name)  # before openpyxl inflates anything (zip bomb)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise TabularError(f"无法打开 XLSX 工作簿「{name}」：文件已损坏或不是 Excel 格式") from exc
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise TabularError(f"无法打开 XLSX 工作簿「{name}」：{type(exc).__name__}") from exc
    try:
        sheet = workbook.worksheets[0]
        # Trust no stored dimension: some writers omit it (openpyxl then parses the sheet twice)
        # or get it wrong (rows would be cut). Rows come back ragged; _build pads them.
        sheet.reset_dimensions()
        try:
            guard = RowGuard(limits, name)
            raw_rows = []
            for row in sheet.iter_rows(values_only=True):
                guard.row(row)
                raw_rows.append([_cell_text(v) for v in row])
        except LimitExceeded:
            raise
        except Exception as exc:  # the sheet's XML is parsed only here (read-only mode)
            raise TabularError(
                f"无法读取 XLSX 工作簿「{name}」：工作表内容已损坏（{type(exc).__name__}）"
            ) from exc
        table = _build(raw_rows, "xlsx", is_header)
        table.sheet = sheet.title
        if len(workbook.worksheets) > 1:
            table.warnings.append(f"工作簿有多个工作表，只读取第一个：「{sheet.title}」")
        return table
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """An XLSX cell as the text the user sees (1234.0 -> "1234", dates -> ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


def _clean_cell(cell: str | None) -> str:
    text = cell.strip() if cell else ""
    return _NEUTRALISED.sub("", text) if text.startswith("'") else text


def _find_header(raw_rows: list[list[str]], first: int, is_header: IsHeader) -> int | None:
    for index in range(first, min(len(raw_rows), first + HEADER_SEARCH_ROWS)):
        if is_header([(c or "").strip() for c in raw_rows[index]]):
            return index
    return None


def _build(raw_rows: list[list[str]], encoding: str, is_header: IsHeader | None = None) -> Table:
    """Skip leading blank rows (and title rows above the header), take the header, drop blank data
    rows, keep Excel row numbers."""
    start = 0
    while start < len(raw_rows) and not any((c or "").strip() for c in raw_rows[start]):
        start += 1
    if start >= len(raw_rows):
        raise TabularError("文件是空的（没有表头行）")
    skipped: list[str] = []
    if is_header is not None:
        found = _find_header(raw_rows, start, is_header)
        if found is not None and found > start:
            skipped = [
                f"跳过表头上方的第 {i + 1} 行：{' '.join(c.strip() for c in raw_rows[i] if c and c.strip())[:60]}"
                for i in range(start, found)
                if any((c or "").strip() for c in raw_rows[i])
            ]
            start = found
    headers = [(h or "").strip() for h in raw_rows[start]]
    while headers and not headers[-1]:
        headers.pop()
    width = len(headers)
    rows: list[list[str]] = []
    numbers: list[int] = []
    overflow: set[int] = set()
    for index in range(start + 1, len(raw_rows)):
        cells = raw_rows[index]
        if not any((c or "").strip() for c in cells):
            continue
        if any((c or "").strip() for c in cells[width:]):
            overflow.add(len(rows))
        cells = [_clean_cell(c) for c in cells[:width]]
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        rows.append(cells)
        numbers.append(index + 1)
    return Table(
        headers=headers,
        rows=rows,
        row_numbers=numbers,
        encoding=encoding,
        overflow=overflow,
        warnings=skipped,
        header_row=start + 1,
    )
