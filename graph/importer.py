"""Import companies and supply relations from CSV/XLSX into any GraphStore.

The rules live here (views and the CLI only call and render): every row is validated and built
first, then written with ONE store call per kind, so a bad file or Ctrl-C never leaves half an
import behind. Existing firms are matched by credit code, then by normalised name, and updated in
place (re-importing never duplicates). Firms without 产业链环节 are placed by keyword.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .identity import InvalidCreditCode, clean_uscc, company_id_for, normalize_name
from .model import QUALIFICATIONS, Chain, ChainNode, Company, Supply, Zone
from .store import GraphStore
from .tabular import Table, TabularError, normalize_header, read_table
from .upload_limits import UploadLimits

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 2000
REJECT_REASON_TITLE = "错误原因"


class ImportFileError(TabularError):
    """The file as a whole cannot be imported (missing column, duplicate column...)."""


# ---- columns ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnSpec:
    """One importable column: model key, the Chinese header users see, and accepted aliases."""

    key: str
    title: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""

    def names(self) -> set[str]:
        return {normalize_header(n) for n in (self.key, self.title, *self.aliases)}


COMPANY_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "uscc", "统一社会信用代码", ("社会信用代码", "信用代码", "credit_code"), example="91350100M000100Y43"
    ),
    ColumnSpec(
        "name",
        "企业名称",
        ("公司名称", "企业", "company", "company_name"),
        required=True,
        example="北京示例医疗器械有限公司",
    ),
    ColumnSpec("province", "省份", ("省",), example="北京市"),
    ColumnSpec("city", "城市", ("市", "地市"), example="北京市"),
    ColumnSpec("district", "区县", ("区", "县", "区/县"), example="通州区"),
    ColumnSpec("is_local", "是否本地", ("本地", "local"), example="是"),
    ColumnSpec("zone", "所属园区", ("园区", "zone_id", "zone_name"), example="漷县"),
    ColumnSpec("registered_capital", "注册资本(万元)", ("注册资本", "capital"), example="5,000"),
    ColumnSpec("revenue", "营业收入(万元)", ("营业收入", "营收", "营收(万元)"), example="12000.5"),
    ColumnSpec("employees", "员工人数", ("员工数", "人数", "staff"), example="320"),
    ColumnSpec("founded", "成立年份", ("成立年", "成立时间", "成立日期", "year"), example="2012"),
    ColumnSpec("qualifications", "资质", ("企业资质",), example="专精特新；高新技术企业"),
    ColumnSpec("products", "主营产品", ("产品", "main_products"), example="人工关节；骨科植入物"),
    ColumnSpec("scope", "经营范围", ("business_scope",), example="医疗器械研发、生产、销售"),
    ColumnSpec(
        "nodes",
        "产业链环节",
        ("环节", "产业链节点", "node", "node_ids", "chain_nodes"),
        example="高端医疗器械/人工关节",
    ),
)

RELATION_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "supplier", "供应方", ("供应商", "供方", "供应企业"), required=True, example="914403001922038216"
    ),
    ColumnSpec(
        "buyer", "采购方", ("客户", "需方", "采购企业"), required=True, example="北京示例医疗器械有限公司"
    ),
    ColumnSpec("product", "产品", ("供应产品", "产品名称"), example="钛合金棒材"),
    ColumnSpec("amount", "年交易额(万元)", ("年交易额", "交易额", "交易额(万元)"), example="800"),
)

_LIST_SPLIT = re.compile(r"[；;、,，\n]+")
_NODE_SPLIT = re.compile(r"[；;、\n]+")
_TRUE = {"是", "true", "1", "y", "yes", "本地"}
_FALSE = {"否", "false", "0", "n", "no", "外地", "非本地"}
_YEAR = re.compile(r"^(\d{4})(?:\.0+|[-/.年].*)?$")
_SPACES = re.compile(r"\s+")
_USCC_SHAPE = re.compile(r"^[0-9A-Z]{18}$")


def fold(text: str | None) -> str:
    """Key for matching zone, chain and node names: NFKC, no whitespace, lower case."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def map_columns(headers: Sequence[str], specs: Sequence[ColumnSpec]) -> tuple[dict[str, int], list[str]]:
    """Header positions by column key, plus warnings for headers that are not recognised."""
    lookup = {name: spec for spec in specs for name in spec.names()}
    positions: dict[str, int] = {}
    warnings: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue
        spec = lookup.get(normalize_header(header))
        if spec is None:
            warnings.append(f"忽略未识别的列「{header}」")
            continue
        if spec.key in positions:
            first = headers[positions[spec.key]]
            raise ImportFileError(f"表头重复：「{first}」与「{header}」都表示「{spec.title}」")
        positions[spec.key] = index
    missing = [f"{s.title}（或 {s.key}）" for s in specs if s.required and s.key not in positions]
    if missing:
        raise ImportFileError("缺少必需的列：" + "、".join(missing))
    return positions, warnings


