"""Times for people: the CRM stores naive UTC; pages show the district's clock ([web] timezone).

`localtime` is the Jinja filter every template uses to print a datetime, so no page says "UTC".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"


@lru_cache(maxsize=8)
def zone(name: str | None) -> tzinfo:
    """The configured zone; an unknown name is a configuration error worth stating in Chinese."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"配置项 [web] timezone 的时区「{name}」无效，例如应为 Asia/Shanghai") from exc


def zone_from_config(cfg: dict) -> tzinfo:
    return zone(cfg["web"]["timezone"])


def to_local(value: datetime, tz: tzinfo) -> datetime:
    """A stored datetime (naive means UTC) in the given zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz)


def format_local(value, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a datetime in `tz`; plain dates are printed as they are, None as ''."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return to_local(value, tz).strftime(fmt)
    if isinstance(value, date):
        return value.strftime(fmt)
    return str(value)
