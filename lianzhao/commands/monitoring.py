"""监测 commands: `lianzhao indicators report|import`, `lianzhao ledger export`, `lianzhao report
weekly|monthly`. They parse, call crm.queries.monitoring / crm.services.monitoring, print or write.

The command line is the operator on the server: it reads the whole district (as a leader does)
and may import values (audited as 系统（命令行）).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from tabulate import tabulate

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.ledgers import indicator_records, indicators_xlsx, project_ledger_xlsx, task_ledger_xlsx
from crm.models import LEADER, utcnow
from crm.monitoring import MonitoringSettings, format_number, month_of, parse_plan, week_of
from crm.queries import monitoring as queries
from crm.reports import build_report, report_docx
from crm.services import monitoring as svc
from crm.services._common import SystemActor
from crm.settings_store import effective_settings
from graph.backends import open_graph_store
from graph.errors import LianzhaoError
from graph.service import ChainService
from graph.tabular import TabularError, read_table
from seed.plan import read_plan_files

# Reads the district as a leader does; writes are the operator's (SystemActor passes the role checks).
CLI_READER = SystemActor(role=LEADER)
CLI_WRITER = SystemActor()


def _open(ctx: click.Context):
    cfg = ctx.obj.cfg
    msettings = MonitoringSettings.from_config(cfg)
    plan = parse_plan(*read_plan_files(msettings.indicators_file, msettings.tasks_file, cfg))
    engine = make_engine(cfg)
    upgrade(engine)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:  # the rules in force: config plus the stored overrides
        settings = effective_settings(session, cfg)
    return factory, settings, msettings, plan


def _fail(exc: Exception) -> None:
    click.echo(f"错误：{exc}", err=True)
    sys.exit(1)


def _write(path: str, data: bytes) -> None:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(data)
    tmp.replace(target)
    click.echo(f"已写入 {target}（{len(data) // 1024 + 1} KB）")


@click.group("indicators")
def indicators():
    """主要指标：查看进度、导入统计局数据。"""


@indicators.command("report")
@click.option("--year", type=int, default=None, help="年度（默认今年，计划结束后为最后一个目标年度）")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "xlsx"]), default="table", help="输出格式"
)
@click.option("-o", "--output", default=None, help="输出文件（xlsx 必填）")
@click.pass_context
def indicators_report(ctx, year, fmt, output):
    """每项指标的编号、名称、单位、各年目标、最新值、期间与完成进度。"""
    sf, settings, msettings, plan = _open(ctx)
    years = sorted({y for ind in plan.indicators for y in ind.targets})
    today = settings.local_today(utcnow())
    year = year or min(today.year, max(years))
    with unit_of_work(sf) as s:
        rows = queries.indicator_board(s, plan, msettings, year)
    records = indicator_records(rows, years)
    if fmt == "json":
        text = json.dumps({"year": year, "indicators": records}, ensure_ascii=False, indent=2)
        if output:
            _write(output, text.encode("utf-8"))
        else:
            click.echo(text)
    elif fmt == "xlsx":
        if not output:
            _fail(ValueError("xlsx 格式须用 -o 指定输出文件"))
        _write(output, indicators_xlsx(rows, years, year, today))
    else:
        table = [
            [r["no"], r["id"], r["name"], r["unit"]]
            + [r[f"target_{y}"] for y in years]
            + [
                format_number(r["latest"]),
                r["period"],
                "—" if r["progress"] is None else f"{r['progress'] * 100:.1f}%",
                r["status"],
            ]
            for r in records
        ]
        heads = [
            "序号",
            "编号",
            "指标",
            "单位",
            *[f"{y}目标" for y in years],
            "最新值",
            "期间",
            f"{year}进度",
            "状态",
        ]
        click.echo(tabulate(table, heads, tablefmt="simple"))


@indicators.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", default=svc.IMPORT_SOURCE, help="文件未写来源时的数据来源")
@click.pass_context
def indicators_import(ctx, file, source):
    """导入统计局 XLSX/CSV（列：指标编号或名称、期间、数值，可选来源、备注）；有错行则整份不导入。"""
    sf, _, msettings, plan = _open(ctx)
    try:
        table = read_table(file)
        with unit_of_work(sf) as s:
            result = svc.import_values(s, CLI_WRITER, msettings, plan, table, source)
    except (TabularError, LianzhaoError) as exc:
        _fail(exc)
    click.echo(f"已导入 {result.rows} 条（新增 {result.created}，更正 {result.corrected}）")


@click.group("ledger")
def ledger():
    """任务台账与项目台账。"""


@ledger.command("export")
@click.option(
    "--kind",
    type=click.Choice(["projects", "tasks"]),
    required=True,
    help="projects 项目台账 / tasks 任务台账",
)
@click.option("--sector", default=None, help="产业 id（仅项目台账）")
@click.option("-o", "--output", required=True, help="输出 XLSX 文件")
@click.pass_context
def ledger_export(ctx, kind, sector, output):
    """导出 A4 横向可打印的台账 XLSX。"""
    sf, settings, _, plan = _open(ctx)
    today = settings.local_today(utcnow())
    with unit_of_work(sf) as s:
        if kind == "tasks":
            data = task_ledger_xlsx(queries.task_ledger(s, plan, today), today)
        else:
            rows = queries.project_ledger(s, CLI_READER, settings, queries.ProjectFilter(sector_id=sector))
            data = project_ledger_xlsx(rows, settings, sector or "全区", today)
    _write(output, data)


@click.command("report")
@click.argument("kind", type=click.Choice(["weekly", "monthly"]))
@click.option("--sector", default=None, help="产业 id（默认全区）")
@click.option("--date", "day", default=None, help="报告所在周/月中的任一日期 YYYY-MM-DD（默认今天）")
@click.option("-o", "--output", required=True, help="输出 DOCX 文件")
@click.pass_context
def report(ctx, kind, sector, day, output):
    """生成招商工作周报或月报（DOCX，Word/WPS 可编辑）。"""
    sf, settings, msettings, plan = _open(ctx)
    try:
        when = date.fromisoformat(day) if day else settings.local_today(utcnow())
    except ValueError:
        _fail(ValueError(f"日期「{day}」格式应为 YYYY-MM-DD"))
    period = week_of(when) if kind == "weekly" else month_of(when)
    store = open_graph_store(ctx.obj.cfg)
    try:
        chain_service = ChainService(store, ctx.obj.cfg)
        scope = next((s.name for s in chain_service.sectors() if s.id == sector), None) if sector else "全区"
        if scope is None:
            _fail(ValueError(f"产业「{sector}」不存在"))
        with unit_of_work(sf) as s:
            summary = queries.period_summary(
                s, CLI_READER, settings, msettings, plan, chain_service, period, sector
            )
            rep = build_report(
                summary, kind, msettings.report_unit, scope, settings.timezone, settings.four_ones.labels
            )
    finally:
        store.close()
    _write(output, report_docx(rep))
