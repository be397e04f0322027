"""`lianzhao graph sync --to neo4j|networkx` and `lianzhao health`."""

from __future__ import annotations

import sys

import click

from graph.backends import BACKENDS, backend_name, embedded_path, open_backend
from graph.sync import sync

TARGETS = BACKENDS[::-1]  # ("neo4j", "networkx"): the order --to lists them
NAMES = {"neo4j": "Neo4j", "networkx": "嵌入式图存储"}


def _where(cfg: dict, backend: str) -> str:
    if backend == "neo4j":
        return f"Neo4j（{cfg['neo4j']['uri']}）"

    return f"嵌入式图存储（{embedded_path(cfg)}）"


def health_lines(cfg: dict) -> tuple[bool, list[str]]:
    """One status line per graph backend; ok is the configured backend's state."""
    configured = backend_name(cfg)
    lines = [f"当前图存储后端（[graph] backend）：{configured}"]
    ok_configured = False
    for backend in TARGETS[::-1]:
        try:
            with open_backend(cfg, backend) as store:
                ok, message = store.health()
        except Exception as exc:  # a store that cannot even open is simply down
            ok, message = False, f"{NAMES[backend]}不可用：{exc}"
        mark = "正常" if ok else "不可用"
        suffix = "（当前使用）" if backend == configured else ""
        lines.append(f"[{mark}] {message}{suffix}")
        if backend == configured:
            ok_configured = ok
    return ok_configured, lines


@click.group("graph")
def graph_group():
    """图存储管理：在嵌入式图存储与 Neo4j 之间同步。"""


@graph_group.command("sync")
@click.option(
    "--to",
    "target",
    type=click.Choice(TARGETS),
    required=True,
    help="目标图存储：neo4j（从嵌入式复制到 Neo4j）或 networkx（从 Neo4j 复制回嵌入式）",
)
@click.option("--yes", is_flag=True, help="不再确认，直接清空目标并复制")
@click.pass_obj
def sync_cmd(obj, target, yes):
    """把整个产业链图谱从一个图存储复制到另一个（先清空目标；中断后重新运行即可补全）。"""
    cfg = obj.cfg
    source = "networkx" if target == "neo4j" else "neo4j"
    if not yes:
        click.confirm(
            f"将清空 {_where(cfg, target)} 的全部图谱数据，并从 {_where(cfg, source)} 复制，是否继续？",
            abort=True,
            err=True,
        )
    with open_backend(cfg, source) as src, open_backend(cfg, target) as dst:
        total = src.company_count()
        with click.progressbar(length=total, label="正在同步企业", file=sys.stderr) as bar:
            last = 0

            def progress(done: int, _total: int) -> None:
                nonlocal last
                bar.update(done - last)
                last = done

            try:
                summary = sync(src, dst, progress=progress)
            except KeyboardInterrupt:
                click.echo("\n已中断：目标图存储只写入了完整的批次，重新运行本命令即可完成同步。", err=True)
                sys.exit(130)
    click.echo(
        f"同步完成：{summary.sectors} 个产业、{summary.chains} 条产业链、{summary.nodes} 个环节、"
        f"{summary.flows} 条流向、{summary.zones} 个园区、{summary.companies} 家企业、"
        f"{summary.supplies} 条供应关系 → {_where(cfg, target)}"
    )


@click.command("health")
@click.pass_obj
def health_cmd(obj):
    """检查图存储状态；当前使用的图存储不可用时以非零状态退出。"""
    ok, lines = health_lines(obj.cfg)
    for line in lines:
        click.echo(line)
    if not ok:
        sys.exit(1)
