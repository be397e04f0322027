"""`lianzhao gaps`, `lianzhao targets` (`lianzhao chains` lives in chain_files.py)."""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from graph.backends import open_graph_store
from graph.service import ChainService
from graph.targets import FACTOR_LABELS
from lianzhao.export import Column, write_table

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
        Column("status", "状态"),
        Column("local_firms", "本地企业数", "int"),
        Column("local_output", "本地产值(万元)", "number"),
        Column("qualified_firms", "本地优质企业数", "int"),
        Column("outside_firms", "外地企业数", "int"),
        Column("criticality", "关键度", "percent"),
        Column("downstream_count", "下游环节数", "int"),
        Column("reason", "说明"),
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
        rows = [asdict(g) for g in report.nodes]
        s = report.summary
        title = (
            f"{chain.name}产业链缺口分析：缺链{s['缺链']:.0f}个，弱链{s['弱链']:.0f}个，"
            f"强链{s['强链']:.0f}个，本地覆盖率{s['coverage']:.0%}"
        )
        _emit(rows, gap_columns(), fmt, output, title)
        if fmt == "table" and not output and report.extensions:
            click.echo("\n延链方向（强链相邻的未覆盖环节）：")
            for e in report.extensions[:8]:
                click.echo(f"  · {e.name}（{e.status}）——「{e.via_name}」的{e.direction}")


@click.command("targets")
@click.option("--chain", "chain_ref", required=True, help="产业链 id 或名称")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 100000), help="前 N 家")
@click.option("--status", type=click.Choice(["缺链", "弱链"]), help="只看该状态的环节")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="输出文件")
@click.pass_obj
def targets_cmd(obj, chain_ref, top, status, fmt, output):
    """补链目标企业排名：外地企业按缺口程度、实力、本地关联、区位与园区匹配打分，附推荐理由。"""
    store, svc = _service(obj)
    with store:
        chain = svc.find_chain(chain_ref)
        targets = svc.targets(chain.id, status=status, top=top)
        if not targets:
            click.echo(f"{chain.name}：没有可推荐的补链目标企业（无缺链/弱链环节或无外地候选企业）。")
            return
        title = f"{chain.name}补链目标企业（前{len(targets)}家；标注“示例数据”的为合成数据）"
        _emit(target_rows(targets), target_columns(), fmt, output, title)
