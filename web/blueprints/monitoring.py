"""监测: 主要指标 (values, imports, designations), 任务台账, 项目台账 and the 招商工作报告.

Views parse, call crm.services.monitoring / crm.queries.monitoring, render; the rules (who may
enter what, off track, overdue, what the report says) live in the CRM.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.ledgers import indicators_xlsx, project_ledger_xlsx, task_ledger_xlsx
from crm.models import utcnow
from crm.monitoring import (
    TASK_STATUSES,
    MonitoringInputError,
    MonitoringSettings,
    Plan,
    categories_in_order,
    format_number,
    month_of,
    parse_period,
    parse_plan,
    period_for,
    week_of,
)
from crm.queries import monitoring as queries
from crm.reports import build_report, figure_lines, report_docx, report_filename
from crm.services import monitoring as svc
from graph.tabular import TabularError, read_table
from seed.plan import read_plan_files

from .. import backend
from ..access import may_open
from ..loop import contact_policy

bp = Blueprint("monitoring", __name__, url_prefix="/monitoring")
PLAN_KEY = "lianzhao.monitoring"
LEDGER_ENDPOINTS = ("monitoring.projects", "monitoring.projects_export", "monitoring.coordination")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.before_request
@login_required
def _login():
    # the project ledger and its 需协调解决的问题 are open to whoever reads leads (rows: what they may read)
    area = "leads" if request.endpoint in LEDGER_ENDPOINTS else "monitoring"
    if not may_open(current_user.orm, area):
        abort(403, "监测页面仅供区领导和招商经理查看")
    return None


def monitoring() -> tuple[MonitoringSettings, Plan]:
    """[monitoring] settings and the plan's files, read once per app (the files change on deploy)."""
    cached = current_app.extensions.get(PLAN_KEY)
    if cached is None:
        cfg = backend.cfg()
        msettings = MonitoringSettings.from_config(cfg)
        plan = parse_plan(*read_plan_files(msettings.indicators_file, msettings.tasks_file, cfg))
        cached = current_app.extensions[PLAN_KEY] = (msettings, plan)
    return cached


def _today() -> date:
    return backend.crm_settings().local_today(utcnow())


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _sector_name(sector_id: str | None) -> str:
    if not sector_id:
        return "全区"
    for s in backend.chain_service().sectors():
        if s.id == sector_id:
            return s.name
    abort(404, "产业不存在")


# ---- indicators ---------------------------------------------------------------------------------
@bp.get("/")
def index():
    msettings, plan = monitoring()
    years = sorted({y for ind in plan.indicators for y in ind.targets})
    year = request.args.get("year", type=int) or default_year(years)
    board = queries.indicator_board(backend.db(), plan, msettings, year)
    by_cat = [(c, [r for r in board if r.ind.category == c]) for c, _ in categories_in_order(plan.indicators)]
    return render_template(
        "monitoring/indicators.html",
        by_cat=by_cat,
        year=year,
        years=sorted(set(years) | {year, _today().year}),
        target_years=years,
        plan=plan,
        may_edit=svc.may_enter_values(current_user.orm, msettings),
        kinds=plan.designation_kinds,
        num=format_number,
        msettings=msettings,
    )


def default_year(target_years: list[int]) -> int:
    """This year, or the plan's last target year once the plan has ended."""
    today = _today().year
    return min(today, max(target_years)) if target_years else today


@bp.get("/indicators/<indicator_id>")
def indicator(indicator_id: str):
    msettings, plan = monitoring()
    try:
        ind = plan.indicator(indicator_id)
    except MonitoringInputError:
        abort(404, "指标不存在")
    history = queries.value_history(backend.db(), ind.id)
    return render_template(
        "monitoring/indicator.html",
        ind=ind,
        history=history,
        may_edit=svc.may_enter_values(current_user.orm, msettings),
        num=format_number,
    )


@bp.post("/values")
def add_value():
    msettings, plan = monitoring()
    form = request.form
    try:
        with backend.unit_of_work() as session:
            row = svc.record_value(
                session,
                current_user.orm,
                msettings,
                plan,
                form.get("indicator", ""),
                form.get("period", ""),
                form.get("value", ""),
                form.get("source", ""),
                form.get("note"),
                ip=request.remote_addr,
            )
        flash(f"已保存：{plan.indicator(row.indicator_id).name} {row.period_key}", "success")
    except MonitoringInputError as exc:
        flash(str(exc), "error")
    return redirect(request.form.get("next") or url_for("monitoring.index"))


