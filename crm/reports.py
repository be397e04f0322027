"""The weekly and monthly 招商工作报告: one text built from the period summary, written as DOCX
(python-docx: the format offices edit and forward) or shown as a print view by the web.

`build_report` decides every sentence and number; `report_docx` and the print template only lay
them out, so the DOCX, the print view and the dashboard's period panel say the same thing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from graph.gaps import format_wan

from .monitoring import format_number
from .queries.monitoring import Figures, Summary

KINDS = {"weekly": "周报", "monthly": "月报"}


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None


@dataclass
class Report:
    title: str
    unit: str
    period_line: str
    date_line: str
    sections: list[Section]


def _change(now: float, before: float) -> str:
    """同比 in words: 同比增加 3 个 / 同比持平 / 去年同期为 0."""
    if before == now:
        return "同比持平"
    if not before:
        return "去年同期为零"
    pct = (now - before) / before * 100
    return f"同比{'增长' if pct > 0 else '下降'} {abs(pct):.1f}%"


def figure_lines(fig: Figures, ago: Figures) -> list[tuple[str, str, str]]:
    """(label, this period, 同比) of every lead figure, in the order the panel and report show them."""
    return [
        ("新增线索", f"{fig.new_leads} 条", _change(fig.new_leads, ago.new_leads)),
        ("走访企业", f"{fig.visits} 次", _change(fig.visits, ago.visits)),
        ("洽谈会议", f"{fig.meetings} 次", _change(fig.meetings, ago.meetings)),
        ("阶段推进", f"{fig.stage_changes} 次", _change(fig.stage_changes, ago.stage_changes)),
        (
            "新签约项目",
            f"{fig.signed_count} 个，投资额 {format_wan(fig.signed_investment)}",
            _change(fig.signed_investment, ago.signed_investment),
        ),
        (
            "新落地项目",
            f"{fig.landed_count} 个，投资额 {format_wan(fig.landed_investment)}",
            _change(fig.landed_investment, ago.landed_investment),
        ),
        ("补齐链条缺口", f"{fig.gaps_filled} 个", _change(fig.gaps_filled, ago.gaps_filled)),
    ]


def build_report(
    summary: Summary, kind: str, unit: str, scope_name: str, timezone: str, labels: dict[str, str]
) -> Report:
    """The report's text. `scope_name` names the sector (or 全区), `labels` the "四个一" items."""
    name = KINDS[kind]
    p = summary.period
    today = summary.as_of.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
    fig, ago = summary.current, summary.year_ago
    sections = []
    overview = (
        f"{p.start:%Y年%-m月%-d日}至{p.end:%Y年%-m月%-d日}，{scope_name}新增招商线索 {fig.new_leads} 条，"
        f"走访企业 {fig.visits} 次、召开洽谈会议 {fig.meetings} 次，项目阶段推进 {fig.stage_changes} 次；"
        f"新签约项目 {fig.signed_count} 个、投资额 {format_wan(fig.signed_investment)}，"
        f"新落地项目 {fig.landed_count} 个、投资额 {format_wan(fig.landed_investment)}，"
        f"补齐产业链缺口 {fig.gaps_filled} 个。"
    )
    sections.append(
        Section(
            "一、总体情况",
            [overview],
            (["事项", "本期", "同比"], [list(row) for row in figure_lines(fig, ago)]),
        )
    )
    key_rows = [
        [
            item.lead.company_name,
            item.lead.stage,
            format_wan(item.lead.investment) if item.lead.investment is not None else "—",
            item.lead.sponsor_name
            or (item.lead.sponsor_user.display_name if item.lead.sponsor_user else "—"),
            "已落实" if not item.missing else "尚缺：" + "、".join(item.missing),
        ]
        for item in summary.key_items
    ]
    key_text = (
        f"截至{today:%Y年%-m月%-d日}，在库重点项目 {summary.key_total} 个，"
        f"“四个一”已全部落实 {summary.key_ready} 个，尚未落实 {summary.key_total - summary.key_ready} 个。"
    )
    sections.append(
        Section(
            "二、重点项目推进",
            [key_text],
            (["项目企业", "阶段", "投资额", labels["sponsor"], "“四个一”"], key_rows) if key_rows else None,
        )
    )
    issues = [
        f"{lead.company_name}：{issue}（{solver or '待明确责任方'}）"
        for lead, issue, solver in summary.coordination
    ]
    sections.append(
        Section(
            "三、需协调解决的问题",
            issues or ["本期无需区级协调解决的问题。"],
        )
    )
    overdue_tasks = [
        f"{t.task.label}（牵头：{t.task.lead}，时限 {t.task.deadline:%Y年%-m月%-d日}）"
        for t in summary.overdue_tasks
    ]
    sections.append(
        Section(
            "四、超期事项",
            [
                f"超期未跟进线索 {summary.overdue_leads} 条。"
                + (
                    f"超期任务 {len(overdue_tasks)} 项：" + "；".join(overdue_tasks) + "。"
                    if overdue_tasks
                    else "无超期任务。"
                )
            ],
        )
    )
    off = [
        [
            r.ind.name,
            f"{format_number(r.latest.value)}{r.ind.unit}（{r.latest.period_key}）" if r.latest else "—",
            f"{r.target.text}" if r.target else "—",
            r.assessment.note,
        ]
        for r in summary.off_track
    ]
    sections.append(
        Section(
            "五、主要指标监测",
            [
                f"{p.year}年主要指标 {len(summary.indicators)} 项，已填报 {sum(1 for r in summary.indicators if r.latest)} 项，"
                f"进度滞后 {len(summary.off_track)} 项。"
            ],
            (["指标", "最新值", f"{p.year}年目标", "说明"], off) if off else None,
        )
    )
    return Report(
        f"招商工作{name}",
        unit,
        f"（{p.start:%Y年%-m月%-d日}—{p.end:%Y年%-m月%-d日}，{scope_name}）",
        f"{unit}　{today:%Y年%-m月%-d日}",
        sections,
    )


