"""Import the space register from XLSX or CSV (the template's Chinese headers), as companies are:
every row is checked first; with an error nothing is written unless `partial`, which writes the
good rows and reports the rest. A row whose 编号 exists updates that resource."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.errors import InvalidInput
from graph.importer import ColumnSpec, RowError, map_columns
from graph.tabular import TabularError, read_table

from ..models import utcnow
from ..models_spaces import AVAILABLE, SpaceResource
from . import audit
from ._common import Actor
from .spaces import ENTITY, FIELDS, _editor, clean
from .spaces_settings import SpacesSettings

COLUMNS = tuple(ColumnSpec(f.name, f.label, f.aliases, f.required, f.example) for f in FIELDS)


@dataclass
class SpaceImportReport:
    path: str
    total: int = 0
    created: int = 0
    updated: int = 0
    committed: bool = False
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if not self.committed:
            return f"共 {self.total} 行，{len(self.errors)} 行有错误，未写入任何数据。"
        text = f"共 {self.total} 行，新增 {self.created}，更新 {self.updated}"
        if self.errors:
            text += f"，跳过 {len(self.errors)} 行错误数据"
        return text + "。"


def import_file(
    session: Session,
    actor: Actor,
    path: str | Path,
    *,
    settings: SpacesSettings,
    zones: Mapping[str, str],
    partial: bool = False,
    ip: str | None = None,
    now: datetime | None = None,
) -> SpaceImportReport:
    actor = _editor(session, actor, settings)
    try:
        table = read_table(path)
        positions, warnings = map_columns(table.headers, COLUMNS)
    except TabularError as exc:
        raise InvalidInput(str(exc)) from exc
    report = SpaceImportReport(str(path), total=len(table.rows), warnings=[*table.warnings, *warnings])
    good: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for cells, line in zip(table.rows, table.row_numbers, strict=True):
        raw = {key: (cells[i] if i < len(cells) else "") for key, i in positions.items()}
        try:
            values = clean(raw, settings, zones, creating=True)
        except InvalidInput as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        if values["code"] in seen:
            report.errors.append(
                RowError(line, f"编号「{values['code']}」与第 {seen[values['code']]} 行重复")
            )
            continue
        seen[values["code"]] = line
        good.append((line, values))
    if report.errors and not partial:
        return report
    now = now or utcnow()
    existing = {
        r.code: r for r in session.scalars(select(SpaceResource).where(SpaceResource.code.in_(list(seen))))
    }
    for _line, values in good:
        resource = existing.get(values["code"])
        if resource is None:
            resource = SpaceResource(
                **values, status=AVAILABLE, created_at=now, updated_at=now, status_changed_at=now
            )
            session.add(resource)
            report.created += 1
        else:
            for name, value in values.items():
                setattr(resource, name, value)
            resource.updated_at = now
            report.updated += 1
    session.flush()
    report.committed = True
    audit.record(
        session,
        actor,
        "import",
        ENTITY,
        None,
        None,
        {
            "file": Path(path).name,
            "total": report.total,
            "written": len(good),
            "rejected": len(report.errors),
        },
        ip,
    )
    return report


def template_xlsx() -> bytes:
    """The import template: the Chinese headers and one example row marked 示例数据."""
    wb = Workbook()
    ws = wb.active
    ws.title = "空间资源"
    ws.append([c.title for c in COLUMNS])
    ws.append([c.example for c in COLUMNS])
    for i, c in enumerate(COLUMNS, 1):
        ws.cell(row=1, column=i).number_format = "@"
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = max(10, len(c.title) * 2 + 2)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
