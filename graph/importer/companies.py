"""Company import: validate and build every row, match stored firms, then ONE store write."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from collections.abc import Callable
from dataclasses import dataclass

from ..identity import InvalidCreditCode, clean_uscc, company_id_for, normalize_name
from ..model import Company
from ..store import GraphStore
from ..tabular import Table
from ..upload_limits import UploadLimits
from .cells import parse_bool, parse_number, parse_qualifications, parse_year
from .columns import COMPANY_COLUMNS, fold
from .lookups import KeywordPlacer, NodeResolver, ZoneResolver
from .report import ImportReport, Progress, _Rows, _start, _tick


@dataclass
class _Draft:
    index: int
    values: dict  # Company field -> parsed value, only for non-empty cells
    uscc: str | None
    norm_name: str
    explicit_nodes: tuple[str, ...] | None  # None: the cell was empty
    placed_nodes: tuple[str, ...] = ()
    local_from_district: bool | None = None
    zone_local: bool | None = None


class _CompanyRowParser:
    """Turns one row of cells into a _Draft, recording every problem of the row in `rows`."""

    def __init__(
        self,
        store: GraphStore,
        table: Table,
        cols: dict[str, int],
        rows: _Rows,
        home_district: str,
        today: _dt.date | None,
    ):
        self.store, self.table, self.cols, self.rows = store, table, cols, rows
        self.home = fold(home_district)
        self.zones = ZoneResolver(store.zones()) if "zone" in cols else None
        self.resolver = NodeResolver(store.chains(), store.nodes()) if "nodes" in cols else None
        self.placer: KeywordPlacer | None = None  # built on the first row that needs it
        self.first_uscc: dict[str, int] = {}
        self.first_name: dict[str, int] = {}
        self.parsers = (
            ("founded", lambda text: parse_year(text, today=today)),
            ("qualifications", parse_qualifications),
            ("is_local", parse_bool),
        )

    def cell(self, cells: list[str], key: str) -> str:
        position = self.cols.get(key)
        return cells[position] if position is not None else ""

    def parse(self, index: int, cells: list[str]) -> _Draft | None:
        def fail(message: str) -> None:
            self.rows.fail(index, message)

        cell = self.cell
        if index in self.table.overflow:
            fail("该行单元格多于表头（企业名称等单元格中可能有未加引号的逗号）")
        values: dict = {}
        name = cell(cells, "name")
        if name:
            values["name"] = name
        else:
            fail("企业名称不能为空")
        uscc = self._uscc(index, cell(cells, "uscc"), fail)
        if uscc:
            values["uscc"] = uscc
        norm = normalize_name(name) if name else ""
        if norm:
            first = self.first_name.setdefault(norm, index)
            if first != index:
                fail(f"企业名称与第 {self.table.row_numbers[first]} 行重复：{name}")
        for key in ("province", "city", "district", "products", "scope"):
            if cell(cells, key):
                values[key] = cell(cells, key)
        for key, label, integer in (
            ("registered_capital", "注册资本", False),
            ("revenue", "营业收入", False),
            ("employees", "员工人数", True),
        ):
            try:
                number = parse_number(cell(cells, key), label, integer=integer)
            except ValueError as exc:
                fail(str(exc))
            else:
                if number is not None:
                    values[key] = number
        for key, parser in self.parsers:
            text = cell(cells, key)
            if text:
                try:
                    values[key] = parser(text)
                except ValueError as exc:
                    fail(str(exc))
        draft = _Draft(index, values, uscc, norm, None)
        if cell(cells, "district") and self.home:
            draft.local_from_district = fold(cell(cells, "district")) == self.home
        if self.zones is not None and cell(cells, "zone"):
            try:
                zone = self.zones.resolve(cell(cells, "zone"))
            except ValueError as exc:
                fail(str(exc))
            else:
                values["zone_id"] = zone.id
                draft.zone_local = zone.is_local
        if self.resolver is not None and cell(cells, "nodes"):
            try:
                draft.explicit_nodes = self.resolver.resolve_cell(cell(cells, "nodes"))
            except ValueError as exc:
                fail(str(exc))
        if self.rows.bad(index):
            return None
        if draft.explicit_nodes is None:
            if self.placer is None:
                self.placer = KeywordPlacer(self.store.nodes())
            draft.placed_nodes = self.placer.place(values.get("products", "") + " " + values.get("scope", ""))
        return draft

    def _uscc(self, index: int, text: str, fail: Callable[[str], None]) -> str | None:
        try:
            uscc = clean_uscc(text)
        except InvalidCreditCode as exc:
            fail(str(exc))
            return None
        if uscc:
            first = self.first_uscc.setdefault(uscc, index)
            if first != index:
                fail(f"统一社会信用代码与第 {self.table.row_numbers[first]} 行重复：{uscc}")
        return uscc


def import_companies(
    store: GraphStore,
    path: str | os.PathLike,
    *,
    district_cfg: dict | None = None,
    partial: bool = False,
    progress: Progress | None = None,
    today: _dt.date | None = None,
    limits: UploadLimits | None = None,
    display_name: str | None = None,
) -> ImportReport:
    """Validate every row of a company file, then write all good rows in one store call.

    `district_cfg` is cfg["district"]: 是否本地 is derived from 区县 when empty. With
    `partial=False` (default) nothing is written when any row is bad; with `partial=True` the
    good rows are written and the bad ones come back in `report.rejected_rows`.
    """
    table, cols, report = _start(path, "companies", COMPANY_COLUMNS, limits, display_name)
    rows = _Rows(table, report)
    parser = _CompanyRowParser(store, table, cols, rows, (district_cfg or {}).get("district", ""), today)
    drafts: list[_Draft] = []
    total = len(table.rows)
    for index, cells in enumerate(table.rows):
        draft = parser.parse(index, cells)
        if draft is not None:
            drafts.append(draft)
        _tick(progress, index + 1, total)
    if total == 0 and progress is not None:
        progress(0, 0)

    companies = _merge_with_stored(store, drafts, rows, table, report)
    rows.finish()
    if report.errors and not partial:
        return report
    if companies:
        report.written = store.upsert_companies(companies)
    report.committed = True
    return report


def _merge_with_stored(
    store: GraphStore, drafts: list[_Draft], rows: _Rows, table: Table, report: ImportReport
) -> list[Company]:
    """Match drafts to stored firms (credit code first, then name) and build the final objects.

    An existing firm keeps every value the file leaves empty (absent column or empty cell).
    """
    matched = store.match_companies([d.uscc for d in drafts if d.uscc], [d.norm_name for d in drafts])
    ids: dict[str, int] = {}
    for draft in drafts:
        by_uscc = matched.get(draft.uscc) if draft.uscc else None
        by_name = matched.get(draft.norm_name)
        draft.values["id"] = by_uscc or by_name or company_id_for(draft.values["name"], draft.uscc)
    existing = {c.id: c for c in store.companies(sorted({d.values["id"] for d in drafts}))}
    companies: list[Company] = []
    for draft in drafts:
        values = draft.values
        company_id = values["id"]
        old = existing.get(company_id)
        if old and draft.uscc and old.uscc and old.uscc != draft.uscc:
            rows.fail(
                draft.index,
                f"企业名称与已有企业「{old.name}」相同，但统一社会信用代码不同（已有：{old.uscc}）",
            )
            continue
        if company_id in ids:
            rows.fail(draft.index, f"与第 {table.row_numbers[ids[company_id]]} 行是同一家已有企业")
            continue
        if "is_local" not in values:
            derived = draft.local_from_district
            if derived is None:
                derived = draft.zone_local
            if derived is not None:
                values["is_local"] = derived
        if draft.explicit_nodes is not None:
            values["node_ids"] = draft.explicit_nodes
        elif not (old and old.node_ids):
            if not draft.placed_nodes:
                rows.fail(
                    draft.index, "无法确定产业链环节：请填写「产业链环节」，或在主营产品/经营范围中写明产品"
                )
                continue
            values["node_ids"] = draft.placed_nodes
            report.placed += 1
        ids[company_id] = draft.index
        if old:
            companies.append(dataclasses.replace(old, **values))
            report.updated += 1
        else:
            companies.append(Company(**values))
            report.created += 1
    return companies
