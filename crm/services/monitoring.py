"""监测 writes: indicator values (entered or imported), firm designations, task progress and a
project's 需协调解决的问题. Every function checks the actor's role or the lead's permission and
writes an audit entry; a file import checks every row first and writes all or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.errors import PermissionDenied
from graph.identity import normalize_name
from graph.tabular import Table, normalize_header

from .. import permissions
from ..models_monitoring import Designation, IndicatorValue, LeadCoordination, TaskReport
from ..monitoring import (
    TASK_STATUSES,
    MonitoringInputError,
    MonitoringSettings,
    Plan,
    check_value,
    parse_period,
)
from . import audit
from ._common import Actor, SystemActor, current_actor, get_lead, snapshot

VALUE_FIELDS = ("indicator_id", "period_key", "value", "source", "note", "corrects_id")
IMPORT_SOURCE = "区统计局"


def _text(value: Any, label: str, limit: int, required: bool = False) -> str | None:
    text = str(value or "").strip()
    if required and not text:
        raise MonitoringInputError(f"{label}不能为空")
    if len(text) > limit:
        raise MonitoringInputError(f"{label}不能超过 {limit} 字")
    return text or None


def may_enter_values(actor: Any, msettings: MonitoringSettings) -> bool:
    """The roles [monitoring] value_editors names, and the operator at the server's command line."""
    if isinstance(actor, SystemActor):
        return True
    return bool(getattr(actor, "is_active", False)) and actor.role in msettings.value_editors


def may_report_tasks(actor: Any, msettings: MonitoringSettings) -> bool:
    if isinstance(actor, SystemActor):
        return True
    return bool(getattr(actor, "is_active", False)) and actor.role in msettings.task_reporters


def _require_editor(actor: Actor, msettings: MonitoringSettings) -> None:
    if not may_enter_values(actor, msettings):
        raise PermissionDenied("您的角色不能填报指标数据或企业认定（见配置 [monitoring] value_editors）")


def _current(session: Session, indicator_id: str, period_key: str) -> IndicatorValue | None:
    return session.scalars(
        select(IndicatorValue)
        .where(IndicatorValue.indicator_id == indicator_id, IndicatorValue.period_key == period_key)
        .order_by(IndicatorValue.id.desc())
        .limit(1)
    ).first()


def _add_value(
    session: Session,
    actor: Actor,
    plan: Plan,
    indicator: str,
    period_text: Any,
    raw_value: Any,
    source: Any,
    note: Any,
    ip: str | None,
) -> IndicatorValue:
    ind = plan.indicator(indicator)
    period = parse_period(period_text)
    if period.kind not in ("month", "quarter", "year"):
        raise MonitoringInputError("指标数据的期间须为月、季度或年")
    value = check_value(ind, raw_value)
    previous = _current(session, ind.id, period.key)
    row = IndicatorValue(
        indicator_id=ind.id,
        period_kind=period.kind,
        period_key=period.key,
        period_end=period.end,
        value=value,
        source=_text(source, "数据来源", 200, required=True),
        note=_text(note, "备注", 1000),
        entered_by_id=getattr(actor, "id", None),
        entered_by_name=getattr(actor, "display_name", "系统"),
        corrects_id=previous.id if previous else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        audit.UPDATE if previous else audit.CREATE,
        "indicator_value",
        row.id,
        before=snapshot(previous, VALUE_FIELDS) if previous else None,
        after=snapshot(row, VALUE_FIELDS),
        ip=ip,
    )
    return row


def record_value(
    session: Session,
    actor: Actor,
    msettings: MonitoringSettings,
    plan: Plan,
    indicator: str,
    period: Any,
    value: Any,
    source: Any,
    note: Any = None,
    ip: str | None = None,
) -> IndicatorValue:
    """Enter one value; a second value for the same period is a correction (the first stays as history)."""
    actor = current_actor(session, actor)
    _require_editor(actor, msettings)
    return _add_value(session, actor, plan, indicator, period, value, source, note, ip)


@dataclass
class ImportResult:
    created: int
    corrected: int
    rows: int


HEADERS = {
    "indicator": ("指标编号", "指标名称", "指标", "序号"),
    "period": ("期间", "统计期", "时期", "报告期"),
    "value": ("数值", "本期值", "累计值", "值"),
    "source": ("来源", "数据来源"),
    "note": ("备注", "说明"),
}


