"""The calendar as an iCalendar (.ics) file, with the `icalendar` package (RFC 5545).

What the calendar programs in use need (Outlook, WPS 日历, iOS/Android): items are whole days,
so DTSTART is a DATE (VALUE=DATE) with DTEND the next day and Outlook's all-day flag; no time is
shifted by a client in another zone. The file still names its zone (VTIMEZONE Asia/Shanghai,
X-WR-TIMEZONE) for programs that ask. UIDs are stable (activity or lead id + the kind of item),
so importing or subscribing again updates items instead of duplicating them. Items come from
crm.queries.calendar, already masked for readers who may not see contact details in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event, Timezone, TimezoneStandard

from crm.models import utcnow

PRODID = "-//LianZhao//链招 招商日程//ZH"
UID_DOMAIN = "lianzhao"


def _timezone(tzid: str) -> Timezone:
    """A fixed-offset VTIMEZONE (China has had no daylight saving time since 1991)."""
    tz = Timezone()
    tz.add("tzid", tzid)
    std = TimezoneStandard()
    std.add("dtstart", datetime(1970, 1, 1))
    std.add("tzoffsetfrom", timedelta(hours=8))
    std.add("tzoffsetto", timedelta(hours=8))
    std.add("tzname", "CST")
    tz.add_component(std)
    return tz


def calendar_bytes(
    items: Iterable[Any],
    *,
    name: str,
    tzid: str,
    lead_url: Callable[[int], str],
    now: datetime | None = None,
) -> bytes:
    """The .ics bytes of calendar items (crm.queries.calendar.Item)."""
    stamp = (now or utcnow()).replace(tzinfo=UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tzid)
    if tzid == "Asia/Shanghai":
        cal.add_component(_timezone(tzid))
    for item in items:
        text = item.text
        event = Event()
        event.add("uid", f"{item.uid}@{UID_DOMAIN}")
        event.add("dtstamp", stamp)  # UTC: written with Z
        event.add("dtstart", item.day)  # a date: VALUE=DATE
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        url = lead_url(item.lead_id)
        event.add("description", f"{item.kind_label}：{text}\n负责人：{item.owner_name}\n线索：{url}")
        event.add("url", url)
        event.add("sequence", item.sequence)
        event.add("transp", "TRANSPARENT")
        event.add("categories", [item.kind_label])
        event.add("x-microsoft-cdo-alldayevent", "TRUE")
        cal.add_component(event)
    return cal.to_ical()
