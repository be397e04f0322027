"""The importable columns: their keys, the Chinese headers users see, accepted aliases, and how a
file's header row maps onto them. Vendor exports (企查查, 天眼查, ...) differ mostly here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..tabular import TabularError, normalize_header
from .synonyms import load_synonyms

_SPACES = re.compile(r"\s+")


class ImportFileError(TabularError):
    """The file as a whole cannot be imported (missing column, duplicate column...)."""


def fold(text: str | None) -> str:
    """Key for matching zone, chain and node names: NFKC, no whitespace, lower case.

    >>> fold(" 高端 医疗器械 ") == fold("高端医疗器械")
    True
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()


@dataclass(frozen=True)
class ColumnSpec:
    """One importable column: model key, the Chinese header users see, and accepted aliases.

    With `synonyms=True` the headers of synonyms.toml's [columns] entry for `key` are accepted too
    (company columns: that file is the one place vendor headers are listed).
    """

    key: str
    title: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    example: str = ""
    synonyms: bool = False

    def ordered_names(self) -> list[str]:
        """Folded headers meaning this column, best first (the title, then the synonym table's order)."""
        extra = load_synonyms().columns.get(self.key, ()) if self.synonyms else ()
        out: list[str] = []
        for name in (self.title, *extra, *self.aliases, self.key):
            folded = normalize_header(name)
            if folded not in out:
                out.append(folded)
        return out

    def names(self) -> set[str]:
        return set(self.ordered_names())


def _company(key: str, title: str, example: str = "", required: bool = False) -> ColumnSpec:
    return ColumnSpec(key, title, required=required, example=example, synonyms=True)


# The template's columns in order; the headers vendors use for each are in synonyms.toml.
COMPANY_COLUMNS: tuple[ColumnSpec, ...] = (
    _company("uscc", "统一社会信用代码", "91350100M000100Y43"),
    _company("name", "企业名称", "北京示例医疗器械有限公司", required=True),
    _company("former_names", "曾用名", "北京示例医械科技有限公司"),
    _company("status", "登记状态", "存续"),
    _company("province", "省份", "北京市"),
    _company("city", "城市", "北京市"),
    _company("district", "区县", "通州区"),
    _company("is_local", "是否本地", "是"),
    _company("zone", "所属园区", "漷县"),
    _company("registered_capital", "注册资本(万元)", "5000万元人民币"),
    _company("paid_capital", "实缴资本", "2000万元"),
    _company("revenue", "营业收入(万元)", "12000.5"),
    _company("employees", "员工人数", "320"),
    _company("insured", "参保人数", "298"),
    _company("founded", "成立日期", "2012-05-01"),
    _company("legal_rep", "法定代表人", "张三"),
    _company("company_type", "企业类型", "有限责任公司(自然人投资或控股)"),
    _company("industry_code", "行业代码", "3586"),
    _company("industry", "所属行业", "医疗仪器设备及器械制造"),
    _company("address", "地址", "北京市通州区漷县镇示例路1号"),
    _company("phone", "电话", "010-12345678"),
    _company("email", "邮箱", "info@example.com"),
    _company("website", "官网", "www.example.com"),
    _company("qualifications", "资质", '专精特新"小巨人"；高企'),
    _company("products", "主营产品", "人工关节；骨科植入物"),
    _company("scope", "经营范围", "医疗器械研发、生产、销售"),
    _company("nodes", "产业链环节", "高端医疗器械/人工关节"),
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


def header_lookup(specs: Sequence[ColumnSpec]) -> dict[str, tuple[ColumnSpec, int]]:
    """Folded header -> (column, rank); a header listed for two columns belongs to the first."""
    lookup: dict[str, tuple[ColumnSpec, int]] = {}
    for spec in specs:
        for rank, name in enumerate(spec.ordered_names()):
            lookup.setdefault(name, (spec, rank))
    return lookup


def looks_like_header(cells: Sequence[str], specs: Sequence[ColumnSpec]) -> bool:
    """A header row names at least two known columns, one of them required (企业名称)."""
    lookup = header_lookup(specs)
    keys = {lookup[h][0].key for c in cells if (h := normalize_header(c or "")) in lookup}
    required = {s.key for s in specs if s.required}
    return len(keys) >= 2 and (not required or bool(keys & required))


@dataclass
class ColumnMapping:
    """How a file's header row was understood: shown before anything is written."""

    positions: dict[str, int]  # column key -> header position
    understood: list[tuple[str, str]]  # (header as written, column title)
    ignored: list[str]  # headers not used (unknown, or a lesser synonym of a used one)
    # every header in file order: {"position", "letter", "header", "key", "title", "synonym", "note"}
    columns: list[dict] = field(default_factory=list)


def understand_columns(headers: Sequence[str], specs: Sequence[ColumnSpec]) -> ColumnMapping:
    """Map headers to columns. Of two synonyms of one column the better-ranked wins and the other
    is ignored (企查查 carries both 统一社会信用代码 and 纳税人识别号); the same header twice is an error."""
    lookup = header_lookup(specs)
    best: dict[str, tuple[int, int]] = {}  # key -> (rank, position)
    unknown: list[int] = []
    for index, header in enumerate(headers):
        if not header:
            continue
        folded = normalize_header(header)
        found = lookup.get(folded)
        if found is None:
            unknown.append(index)
            continue
        spec, rank = found
        if spec.key in best:
            first_rank, first = best[spec.key]
            if first_rank == rank:
                raise ImportFileError(f"表头重复：「{headers[first]}」与「{header}」都表示「{spec.title}」")
            if rank > first_rank:
                continue
        best[spec.key] = (rank, index)
    positions = {key: pos for key, (_rank, pos) in best.items()}
    missing = [f"{s.title}（或 {s.key}）" for s in specs if s.required and s.key not in positions]
    if missing:
        raise ImportFileError("缺少必需的列：" + "、".join(missing))
    titles = {s.key: s.title for s in specs}
    used = set(positions.values())
    understood = [(headers[pos], titles[key]) for key, pos in sorted(positions.items(), key=lambda kv: kv[1])]
    ignored = [h for i, h in enumerate(headers) if h and i not in used]
    return ColumnMapping(positions, understood, ignored, _explain(headers, lookup, positions))


def column_letter(position: int) -> str:
    """Excel's letter for a 0-based column position: 0 -> A, 26 -> AA."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _explain(
    headers: Sequence[str], lookup: dict[str, tuple[ColumnSpec, int]], positions: dict[str, int]
) -> list[dict]:
    """How each header was understood, for the confirm step: the column it fills and whether it
    matched as the column's own title or as a synonym; an unused header says why."""
    used = {pos: key for key, pos in positions.items()}
    out = []
    for index, header in enumerate(headers):
        if not header:
            continue
        found = lookup.get(normalize_header(header))
        spec = found[0] if found else None
        row = {
            "position": index,
            "letter": column_letter(index),
            "header": header,
            "key": spec.key if spec and index in used else "",
            "title": spec.title if spec else "",
            "synonym": spec is not None and normalize_header(header) != normalize_header(spec.title),
            "note": "",
        }
        if spec is None:
            row["note"] = "未识别，忽略"
        elif index not in used:
            row["note"] = f"「{headers[positions[spec.key]]}」已表示「{spec.title}」，此列忽略"
        out.append(row)
    return out


def map_columns(headers: Sequence[str], specs: Sequence[ColumnSpec]) -> tuple[dict[str, int], list[str]]:
    """Header positions by column key, plus warnings for headers that are not used."""
    mapping = understand_columns(headers, specs)
    return mapping.positions, [f"忽略未识别的列「{header}」" for header in mapping.ignored]