# ---- report ----------------------------------------------------------------------------------
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
    placed: int = 0  # firms placed on chain nodes by keyword
    committed: bool = False
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rejected_rows: list[tuple[int, list[str], str]] = field(default_factory=list)

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
    path, kind: str, specs, limits=None, display_name=None
) -> tuple[Table, dict[str, int], ImportReport]:
    table = read_table(path, limits=limits, display_name=display_name)
    positions, warnings = map_columns(table.headers, specs)
    report = ImportReport(
        kind=kind,
        path=os.fspath(path),
        encoding=table.encoding,
        total=len(table.rows),
        headers=list(table.headers),
        warnings=table.warnings + warnings,
    )
    return table, positions, report


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
        progress(done, total)


# ---- cell parsers (each returns a value or raises ValueError with a Chinese message) -------------
def parse_number(text: str, label: str, *, integer: bool = False) -> float | int | None:
    """「1,234.5」「１２３４」 -> number; empty -> None; negative or not a number -> ValueError."""
    if not text:
        return None
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").replace("_", "")
    if cleaned.endswith("万元"):
        cleaned = cleaned[:-2]
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{label}「{text}」不是有效数字") from None
    if not math.isfinite(value):
        raise ValueError(f"{label}「{text}」不是有效数字")
    if value < 0:
        raise ValueError(f"{label}不能为负数：{text}")
    if integer:
        if not value.is_integer():
            raise ValueError(f"{label}应为整数：{text}")
        return int(value)
    return value


def parse_bool(text: str, label: str = "是否本地") -> bool | None:
    if not text:
        return None
    key = unicodedata.normalize("NFKC", text).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{label}应为 是/否（或 true/false、1/0、Y/N），实际为「{text}」")


def parse_year(text: str, *, today: _dt.date | None = None) -> int | None:
    if not text:
        return None
    match = _YEAR.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(f"成立年份「{text}」不是有效年份")
    year = int(match.group(1))
    last = (today or _dt.date.today()).year
    if not 1900 <= year <= last:
        raise ValueError(f"成立年份应在 1900 到 {last} 之间：{text}")
    return year


