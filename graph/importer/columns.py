"""The importable columns: their keys, the Chinese headers users see, accepted aliases, and how a
file's header row maps onto them. Vendor exports (企查查, 天眼查, ...) differ mostly here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..tabular import TabularError, normalize_header

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
