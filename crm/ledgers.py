"""The 项目台账 and 任务台账 as print-fit XLSX (what a bureau reports upward), and the indicator
report's rows (for `lianzhao indicators report` and its XLSX)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .monitoring import format_number
from .printfit import ledger_xlsx
from .queries.monitoring import IndicatorRow, ProjectRow, TaskRow
from .queries.referrals import FilingRow, ReferralRow
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


REFERRAL_HEADERS = (
    ("序号", 5),
    ("企业名称", 16),
    ("产业链环节", 12),
    ("引荐人", 10),
    ("类型", 5),
    ("单位/机构", 12),
    ("联系方式", 10),
    ("与企业关系", 10),
    ("认定状态", 7),
    ("认定人及日期", 12),
    ("当前阶段", 7),
    ("已确认投资（万元）", 9),
    ("负责人", 7),
)


def referral_table(rows: Sequence[ReferralRow], timezone: str) -> list[list[Any]]:
    out = []
    for i, r in enumerate(rows, start=1):
        lead, ref = r.lead, r.referral
        decided = ""
        if ref.decided_at is not None:
            who = ref.decided_by.display_name if ref.decided_by else ""
            decided = f"{who} {_local(ref.decided_at, timezone):%Y-%m-%d}".strip()
        out.append(
            [
                i,
                lead.company_name,
                "·".join(x for x in (lead.chain_name, lead.node_name) if x),
                ref.referrer_name,
                ref.kind_label,
                ref.unit or "",
                ref.contact or "",
                ref.relation or "",
                ref.status_label + (f"：{ref.decision_note}" if ref.decision_note else ""),
                decided,
                lead.stage + (f"（「{r.pending_stage}」待确认）" if r.pending_stage else ""),
                r.confirmed_investment,
                lead.owner.display_name if lead.owner else "公共池",
            ]
        )
    return out


def referral_ledger_xlsx(rows: Sequence[ReferralRow], settings: CrmSettings, today: date) -> bytes:
    confirmed = [r for r in rows if r.referral.status == "confirmed"]
    total = sum(r.confirmed_investment or 0 for r in confirmed)
    return ledger_xlsx(
        "引荐项目台账",
        f"截至 {today:%Y年%-m月%-d日}　共 {len(rows)} 个项目，引荐人已确认 {len(confirmed)} 个，"
        f"已确认投资 {format_number(total)} 万元（签约经确认、同一项目只计一次）",
        [h for h, _ in REFERRAL_HEADERS],
        [w for _, w in REFERRAL_HEADERS],
        referral_table(rows, settings.timezone),
        "引荐项目台账",
    )


FILING_HEADERS = (
    ("序号", 5),
    ("企业名称", 16),
    ("产业链环节", 12),
    ("投资额（万元）", 9),
    ("当前阶段", 7),
    ("申报状态", 7),
    ("申报日期", 9),
    ("确认日期", 9),
    ("争议日期", 9),
    ("说明", 20),
    ("负责人", 7),
)


def filing_table(rows: Sequence[FilingRow]) -> list[list[Any]]:
    def day(value: date | None) -> str:
        return f"{value:%Y-%m-%d}" if value else ""

    out = []
    for i, r in enumerate(rows, start=1):
        lead, f = r.lead, r.filing
        out.append(
            [
                i,
                lead.company_name,
                "·".join(x for x in (lead.chain_name, lead.node_name) if x),
                lead.investment,
                lead.stage,
                r.status_label + ("（须申报）" if r.missing else ""),
                day(f.filed_on) if f else "",
                day(f.confirmed_on) if f else "",
                day(f.disputed_on) if f else "",
                (f.note or "") if f else "",
                lead.owner.display_name if lead.owner else "公共池",
            ]
        )
    return out


def filing_ledger_xlsx(rows: Sequence[FilingRow], settings: CrmSettings, today: date) -> bytes:
    missing = sum(1 for r in rows if r.missing)
    return ledger_xlsx(
        "首报首谈申报台账",
        f"截至 {today:%Y年%-m月%-d日}　申报标准：投资额 {format_number(settings.filing_threshold_wan)} 万元及以上；"
        f"共 {len(rows)} 个项目，未申报 {missing} 个",
        [h for h, _ in FILING_HEADERS],
        [w for _, w in FILING_HEADERS],
        filing_table(rows),
        "首报首谈申报台账",
    )


def _local(value: datetime, timezone: str) -> datetime:
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def progress_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


__all__ = ["format_number", "progress_text"]
