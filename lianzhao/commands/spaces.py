"""`lianzhao spaces import|list|match|expire`: the 筑巢 space register at the command line.

Commands parse, call crm.services.spaces* and print. Zones (names, focus) come from the seed
files (seed/zones.toml), the same the graph is seeded from, so no graph store is opened.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.errors import CrmError
from crm.queries import spaces as q
from crm.services import spaces_holds, spaces_import, spaces_needs
from crm.services._common import SYSTEM
from crm.services.spaces_match import ZoneFocus
from crm.services.spaces_settings import SpacesSettings
from crm.tables import Column, write_table
from graph.errors import LianzhaoError
from seed.loader import load_structure

LIST_COLUMNS = (
    Column("code", "编号"),
    Column("name", "名称"),
    Column("kind_label", "类型"),
    Column("zone", "园区"),
    Column("area_mu", "面积（亩）", "number"),
    Column("area_m2", "面积（平方米）", "number"),
    Column("land_use", "用地性质"),
    Column("power_kva", "供电容量（kVA）", "number"),
    Column("status", "状态"),
    Column("lead", "线索"),
)


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _open(ctx: click.Context):
    cfg = ctx.obj.cfg
    settings = SpacesSettings.from_config(cfg)
    engine = make_engine(cfg)
    upgrade(engine)
    return make_session_factory(engine), settings


def _zones():
    return load_structure().zones


@click.group("spaces")
def spaces_group():
    """筑巢：空间资源库（土地、厂房、楼宇）的导入、查询与项目匹配。"""


@spaces_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True, help="只写入无错误的行（默认：有任何错误则不写入）")
@click.pass_context
def import_cmd(ctx, file: Path, partial: bool):
    """从 XLSX/CSV 导入空间资源（中文表头见 Web 端导入模板）。"""
    sf, settings = _open(ctx)
    zones = {z.id: z.name for z in _zones()}
    try:
        with unit_of_work(sf) as s:
            report = spaces_import.import_file(
                s, SYSTEM, file, settings=settings, zones=zones, partial=partial
            )
    except (LianzhaoError, CrmError) as exc:
        _fail(str(exc))
    for warning in report.warnings:
        click.echo(f"提示：{warning}", err=True)
    for error in report.errors[:50]:
        click.echo(f"错误：{error}", err=True)
    click.echo(report.summary())
    if not report.committed:
        sys.exit(1)


@spaces_group.command("list")
@click.option("--zone", help="园区标识或名称")
@click.option("--status", help="状态：可招商/意向锁定/已签约/已入驻/暂不可用")
@click.option("--kind", type=click.Choice(["land", "factory", "office"]), help="类型")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "xlsx"]), default="table")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="输出文件（xlsx 必须指定）")
@click.pass_context
def list_cmd(ctx, zone, status, kind, fmt, output):
    """列出空间资源。"""
    sf, _settings = _open(ctx)
    names = {z.id: z.name for z in _zones()}
    zone_id = None
    if zone:
        zone_id = next((zid for zid, n in names.items() if zone in (zid, n)), None)
        if zone_id is None:
            _fail(f"园区「{zone}」不存在，可选：{'、'.join(names.values())}")
    if fmt == "xlsx" and not output:
        _fail("xlsx 格式须用 --output 指定文件")
    with unit_of_work(sf) as s:
        rows = q.list_resources(s, q.SpaceFilter(kind=kind, status=status, zone_id=zone_id))
        records = [
            {
                "code": r.code,
                "name": r.name,
                "kind_label": r.kind_label,
                "zone": names.get(r.zone_id or "", r.zone_id or ""),
                "area_mu": r.area_mu,
                "area_m2": r.area_m2,
                "land_use": r.land_use or "",
                "power_kva": r.power_kva,
                "status": r.status,
                "lead": r.lead.company_name if r.lead else "",
            }
            for r in rows
        ]
    write_table(records, LIST_COLUMNS, fmt, output, title="空间资源库", sheet_name="空间资源")


@spaces_group.command("match")
@click.argument("lead_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "table"]), default="json")
@click.option("--limit", type=int, default=None, help="最多列出几处（默认 [spaces] match_limit）")
@click.pass_context
def match_cmd(ctx, lead_id: int, fmt: str, limit):
    """为线索匹配空间资源：按得分排序，附理由。"""
    sf, settings = _open(ctx)
    focus = {z.id: ZoneFocus(z.id, z.name, tuple(z.focus_sectors), tuple(z.focus)) for z in _zones()}
    try:
        with unit_of_work(sf) as s:
            found = spaces_needs.match_for_lead(
                s, SYSTEM, lead_id, settings=settings, zones=focus, limit=limit
            )
    except (LianzhaoError, CrmError) as exc:
        _fail(str(exc))
    if fmt == "json":
        out = [
            {
                "resource_id": m.resource_id,
                "code": m.code,
                "name": m.name,
                "kind": m.kind,
                "zone_id": m.zone_id,
                "score": m.score,
                "factors": m.factors,
                "reasons": m.reasons,
                "warnings": m.warnings,
            }
            for m in found
        ]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for i, m in enumerate(found, 1):
            click.echo(f"{i}. {m.code} {m.name}（{m.score}）：{'；'.join(m.reasons)}")


@spaces_group.command("expire")
@click.pass_context
def expire_cmd(ctx):
    """释放已到期的意向锁定并通知锁定人（可由定时任务每日运行）。"""
    sf, _settings = _open(ctx)
    with unit_of_work(sf) as s:
        freed = spaces_holds.expire_due(s)
        codes = [r.code for r in freed]
    click.echo(f"已释放 {len(codes)} 处到期锁定" + (f"：{'、'.join(codes)}" if codes else ""))
