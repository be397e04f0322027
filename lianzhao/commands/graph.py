"""`lianzhao gaps`, `lianzhao targets` (`lianzhao chains` lives in chain_files.py)."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from crm.tables import Column, write_table
from graph.backends import open_graph_store
from graph.gaps import OUTPUT_RULE
from graph.service import ChainService
from graph.targets import FACTOR_LABELS, coverage_sentence

FORMATS = ["table", "csv", "json", "xlsx"]


def _service(ctx_obj):
    store = open_graph_store(ctx_obj.cfg)
    return store, ChainService(store, ctx_obj.cfg)


def _emit(rows, columns, fmt: str, output: str | None, title: str) -> None:
    """Write rows in the chosen format to a file or stdout (xlsx needs a file)."""
    if fmt == "xlsx" and not output:
        raise click.UsageError("xlsx 格式需要用 --output 指定输出文件")
    if output:
        write_table(rows, columns, fmt, output, title=title)  # a path is written atomically
        click.echo(f"已写入 {output}（{len(rows)} 行）", err=True)
    else:
        write_table(rows, columns, fmt, sys.stdout.buffer, title=title)
        sys.stdout.flush()


def gap_columns():
    return [
        Column("stage", "阶段"),
        Column("name", "环节"),
        Column("parent_name", "所属分组"),
        Column("status", "状态"),
        Column("local_firms", "本地企业数", "int"),
        Column("local_output", "本地营收(万元，多环节企业均摊)", "number"),
        Column("qualified_firms", "本地优质企业数", "int"),
        Column("outside_firms", "外地企业数", "int"),
        Column("criticality", "关键度", "percent"),
        Column("downstream_count", "下游环节数", "int"),
        Column("reason", "说明"),
        Column("why", "关键原因"),
    ]


def target_columns():
    cols = [
        Column("rank", "排名", "int"),
        Column("company_name", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("province", "省份"),
        Column("city", "城市"),
        Column("node_name", "目标环节"),
        Column("status", "环节状态"),
        Column("score", "综合得分", "score"),
    ]
    cols += [Column(f"factor_{k}", label, "percent") for k, label in FACTOR_LABELS.items()]
    cols += [Column("reason", "推荐理由"), Column("synthetic", "示例数据")]
    return cols


# Ids for programs reading `--format json` (issue 11): which node, its grouping node, which firm.
GAP_IDS = [Column("node_id", "环节ID"), Column("parent_id", "上级环节ID"), Column("is_group", "分组环节")]
TARGET_IDS = [
    Column("company_id", "企业ID"),
    Column("node_id", "环节ID"),
    Column("parent_id", "上级环节ID"),
    Column("is_group", "分组环节"),
    Column("no_data", "无数据因素"),
]


def target_rows(targets) -> list[dict]:
    rows = []
    for i, t in enumerate(targets, 1):
        row = {
            "rank": i,
            "company_name": t.company_name,
            "uscc": t.uscc or "",
            "province": t.province,
            "city": t.city,
            "node_name": t.node_name,
            "status": t.status,
            "score": t.score,
            "reason": t.reason,
            "synthetic": t.synthetic,
            "company_id": t.company_id,
            "node_id": t.node_id,
            "parent_id": t.parent_id,
            "is_group": False,
            "no_data": list(t.no_data),
        }
        row.update({f"factor_{k}": v for k, v in t.factors.items()})
        rows.append(row)
    return rows


@click.command("gaps")
@click.option("--chain", "chain_ref", required=True, help="产业链 id 或名称")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="输出文件")
@click.pass_obj
def gaps_cmd(obj, chain_ref, fmt, output):
    """产业链缺口分析：每个环节的本地企业、产值、优质企业与缺链/弱链/强链状态。"""
    store, svc = _service(obj)
    with store:
        chain = svc.find_chain(chain_ref)
        report = svc.gap_report(chain.id)
        names = {g.node_id: g.name for g in report.nodes}
        rows = [{**asdict(g), "parent_name": names.get(g.parent_id or "", "")} for g in report.nodes]
        s = report.summary
        title = (
            f"{chain.name}产业链缺口分析：缺链{s['缺链']:.0f}个，弱链{s['弱链']:.0f}个，"
            f"强链{s['强链']:.0f}个（分组环节{s['groups']:.0f}个另列），本地覆盖率{s['coverage']:.0%}；{OUTPUT_RULE}"
        )
        _emit(rows, gap_columns() + (GAP_IDS if fmt == "json" else []), fmt, output, title)
        if fmt == "table" and not output and report.extensions:
            click.echo("\n延链方向（强链相邻的未覆盖环节）：")
            for e in report.extensions[:8]:
                click.echo(f"  · {e.name}（{e.status}）——「{e.via_name}」的{e.direction}")


@click.command("targets")
@click.option("--chain", "chain_ref", required=True, help="产业链 id 或名称")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 100000), help="前 N 家")
@click.option("--status", type=click.Choice(["缺链", "弱链"]), help="只看该状态的环节")
@click.option(
    "--per-node",
    type=click.IntRange(0, 100000),
    default=None,
    help="每个缺口环节最多几家（默认取配置 per_node，0 不限）",
)
@click.option("--by-node", is_flag=True, help="按环节分组列出（环节按关键度排序）")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="输出文件")
@click.pass_obj
def targets_cmd(obj, chain_ref, top, status, per_node, by_node, fmt, output):
    """补链目标企业排名：外地企业按缺口程度、实力、本地需求、本地关联、区位与园区匹配打分，附推荐理由。"""
    store, svc = _service(obj)
    with store:
        chain = svc.find_chain(chain_ref)
        cap = svc.per_node if per_node is None else per_node
        targets = svc.targets(chain.id, status=status, top=top, per_node=cap)
        if by_node:
            order = {g.node_id: i for i, g in enumerate(svc.gap_report(chain.id).critical_gaps(limit=100000))}
            targets.sort(key=lambda t: (order.get(t.node_id, len(order)), -t.score, t.company_id))
        if not targets:
            click.echo(f"{chain.name}：没有可推荐的补链目标企业（无缺链/弱链环节或无外地候选企业）。")
            return
        each = f"每个环节至多{cap}家，" if cap else ""
        title = f"{chain.name}补链目标企业（{each}前{len(targets)}家；标注“示例数据”的为合成数据）"
        columns = target_columns() + (TARGET_IDS if fmt == "json" else [])
        _emit(target_rows(targets), columns, fmt, output, title)
        click.echo(coverage_sentence(svc.factor_coverage(chain.id)), err=True)
