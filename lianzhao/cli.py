"""The `lianzhao` command: a click group that imports a command's module only when it runs.

Commands only parse arguments, call a service and print; errors are Chinese sentences. The
command modules (lianzhao/commands/) import what they need at their top, however heavy (pandas,
Flask, the Neo4j driver): `COMMANDS` maps each name to "module:attr" plus its one-line help, so
`lianzhao --help` lists everything without importing any of them (the LazyGroup pattern of click's
documentation; tests/test_cli_lazy.py keeps the help lines equal to the commands' own).
"""

from __future__ import annotations

import importlib
import sys

import click

from graph.errors import LianzhaoError

from . import click_zh
from .config import config_source, load_config

# click's own words (usage, errors, help headings) in Chinese. Installed before any command is
# defined, since click names path types ("file", "directory") when a command is built.
click_zh.install()

# name -> ("module:attribute", short help shown by `lianzhao --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": (
        "lianzhao.commands.init:init_cmd",
        "创建实例目录，载入产业链、园区、龙头企业与示例企业，并迁移 CRM 数据库。",
    ),
    "chains": (
        "lianzhao.commands.chain_files:chains_group",
        "列出产业与产业链（缺链/弱链/强链数量）；子命令检查、导出、导入产业链文件。",
    ),
    "gaps": (
        "lianzhao.commands.graph:gaps_cmd",
        "产业链缺口分析：每个环节的本地企业、产值、优质企业与缺链/弱链/强链状态。",
    ),
    "targets": (
        "lianzhao.commands.graph:targets_cmd",
        "补链目标企业排名：外地企业按缺口程度、实力、本地需求、本地关联、区位与园区匹配打分，附推荐理由。",
    ),
    "companies": (
        "lianzhao.commands.companies:companies_group",
        "企业名录：查询、查看、待确认队列、确认产业链环节与疑似重复。",
    ),
    "import": (
        "lianzhao.commands.imports:import_group",
        "从 CSV（UTF-8/GB18030/UTF-16）或 XLSX 文件导入企业与供应关系。",
    ),
    "db": ("lianzhao.commands.crm:db_group", "CRM 数据库管理。"),
    "user": ("lianzhao.commands.crm:user_group", "用户管理（系统管理员在服务器上操作）。"),
    "leads": ("lianzhao.commands.crm:leads_group", "招商线索。"),
    "graph": ("lianzhao.commands.neo4j:graph_group", "图存储管理：在嵌入式图存储与 Neo4j 之间同步。"),
    "health": (
        "lianzhao.commands.neo4j:health_cmd",
        "检查图存储状态；当前使用的图存储不可用时以非零状态退出。",
    ),
    "indicators": ("lianzhao.commands.monitoring:indicators", "主要指标：查看进度、导入统计局数据。"),
    "ledger": ("lianzhao.commands.monitoring:ledger", "任务台账与项目台账。"),
    "report": ("lianzhao.commands.monitoring:report", "生成招商工作周报或月报（DOCX，Word/WPS 可编辑）。"),
    "notify": (
        "lianzhao.commands.notify:notify_group",
        "外发通知：发送邮件与 webhook 队列中到期的消息，失败的重新排队。",
    ),
    "spaces": (
        "lianzhao.commands.spaces:spaces_group",
        "筑巢：空间资源库（土地、厂房、楼宇）的导入、查询与项目匹配。",
    ),
    "serve": (
        "lianzhao.commands.web:serve",
        "启动网页端（waitress 生产级 WSGI 服务器；多进程时用 gunicorn）。",
    ),
    "backup": (
        "lianzhao.commands.backup:backup_cmd",
        "备份本实例：图存储、CRM 数据库（SQLite 在线备份或 pg_dump）与实例文件，附校验清单。",
    ),
    "restore": (
        "lianzhao.commands.backup:restore_cmd",
        "将备份恢复到空实例，并核对每张表、每类图数据的条数与校验和。",
    ),
}


class AppContext:
    """Lazily read configuration shared by every command of one invocation."""

    def __init__(self, config_path: str | None):
        self._config_path = config_path
        self._cfg: dict | None = None

    @property
    def cfg(self) -> dict:
        if self._cfg is None:
            self._cfg = load_config(self._config_path)
        return self._cfg

    def reload(self) -> dict:
        """Read the configuration again (after `lianzhao init` wrote ./config.toml)."""
        self._cfg = None
        return self.cfg


class LazyGroup(click.Group):
    """Loads a command's module on first use; turns errors users should read into one Chinese line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attr = COMMANDS[cmd_name][0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        click_zh.localise_metavars(command)
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS' help lines: no command module is imported for --help."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = []
        for name in self.list_commands(ctx):
            loaded = self.commands.get(name)
            text = loaded.get_short_help_str(limit) if loaded is not None else COMMANDS[name][1]
            rows.append((name, text))
        with formatter.section("命令"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        source = config_source(ctx.params.get("config_path"))
        formatter.write_paragraph()
        formatter.write_text(
            f"配置文件：{source}（依次查找 --config / LIANZHAO_CONFIG、当前目录的 config.toml、安装包自带的默认配置）"
        )

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LianzhaoError as exc:  # GraphStoreError included (a subclass)
            click.echo(f"错误：{exc}", err=True)
            sys.exit(1)


@click.group(cls=LazyGroup)
@click.option("--config", "config_path", envvar="LIANZHAO_CONFIG", help="配置文件路径（默认 ./config.toml）")
@click.option("-v", "--verbose", is_flag=True, help="输出调试日志")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """链招 LianZhao：产业链招商图谱与招商 CRM。"""
    # imported here, not at the top: `lianzhao --help` never runs this callback (issue 16: --help <= 100 ms)
    logging = importlib.import_module("logging")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = AppContext(config_path)


click_zh.localise_metavars(main)