def _uploaded_table():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise MonitoringInputError("请选择要导入的文件（XLSX 或 CSV）")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise MonitoringInputError("只支持 XLSX 或 CSV 文件（旧版 .xls 请先另存为 .xlsx）")
    fd, tmp = tempfile.mkstemp(suffix=suffix)
    os.close(fd)
    try:
        upload.save(tmp)
        return read_table(tmp)
    except TabularError as exc:
        raise MonitoringInputError(str(exc)) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)


@bp.post("/values/import")
def import_values():
    msettings, plan = monitoring()
    try:
        table = _uploaded_table()
        with backend.unit_of_work() as session:
            result = svc.import_values(
                session,
                current_user.orm,
                msettings,
                plan,
                table,
                request.form.get("source") or svc.IMPORT_SOURCE,
                ip=request.remote_addr,
            )
        flash(f"已导入 {result.rows} 条指标数据（新增 {result.created}，更正 {result.corrected}）", "success")
    except MonitoringInputError as exc:
        flash(str(exc), "error")
    return redirect(url_for("monitoring.index"))


@bp.post("/designations/import")
def import_designations():
    msettings, plan = monitoring()
    try:
        table = _uploaded_table()
        with backend.unit_of_work() as session:
            result = svc.import_designations(
                session,
                current_user.orm,
                msettings,
                plan,
                table,
                request.form.get("source") or "认定文件",
                ip=request.remote_addr,
            )
        flash(f"已导入企业认定 {result.created} 条（文件 {result.rows} 行，已有的不重复导入）", "success")
    except MonitoringInputError as exc:
        flash(str(exc), "error")
    return redirect(url_for("monitoring.index"))


@bp.get("/indicators.xlsx")
def indicators_export():
    msettings, plan = monitoring()
    years = sorted({y for ind in plan.indicators for y in ind.targets})
    year = request.args.get("year", type=int) or default_year(years)
    board = queries.indicator_board(backend.db(), plan, msettings, year)
    return _download(indicators_xlsx(board, years, year, _today()), f"主要指标监测表_{year}.xlsx", XLSX)


# ---- task ledger --------------------------------------------------------------------------------
@bp.get("/tasks")
def tasks():
    msettings, plan = monitoring()
    rows = queries.task_ledger(backend.db(), plan, _today())
    task_id = request.args.get("task")
    history = queries.task_history(backend.db(), task_id) if task_id else []
    return render_template(
        "monitoring/tasks.html",
        rows=rows,
        statuses=TASK_STATUSES,
        may_report=svc.may_report_tasks(current_user.orm, msettings),
        period=month_of(_today()).key,
        history=history,
        task_id=task_id,
    )


@bp.post("/tasks/<task_id>/report")
def report_task(task_id: str):
    msettings, plan = monitoring()
    form = request.form
    try:
        with backend.unit_of_work() as session:
            svc.report_task(
                session,
                current_user.orm,
                msettings,
                plan,
                task_id,
                form.get("period", ""),
                form.get("status", ""),
                form.get("progress"),
                form.get("next_step"),
                form.get("problems"),
                ip=request.remote_addr,
            )
        flash("已报送任务进展", "success")
    except MonitoringInputError as exc:
        flash(str(exc), "error")
    return redirect(url_for("monitoring.tasks", task=task_id))


@bp.get("/tasks.xlsx")
def tasks_export():
    _, plan = monitoring()
    rows = queries.task_ledger(backend.db(), plan, _today())
    return _download(task_ledger_xlsx(rows, _today()), f"任务台账_{_today():%Y%m%d}.xlsx", XLSX)


# ---- project ledger -----------------------------------------------------------------------------
def _project_filter() -> queries.ProjectFilter:
    args = request.args
    settings = backend.crm_settings()
    stage = args.get("stage") or None
    if stage and stage not in settings.all_stages:
        abort(400, "阶段无效")
    period = None
    if args.get("period"):
        try:
            period = parse_period(args["period"])
        except MonitoringInputError as exc:
            abort(400, str(exc))
    return queries.ProjectFilter(args.get("sector") or None, stage, args.get("key") == "1", period)


