"""`lianzhao import companies FILE` and `lianzhao import relations FILE`.

Only parses options, calls graph.importer and renders its report; the rules live in the service.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crm.tables import Column, format_for_path, write_table
from graph import importer
from graph.backends import open_graph_store
from graph.tabular import TabularError

MAX_ERRORS_SHOWN = 50
MIN_ROWS_FOR_BAR = 5000  # small files finish before a bar would be worth drawing


def _progress_renderer(label: str):
    """A `progress(done, total)` callback drawing a click progress bar on stderr."""
    state: dict = {}

    def progress(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            if total < MIN_ROWS_FOR_BAR:
                return
            bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            bar.__enter__()
            state["bar"], state["done"] = bar, 0
        bar.update(done - state["done"])
        state["done"] = done

    def close() -> None:
        bar = state.pop("bar", None)
        if bar is not None:
            bar.__exit__(None, None, None)

    return progress, close


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _default_rejects(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejected.csv")


def _show_mapping(report) -> None:
    """How each column was understood, before anything is written (also in the web import page)."""
    if report.header_row > 1:
        click.echo(f"表头在第 {report.header_row} 行", err=True)
    for header, title in report.understood:
        click.echo(f"  列「{header}」→ {title}", err=True)
    if report.ignored:
        click.echo(f"  忽略的列：{'、'.join(report.ignored)}", err=True)


def _run(obj, kind: str, file: Path, partial: bool, rejects: Path | None, dry_run: bool = False) -> None:
    target = rejects or _default_rejects(file)
    if target.resolve() == file.resolve():
        _fail("错误行输出文件不能与输入文件相同")
    label = "校验企业数据" if kind == "companies" else "校验供应关系"
    progress, close_bar = _progress_renderer(label)
    try:
        with open_graph_store(obj.cfg) as store:
            report = importer.run_import(
                store, kind, file, obj.cfg, partial=partial, dry_run=dry_run, progress=progress
            )
    except (TabularError, ValueError) as exc:  # an unreadable file, or bad [import] limits in the config
        close_bar()
        _fail(str(exc))
    except KeyboardInterrupt:
        close_bar()
        click.echo("\n已中断：没有写入任何数据（写入是一次完整的事务）。", err=True)
        sys.exit(130)
    close_bar()

    _show_mapping(report)
    for warning in importer.notes(report):  # the ignored columns are named once above
        click.echo(f"提示：{warning}", err=True)
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        click.echo(f"错误：{error}", err=True)
    if len(report.errors) > MAX_ERRORS_SHOWN:
        click.echo(f"……另有 {len(report.errors) - MAX_ERRORS_SHOWN} 行错误未列出。", err=True)

    if report.committed and report.rejected:
        keys, rows = report.reject_table()
        try:
            write_table(rows, [Column(key, title) for key, title in keys], "csv", target)
        except OSError as exc:
            click.echo(report.summary())
            _fail(f"正确的行已导入，但无法写入错误行文件 {target}：{exc.strerror}")
        click.echo(f"已将 {report.rejected} 行错误数据（含「错误原因」列）写入 {target}", err=True)
    if dry_run:
        click.echo(
            f"试导入（未写入）：共 {report.total} 行，{report.rejected} 行有错误，{report.pending} 家待确认。"
        )
        return
    click.echo(report.summary())
    if not report.committed:
        click.echo("请修正后重新导入，或加 --partial 只导入正确的行。", err=True)
        sys.exit(1)


@click.group("import")
def import_group():
    """从 CSV（UTF-8/GB18030/UTF-16）或 XLSX 文件导入企业与供应关系。"""


partial_option = click.option(
    "--partial",
    is_flag=True,
    help="只导入正确的行，把错误的行写入 --rejects 文件（默认：有任何错误行则不写入）",
)
rejects_option = click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="错误行输出文件（默认：与输入文件同目录的 <文件名>.rejected.csv）",
)
file_argument = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))


@import_group.command("companies")
@file_argument
@partial_option
@rejects_option
@click.pass_obj
@click.option("--dry-run", is_flag=True, help="只校验并显示各列的识别结果，不写入")
def companies_cmd(obj, file: Path, partial: bool, rejects: Path | None, dry_run: bool):
    """导入企业（企查查、天眼查、启信宝、公示系统、规上企业名录的导出文件可直接导入；
    按统一社会信用代码、企业名称或曾用名匹配已有企业并更新）。"""
    _run(obj, "companies", file, partial, rejects, dry_run)


@import_group.command("template")
@click.argument("kind", type=click.Choice(list(importer.KINDS)))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="输出文件（.xlsx 或 .csv）",
)
@click.pass_obj
def template_cmd(obj, kind: str, output: Path):
    """生成导入模板：中文表头加一行示例（XLSX 另附「说明」工作表：各列、可用的表头和格式）。"""
    specs = importer.COMPANY_COLUMNS if kind == "companies" else importer.RELATION_COLUMNS
    fmt = format_for_path(output, "csv")
    if fmt not in ("csv", "xlsx"):
        _fail("模板文件应为 .xlsx 或 .csv")
    if fmt == "xlsx":  # the same workbook as the web's download, with its 说明 sheet
        try:
            output.write_bytes(importer.template_workbook(kind, obj.cfg.get("companies")))
        except OSError as exc:
            _fail(f"无法写入 {output}：{exc.strerror}")
    else:
        columns = [Column(spec.key, spec.title) for spec in specs]
        write_table([{spec.key: spec.example for spec in specs}], columns, fmt, output)
    click.echo(f"已写入导入模板 {output}（第 2 行为示例，请替换）")


@import_group.command("relations")
@file_argument
@partial_option
@rejects_option
@click.pass_obj
def relations_cmd(obj, file: Path, partial: bool, rejects: Path | None):
    """导入供应关系（供应方、采购方须已导入，可用信用代码或企业名称）。"""
    _run(obj, "relations", file, partial, rejects)
