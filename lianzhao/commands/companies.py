"""`lianzhao companies search|show|list|confirm|duplicates|merge`: the company directory on the command line.

Parses options, calls graph.directory (the rules) and renders; every JSON output carries stable ids.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crm.db import unit_of_work
from crm.services import company_merge
from crm.services._common import SYSTEM
from crm.tables import Column, write_table
from graph.backends import open_graph_store
from graph.directory import (
    CompanyQuery,
    Confirmation,
    company_record,
    confirm_placements,
    resolve_company,
    search_companies,
)
from graph.duplicates import find_duplicates
from graph.errors import LianzhaoError
from graph.importer import NodeResolver
from graph.importer.columns import ColumnSpec, understand_columns
from graph.tabular import TabularError, read_table
from lianzhao.commands.crm import _open as open_crm

FORMATS = ["table", "csv", "json", "xlsx"]
CONFIRM_COLUMNS = (
    ColumnSpec(
        "company", "企业", ("企业名称", "company_id", "id", "统一社会信用代码", "企业id"), required=True
    ),
    ColumnSpec("nodes", "产业链环节", ("环节", "node_id", "node_ids", "确认环节"), required=True),
)


def _columns() -> list[Column]:
    return [
        Column("id", "企业id"),
        Column("display_name", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("status", "登记状态"),
        Column("local", "本地"),
        Column("district", "区县"),
        Column("registered_capital", "注册资本(万元)", "number"),
        Column("nodes", "产业链环节"),
        Column("pending", "待确认"),
    ]


def _row(record: dict) -> dict:
    row = dict(record)
    row["local"] = "是" if record["is_local"] else "否"
    row["nodes"] = "；".join(record["node_ids"]) or "；".join(
        f"{p['node_id']}?" for p in record["placements"]
    )
    row["pending"] = "是" if record["pending"] else ""
    return row


def _emit(records: list[dict], fmt: str, output: Path | None, title: str) -> None:
    if fmt == "json":
        text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            click.echo(text, nl=False)
        return
    if fmt == "xlsx" and not output:
        raise click.UsageError("xlsx 格式需要用 --output 指定输出文件")
    rows = [_row(r) for r in records]
    if output:
        write_table(rows, _columns(), fmt, output, title=title)
        click.echo(f"已写入 {output}（{len(rows)} 行）", err=True)
    else:
        write_table(rows, _columns(), fmt, sys.stdout.buffer, title=title)
        sys.stdout.flush()


format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True
)
output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="输出文件"
)


@click.group("companies")
def companies_group():
    """企业名录：查询、查看、待确认队列、确认产业链环节与疑似重复。"""


@companies_group.command("search")
@click.argument("text", default="")
@click.option("--local/--outside", "local", default=None, help="只看本地 / 只看外地企业")
@click.option("--node", "node_id", help="只看该环节（环节 id）上的企业")
@click.option("--all", "include_inactive", is_flag=True, help="包括注销、吊销等非存续企业")
@click.option("--limit", type=int, default=200, show_default=True)
@format_option
@output_option
@click.pass_obj
def search_cmd(obj, text, local, node_id, include_inactive, limit, fmt, output):
    """按企业名称、曾用名、统一社会信用代码或产品词查询企业。"""
    query = CompanyQuery(text=text, local=local, node_id=node_id, include_inactive=include_inactive)
    with open_graph_store(obj.cfg) as store:
        found = search_companies(store, query, limit=limit)
    _emit([company_record(c) for c in found], fmt, output, "企业查询")


@companies_group.command("show")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def show_cmd(obj, ref, fmt):
    """查看一家企业（REF：企业 id、统一社会信用代码、企业名称或曾用名）。"""
    with open_graph_store(obj.cfg) as store:
        try:
            company = resolve_company(store, ref)
        except LianzhaoError as exc:
            raise click.ClickException(str(exc)) from exc
    record = company_record(company)
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    for key, value in record.items():
        if key != "placements" and value not in ("", None, [], ()):
            click.echo(f"{key}: {value}")
    for p in record["placements"]:
        words = "、".join(p["evidence"])
        click.echo(f"placement: {p['node_id']} [{p['source']} {p['confidence']:.2f}] {words}")


@companies_group.command("list")
@click.option("--pending", is_flag=True, help="只列出待确认产业链环节的企业（及候选环节与依据）")
@click.option("--all", "include_inactive", is_flag=True, help="包括注销、吊销等非存续企业")
@format_option
@output_option
@click.pass_obj
def list_cmd(obj, pending, include_inactive, fmt, output):
    """列出全部企业，或待确认队列。"""
    query = CompanyQuery(pending=True if pending else None, include_inactive=include_inactive)
    with open_graph_store(obj.cfg) as store:
        found = search_companies(store, query)
    _emit([company_record(c) for c in found], fmt, output, "待确认企业" if pending else "企业名录")


@companies_group.command("confirm")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def confirm_cmd(obj, file):
    """按文件确认企业的产业链环节：列「企业」（id、信用代码或名称）与「产业链环节」（id 或名称，多个用；分隔）。"""
    try:
        table = read_table(file)
        cols = understand_columns(table.headers, CONFIRM_COLUMNS).positions
    except TabularError as exc:
        raise click.ClickException(str(exc)) from exc
    with open_graph_store(obj.cfg) as store:
        resolver = NodeResolver(store.chains(), store.nodes())
        items, problems = [], []
        for number, cells in zip(table.row_numbers, table.rows, strict=True):
            try:
                nodes = resolver.resolve_cell(cells[cols["nodes"]])
            except ValueError as exc:
                problems.append(f"第 {number} 行：{exc}")
                continue
            items.append(Confirmation(cells[cols["company"]], nodes, number))
        if problems:
            raise click.ClickException("未确认任何企业：" + "；".join(problems))
        try:
            done = confirm_placements(store, items, (n.id for n in store.nodes()))
        except LianzhaoError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"已确认 {len(done)} 家企业的产业链环节。")


@companies_group.command("duplicates")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def duplicates_cmd(obj, fmt):
    """疑似重复：同一信用代码、同名，或名称与另一家的曾用名相同的企业。"""
    with open_graph_store(obj.cfg) as store:
        companies = store.companies(store.company_ids())
    names = {c.id: c.display_name for c in companies}
    groups = find_duplicates(companies)
    if fmt == "json":
        data = [{"reason": g.reason, "key": g.key, "company_ids": list(g.company_ids)} for g in groups]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not groups:
        click.echo("未发现疑似重复的企业。")
    for g in groups:
        click.echo(f"{g.reason}「{g.key}」：" + "；".join(f"{names[i]}（{i}）" for i in g.company_ids))


def _firm_line(label: str, c, leads: tuple[int, ...], open_count: int) -> str:
    where = "；".join(x for x in (c.province, c.city, c.district) if x)
    lead_text = f"线索 {len(leads)} 条（进行中 {open_count} 条）" if leads else "无线索"
    return (
        f"{label}：{c.display_name}（{c.id}）信用代码 {c.uscc or '无'}；{where or '地区不详'}；"
        f"{c.status or '状态不详'}；环节 {'、'.join(c.node_ids) or '无'}；{lead_text}"
    )


@companies_group.command("merge")
@click.argument("keep")
@click.argument("merged")
@click.option("--yes", is_flag=True, help="不再询问，直接合并")
@click.option("--force", is_flag=True, help="两家都有进行中的线索时仍合并（系统管理员）")
@click.pass_context
def merge_cmd(ctx, keep, merged, yes, force):
    """把疑似重复的企业 MERGED 并入 KEEP（企业 id、信用代码或名称）：环节、供应关系、资质与线索归入保留的企业，
    被合并企业的名称记为曾用名，旧编号仍可查到保留的企业。有线索的一家默认保留。"""
    sf, settings = open_crm(ctx)
    with open_graph_store(ctx.obj.cfg) as store:
        try:
            keep_id = resolve_company(store, keep).id
            merged_id = resolve_company(store, merged).id if store.company(merged) is None else merged
            with unit_of_work(sf) as session:
                plan = company_merge.plan_merge(session, store, keep_id, merged_id, settings=settings)
            click.echo(_firm_line("保留", plan.keep, plan.keep_leads, plan.keep_open))
            click.echo(_firm_line("并入", plan.merged, plan.merged_leads, plan.merged_open))
            for note in plan.notes:
                click.echo(f"注意：{note}")
            if plan.both_open and not force:
                raise click.ClickException(
                    "两家企业都有进行中的线索，未合并；确需合并请由系统管理员加 --force"
                )
            if not yes and not click.confirm("确认合并？", default=False):
                click.echo("未合并。")
                return
            with unit_of_work(sf) as session:
                result = company_merge.merge(
                    session, SYSTEM, store, plan.keep.id, plan.merged.id, settings=settings, force=force
                )
        except LianzhaoError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(result.message)
