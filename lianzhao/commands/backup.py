"""`lianzhao backup` and `lianzhao restore`: parse, call lianzhao.backup, print."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..backup import BackupError, create_backup, describe, read_manifest, restore_backup


@click.command("backup")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="备份文件或目录（默认 <实例目录>/backups/lianzhao-<时间>.tar.gz）",
)
@click.pass_obj
def backup_cmd(obj, output):
    """备份本实例：图存储、CRM 数据库（SQLite 在线备份或 pg_dump）与实例文件，附校验清单。"""
    try:
        path, manifest = create_backup(obj.cfg, output)
    except BackupError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(f"已写入备份：{path}")
    click.echo(describe(manifest))


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="只读取并显示备份清单，不恢复")
@click.pass_obj
def restore_cmd(obj, archive, check):
    """将备份恢复到空实例，并核对每张表、每类图数据的条数与校验和。"""
    try:
        manifest = read_manifest(archive) if check else restore_backup(obj.cfg, archive)
    except BackupError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)
    click.echo(describe(manifest))
    if not check:
        click.echo("恢复完成：条数与校验和全部一致。会话密钥已重新生成，所有用户需重新登录。")
