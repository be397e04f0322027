"""'Today' for an activity is the district's date, not UTC's (QA: refused 00:00-08:00 Beijing)."""

from datetime import date, datetime

from crm.settings import CrmSettings
from lianzhao.config import build_config


def test_local_today_is_the_district_date():
    s = CrmSettings()
    # 2026-11-27 17:30 UTC is already 2026-11-28 01:30 in Beijing.
    assert s.local_today(datetime(2026, 11, 27, 17, 30)) == date(2026, 11, 28)
    assert s.local_today(datetime(2026, 11, 27, 15, 59)) == date(2026, 11, 27)


def test_timezone_comes_from_web_config():
    s = CrmSettings.from_config(build_config({"web": {"timezone": "UTC"}}))
    assert s.local_today(datetime(2026, 11, 27, 17, 30)) == date(2026, 11, 27)
