"""The 项目台账 and 任务台账 as print-fit XLSX (what a bureau reports upward), and the indicator
report's rows (for `lianzhao indicators report` and its XLSX)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from .monitoring import format_number
from .printfit import ledger_xlsx
from .queries.monitoring import IndicatorRow, ProjectRow, TaskRow
from .settings import CrmSettings

PROJECT_HEADERS = (
    ("序号", 4),
    ("企业名称", 16),
    ("产业链环节", 12),
    ("阶段及确认日期", 14),
    ("计划投资（万元）", 8),
    ("已签约（万元）", 8),
    ("已落地（万元）", 8),
    ("“四个一”", 14),
    ("牵头区领导", 7),
    ("负责人", 7),
    ("最新进展", 20),
    ("下步计划", 14),
    ("需协调解决的问题", 16),
    ("协调解决责任方", 9),
)


def project_table(rows: Sequence[ProjectRow], settings: CrmSettings) -> list[list[Any]]:
    out = []
    for i, r in enumerate(rows, start=1):
        lead = r.lead
        node = "·".join(x for x in (lead.chain_name, lead.node_name) if x)
        dates = "；".join(f"{stage} {day:%Y-%m-%d}" for stage, day in r.stage_dates) or lead.stage
        four = (
            ("已落实" if not r.four_missing else "尚缺：" + "、".join(r.four_missing))
            if r.key
            else "非重点项目"
        )
        out.append(
            [
                i,
                lead.company_name + ("（重点项目）" if r.key else ""),
                node,
                f"当前：{lead.stage}\n{dates}",
                lead.investment,
                r.signed_investment,
                r.landed_investment,
                four,
                r.sponsor,
                r.owner_name,
                r.latest_progress,
                r.next_step,
                r.issue,
                r.solver,
            ]
        )
    return out


def project_ledger_xlsx(rows: Sequence[ProjectRow], settings: CrmSettings, scope: str, today: date) -> bytes:
    return ledger_xlsx(
        f"招商项目台账（{scope}）",
        f"截至 {today:%Y年%-m月%-d日}　共 {len(rows)} 个项目",
        [h for h, _ in PROJECT_HEADERS],
        [w for _, w in PROJECT_HEADERS],
        project_table(rows, settings),
        "项目台账",
    )


TASK_HEADERS = (
    ("序号", 6),
    ("所属", 9),
    ("任务", 20),
    ("牵头部门", 12),
    ("配合部门", 12),
    ("完成时限", 10),
    ("预期成果", 28),
    ("进展状态", 8),
    ("最新进展", 28),
    ("报送期间", 9),
    ("是否超期", 7),
)


def task_table(rows: Sequence[TaskRow]) -> list[list[Any]]:
    return [
        [
            r.task.no,
            r.task.project,
            r.task.title,
            r.task.lead,
            "、".join(r.task.partners) or "—",
            f"{r.task.deadline:%Y-%m-%d}",
            r.task.output,
            r.latest.status if r.latest else "未报送",
            r.latest.progress if r.latest else "",
            r.latest.period_key if r.latest else "",
            "超期" if r.overdue else "",
        ]
        for r in rows
    ]


def task_ledger_xlsx(rows: Sequence[TaskRow], today: date) -> bytes:
    return ledger_xlsx(
        "先进制造业三年行动计划任务台账",
        f"截至 {today:%Y年%-m月%-d日}　共 {len(rows)} 项，超期 {sum(1 for r in rows if r.overdue)} 项",
        [h for h, _ in TASK_HEADERS],
        [w for _, w in TASK_HEADERS],
        task_table(rows),
        "任务台账",
    )


def indicator_records(rows: Sequence[IndicatorRow], years: Sequence[int]) -> list[dict[str, Any]]:
    """One record per indicator: id, name, unit, targets by year, latest value and period, progress."""
    out = []
    for r in rows:
        rec: dict[str, Any] = {"id": r.ind.id, "no": r.ind.no, "name": r.ind.name, "unit": r.ind.unit}
        for y in years:
            t = r.ind.target(y)
            rec[f"target_{y}"] = t.text if t else ""
        rec["latest"] = r.latest.value if r.latest else None
        rec["period"] = r.latest.period_key if r.latest else ""
        rec["progress"] = round(r.assessment.progress, 4) if r.assessment.progress is not None else None
        rec["computed"] = r.computed
        rec["status"] = "进度滞后" if r.assessment.off_track else r.assessment.note
        out.append(rec)
    return out


def indicators_xlsx(rows: Sequence[IndicatorRow], years: Sequence[int], year: int, today: date) -> bytes:
    headers = [("序号", 5), ("指标名称", 30), ("单位", 8)]
    headers += [(f"{y}年目标", 9) for y in years]
    headers += [("最新值", 9), ("期间", 9), ("完成进度", 9), ("系统统计", 9), ("状态", 22)]
    table = []
    for rec in indicator_records(rows, years):
        table.append(
            [rec["no"], rec["name"], rec["unit"]]
            + [rec[f"target_{y}"] for y in years]
            + [
                rec["latest"],
                rec["period"],
                f"{rec['progress'] * 100:.1f}%" if rec["progress"] is not None else "—",
                rec["computed"],
                rec["status"],
            ]
        )
    return ledger_xlsx(
        f"{year}年先进制造业主要指标监测表",
        f"截至 {today:%Y年%-m月%-d日}",
        [h for h, _ in headers],
        [w for _, w in headers],
        table,
        "主要指标",
    )


def progress_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


__all__ = ["format_number", "progress_text"]