def _columns(table: Table, wanted: Mapping[str, Sequence[str]], required: Sequence[str]) -> dict[str, int]:
    found = {normalize_header(h): i for i, h in enumerate(table.headers)}
    cols: dict[str, int] = {}
    for key, names in wanted.items():
        for name in names:
            if normalize_header(name) in found:
                cols[key] = found[normalize_header(name)]
                break
    missing = [wanted[k][0] for k in required if k not in cols]
    if missing:
        raise MonitoringInputError(
            f"文件缺少列：{'、'.join(missing)}（表头应含 {'、'.join(wanted[k][0] for k in wanted)}）"
        )
    return cols


def _cell(row: list[str], cols: dict[str, int], key: str) -> str:
    i = cols.get(key)
    return row[i].strip() if i is not None and i < len(row) and row[i] else ""


def import_values(
    session: Session,
    actor: Actor,
    msettings: MonitoringSettings,
    plan: Plan,
    table: Table,
    default_source: str = IMPORT_SOURCE,
    ip: str | None = None,
) -> ImportResult:
    """The statistics bureau's file: every row is checked first; one bad row refuses the whole file."""
    actor = current_actor(session, actor)
    _require_editor(actor, msettings)
    cols = _columns(table, HEADERS, ("indicator", "period", "value"))
    errors: list[str] = []
    checked: list[Any] = []
    seen: dict[Any, int] = {}
    for row, line in zip(table.rows, table.row_numbers, strict=True):
        if not any(c.strip() for c in row if c):
            continue
        try:
            ind = plan.indicator(_cell(row, cols, "indicator"))
            period = parse_period(_cell(row, cols, "period"))
            if period.kind not in ("month", "quarter", "year"):
                raise MonitoringInputError("期间须为月、季度或年")
            check_value(ind, _cell(row, cols, "value"))
            key = (ind.id, period.key)
            if key in seen:
                raise MonitoringInputError(f"与第 {seen[key]} 行重复（同一指标、同一期间）")
            seen[key] = line
            checked.append((ind.id, period.key, row))
        except MonitoringInputError as exc:
            errors.append(f"第 {line} 行：{exc}")
    if errors:
        shown = "；".join(errors[:20]) + ("……" if len(errors) > 20 else "")
        raise MonitoringInputError(f"文件有 {len(errors)} 行不符合要求，未导入任何数据。{shown}")
    if not checked:
        raise MonitoringInputError("文件中没有数据行")
    created = corrected = 0
    for ind_id, period_key, row in checked:
        source = _cell(row, cols, "source") or default_source
        value = _add_value(
            session,
            actor,
            plan,
            ind_id,
            period_key,
            _cell(row, cols, "value"),
            source,
            _cell(row, cols, "note"),
            ip,
        )
        if value.corrects_id:
            corrected += 1
        else:
            created += 1
    return ImportResult(created, corrected, len(checked))


DESIGNATION_HEADERS = {
    "name": ("企业名称", "公司名称", "单位名称"),
    "uscc": ("统一社会信用代码", "信用代码"),
    "kind": ("认定类型", "类型", "认定名称"),
    "level": ("级别", "认定级别"),
    "year": ("年度", "认定年度", "年份"),
    "source": ("来源", "数据来源"),
}
LEVELS = ("国家级", "市级", "区级")


