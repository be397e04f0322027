"""Company import: validate and build every row, match stored firms, then ONE store write.

Exports come as bureaus have them (issue 10): the header found below title rows, vendor headers by
the synonym table, money/dates/status/designations as exporters write them, 是否本地 derived with its
reason, and firms without 产业链环节 placed by evidence or sent to 待确认 (never refused for that).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ..identity import InvalidCreditCode, clean_uscc, company_id_for, normalize_name
from ..model import EXPLICIT, Company, Placement
from ..store import GraphStore
from ..tabular import Table
from ..upload_limits import UploadLimits
from .cells import (
    header_scale,
    is_empty,
    parse_bool,
    parse_date,
    parse_designations,
    parse_money,
    parse_number,
    parse_status,
)
from .columns import COMPANY_COLUMNS, fold
from .lookups import NodeResolver, ZoneResolver
from .placement import EvidencePlacer
from .report import ImportReport, Progress, _Rows, _start, _tick

_NAMES_SPLIT = re.compile(r"[；;、,，\n]+")
_INDUSTRY = re.compile(r"^\s*[A-Ta-t]?\s*(\d{2,4})\s*[-－—:：、.]?\s*(.*)$")
_TEXT_FIELDS = (
    "province",
    "city",
    "district",
    "products",
    "scope",
    "legal_rep",
    "company_type",
    "address",
    "phone",
    "email",
    "website",
)

# What cfg["companies"] holds (lianzhao/default_config.toml); used when a caller passes none.
DEFAULT_COMPANIES_CFG: dict = {
    "active_statuses": ["存续", "在业", "在营", "开业", "正常", "在册"],
    "inactive_statuses": ["注销", "吊销", "迁出", "停业", "清算", "撤销", "责令关闭", "歇业"],
    "district_codes": [],
    "currency_rates": {"美元": 7.1, "港元": 0.91, "港币": 0.91, "欧元": 7.7},
    "confident": 0.6,
    "second_node_share": 0.5,
}


@dataclass
class _Draft:
    index: int
    values: dict  # Company field -> parsed value, only for non-empty cells
    uscc: str | None
    norm_name: str
    explicit_nodes: tuple[str, ...] | None  # None: the cell was empty
    placed: tuple[Placement, ...] = ()
    candidates: tuple[Placement, ...] = ()
    local: tuple[bool, str] | None = None  # derived 是否本地 and its reason
    former_norms: tuple[str, ...] = field(default=())


def split_industry(text: str) -> tuple[str, str]:
    """「C3586 医疗仪器设备及器械制造」 -> ("3586", "医疗仪器设备及器械制造"); a bare name keeps no code.

    >>> split_industry("C3586 医疗仪器设备及器械制造"), split_industry("医药制造业")
    (('3586', '医疗仪器设备及器械制造'), ('', '医药制造业'))
    """
    match = _INDUSTRY.match(text or "")
    if match:
        return match.group(1), match.group(2).strip()
    return "", (text or "").strip()


def locality(
    district: str,
    uscc: str | None,
    zone_local: bool | None,
    zone_name: str,
    home: str,
    codes: list[str],
    address: str = "",
    home_full: str = "",
) -> tuple[bool, str] | None:
    """是否本地 when the file does not say: from 区县, else the credit code's registration authority
    (characters 3-8, GB/T 2260), else an address in 「北京市通州区」 (city and district: 江苏南通也有通州区),
    else the zone. (value, reason in Chinese) or None when unknown.

    >>> locality("", "91110112MA01ABCD1X", None, "", "通州区", ["110112"])
    (True, '信用代码登记机关 110112 属本区')
    """
    if district and home:
        folded = fold(district)
        if folded == home or folded.endswith(home):
            return True, f"区县：{district}"
        return False, f"区县：{district}（非本区）"
    if uscc and codes:
        authority = uscc[2:8]
        if any(authority.startswith(code) for code in codes):
            return True, f"信用代码登记机关 {authority} 属本区"
        if not authority.endswith("00"):  # 110000 / 110100: city-level authority, says nothing
            return False, f"信用代码登记机关 {authority}（非本区）"
    if address and home_full and home_full in fold(address):
        return True, f"地址：{address[:30]}"
    if zone_local is not None:
        return zone_local, f"园区：{zone_name}" + ("" if zone_local else "（区外园区）")
    return None


class _CompanyRowParser:
    """Turns one row of cells into a _Draft, recording every problem of the row in `rows`."""

    def __init__(
        self,
        store: GraphStore,
        table: Table,
        cols: dict[str, int],
        rows: _Rows,
        district_cfg: dict,
        companies_cfg: dict,
        today: _dt.date | None,
    ):
        self.store, self.table, self.cols, self.rows = store, table, cols, rows
        self.home = fold(district_cfg.get("district", ""))
        city = fold(district_cfg.get("city", ""))
        self.home_full = city + self.home if city and self.home and not self.home.startswith(city) else ""
        self.cfg = companies_cfg
        self.codes = [str(c) for c in companies_cfg.get("district_codes", [])]
        self.rates = dict(companies_cfg.get("currency_rates", {}))
        self.today = today
        self.zones = ZoneResolver(store.zones()) if "zone" in cols else None
        self.resolver = NodeResolver(store.chains(), store.nodes()) if "nodes" in cols else None
        self.placer: EvidencePlacer | None = None  # built on the first row that needs it
        self.first_uscc: dict[str, int] = {}
        self.first_name: dict[str, int] = {}
        self.scales = {
            key: header_scale(table.headers[cols[key]]) if key in cols else 1.0
            for key in ("registered_capital", "paid_capital", "revenue")
        }
        self.unknown_status: Counter[str] = Counter()
        self.unknown_designations: Counter[str] = Counter()

    def cell(self, cells: list[str], key: str) -> str:
        position = self.cols.get(key)
        if position is None:
            return ""
        text = cells[position]
        return "" if is_empty(text) else text

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
        for key in _TEXT_FIELDS:
            if cell(cells, key):
                values[key] = cell(cells, key)
        self._money(cells, values, fail)
        for key, label in (("employees", "员工人数"), ("insured", "参保人数")):
            try:
                number = parse_number(cell(cells, key), label, integer=True)
            except ValueError as exc:
                fail(str(exc))
            else:
                if number is not None:
                    values[key] = number
        if cell(cells, "founded"):
            try:
                year, iso = parse_date(cell(cells, "founded"), today=self.today)
            except ValueError as exc:
                fail(str(exc))
            else:
                if year is not None:
                    values["founded"] = year
                if iso:
                    values["founded_date"] = iso
        if cell(cells, "status"):
            status = cell(cells, "status").strip()
            active, known = parse_status(
                status, self.cfg.get("active_statuses", []), self.cfg.get("inactive_statuses", [])
            )
            values["status"], values["active"] = status, active
            if not known:
                self.unknown_status[status] += 1
        if cell(cells, "qualifications"):
            quals, unknown = parse_designations(cell(cells, "qualifications"))
            values["qualifications"] = quals
            if unknown:
                values["tags"] = unknown
                self.unknown_designations.update(unknown)
        if cell(cells, "is_local"):
            try:
                local = parse_bool(cell(cells, "is_local"))
            except ValueError as exc:
                fail(str(exc))
            else:
                if local is not None:
                    values["is_local"] = local
                    values["local_reason"] = "文件「是否本地」列"
        former = tuple(
            dict.fromkeys(p.strip() for p in _NAMES_SPLIT.split(cell(cells, "former_names")) if p.strip())
        )
        if former:
            values["former_names"] = former
        code, industry = split_industry(cell(cells, "industry"))
        explicit_code = re.sub(r"^[A-Ta-t]", "", cell(cells, "industry_code").strip())
        if explicit_code or code:
            values["industry_code"] = explicit_code or code
        if industry:
            values["industry"] = industry
        draft = _Draft(index, values, uscc, norm, None)
        draft.former_norms = tuple(n for n in (normalize_name(f) for f in former) if n and n != norm)
        zone_local, zone_name = None, ""
        if self.zones is not None and cell(cells, "zone"):
            try:
                zone = self.zones.resolve(cell(cells, "zone"))
            except ValueError as exc:
                fail(str(exc))
            else:
                values["zone_id"] = zone.id
                zone_local, zone_name = zone.is_local, zone.name
        draft.local = locality(
            cell(cells, "district"),
            uscc,
            zone_local,
            zone_name,
            self.home,
            self.codes,
            cell(cells, "address"),
            self.home_full,
        )
        if self.resolver is not None and cell(cells, "nodes"):
            try:
                draft.explicit_nodes = self.resolver.resolve_cell(cell(cells, "nodes"))
            except ValueError as exc:
                fail(str(exc))
        if self.rows.bad(index):
            return None
        if draft.explicit_nodes is not None:
            draft.placed = tuple(Placement(n, EXPLICIT, 1.0) for n in draft.explicit_nodes)
        else:
            if self.placer is None:
                self.placer = EvidencePlacer(
                    self.store.nodes(),
                    confident=float(self.cfg.get("confident", 0.6)),
                    second_share=float(self.cfg.get("second_node_share", 0.5)),
                )
            result = self.placer.place(
                values.get("products", ""), values.get("scope", ""), values.get("industry_code", ""), name
            )
            draft.placed, draft.candidates = result.placed, result.candidates
        return draft

    def _money(self, cells: list[str], values: dict, fail: Callable[[str], None]) -> None:
        for key, label in (
            ("registered_capital", "注册资本"),
            ("paid_capital", "实缴资本"),
            ("revenue", "营业收入"),
        ):
            try:
                number, original = parse_money(self.cell(cells, key), label, self.rates, self.scales[key])
            except ValueError as exc:
                fail(str(exc))
                continue
            if number is not None:
                values[key] = number
            if original and key == "registered_capital":
                values["capital_text"] = original

    def warnings(self) -> list[str]:
        out = [
            f"未知的登记状态「{s}」（{n} 行）按存续处理；可在配置 [companies] 中补充"
            for s, n in self.unknown_status.items()
        ]
        out += [
            f"未识别的资质「{w}」（{n} 行）已作为标签保留；可在 graph/importer/synonyms.toml 中补充"
            for w, n in self.unknown_designations.items()
        ]
        return out

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
    companies_cfg: dict | None = None,
    partial: bool = False,
    progress: Progress | None = None,
    today: _dt.date | None = None,
    dry_run: bool = False,
    limits: UploadLimits | None = None,
    display_name: str | None = None,
) -> ImportReport:
    """Validate every row of a company file, then write all good rows in one store call.

    `district_cfg` is cfg["district"] and `companies_cfg` cfg["companies"]: 是否本地 is derived (with its
    reason) when empty. With `partial=False` (default) nothing is written when any row is bad; with
    `partial=True` the good rows are written and the bad ones come back in `report.rejected_rows`.
    `dry_run` validates and reports (column mapping included) without writing: the confirm step.
    """
    table, cols, report = _start(path, "companies", COMPANY_COLUMNS, limits, display_name, find_header=True)
    rows = _Rows(table, report)
    cfg = {**DEFAULT_COMPANIES_CFG, **(companies_cfg or {})}
    parser = _CompanyRowParser(store, table, cols, rows, district_cfg or {}, cfg, today)
    drafts: list[_Draft] = []
    total = len(table.rows)
    for index, cells in enumerate(table.rows):
        draft = parser.parse(index, cells)
        if draft is not None:
            drafts.append(draft)
        _tick(progress, index + 1, total)
    if total == 0 and progress is not None:
        progress(0, 0)

    report.warnings += parser.warnings()
    companies = _merge_with_stored(store, drafts, rows, table, report)
    rows.finish()
    report.inactive = sum(1 for c in companies if not c.active)
    report.local = sum(1 for c in companies if c.is_local)
    if dry_run or (report.errors and not partial):
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
    names = [d.norm_name for d in drafts] + [n for d in drafts for n in d.former_norms]
    matched = store.match_companies([d.uscc for d in drafts if d.uscc], names)
    ids: dict[str, int] = {}
    for draft in drafts:
        by_uscc = matched.get(draft.uscc) if draft.uscc else None
        by_name = matched.get(draft.norm_name)
        by_former = next((matched[n] for n in draft.former_norms if n in matched), None)  # renamed firm
        draft.values["id"] = (
            by_uscc or by_name or by_former or company_id_for(draft.values["name"], draft.uscc)
        )
    existing = {c.id: c for c in store.companies(sorted({d.values["id"] for d in drafts}))}
    companies: list[Company] = []
    for draft in drafts:
        values = draft.values
        company_id = values["id"]
        old = existing.get(company_id)
        if old and draft.uscc and old.uscc and old.uscc != draft.uscc:
            # Same name (or 曾用名), another credit code: another firm by law, probably the same one in
            # fact (re-registered, or a typo). Imported as a new firm with a 疑似重复 warning.
            report.warnings.append(
                f"第 {table.row_numbers[draft.index]} 行：疑似重复——「{values['name']}」（{draft.uscc}）"
                f"与已有企业「{old.name}」（{old.id}，{old.uscc}）名称或曾用名相同而信用代码不同，"
                "已作为新企业导入；如为同一企业，可在「疑似重复」中合并"
            )
            values["id"] = company_id = company_id_for(values["name"], draft.uscc)
            old = existing.get(company_id)
        if company_id in ids:
            rows.fail(draft.index, f"与第 {table.row_numbers[ids[company_id]]} 行是同一家已有企业")
            continue
        if "is_local" not in values and draft.local is not None:
            values["is_local"], values["local_reason"] = draft.local
        if draft.explicit_nodes is not None:
            values["node_ids"] = draft.explicit_nodes
            values["placements"] = tuple(p.encode() for p in draft.placed)
            values["pending"] = False
        elif not (old and old.node_ids):  # a firm placed before (or confirmed) keeps its nodes
            if draft.placed:
                values["node_ids"] = tuple(sorted(p.node_id for p in draft.placed))
                values["placements"] = tuple(p.encode() for p in draft.placed)
                values["pending"] = False
                report.placed += 1
            else:
                values["node_ids"] = ()
                values["placements"] = tuple(p.encode() for p in draft.candidates)
                values["pending"] = True
                report.pending += 1
        ids[company_id] = draft.index
        if old:
            companies.append(dataclasses.replace(old, **values))
            report.updated += 1
        else:
            companies.append(Company(**values))
            report.created += 1
    report.warnings += _duplicates_in_file(drafts, ids, table)
    return companies


def _duplicates_in_file(drafts: list[_Draft], ids: dict[str, int], table: Table) -> list[str]:
    """疑似重复 within one file: two rows (two firms, different credit codes) with one normalised name,
    or a row whose name is another row's 曾用名. Warnings: both rows are imported."""
    written = [d for d in drafts if ids.get(d.values["id"]) == d.index]
    names: dict[str, _Draft] = {}
    out: list[str] = []
    for draft in written:
        first = names.setdefault(draft.norm_name, draft)
        if first is not draft:
            out.append(
                f"第 {table.row_numbers[draft.index]} 行：疑似重复——「{draft.values['name']}」"
                f"与第 {table.row_numbers[first.index]} 行「{first.values['name']}」同名而信用代码不同"
            )
    for draft in written:
        for former in draft.former_norms:
            other = names.get(former)
            if other is not None and other is not draft:
                out.append(
                    f"第 {table.row_numbers[other.index]} 行：疑似重复——「{other.values['name']}」"
                    f"是第 {table.row_numbers[draft.index]} 行「{draft.values['name']}」的曾用名"
                )
    return out