def _font(run: Any, size: float, bold: bool = False, name: str = "仿宋") -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def _page_number(paragraph: Any) -> None:
    """第 N 页 with a PAGE field, so Word and WPS number the pages themselves."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(paragraph.add_run("第 "), 10.5)
    run = paragraph.add_run()
    for tag, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if tag:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), tag)
        else:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        run._element.append(el)
    _font(run, 10.5)
    _font(paragraph.add_run(" 页"), 10.5)


def report_docx(report: Report) -> bytes:
    """A4 portrait, 仿宋 body and 黑体 headings as a 工作简报 is set, page numbers in the footer."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2.5)
    section.left_margin = section.right_margin = Cm(2.6)
    _page_number(section.footer.paragraphs[0])
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(report.title), 22, True, "宋体")
    for line in (report.period_line, report.date_line):
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(para.add_run(line), 14, name="楷体")
    for sec in report.sections:
        heading = doc.add_paragraph()
        heading.paragraph_format.space_before = Pt(12)
        _font(heading.add_run(sec.heading), 16, name="黑体")
        for text in sec.paragraphs:
            para = doc.add_paragraph()
            para.paragraph_format.first_line_indent = Pt(32)
            para.paragraph_format.line_spacing = Pt(28)
            _font(para.add_run(text), 16)
        if sec.table:
            headers, rows = sec.table
            table = doc.add_table(rows=1, cols=len(headers))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for cell, text in zip(table.rows[0].cells, headers, strict=True):
                cell.text = ""
                _font(cell.paragraphs[0].add_run(text), 12, True, "黑体")
            for row in rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row, strict=True):
                    cell.text = ""
                    _font(cell.paragraphs[0].add_run(str(text)), 12)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def report_filename(kind: str, period_start: date) -> str:
    return f"招商工作{KINDS[kind]}_{period_start:%Y%m%d}.docx"
