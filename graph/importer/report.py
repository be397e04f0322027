"""What an import did (ImportReport), the per-row error bookkeeping, and reading a file's table."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..tabular import Table, read_table
from ..upload_limits import UploadLimits
from .columns import ColumnSpec, looks_like_header, understand_columns

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 2000
REJECT_REASON_TITLE = "错误原因"
PREVIEW_ROWS = 5
STORED_ERRORS = 500  # row errors kept with a stored report; the rejected-rows file has them all
IGNORED_PREFIX = "忽略未识别的列"


@dataclass(frozen=True)
class RowError:
    row: int  # as Excel shows it: the header is row 1
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}"


@dataclass
class ImportReport:
    """What an import did; `committed` is False when nothing was written."""

    kind: str  # "companies" | "relations"
    path: str
    encoding: str = ""
    total: int = 0
    created: int = 0
    updated: int = 0
    written: int = 0
    placed: int = 0  # firms placed on chain nodes by evidence
    pending: int = 0  # firms sent to 待确认 (no confident placement)
    inactive: int = 0  # firms whose 登记状态 is 注销/吊销/...: kept as history
    local: int = 0  # firms counted as local
    committed: bool = False
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rejected_rows: list[tuple[int, list[str], str]] = field(default_factory=list)
    understood: list[tuple[str, str]] = field(default_factory=list)  # (header as written, column)
    ignored: list[str] = field(default_factory=list)  # headers not used
    header_row: int = 1  # as Excel shows it
    # how each header was understood (ColumnMapping.columns) and the first data rows as read
    columns: list[dict] = field(default_factory=list)
    preview: list[tuple[int, list[str]]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    @property
    def ok(self) -> bool:
        return not self.errors

    def reject_table(self) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
        """Rejected rows as (key, title) columns and dict rows: original cells + 错误原因."""
        columns = [(f"c{i}", title or f"列{i + 1}") for i, title in enumerate(self.headers)]
        columns.append(("reason", REJECT_REASON_TITLE))
        rows = []
        for _row, cells, reason in self.rejected_rows:
            record = {f"c{i}": cell for i, cell in enumerate(cells)}
            record["reason"] = reason
            rows.append(record)
        return columns, rows

    def summary(self) -> str:
        noun = "家企业" if self.kind == "companies" else "条供应关系"
        if not self.committed:
            return f"共 {self.total} 行，{self.rejected} 行有错误，未写入任何数据。"
        detail = f"新增 {self.created}，更新 {self.updated}" if self.kind == "companies" else ""
        if self.placed:
            detail += f"（{self.placed} 家按关键词归入产业链环节）"
        if self.pending:
            detail += f"，{self.pending} 家待确认产业链环节"
        if self.inactive:
            detail += f"，{self.inactive} 家已注销/吊销等（仅保留记录，不计入分析）"
        parts = [f"共 {self.total} 行，已写入 {self.written} {noun}"]
        if detail:
            parts.append(detail)
        if self.rejected:
            parts.append(f"跳过 {self.rejected} 行错误数据")
        return "，".join(parts) + "。"


class _Rows:
    """Collects per-row errors (several reasons per row) while rows are validated."""

    def __init__(self, table: Table, report: ImportReport):
        self.table = table
        self.report = report
        self.reasons: dict[int, list[str]] = {}

    def fail(self, index: int, message: str) -> None:
        self.reasons.setdefault(index, []).append(message)

    def bad(self, index: int) -> bool:
        return index in self.reasons

    def finish(self) -> None:
        for index in sorted(self.reasons):
            reason = "；".join(self.reasons[index])
            row = self.table.row_numbers[index]
            self.report.errors.append(RowError(row, reason))
            self.report.rejected_rows.append((row, self.table.rows[index], reason))


def _start(
    path: str | os.PathLike[str],
    kind: str,
    specs: Sequence[ColumnSpec],
    limits: UploadLimits | None = None,
    display_name: str | None = None,
    find_header: bool = False,
) -> tuple[Table, dict[str, int], ImportReport]:
    """Read the file, find its header (below title rows when `find_header`), map the columns."""
    is_header = (lambda cells: looks_like_header(cells, specs)) if find_header else None
    table = read_table(path, limits=limits, display_name=display_name, is_header=is_header)
    mapping = understand_columns(table.headers, specs)
    report = ImportReport(
        kind=kind,
        path=os.fspath(path),
        encoding=table.encoding,
        total=len(table.rows),
        headers=list(table.headers),
        warnings=table.warnings + [f"{IGNORED_PREFIX}「{h}」" for h in mapping.ignored],
        understood=mapping.understood,
        ignored=mapping.ignored,
        header_row=table.header_row,
        columns=mapping.columns,
        preview=[(table.row_numbers[i], table.rows[i]) for i in range(min(PREVIEW_ROWS, len(table.rows)))],
    )
    return table, mapping.positions, report


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
        progress(done, total)


# ---- what the web's confirm step and job pages show (CLI and web render the same report) -------


def notes(report: ImportReport) -> list[str]:
    """The report's warnings except the ignored columns, which the mapping names once already."""
    return [w for w in report.warnings if not w.startswith(IGNORED_PREFIX)]


def report_dict(report: ImportReport) -> dict:
    """A report as plain JSON data, to keep between requests (the web's import jobs): counts,
    summary, how each column was understood, the preview, every warning and the first row errors."""
    return {
        "kind": report.kind,
        "encoding": report.encoding,
        "total": report.total,
        "created": report.created,
        "updated": report.updated,
        "written": report.written,
        "placed": report.placed,
        "pending": report.pending,
        "inactive": report.inactive,
        "local": report.local,
        "rejected": report.rejected,
        "committed": report.committed,
        "summary": report.summary(),
        "header_row": report.header_row,
        "headers": list(report.headers),
        "columns": [dict(c) for c in report.columns],
        "ignored": list(report.ignored),
        "preview": [[row, list(cells)] for row, cells in report.preview],
        "warnings": notes(report),
        "errors": [[e.row, e.message] for e in report.errors[:STORED_ERRORS]],
        "error_count": len(report.errors),
    }
