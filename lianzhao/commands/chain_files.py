"""`lianzhao chains`: list the chains (no subcommand), and work on the chain files themselves:
`check` lints them, `export` writes the bureau's review workbook, `import` reads it back with a diff.

The rules live in seed/checks.py and seed/review.py; this module only parses, calls and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from graph.backends import open_graph_store
from graph.service import ChainService
from seed import checks, review
from seed.loader import SeedError, load_structure


def _list_chains(obj, sector: str | None) -> None:
    store = open_graph_store(obj.cfg)
    svc = ChainService(store, obj.cfg)
    with store:
        for s in svc.sectors():
            if sector and s.id != sector:
                continue
            click.echo(f"{s.name}（{s.id}，{s.kind}）")
            for report in svc.sector_overview(s.id):
                c, n = report.chain, report.summary
                click.echo(
                    f"  {c.name}（{c.id}）：环节{n['nodes']:.0f}个，缺链{n['缺链']:.0f}，"
                    f"弱链{n['弱链']:.0f}，强链{n['强链']:.0f}，覆盖率{n['coverage']:.0%}"
                )


@click.group("chains", invoke_without_command=True)
@click.option("--sector", help="只列出该产业（id）的产业链")
@click.pass_context
def chains_group(ctx: click.Context, sector: str | None) -> None:
    """列出产业与产业链（缺链/弱链/强链数量）；子命令检查、导出、导入产业链文件。"""
    if ctx.invoked_subcommand is None:
        _list_chains(ctx.obj, sector)


seed_dir_option = click.option(
    "--seed-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="种子文件目录（默认随程序安装的 seed/）",
)


@chains_group.command("check")
@seed_dir_option
@click.option("--policy-table", is_flag=True, help="输出政策表述与环节的对照表（Markdown）")
@click.option("--notes/--no-notes", default=True, help="是否显示提示（不影响结果）")
def check_cmd(seed_dir: Path | None, policy_table: bool, notes: bool) -> None:
    """检查产业链文件：引用、循环、流向、关键词、行业代码、政策原文。有错误时退出码为 1。"""
    structure, findings = checks.check_files(seed_dir)
    if structure is not None:
        coverage = checks.policy_coverage(structure, checks.read_policy_terms())
        findings += checks.coverage_findings(coverage)
        if policy_table:
            click.echo(checks.coverage_markdown(structure, coverage), nl=False)
            return
    shown = [f for f in findings if notes or f.severity == checks.ERROR]
    for f in shown:
        click.echo(f.line())
    bad = checks.errors(findings)
    if structure is not None:
        click.echo(
            f"已检查产业链{len(structure.chains)}条、环节{len(structure.nodes)}个、流向{len(structure.flows)}条："
            f"错误{len(bad)}项，提示{len(findings) - len(bad)}项。",
            err=True,
        )
    if bad:
        sys.exit(1)


@chains_group.command("export")
@seed_dir_option
@click.option("--format", "fmt", type=click.Choice(["xlsx"]), default="xlsx", show_default=True)
@click.option("--chain", "chain_ids", multiple=True, help="只导出这些产业链（id，可重复）")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_cmd(seed_dir: Path | None, fmt: str, chain_ids: tuple[str, ...], output: Path) -> None:
    """导出产业链审核表（每条链一张工作表，含审核意见列）。"""
    structure = load_structure(seed_dir)
    unknown = [c for c in chain_ids if c not in structure.chain_by_id]
    if unknown:
        raise SeedError(f"产业链「{'、'.join(unknown)}」不存在")
    data = review.export_workbook(structure, checks.read_codes(), chain_ids or None)
    output.write_bytes(data)
    click.echo(f"已写入 {output}（产业链{len(chain_ids) or len(structure.chains)}条）", err=True)


@chains_group.command("import")
@seed_dir_option
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--apply", "do_apply", is_flag=True, help="确认差异后写回产业链文件（默认只显示差异）")
def import_cmd(seed_dir: Path | None, workbook: Path, do_apply: bool) -> None:
    """读取审核后的审核表，显示与产业链文件的差异；加 --apply 写回文件并重新检查。"""
    structure = load_structure(seed_dir)
    reviewed = review.read_workbook(workbook.read_bytes(), structure)
    changed = []
    for chain in reviewed:
        lines = review.diff(structure, chain)
        for name, remark in chain.remarks:
            click.echo(f"审核意见 {chain.chain_id}「{name.strip()}」：{remark}")
        if lines:
            changed.append(chain)
            click.echo(f"== {structure.chain_by_id[chain.chain_id].name}（{chain.chain_id}）")
            for line in lines:
                click.echo(f"  {line}")
    if not changed:
        click.echo("审核表与产业链文件一致，无需修改。")
        return
    if not do_apply:
        click.echo(f"共{len(changed)}条产业链有修改；确认后加 --apply 写回。", err=True)
        return
    for chain in changed:
        path = review.apply_review(structure, chain)
        click.echo(f"已写回 {path}")
    after, findings = checks.check_files(structure.source_dir)
    bad = checks.errors(findings)
    for f in bad:
        click.echo(f.line())
    click.echo(f"写回后检查：错误{len(bad)}项。", err=True)
    if bad:
        sys.exit(1)
