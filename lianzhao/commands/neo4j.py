"""`lianzhao graph sync --to neo4j|networkx`, `lianzhao graph bulk-load` and `lianzhao health`."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import click

from graph import importer
from graph.backends import BACKENDS, backend_name, embedded_path, open_backend
from graph.neo4j_bulk import admin_args, finish, write_csv
from graph.nx_store import NetworkxStore
from graph.sync import sync
from seed.loader import load_structure, seed_store

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


ROOT = Path(__file__).resolve().parents[2]  # a source checkout: scripts/neo4j.sh, .neo4j/lib


def _dev_server(cfg: dict) -> tuple[str, Path]:
    """(port, home) of the development server scripts/neo4j.sh runs for [neo4j] uri."""
    port = str(urlsplit(str(cfg["neo4j"]["uri"])).port or 7687)
    return port, ROOT / ".neo4j" / f"server-{port}"


def _run_step(label: str, command: list[str] | str, env: dict | None = None) -> float:
    """Run one server-control step (seconds taken); on failure show its output's end and stop."""
    click.echo(f"{label}……", err=True)
    started = time.perf_counter()
    done = subprocess.run(
        command, shell=isinstance(command, str), env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        click.echo((done.stdout + done.stderr)[-3000:], err=True)
        raise click.ClickException(f"{label}失败（退出码 {done.returncode}），详见上方输出")
    return time.perf_counter() - started


def _source_store(cfg: dict, files: tuple[Path, ...], work: Path) -> NetworkxStore:
    """The firms to load: each file through the ordinary importer (same parsing, validation and
    placement as `lianzhao import`) into a scratch embedded store holding the chain structure."""
    scratch = work / "source.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    store = NetworkxStore(scratch)
    seed_store(store, load_structure(), n_synthetic=0, anchors=False)
    for file in files:
        report = importer.import_companies(
            store, file, district_cfg=cfg["district"], companies_cfg=cfg["companies"]
        )
        for error in report.errors[:20]:
            click.echo(f"错误：{error}", err=True)
        if not report.committed:
            store.close()
            raise click.ClickException(
                f"{file} 有错误行，未装载任何数据：请先修正（或用 lianzhao import 检查）"
            )
    return store


@graph_group.command("bulk-load")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from-embedded", is_flag=True, help="不读文件：装载嵌入式图存储中已有的全部数据")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="CSV 临时目录（默认：实例目录下 neo4j-import）",
)
@click.option(
    "--neo4j-home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Neo4j 主目录（默认：开发服务器目录）",
)
@click.option(
    "--admin",
    "admin_cmd",
    help="neo4j-admin 命令（默认：开发服务器的 neo4j-admin；生产环境如 /usr/bin/neo4j-admin）",
)
@click.option(
    "--stop-cmd", help="停止 Neo4j 的命令（默认：scripts/neo4j.sh stop；生产环境如 systemctl stop neo4j）"
)
@click.option(
    "--start-cmd", help="启动 Neo4j 的命令（默认：scripts/neo4j.sh start；生产环境如 systemctl start neo4j）"
)
@click.option("--yes", is_flag=True, help="不再确认")
@click.pass_obj
def bulk_load_cmd(obj, files, from_embedded, work_dir, neo4j_home, admin_cmd, stop_cmd, start_cmd, yes):
    """首次装载大批企业到 Neo4j（neo4j-admin database import，离线导入，每秒数十万行）。

    会停止 Neo4j、用导入数据替换整个数据库、再启动，并在启动后建立索引与环节计数。"""
    cfg = obj.cfg
    if bool(files) == from_embedded:
        raise click.UsageError("请给出企业文件，或使用 --from-embedded（二者选一）")
    database = str(cfg["neo4j"].get("database") or "neo4j")
    if not yes:
        click.confirm(
            f"将停止 {_where(cfg, 'neo4j')}，并用导入数据替换数据库「{database}」的全部内容，是否继续？",
            abort=True,
            err=True,
        )
    work = work_dir or Path(cfg["instance"]["path"]) / "neo4j-import"
    work.mkdir(parents=True, exist_ok=True)
    port, dev_home = _dev_server(cfg)
    home = neo4j_home or dev_home
    started = time.perf_counter()
    source = open_backend(cfg, "networkx") if from_embedded else _source_store(cfg, files, work)
    parsed = time.perf_counter() - started
    with source:
        t0 = time.perf_counter()
        bulk = write_csv(source, work / "csv")
        written = time.perf_counter() - t0
        dev = {**os.environ, "NEO4J_PORT": port, "NEO4J_HOME": str(home), "NEO4J_KEEP_DATA": "1"}
        script = ["bash", str(ROOT / "scripts" / "neo4j.sh")]
        _run_step("正在停止 Neo4j", stop_cmd or [*script, "stop"], None if stop_cmd else dev)
        admin = (
            shlex.split(admin_cmd)
            if admin_cmd
            else ["java", "-cp", str(ROOT / ".neo4j" / "lib" / "*"), "org.neo4j.cli.AdminTool"]
        )
        admin_env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
        imported = _run_step(
            "正在运行 neo4j-admin database import full", [*admin, *admin_args(bulk, database)], admin_env
        )
        _run_step("正在启动 Neo4j", start_cmd or [*script, "start"], None if start_cmd else dev)
        t1 = time.perf_counter()
        with open_backend(cfg, "neo4j") as target:  # opening builds indexes and the node counters
            finish(source, target)
            stored = target.company_count()
        indexed = time.perf_counter() - t1
    rate = bulk.firms / imported if imported else 0.0
    click.echo(
        f"装载完成：{stored} 家企业、{bulk.links} 条环节关联、{bulk.supplies} 条供应关系 → {_where(cfg, 'neo4j')}。"
        f"解析 {parsed:.1f} 秒，写 CSV {written:.1f} 秒，neo4j-admin 导入 {imported:.1f} 秒"
        f"（每秒 {rate:,.0f} 家企业），索引与计数 {indexed:.1f} 秒"
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
