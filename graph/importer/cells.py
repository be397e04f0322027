"""Cell parsers: each returns a value or raises ValueError with a Chinese message for the row."""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata

from ..model import QUALIFICATIONS

_LIST_SPLIT = re.compile(r"[；;、,，\n]+")
_TRUE = {"是", "true", "1", "y", "yes", "本地"}
_FALSE = {"否", "false", "0", "n", "no", "外地", "非本地"}
_YEAR = re.compile(r"^(\d{4})(?:\.0+|[-/.年].*)?$")


def parse_number(text: str, label: str, *, integer: bool = False) -> float | int | None:
    """「1,234.5」「１２３４」 -> number; empty -> None; negative or not a number -> ValueError.

    >>> parse_number("1,234.5万元", "营业收入"), parse_number("１２３４", "员工人数", integer=True)
    (1234.5, 1234)
    >>> parse_number("-3", "注册资本")
    Traceback (most recent call last):
        ...
    ValueError: 注册资本不能为负数：-3
    """
    if not text:
        return None
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").replace("_", "")
    if cleaned.endswith("万元"):
        cleaned = cleaned[:-2]
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{label}「{text}」不是有效数字") from None
    if not math.isfinite(value):
        raise ValueError(f"{label}「{text}」不是有效数字")
    if value < 0:
        raise ValueError(f"{label}不能为负数：{text}")
    if integer:
        if not value.is_integer():
            raise ValueError(f"{label}应为整数：{text}")
        return int(value)
    return value


def parse_bool(text: str, label: str = "是否本地") -> bool | None:
    if not text:
        return None
    key = unicodedata.normalize("NFKC", text).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{label}应为 是/否（或 true/false、1/0、Y/N），实际为「{text}」")


def parse_year(text: str, *, today: _dt.date | None = None) -> int | None:
    if not text:
        return None
    match = _YEAR.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(f"成立年份「{text}」不是有效年份")
    year = int(match.group(1))
    last = (today or _dt.date.today()).year
    if not 1900 <= year <= last:
        raise ValueError(f"成立年份应在 1900 到 {last} 之间：{text}")
    return year


def parse_qualifications(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    found: list[str] = []
    unknown: list[str] = []
    for part in _LIST_SPLIT.split(unicodedata.normalize("NFKC", text)):
        part = part.strip()
        if not part:
            continue
        if part in QUALIFICATIONS:
            if part not in found:
                found.append(part)
        else:
            unknown.append(part)
    if unknown:
        raise ValueError(f"未知资质「{'、'.join(unknown)}」（可选：{'、'.join(QUALIFICATIONS)}）")
    return tuple(found)
