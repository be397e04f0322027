"""`lianzhao init`: create the instance, seed the graph store, migrate the CRM, add demo data."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from crm import db
from crm import demo as crm_demo
from crm.services.from_targets import RankingNames, target_row
from crm.settings_store import effective_settings
from graph.backends import open_graph_store
from graph.service import ChainService
from lianzhao.commands.crm import take_over_legacy_settings
from lianzhao.config import LOCAL_CONFIG, PACKAGED_CONFIG, instance_path
from seed.loader import load_structure, seed_store

DEMO_TARGETS_PER_CHAIN = 6


def _progress_bar(label: str):
    """A click progress bar driven by progress(done, total) callbacks."""
    state = {"bar": None, "done": 0}

    def progress(done: int, total: int) -> None:
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(done - state["done"])
        state["done"] = done

    def close() -> None:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)

    return progress, close


def seed_graph(cfg: dict, n_synthetic: int, force: bool) -> None:
    structure = load_structure()
    with open_graph_store(cfg) as store:
        existing = store.company_count()
        if existing and not force:
            store.upsert_sectors(structure.sectors)
            store.upsert_chains(structure.chains)
            store.upsert_nodes(structure.nodes)
            store.upsert_flows(structure.flows)
            store.upsert_zones(structure.zones)
            click.echo(
                f"图谱已有 {existing} 家企业：已更新产业链结构，未重新生成示例企业（如需重建请加 --force）。"
            )
            return
        progress, close = _progress_bar("写入产业链图谱")
        try:
            summary = seed_store(store, structure, n_synthetic=n_synthetic, progress=progress)
        finally:
            close()
        click.echo(
            f"已载入：产业{summary.sectors}个，产业链{summary.chains}条，环节{summary.nodes}个，"
            f"园区{summary.zones}个，本地龙头企业{summary.anchors}家，示例企业{summary.synthetic}家，"
            f"供应关系{summary.supplies}条。"
        )


def demo_target_rows(cfg: dict) -> list[dict]:
    """A few top targets of every chain, as plain dicts the CRM demo turns into leads."""
    with open_graph_store(cfg) as store:
        svc = ChainService(store, cfg)
        names = RankingNames.of(svc)
        rows = [
            target_row(t, names)
            for chain in svc.chains()
            for t in svc.targets(chain.id, top=DEMO_TARGETS_PER_CHAIN)
        ]
    return rows


def seed_crm(cfg: dict, demo: bool) -> None:
    engine = db.make_engine(cfg)
    db.upgrade(engine)
    factory = db.make_session_factory(engine)
    take_over_legacy_settings(cfg, factory)
    click.echo("CRM 数据库已迁移到最新版本。")
    if not demo:
        return

    with db.unit_of_work(factory) as session:
        accounts = crm_demo.create_demo_users(session, settings=effective_settings(session, cfg))
    if not accounts:
        click.echo("演示账号已存在（密码只在首次初始化时显示；可用 lianzhao user reset-password 重置）。")
        return
    rows = demo_target_rows(cfg)
    with db.unit_of_work(factory) as session:
        crm_demo.create_demo_leads(session, rows, settings=effective_settings(session, cfg))
    click.echo("\n演示账号（密码只显示这一次，请妥善保存）：")
    for username, role, password in accounts:
        click.echo(f"  用户名 {username:<12} 密码 {password}   （{role}）")


@click.command("init")
@click.option("--demo", is_flag=True, help="同时创建演示账号（每个角色一个）和演示线索")
@click.option(
    "--synthetic",
    "n_synthetic",
    default=3000,
    show_default=True,
    type=click.IntRange(0),
    help="生成的示例企业数量（标注为示例数据；真实部署可设为 0）",
)
@click.option("--force", is_flag=True, help="图谱已有企业时仍重新写入种子数据")
@click.pass_obj
def init_cmd(obj, demo, n_synthetic, force):
    """创建实例目录，载入产业链、园区、龙头企业与示例企业，并迁移 CRM 数据库。"""
    cfg = obj.cfg
    if Path(cfg["_file"]) == PACKAGED_CONFIG:
        # No configuration found: write the packaged one here for editing, and use it from now on.
        target = Path.cwd() / LOCAL_CONFIG
        shutil.copyfile(PACKAGED_CONFIG, target)
        click.echo(f"已写出默认配置文件 {target}（可按需修改后重新运行）")
        cfg = obj.reload()
    click.echo(f"配置文件：{cfg['_file']}；实例目录：{instance_path(cfg)}；图存储：{cfg['graph']['backend']}")
    seed_graph(cfg, n_synthetic, force)
    seed_crm(cfg, demo)
