"""The `lianzhao` command. Each area registers its commands from lianzhao/commands/.

Commands only parse arguments, call a service and print; errors are Chinese sentences.
"""

from __future__ import annotations

import logging
import sys

import click

from . import click_zh
from .config import ConfigError, load_config

# click's own words (usage, errors, help headings) in Chinese. Installed before the commands are
# defined, since click names path types ("file", "directory") when a command is built.
click_zh.install()


class AppContext:
    """Lazily built configuration shared by every command of one invocation."""

    def __init__(self, config_path: str | None):
        self._config_path = config_path
        self._cfg = None

    @property
    def cfg(self) -> dict:
        if self._cfg is None:
            self._cfg = load_config(self._config_path)
        return self._cfg


class FriendlyGroup(click.Group):
    """Turns known errors into one Chinese line and exit code 1 instead of a traceback."""

    def invoke(self, ctx):
        from graph.errors import LianzhaoError

        try:
            return super().invoke(ctx)
        except (ConfigError, LianzhaoError) as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(1)


@click.group(cls=FriendlyGroup)
@click.option("--config", "config_path", envvar="LIANZHAO_CONFIG", help="配置文件路径（默认 config.toml）")
@click.option("-v", "--verbose", is_flag=True, help="输出调试日志")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """链招 LianZhao：产业链招商图谱与招商 CRM。"""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = AppContext(config_path)


def _register() -> None:
    import importlib
    import pkgutil

    from . import commands

    for info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(main)


_register()
click_zh.localise_metavars(main)
