"""Limits on a table file before and while it is read, so an upload cannot hurt the server.

An XLSX is a zip: its central directory states every member's unpacked size, and Python's
zipfile never inflates a member past that size (a lying entry fails its CRC instead), so the
total and the compression ratio are checked from the directory alone, in milliseconds and with
no inflation at all (a zip bomb of 1 MB that unpacks to 400 MB is refused unread). Rows, columns
and cell lengths are then capped while the sheet streams, and a CSV's line length and column
count likewise, each refusal naming the limit and the file as the user knows it.

The numbers come from config.toml [import] (`UploadLimits.from_config`); the defaults equal it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

MB = 1024 * 1024
# Members smaller than this may compress as well as they like (styles, empty sheets).
RATIO_FLOOR = 1 * MB


def upload_name(filename: str | None) -> str:
    """An uploaded file's own name, fit for a message: the last path part, no control characters,
    at most 100 characters (browsers may send a full Windows path)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:100] or "上传的文件"


class LimitExceeded(ValueError):
    """A file beyond a configured limit; the message is Chinese and names the limit."""


@dataclass(frozen=True)
class UploadLimits:
    max_unpacked_mb: int = 300  # the whole workbook once unpacked
    max_compression_ratio: int = 100  # unpacked : packed, per member of 1 MB or more
    max_rows: int = 1_000_000
    max_columns: int = 200
    max_cell_chars: int = 32_767  # Excel's own limit for one cell
    max_line_chars: int = 1_000_000  # one CSV line (a record may span several lines)

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None) -> UploadLimits:
        section = (cfg or {}).get("import") or {}
        values = {}
        for f in fields(cls):
            if f.name in section:
                value = section[f.name]
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"[import] {f.name} 必须为正整数")
                values[f.name] = value
        return cls(**values)


def check_zip(path: Path, limits: UploadLimits, display_name: str | None = None) -> None:
    """Refuse a workbook whose members unpack past the limits, reading only the directory."""
    name = display_name or path.name
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise LimitExceeded(f"无法打开 XLSX 工作簿「{name}」：文件已损坏或不是 Excel 格式") from exc
    total = 0
    for info in members:
        total += info.file_size
        if info.file_size >= RATIO_FLOOR and info.file_size > limits.max_compression_ratio * max(
            info.compress_size, 1
        ):
            raise LimitExceeded(
                f"XLSX 工作簿「{name}」中的 {info.filename} 压缩比超过 {limits.max_compression_ratio}:1"
                f"（{info.file_size // MB} MB 压缩为 {max(info.compress_size // 1024, 1)} KB），"
                "疑似压缩炸弹，拒绝读取"
            )
    if total > limits.max_unpacked_mb * MB:
        raise LimitExceeded(
            f"XLSX 工作簿「{name}」解压后超过 {limits.max_unpacked_mb} MB，"
            "拒绝读取（文件异常或过大，请拆分后导入或改用 CSV）"
        )


class RowGuard:
    """Counts rows while a sheet or CSV streams and refuses the first one past a limit."""

    def __init__(self, limits: UploadLimits, display_name: str):
        self.limits = limits
        self.name = display_name
        self.rows = 0

    def row(self, cells: Sequence[Any]) -> None:
        self.rows += 1
        limits = self.limits
        if self.rows > limits.max_rows:
            raise LimitExceeded(f"文件「{self.name}」超过 {limits.max_rows} 行的上限，请拆分后分批导入")
        if len(cells) > limits.max_columns:
            # trailing empty cells (a sheet formatted far to the right) do not count
            used = len(cells)
            while used > limits.max_columns and not cells[used - 1]:
                used -= 1
            if used > limits.max_columns:
                raise LimitExceeded(
                    f"文件「{self.name}」第 {self.rows} 行有 {used} 列，超过 {limits.max_columns} 列的上限"
                )
        for cell in cells:
            if cell is not None and isinstance(cell, str) and len(cell) > limits.max_cell_chars:
                raise LimitExceeded(
                    f"文件「{self.name}」第 {self.rows} 行有单元格超过 {limits.max_cell_chars} 个字符的上限"
                )


def check_csv_lines(text: str, limits: UploadLimits, display_name: str) -> None:
    """Refuse a CSV with a line longer than the limit (before the csv module buffers it)."""
    start, number = 0, 0
    length = len(text)
    while start < length:
        end = text.find("\n", start)
        end = length if end < 0 else end
        number += 1
        if end - start > limits.max_line_chars:
            raise LimitExceeded(
                f"文件「{display_name}」第 {number} 行超过 {limits.max_line_chars} 个字符的上限"
            )
        start = end + 1
