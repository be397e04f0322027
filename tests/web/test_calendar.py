"""日程: month and week views per person and team, permissions from the lead read rule, the .ics
export parsed back with icalendar (events, all-day dates, stable UIDs, Chinese summaries,
masking by role) and the revocable subscription address."""

from __future__ import annotations

import re
from datetime import date, timedelta

import icalendar
from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import Team, utcnow
from crm.services import activities
from crm.services.users import get_by_username

from .conftest import SETTINGS, post

NEXT = "拜访王总 13812345678，带上政策清单"


def _today():
    return SETTINGS.local_today(utcnow())


def _plan(env, lead_id, username="zhuanyuan", days=3, next_step=NEXT):
    with unit_of_work(env.session_factory) as s:
        act = activities.add_activity(
            s, get_by_username(s, username), lead_id, kind="电话", outcome="约定拜访",
            next_step=next_step, due_date=_today() + timedelta(days=days), settings=SETTINGS,
        )  # fmt: skip
        return act.id


def _team(env, sector):
    with unit_of_work(env.session_factory) as s:
        return s.scalars(select(Team.id).where(Team.sector_id == sector)).one()


def _events(data: bytes):
    return [c for c in icalendar.Calendar.from_ical(data).walk("VEVENT")]


def test_month_view_shows_the_planned_visit_masked_for_a_recruiter(env, leads, auth):
    act_id = _plan(env, leads.own)
    due = _today() + timedelta(days=3)
    client = auth.login("zhuanyuan")
    page = client.get(f"/calendar/?view=month&date={due.isoformat()}").get_data(as_text=True)
    assert 'data-testid="calendar-grid"' in page and "精控电驱科技" in page
    assert f'data-day="{due.isoformat()}"' in page
    assert "138****5678" in page and "13812345678" not in page
    assert f"{due.year} 年 {due.month} 月" in page
    assert act_id
    # the week view of the same day shows it too; a week later it is gone
    week = client.get(f"/calendar/?view=week&date={due.isoformat()}").get_data(as_text=True)
    assert "精控电驱科技" in week and week.count('class="cal-grid week"') == 1
    later = client.get(f"/calendar/?view=week&date={(due + timedelta(days=14)).isoformat()}")
    assert "拜访王总" not in later.get_data(as_text=True)


def test_ics_export_parses_with_stable_uids(env, leads, auth):
    act_id = _plan(env, leads.own)
    due = _today() + timedelta(days=3)
    client = auth.login("zhuanyuan")
    resp = client.get(f"/calendar/export.ics?view=month&date={due.isoformat()}")
    assert resp.status_code == 200 and resp.mimetype == "text/calendar"
    assert "attachment" in resp.headers["Content-Disposition"] and resp.headers["Cache-Control"] == "no-store"
    cal = icalendar.Calendar.from_ical(resp.data)
    assert cal["X-WR-TIMEZONE"] == "Asia/Shanghai"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    uid = f"lianzhao-activity-{act_id}-next-step@lianzhao"
    event = events[uid]
    assert event["DTSTART"].params.get("VALUE") == "DATE" or type(event.decoded("DTSTART")) is date
    assert event.decoded("DTSTART") == due and event.decoded("DTEND") == due + timedelta(days=1)
    assert str(event["SUMMARY"]).startswith("下一步：精控电驱科技")
    assert "13812345678" not in resp.get_data(as_text=True) and "138****5678" in str(event["SUMMARY"])
    assert f"/leads/{leads.own}" in str(event["URL"])
    # a second download carries the same UIDs (a calendar program updates, not duplicates)
    again = client.get(f"/calendar/export.ics?view=month&date={due.isoformat()}")
    assert {str(e["UID"]) for e in _events(again.data)} == set(events)
    # the first-contact due date of a lead not contacted yet is a whole-day item too, one per lead
    first_due = _today() + timedelta(days=SETTINGS.first_contact_days)
    week = _events(client.get(f"/calendar/export.ics?view=week&date={first_due.isoformat()}").data)
    due_events = {str(e["UID"]): e for e in week if "contact-due" in str(e["UID"])}
    key_due = due_events[f"lianzhao-lead-{leads.key}-contact-due@lianzhao"]
    assert key_due.decoded("DTSTART") == first_due
    assert str(key_due["SUMMARY"]) == "联系到期：苏州功率芯片 · 首次接触到期"


def test_manager_sees_full_numbers_and_the_team(env, leads, auth):
    _plan(env, leads.own)
    due = _today() + timedelta(days=3)
    client = auth.login("jingli")
    page = client.get(f"/calendar/?view=week&date={due.isoformat()}").get_data(as_text=True)
    assert "新能源" in page or "精控电驱科技" in page
    assert "13812345678" in page
    data = client.get(f"/calendar/export.ics?view=week&date={due.isoformat()}").data
    assert any("13812345678" in str(e["SUMMARY"]) for e in _events(data))


def test_another_team_or_person_is_refused(env, leads, auth, as_user):
    _plan(env, leads.other, username="zhuanyuan2", next_step="拜访天津植入材料")
    due = _today() + timedelta(days=3)
    client = auth.login("zhuanyuan")
    medical = _team(env, "medical")
    with unit_of_work(env.session_factory) as s:
        other = get_by_username(s, "zhuanyuan2").id
    assert client.get(f"/calendar/?team={medical}").status_code == 403
    assert client.get(f"/calendar/?user={other}").status_code == 403
    assert client.get(f"/calendar/export.ics?team={medical}").status_code == 403
    page = client.get(f"/calendar/?view=month&date={due.isoformat()}").get_data(as_text=True)
    assert "天津植入材料" not in page
    # the other team's lead itself is refused too
    assert client.get(f"/leads/{leads.other}").status_code == 403
    # the manager of the 新能源 team may not open the medical team's calendar; the leader may
    manager = as_user("jingli")
    assert manager.get(f"/calendar/?team={medical}").status_code == 403
    leader = as_user("lingdao")
    page = leader.get(f"/calendar/?team={medical}&view=month&date={due.isoformat()}").get_data(as_text=True)
    assert "天津植入材料" in page
    assert as_user("admin").get("/calendar/").status_code == 403


def test_subscription_feed_is_revocable(env, leads, auth, app):
    _plan(env, leads.own)
    client = auth.login("zhuanyuan")
    resp = post(client, "/calendar/feed")
    assert resp.status_code == 200
    url = re.search(r'value="(http://[^"]+/calendar/feed/[^"]+\.ics)"', resp.get_data(as_text=True)).group(1)
    path = url.split("localhost", 1)[1]
    anonymous = app.test_client()
    feed = anonymous.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    assert any("精控电驱科技" in str(e["SUMMARY"]) for e in _events(feed.data))
    assert "13812345678" not in feed.get_data(as_text=True)
    assert anonymous.get(path.replace(".ics", "x.ics")).status_code == 404
    # a new address replaces the old one; revoking stops both
    post(client, "/calendar/feed")
    assert anonymous.get(path).status_code == 404
    assert post(client, "/calendar/feed/revoke").status_code == 302
    assert client.get("/calendar/").get_data(as_text=True).count("calendar-feed-revoke") == 0


def test_feed_forms_need_csrf(env, leads, auth):
    client = auth.login("zhuanyuan")
    assert client.post("/calendar/feed").status_code in (400, 403)


def test_nav_has_the_calendar_for_business_roles(env, auth):
    page = auth.login("zhuanyuan").get("/leads/").get_data(as_text=True)
    assert 'href="/calendar/"' in page
