"""Chinese for click's own messages (usage, errors, help headings), so `lianzhao` speaks one language.

click wraps its strings in gettext (`from gettext import gettext as _` in each module) and looks
the module-level `_`/`ngettext` up on every call. `install()` points those names at a small
catalogue built in code: no .mo files, no locale set-up, and untranslated strings pass through.
"""

from __future__ import annotations

import importlib
import re

import click

ZH = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "位置参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行「{command} {option}」查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少子命令。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "Did you mean {possibility}?": "您要找的是不是 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（您要找的是不是其中之一：{possibilities}？）",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Option {name!r} does not take a value.": "选项 {name!r} 不接受取值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个取值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个取值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个取值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个取值，实际只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个取值，实际给了 {len} 个。",
    "{value!r} is not {choice}.": "{value!r} 不是可选值 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值 {choices} 之中。",
    "Choose from:\n\t{choices}": "可选值：\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字。",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是/否取值，可用：{states}",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合以下任一格式：{formats}。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是目录。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，不是文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "Aborted!": "已中止。",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经确认，直接执行。",
    "unknown error": "未知错误",
    "Value must be an iterable.": "取值必须是可迭代的。",
}

# Usage-line placeholders are plain attributes, not gettext strings.
OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."

_MODULES = (
    "core",
    "exceptions",
    "parser",
    "types",
    "decorators",
    "formatting",
    "termui",
    "utils",
    "shell_completion",
    "_termui_impl",
)


def gettext(message: str) -> str:
    return ZH.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


class ZhHelpFormatter(click.HelpFormatter):
    """Section headings end in a full-width colon: 选项：, 命令：."""

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")


class ZhContext(click.Context):
    formatter_class = ZhHelpFormatter


_orig_missing_format = click.exceptions.MissingParameter.format_message


def _missing_format(self) -> str:
    """click ends 缺少选项 '--chain' with an ASCII period it adds itself; use 。 instead."""
    return re.sub(r"\.( |$)", "。", _orig_missing_format(self), count=1)


def install() -> None:
    """Point click's gettext names at the catalogue (idempotent; affects this process only)."""
    click.exceptions.MissingParameter.format_message = _missing_format
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - a module missing from another click version
            continue
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext


def localise_metavars(command: click.Command) -> None:
    """[OPTIONS] and COMMAND [ARGS]... in usage lines, for a command and all its subcommands."""
    command.context_class = ZhContext
    if command.options_metavar == "[OPTIONS]":
        command.options_metavar = OPTIONS_METAVAR
    if isinstance(command, click.Group):
        if command.subcommand_metavar in ("COMMAND [ARGS]...", "COMMAND1 [ARGS]... [COMMAND2 [ARGS]...]..."):
            command.subcommand_metavar = SUBCOMMAND_METAVAR
        for sub in command.commands.values():
            localise_metavars(sub)