def import_designations(
    session: Session,
    actor: Actor,
    msettings: MonitoringSettings,
    plan: Plan,
    table: Table,
    default_source: str,
    ip: str | None = None,
) -> ImportResult:
    """Firm designations with their year (企业技术中心、智能工厂、专精特新 …); all rows or none."""
    actor = current_actor(session, actor)
    _require_editor(actor, msettings)
    cols = _columns(table, DESIGNATION_HEADERS, ("name", "kind", "year"))
    kinds = plan.designation_kinds
    errors: list[str] = []
    checked: list[Any] = []
    seen: dict[Any, int] = {}
    for row, line in zip(table.rows, table.row_numbers, strict=True):
        if not any(c.strip() for c in row if c):
            continue
        name, kind, level = _cell(row, cols, "name"), _cell(row, cols, "kind"), _cell(row, cols, "level")
        year_text = _cell(row, cols, "year").removesuffix("年")
        problem = None
        if not name:
            problem = "企业名称为空"
        elif kind not in kinds:
            problem = f"认定类型「{kind}」应为 {'、'.join(kinds)} 之一"
        elif not (year_text.isdigit() and 2000 <= int(year_text) <= 2100):
            problem = f"年度「{year_text}」无效"
        elif level and level not in LEVELS:
            problem = f"级别「{level}」应为 {'、'.join(LEVELS)} 之一"
        if problem is None:
            key = (normalize_name(name), kind, int(year_text))
            if key in seen:
                problem = f"与第 {seen[key]} 行重复"
            seen[key] = line
        if problem:
            errors.append(f"第 {line} 行：{problem}")
        else:
            checked.append((name, kind, level or None, int(year_text), row))
    if errors:
        shown = "；".join(errors[:20]) + ("……" if len(errors) > 20 else "")
        raise MonitoringInputError(f"文件有 {len(errors)} 行不符合要求，未导入任何数据。{shown}")
    if not checked:
        raise MonitoringInputError("文件中没有数据行")
    created = 0
    for name, kind, level, year, row in checked:
        name_key = normalize_name(name)
        exists = session.scalars(
            select(Designation).where(
                Designation.name_key == name_key, Designation.kind == kind, Designation.year == year
            )
        ).first()
        if exists:
            continue
        d = Designation(
            company_name=name,
            name_key=name_key,
            uscc=_cell(row, cols, "uscc") or None,
            kind=kind,
            level=level,
            year=year,
            source=_cell(row, cols, "source") or default_source,
            created_by_id=getattr(actor, "id", None),
        )
        session.add(d)
        session.flush()
        audit.record(
            session,
            actor,
            audit.CREATE,
            "designation",
            d.id,
            after=snapshot(d, ("company_name", "kind", "level", "year", "source")),
            ip=ip,
        )
        created += 1
    return ImportResult(created, 0, len(checked))


def report_task(
    session: Session,
    actor: Actor,
    msettings: MonitoringSettings,
    plan: Plan,
    task_id: str,
    period: Any,
    status: str,
    progress: Any,
    next_step: Any = None,
    problems: Any = None,
    ip: str | None = None,
) -> TaskReport:
    """A progress report on a task of the plan for a month or quarter."""
    actor = current_actor(session, actor)
    if not may_report_tasks(actor, msettings):
        raise PermissionDenied("您的角色不能报送任务进展（见配置 [monitoring] task_reporters）")
    task = plan.task(task_id)
    p = parse_period(period)
    if status not in TASK_STATUSES:
        raise MonitoringInputError(f"进展状态应为 {'、'.join(TASK_STATUSES)} 之一")
    report = TaskReport(
        task_id=task.id,
        period_key=p.key,
        status=status,
        progress=_text(progress, "进展情况", 4000, required=True),
        next_step=_text(next_step, "下步计划", 2000),
        problems=_text(problems, "存在问题", 2000),
        reported_by_id=getattr(actor, "id", None),
        reported_by_name=getattr(actor, "display_name", "系统"),
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor,
        audit.CREATE,
        "task_report",
        report.id,
        after=snapshot(report, ("task_id", "period_key", "status", "progress", "next_step", "problems")),
        ip=ip,
    )
    return report


def set_coordination(
    session: Session, actor: Actor, lead_id: int, issue: Any, solver: Any, ip: str | None = None
) -> LeadCoordination:
    """需协调解决的问题 and who is to solve it; whoever may edit the lead may change them."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not permissions.can_edit(actor, lead):
        raise PermissionDenied("您不能修改这个项目")
    issue_text = _text(issue, "需协调解决的问题", 2000)
    solver_text = _text(solver, "协调解决责任方", 200)
    if issue_text and not solver_text:
        raise MonitoringInputError("填写需协调解决的问题时，请同时写明由谁协调解决")
    row = session.get(LeadCoordination, lead_id)
    fields = ("issue", "solver")
    before = snapshot(row, fields) if row else {"issue": None, "solver": None}
    if row is None:
        row = LeadCoordination(lead_id=lead_id)
        session.add(row)
    row.issue, row.solver, row.updated_by_id = issue_text, solver_text, getattr(actor, "id", None)
    session.flush()
    b, a = audit.diff(before, snapshot(row, fields))
    if a:
        audit.record(session, actor, audit.UPDATE, "lead", lead_id, before=b, after=a, ip=ip)
    return row