def parse_qualifications(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    found: list[str] = []
    unknown: list[str] = []
    for part in _LIST_SPLIT.split(unicodedata.normalize("NFKC", text)):
        part = part.strip()
        if not part:
            continue
        if part in QUALIFICATIONS:
            if part not in found:
                found.append(part)
        else:
            unknown.append(part)
    if unknown:
        raise ValueError(f"未知资质「{'、'.join(unknown)}」（可选：{'、'.join(QUALIFICATIONS)}）")
    return tuple(found)


# ---- structure lookups -------------------------------------------------------------------------
class ZoneResolver:
    """Zone by id or name (folded); a unique name prefix also counts (「漷县」 -> 「漷县镇」)."""

    def __init__(self, zones: Iterable[Zone]):
        self.zones: dict[str, Zone] = {}
        self.names: list[tuple[str, Zone]] = []
        for zone in zones:
            self.zones.setdefault(fold(zone.id), zone)
            self.zones.setdefault(fold(zone.name), zone)
            self.names.append((fold(zone.name), zone))

    def resolve(self, text: str) -> Zone:
        key = fold(text)
        zone = self.zones.get(key)
        if zone is not None:
            return zone
        candidates = sorted(
            {z.id: z for name, z in self.names if len(key) >= 2 and name.startswith(key)}.values(),
            key=lambda z: z.id,
        )
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise ValueError(
                f"园区「{text}」不明确（{'、'.join(z.name for z in candidates)}），请写全称或 id"
            )
        raise ValueError(f"未知园区「{text}」")


class NodeResolver:
    """Chain node by id, by name (unique across chains) or as 「链名/环节名」."""

    def __init__(self, chains: Iterable[Chain], nodes: Iterable[ChainNode]):
        self.chains = {c.id: c for c in chains}
        self.chain_keys: dict[str, str] = {}
        for chain in self.chains.values():
            self.chain_keys.setdefault(fold(chain.id), chain.id)
            self.chain_keys.setdefault(fold(chain.name), chain.id)
        self.by_id: dict[str, ChainNode] = {}
        self.by_name: dict[str, list[ChainNode]] = defaultdict(list)
        for node in nodes:
            self.by_id[node.id] = node
            self.by_name[fold(node.name)].append(node)

    def resolve_cell(self, text: str) -> tuple[str, ...]:
        ids: list[str] = []
        errors: list[str] = []
        for token in _NODE_SPLIT.split(text):
            token = token.strip()
            if not token:
                continue
            try:
                node_id = self.resolve(token)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if node_id not in ids:
                ids.append(node_id)
        if errors:
            raise ValueError("；".join(errors))
        return tuple(sorted(ids))  # stores keep node links as a set

    def resolve(self, token: str) -> str:
        if token in self.by_id:
            return token
        folded = fold(token)
        matches = self.by_name.get(folded, [])
        if len(matches) == 1:
            return matches[0].id
        if len(matches) > 1:
            names = "、".join(sorted(self._chain_name(n.chain_id) for n in matches))
            raise ValueError(f"环节「{token}」在多条产业链中都有（{names}），请写成「链名/环节名」")
        # 「链名/环节名」: try every slash, since node names may contain one (AR/VR/XR 可穿戴)
        for position in [i for i, ch in enumerate(folded) if ch == "/"]:
            chain_id = self.chain_keys.get(folded[:position])
            if chain_id is None:
                continue
            for node in self.by_name.get(folded[position + 1 :], []):
                if node.chain_id == chain_id:
                    return node.id
        raise ValueError(f"未知产业链环节「{token}」")

    def _chain_name(self, chain_id: str) -> str:
        chain = self.chains.get(chain_id)
        return chain.name if chain else chain_id


class KeywordPlacer:
    """Places a firm on the chain nodes whose keywords (and names) best match its products + scope.

    All terms are compiled into ONE regex shaped like a trie, so a row costs one scan of its text
    however many nodes exist (1M rows stay fast). Score per node: distinct terms hit, then total
    length of those terms; ties broken by node id; at most `max_nodes` nodes are returned.
    """

    def __init__(self, nodes: Iterable[ChainNode], max_nodes: int = 3, min_length: int = 2):
        self.max_nodes = max_nodes
        self.term_nodes: dict[str, set[str]] = defaultdict(set)
        for node in nodes:
            for term in (*node.keywords, node.name):
                key = fold(term)
                if len(key) >= min_length:
                    self.term_nodes[key].add(node.id)
        self.pattern = re.compile(_trie_pattern(self.term_nodes)) if self.term_nodes else None

    def place(self, text: str) -> tuple[str, ...]:
        if self.pattern is None or not text:
            return ()
        hits = set(self.pattern.findall(fold(text)))
        if not hits:
            return ()
        scores: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for term in hits:
            for node_id in self.term_nodes[term]:
                score = scores[node_id]
                score[0] += 1
                score[1] += len(term)
        best = max(tuple(s) for s in scores.values())
        winners = sorted(node_id for node_id, s in scores.items() if tuple(s) == best)
        return tuple(winners[: self.max_nodes])


def _trie_pattern(terms: Iterable[str]) -> str:
    """A regex matching the longest of `terms` at each position, built as a character trie."""
    trie: dict = {}
    for term in terms:
        branch = trie
        for ch in term:
            branch = branch.setdefault(ch, {})
        branch[""] = {}

    def build(branch: dict) -> str:
        ends = "" in branch
        alternatives = [re.escape(ch) + build(sub) for ch, sub in sorted(branch.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        if ends:
            body = "(?:" + body + ")?"
        return body

    return build(trie)


# ---- companies -----------------------------------------------------------------------------------
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

    def _uscc(self, index: int, text: str, fail) -> str | None:
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


# ---- relations -----------------------------------------------------------------------------------
def _company_ref(text: str) -> tuple[str, str, str]:
    """(kind, key, problem): a valid credit code matches by code, anything else by name.

    A cell shaped like a credit code but failing the check is still tried as a name (an English
    name can look like a code); `problem` then explains the miss if the name matches nothing.
    """
    code = unicodedata.normalize("NFKC", text).strip().upper().replace(" ", "")
    if _USCC_SHAPE.match(code):
        try:
            return "uscc", clean_uscc(code), ""
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
) -> ImportReport:
    """Validate supply relations (both firms must already be stored), then write them in one call."""
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
        ids = []
        for ref, label, position in ((supplier_ref, "供应方", "supplier"), (buyer_ref, "采购方", "buyer")):
            company_id = matched.get(ref[1]) if ref else None
            if ref and company_id is None:
                shown = cell(table.rows[index], position)
                rows.fail(
                    index, f"{label}：{ref[2]}" if ref[2] else f"找不到{label}「{shown}」（请先导入该企业）"
                )
            ids.append(company_id)
        if rows.bad(index):
            continue
        if ids[0] == ids[1]:
            rows.fail(index, "供应方与采购方是同一家企业")
            continue
        key = (ids[0], ids[1], product)
        if key in first_key:
            rows.fail(index, f"与第 {table.row_numbers[first_key[key]]} 行重复（同一供应方、采购方和产品）")
            continue
        first_key[key] = index
        supplies.append(Supply(ids[0], ids[1], product, amount))
    rows.finish()
    if report.errors and not partial:
        return report
    if supplies:
        report.written = store.upsert_supplies(supplies)
    report.committed = True
    return report
