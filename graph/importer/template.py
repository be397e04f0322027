"""The import template: an XLSX with the Chinese headers and one example row, plus a 说明 sheet
listing every column, the headers accepted for it (synonyms.toml), and how money, dates, 登记状态
and designations may be written. The command line (`lianzhao import template`) and the web's
download both write this one workbook."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from .columns import COMPANY_COLUMNS, RELATION_COLUMNS, ColumnSpec
from .companies import DEFAULT_COMPANIES_CFG
from .run import KINDS
from .synonyms import load_synonyms

_MONEY = (
    "单位万元人民币；可直接写导出文件中的文字：5000万元人民币、1.2亿元、12,000万元；"
    "外币按配置 [companies] currency_rates 折算为万元并保留原文（{rates}）"
)
_FORMATS: dict[str, str] = {
    "uscc": "18 位统一社会信用代码（GB 32100-2015，校验位会被检查）；可留空",
    "name": "必填；按信用代码、企业名称或曾用名匹配已有企业并更新",
    "former_names": "多个用、；或换行分隔；匹配已有企业时也会比对",
    "status": "存续/在业/开业等为存续企业；注销/吊销/迁出等保留记录但不计入分析（见下方登记状态）",
    "is_local": "是/否；留空时依次按区县、信用代码登记机关（第 3–8 位）、地址、园区判断",
    "zone": "园区名称（系统中已有的园区）",
    "registered_capital": _MONEY,
    "paid_capital": _MONEY,
    "revenue": _MONEY + "；表头写「(千元)」「(元)」时按表头单位换算",
    "employees": "整数",
    "insured": "整数",
    "founded": "2012-05-01、2012/5/1、2012年5月1日、20120501 或年份 2012",
    "industry_code": "GB/T 4754-2017 行业代码，如 3586 或 C3586",
    "industry": "行业名称；「C3586 医疗仪器设备及器械制造」同时给出代码与名称",
    "qualifications": "多个用、；分隔；可写官方名称（见下方资质）；无法识别的词保留为标签并提示",
    "products": "主营产品，归入产业链环节时权重高于经营范围",
    "scope": "经营范围原文",
    "nodes": "「产业链/环节」，多个用；分隔；留空时按主营产品与经营范围归入，无把握的进入待确认",
    "supplier": "供应方的统一社会信用代码或企业名称（须已导入）",
    "buyer": "采购方的统一社会信用代码或企业名称（须已导入）",
    "amount": "年交易额，万元",
}
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")


def _specs(kind: str) -> tuple[ColumnSpec, ...]:
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    return COMPANY_COLUMNS if kind == "companies" else RELATION_COLUMNS


def _accepted(spec: ColumnSpec) -> str:
    """The other headers a file may use for this column, as written in synonyms.toml."""
    extra = load_synonyms().columns.get(spec.key, ()) if spec.synonyms else ()
    names = [n for n in dict.fromkeys((*extra, *spec.aliases)) if n != spec.title]
    return "、".join(names)


def template_workbook(kind: str, companies_cfg: Mapping[str, Any] | None = None) -> bytes:
    """The template of `kind` ("companies" | "relations") as XLSX bytes; `companies_cfg` is
    cfg["companies"] (status words and currency rates shown on the 说明 sheet)."""
    specs = _specs(kind)
    cfg = {**DEFAULT_COMPANIES_CFG, **(companies_cfg or {})}
    book = Workbook()
    sheet = book.active
    sheet.title = KINDS[kind]
    sheet.append([spec.title for spec in specs])
    sheet.append([spec.example for spec in specs])
    for index, spec in enumerate(specs, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = _REQUIRED_FILL if spec.required else _HEAD_FILL
        sheet.column_dimensions[cell.column_letter].width = max(12, min(40, 2 * len(spec.title) + 4))
        sheet.cell(row=2, column=index).number_format = "@"  # credit codes and codes stay text
    sheet.freeze_panes = "A2"

    notes = book.create_sheet("说明")
    rates = "、".join(f"{name} {rate}" for name, rate in dict(cfg.get("currency_rates", {})).items())
    notes.append([f"{KINDS[kind]}导入模板：第 1 行为表头，第 2 行为示例（请替换）。表头上方可以有标题行。"])
    notes.append([])
    notes.append(["列名", "必填", "示例", "也接受的表头（同义词）", "格式"])
    for cell in notes[3]:
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
    for spec in specs:
        notes.append(
            [
                spec.title,
                "是" if spec.required else "",
                spec.example,
                _accepted(spec),
                _FORMATS.get(spec.key, "").format(rates=rates),
            ]
        )
    if kind == "companies":
        synonyms = load_synonyms()
        notes.append([])
        notes.append(["登记状态", "存续（计入分析）", "、".join(cfg.get("active_statuses", []))])
        notes.append(["", "非存续（仅保留记录）", "、".join(cfg.get("inactive_statuses", []))])
        notes.append([])
        notes.append(["资质写法", "识别为"])
        for word, means in synonyms.designations:
            notes.append(["", word, "、".join(means)])
        notes.append([])
        notes.append(["视为空的单元格", "、".join(sorted(synonyms.empty))])
    notes.append([])
    notes.append(
        ["全部导入：任何一行有错误则不写入任何数据。仅导入正确的行：错误行可下载，改正后可再次导入。"]
    )
    for letter, width in zip("ABCDE", (22, 20, 30, 50, 70), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
