"""Supply-relation import: both firms must already be stored; then ONE store write."""

from __future__ import annotations

import os
import re
import unicodedata

from ..identity import InvalidCreditCode, clean_uscc, normalize_name
from ..model import Supply
from ..store import GraphStore
from ..upload_limits import UploadLimits
from .cells import parse_number
from .columns import RELATION_COLUMNS
from .report import ImportReport, Progress, _Rows, _start, _tick

_USCC_SHAPE = re.compile(r"^[0-9A-Z]{18}$")


def _company_ref(text: str) -> tuple[str, str, str]:
    """(kind, key, problem): a valid credit code matches by code, anything else by name.

    A cell shaped like a credit code but failing the check is still tried as a name (an English
    name can look like a code); `problem` then explains the miss if the name matches nothing.
    """
    code = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    if _USCC_SHAPE.match(code):
        try:
            return "uscc", clean_uscc(code) or code, ""  # 18 characters: never None
        except InvalidCreditCode as exc:
            return "name", normalize_name(text), str(exc)
    return "name", normalize_name(text), ""


def import_relations(
    store: GraphStore,
    path: str | os.PathLike,
    *,
    partial: bool = False,
    progress: Progress | None = None,
    limits: UploadLimits | None = None,
    display_name: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Validate supply relations (both firms must already be stored), then write them in one call.

    `dry_run` validates and reports without writing (the web's confirm step)."""
    table, cols, report = _start(path, "relations", RELATION_COLUMNS, limits, display_name)
    rows = _Rows(table, report)
    total = len(table.rows)

    def cell(cells: list[str], key: str) -> str:
        position = cols.get(key)
        return cells[position] if position is not None else ""

    parsed: list[tuple[int, tuple | None, tuple | None, str, float | None]] = []
    for index, cells in enumerate(table.rows):
        refs: list[tuple[str, str, str] | None] = []
        for key, label in (("supplier", "供应方"), ("buyer", "采购方")):
            text = cell(cells, key)
            if not text:
                rows.fail(index, f"{label}不能为空")
                refs.append(None)
                continue
            refs.append(_company_ref(text))
        try:
            amount = parse_number(cell(cells, "amount"), "年交易额")
        except ValueError as exc:
            rows.fail(index, str(exc))
            amount = None
        parsed.append((index, refs[0], refs[1], cell(cells, "product"), amount))
        _tick(progress, index + 1, total)
    if total == 0 and progress is not None:
        progress(0, 0)

    refs_all = [ref for _, s, b, _, _ in parsed for ref in (s, b) if ref]
    matched = store.match_companies(
        {v for k, v, _ in refs_all if k == "uscc"}, {v for k, v, _ in refs_all if k == "name"}
    )
    first_key: dict[tuple[str, str, str], int] = {}
    supplies: list[Supply] = []
    for index, supplier_ref, buyer_ref, product, amount in parsed:
        ids: list[str] = []
        for ref, label, position in ((supplier_ref, "供应方", "supplier"), (buyer_ref, "采购方", "buyer")):
            company_id = matched.get(ref[1]) if ref else None
            if ref and company_id is None:
                shown = cell(table.rows[index], position)
                rows.fail(
                    index, f"{label}：{ref[2]}" if ref[2] else f"找不到{label}「{shown}」（请先导入该企业）"
                )
            ids.append(company_id or "")  # a missing firm has failed the row just above
        if rows.bad(index):
            continue
        if ids[0] == ids[1]:
            rows.fail(index, "供应方与采购方是同一家企业")
            continue
        edge = (ids[0], ids[1], product)
        if edge in first_key:
            rows.fail(index, f"与第 {table.row_numbers[first_key[edge]]} 行重复（同一供应方、采购方和产品）")
            continue
        first_key[edge] = index
        supplies.append(Supply(ids[0], ids[1], product, amount))
    rows.finish()
    if dry_run or (report.errors and not partial):
        return report
    if supplies:
        report.written = store.upsert_supplies(supplies)
    report.committed = True
    return report