@bp.get("/projects")
def projects():
    f = _project_filter()
    scope = _sector_name(f.sector_id)
    rows = queries.project_ledger(
        backend.db(),
        current_user.orm,
        backend.crm_settings(),
        f,
        mask=not contact_policy().sees_full(current_user.orm),
    )
    return render_template(
        "monitoring/projects.html",
        rows=rows,
        f=f,
        scope=scope,
        sectors=backend.chain_service().sectors(),
        stages=backend.crm_settings().all_stages,
        args=request.args,
    )


@bp.get("/projects.xlsx")
def projects_export():
    f = _project_filter()
    scope = _sector_name(f.sector_id)
    settings = backend.crm_settings()
    rows = queries.project_ledger(
        backend.db(), current_user.orm, settings, f, mask=not contact_policy().sees_full(current_user.orm)
    )
    data = project_ledger_xlsx(rows, settings, scope, _today())
    return _download(data, f"项目台账_{scope}_{_today():%Y%m%d}.xlsx", XLSX)


@bp.post("/projects/<int:lead_id>/coordination")
def coordination(lead_id: int):
    try:
        with backend.unit_of_work() as session:
            svc.set_coordination(
                session,
                current_user.orm,
                lead_id,
                request.form.get("issue"),
                request.form.get("solver"),
                ip=request.remote_addr,
            )
        flash("已保存需协调解决的问题", "success")
    except MonitoringInputError as exc:
        flash(str(exc), "error")
    return redirect(request.form.get("next") or url_for("leads.show", lead_id=lead_id))


# ---- reports ------------------------------------------------------------------------------------
def report_period(kind: str, day: date):
    return week_of(day) if kind == "weekly" else month_of(day)


def summary_for(period, sector_id: str | None):
    """The period summary the dashboard's panel and the report both show."""
    msettings, plan = monitoring()
    return queries.period_summary(
        backend.db(),
        current_user.orm,
        backend.crm_settings(),
        msettings,
        plan,
        backend.chain_service(),
        period,
        sector_id,
    )


def _report():
    kind = request.args.get("kind", "weekly")
    if kind not in ("weekly", "monthly"):
        abort(400, "报告类型只能是周报或月报")
    try:
        day = date.fromisoformat(request.args["date"]) if request.args.get("date") else _today()
    except ValueError:
        abort(400, "日期格式应为 YYYY-MM-DD")
    sector_id = request.args.get("sector") or None
    scope = _sector_name(sector_id)
    period = report_period(kind, day)
    summary = summary_for(period, sector_id)
    settings = backend.crm_settings()
    msettings, _ = monitoring()
    report = build_report(
        summary, kind, msettings.report_unit, scope, settings.timezone, settings.four_ones.labels
    )
    return kind, day, sector_id, period, report


@bp.get("/report")
def report():
    kind, day, sector_id, period, rep = _report()
    return render_template(
        "monitoring/report.html",
        report=rep,
        kind=kind,
        day=day,
        sector_id=sector_id,
        sectors=backend.chain_service().sectors(),
    )


@bp.get("/report.docx")
def report_download():
    kind, _, _, period, rep = _report()
    return _download(report_docx(rep), report_filename(kind, period.start), DOCX)


def dashboard_panel(args) -> dict:
    """The dashboard's period panel (本月/本季/本年/custom, with 同比): figures, indicators, tasks."""
    kind = args.get("period") or "month"
    today = _today()
    try:
        start = date.fromisoformat(args["start"]) if args.get("start") else None
        end = date.fromisoformat(args["end"]) if args.get("end") else None
        period = period_for(kind, today, start, end)
    except (ValueError, MonitoringInputError) as exc:
        abort(400, str(exc) if isinstance(exc, MonitoringInputError) else "日期格式应为 YYYY-MM-DD")
    summary = summary_for(period, args.get("sector") or None)
    return {
        "summary": summary,
        "lines": figure_lines(summary.current, summary.year_ago),
        "period_kind": kind,
        "num": format_number,
    }
