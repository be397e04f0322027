"""`lianzhao notify send|remind|retry`: the worker that sends the notification outbox (e-mail, webhooks).

Run from cron or a systemd timer every minute (`lianzhao notify send`), or as a service
(`lianzhao notify send --loop`). It never runs inside a web request (crm.services.notify_send).
"""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import click

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.services import notify, notify_send
from crm.settings_store import effective_settings


@click.group("notify")
def notify_group():
    """外发通知：发送邮件与 webhook 队列中到期的消息，失败的重新排队。"""


def _factory(ctx: click.Context):
    engine = make_engine(ctx.obj.cfg)
    upgrade(engine)
    return make_session_factory(engine)


@notify_group.command("send")
@click.option("--loop", is_flag=True, help="持续运行，每隔 --every 秒发送一次。")
@click.option("--every", default=30, show_default=True, help="--loop 时两次发送间隔的秒数。")
@click.pass_context
def send_cmd(ctx, loop: bool, every: int):
    """发送到期的外发通知（邮件、webhook），失败的按退避时间重试。"""
    cfg = ctx.obj.cfg
    if not cfg["notify"]["enabled"]:
        click.echo("外发通知未启用（[notify] enabled = false），未发送任何消息。")
        return
    sf = _factory(ctx)
    while True:
        counts = notify_send.deliver_due(sf, cfg)
        click.echo(
            f"已发送 {counts['sent']} 条，待重试 {counts['retry']} 条，失败 {counts['failed']} 条，"
            f"已停用账号跳过 {counts['dropped']} 条"
        )
        if not loop:
            return
        time.sleep(max(1, every))


@notify_group.command("remind")
@click.pass_context
def remind_cmd(ctx):
    """为选择了“超期提醒”的用户排队当日的超期线索提醒（可由定时任务每日运行）。"""
    cfg = ctx.obj.cfg
    with unit_of_work(_factory(ctx)) as s:
        n = notify.enqueue_reminders(s, effective_settings(s, cfg), tz=ZoneInfo(cfg["web"]["timezone"]))
    click.echo(f"已排队 {n} 条超期提醒")


@notify_group.command("retry")
@click.pass_context
def retry_cmd(ctx):
    """将发送失败的通知重新排队（修复邮件服务器或 webhook 配置之后）。"""
    with unit_of_work(_factory(ctx)) as s:
        n = notify_send.retry_failed(s)
    click.echo(f"已将 {n} 条发送失败的通知重新排队")
