"""CRM commands: `lianzhao db upgrade`, `lianzhao user add|list|disable|enable|reset-password`,
`lianzhao leads overdue`. They parse, call a crm service and print; no rules here.

The CRM rules they apply are the ones in force for the web app too: the configuration plus the
administrator's run-time settings stored in the CRM database (crm.settings_store).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crm.db import current_revision, make_engine, make_session_factory, unit_of_work, upgrade
from crm.errors import CrmError
from crm.passwords import generate_password
from crm.services import overdue, runtime_settings, users
from crm.services._common import SYSTEM
from crm.settings import CrmSettings
from crm.settings_store import effective_settings

LEGACY_SETTINGS = "settings.json"


def take_over_legacy_settings(cfg: dict, sf) -> None:
    """Releases before 0004 kept the administrator's settings in <instance>/settings.json: move
    them into the CRM database once (audited) and rename the file, so no value is lost."""
    path = Path(cfg["instance"]["path"]) / LEGACY_SETTINGS
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        click.echo(f"提示：无法读取旧版业务设置文件 {path}（{exc}），已忽略", err=True)
        return
    with unit_of_work(sf) as session:
        changes = runtime_settings.import_legacy(
            session, SYSTEM, cfg, saved if isinstance(saved, dict) else {}
        )
    path.rename(path.with_name(LEGACY_SETTINGS + ".imported"))
    click.echo(f"已将旧版业务设置（{len(changes)} 项）从 {path} 迁入 CRM 数据库。", err=True)


def _open(ctx: click.Context):
    """Session factory and the settings in force; brings the schema to the newest version first."""
    cfg = ctx.obj.cfg
    CrmSettings.from_config(cfg)  # a wrong configuration is reported before the database is touched
    engine = make_engine(cfg)
    upgrade(engine)
    sf = make_session_factory(engine)
    take_over_legacy_settings(cfg, sf)
    with unit_of_work(sf) as session:
        settings = effective_settings(session, cfg)
    return sf, settings


def random_password() -> str:
    return generate_password()


def _fail(exc: Exception) -> None:
    click.echo(f"错误：{exc}", err=True)
    sys.exit(1)


@click.group("db")
def db_group():
    """CRM 数据库管理。"""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx):
    """将 CRM 数据库结构升级到最新版本（Alembic 迁移）。"""
    engine = make_engine(ctx.obj.cfg)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    take_over_legacy_settings(ctx.obj.cfg, make_session_factory(engine))
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"数据库已是最新版本（{after}）：{url}")
    else:
        click.echo(f"数据库已从 {before or '空库'} 升级到 {after}：{url}")


@click.group("user")
def user_group():
    """用户管理（系统管理员在服务器上操作）。"""


@user_group.command("add")
@click.argument("username")
@click.option("--name", "display_name", default="", help="姓名（默认同用户名）")
@click.option(
    "--role",
    required=True,
    help="角色：招商专员、招商经理、区领导、系统管理员（或 recruiter/manager/leader/admin）",
)
@click.option("--sector", default=None, help="所属产业组 id（招商专员、招商经理必填），如 medical")
@click.option("--random-password", "generate", is_flag=True, help="生成随机密码并只显示这一次")
@click.pass_context
def user_add(ctx, username, display_name, role, sector, generate):
    """新建用户。"""
    sf, settings = _open(ctx)
    if generate:
        password = random_password()
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    try:
        with unit_of_work(sf) as s:
            user = users.create_user(
                s,
                SYSTEM,
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                sector_id=sector,
                settings=settings,
                must_change_password=bool(generate),
            )
            label = user.label
    except CrmError as exc:
        _fail(exc)
    click.echo(f"已创建用户 {username}：{label}")
    if generate:
        click.echo(f"初始密码（只显示这一次，首次登录后须修改）：{password}")


@user_group.command("list")
@click.pass_context
def user_list(ctx):
    """列出全部用户。"""
    sf, _ = _open(ctx)
    with unit_of_work(sf) as s:
        rows = users.list_users(s, SYSTEM, include_inactive=True)
        click.echo(f"{'编号':<4} {'用户名':<16} {'姓名':<10} {'角色':<8} {'产业组':<14} 状态")
        for u in rows:
            state = "停用" if not u.is_active else ("锁定" if u.locked_until else "正常")
            team = u.team.name if u.team else "-"
            click.echo(
                f"{u.id:<6} {u.username:<19} {u.display_name:<10} {u.role_label:<8} {team:<14} {state}"
            )
        click.echo(f"共 {len(rows)} 个用户")


def _set_active(ctx, username, active):
    sf, _ = _open(ctx)
    try:
        with unit_of_work(sf) as s:
            user = users.get_by_username(s, username)
            users.set_active(s, SYSTEM, user.id, active)
    except CrmError as exc:
        _fail(exc)
    click.echo(f"已{'启用' if active else '停用'}用户 {username}")


@user_group.command("disable")
@click.argument("username")
@click.pass_context
def user_disable(ctx, username):
    """停用用户（不能再登录，历史记录保留）。"""
    _set_active(ctx, username, False)


@user_group.command("enable")
@click.argument("username")
@click.pass_context
def user_enable(ctx, username):
    """重新启用用户并解除锁定。"""
    _set_active(ctx, username, True)


@user_group.command("reset-password")
@click.argument("username")
@click.pass_context
def user_reset_password(ctx, username):
    """为用户生成新的随机密码（只显示一次，首次登录后须修改），并解除锁定。"""
    sf, settings = _open(ctx)
    password = random_password()
    try:
        with unit_of_work(sf) as s:
            user = users.get_by_username(s, username)
            users.reset_password(s, SYSTEM, user.id, password, settings=settings)
    except CrmError as exc:
        _fail(exc)
    click.echo(f"已重置用户 {username} 的密码（只显示这一次，首次登录后须修改）：{password}")


@click.group("leads")
def leads_group():
    """招商线索。"""


@leads_group.command("overdue")
@click.option("--sector", default=None, help="只看某产业组（sector id）")
@click.pass_context
def leads_overdue(ctx, sector):
    """按产业组（招商经理）列出超期未跟进的线索。"""
    sf, settings = _open(ctx)
    with unit_of_work(sf) as s:
        groups = overdue.overdue_by_team(s, SYSTEM, settings=settings, sector_id=sector)
        if not groups:
            click.echo("没有超期线索")
            return
        total = 0
        for group in groups:
            managers = "、".join(m.display_name for m in group.managers) or "（无招商经理）"
            click.echo(f"\n【{group.team_name}】招商经理：{managers}，超期 {len(group.items)} 条")
            for item in group.items:
                lead = item.lead
                owner = lead.owner.display_name if lead.owner else "（线索池）"
                click.echo(
                    f"  #{lead.id} {lead.company_name} ［{lead.stage}］ 负责人：{owner} "
                    f"{item.reason}，应于 {item.due_at:%Y-%m-%d} 前，已超 {item.days_overdue} 天"
                )
            total += len(group.items)
        click.echo(f"\n共 {total} 条超期线索")
