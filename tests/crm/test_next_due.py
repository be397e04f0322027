"""`leads.next_due_on`, the stored next-step date of a lead's latest activity (issue 16): it holds
what the rule computes from the activities after every write that changes them, the migration
backfills it, and the work order ranked by it is the order the rule gives (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

from alembic import command
from sqlalchemy import select, update

from crm.db import alembic_config, unit_of_work, upgrade
from crm.models import Activity, Lead
from crm.queries.worklist import WorkFilter, worklist, worklist_rows
from crm.services import activities, lead_merge, leads

NOW = datetime(2026, 12, 1, 9, 0)
EARLY = datetime(2025, 1, 1)  # 首报首谈 protection of a lead registered then has run out


def _lead(sf, actor, settings, name, now=EARLY, **extra):
    with unit_of_work(sf) as s:
        return leads.create_lead(
            s, actor, {"company_name": name, "sector_id": "medical", **extra}, settings=settings, now=now
        ).id


def _act(sf, actor, settings, lead_id, day, due=None):
    with unit_of_work(sf) as s:
        activities.add_activity(
            s,
            actor,
            lead_id,
            kind="电话",
            occurred_on=day,
            outcome="沟通了投资意向",
            due_date=due,
            settings=settings,
            now=NOW,
        )


def _rule(sf) -> dict[int, date | None]:
    """The rule computed in Python from the activities: the latest by (occurred_on, id)."""
    with unit_of_work(sf) as s:
        out: dict[int, date | None] = {lead_id: None for lead_id in s.scalars(select(Lead.id))}
        latest: dict[int, tuple[date, int]] = {}
        for act in s.scalars(select(Activity)):
            key = (act.occurred_on, act.id)
            if act.lead_id not in latest or key > latest[act.lead_id]:
                latest[act.lead_id] = key
                out[act.lead_id] = act.due_date
        return out


def _stored(sf) -> dict[int, date | None]:
    with unit_of_work(sf) as s:
        return dict(s.execute(select(Lead.id, Lead.next_due_on)).all())  # type: ignore[arg-type]


def _history(sf, people, settings) -> dict[str, int]:
    """Leads whose activities exercise the rule: ties on a day, an older day recorded later, a
    latest activity without due date, a lead without activities, and a merge."""
    rec = people["rec"]
    ids = {name: _lead(sf, rec, settings, name) for name in ("甲公司", "乙公司", "丙公司", "丁公司")}
    a, b, c = ids["甲公司"], ids["乙公司"], ids["丙公司"]
    _act(sf, rec, settings, a, "2026-11-20", "2026-12-05")
    _act(sf, rec, settings, a, "2026-11-25", "2026-12-10")
    _act(sf, rec, settings, a, "2026-11-25", "2026-12-03")  # same day, recorded later: it counts
    _act(sf, rec, settings, a, "2026-11-10", "2026-11-11")  # an older visit recorded now: it does not
    _act(sf, rec, settings, b, "2026-11-01", "2026-11-08")
    _act(sf, rec, settings, b, "2026-11-02")  # the latest has no next step: no date
    _act(sf, rec, settings, c, "2026-11-28", "2026-12-20")
    # Two leads of one firm, merged: the survivor's latest is the other's activity.
    keep = _lead(sf, rec, settings, "戊公司", company_id="c-merge")
    gone = _lead(sf, people["rec2"], settings, "戊公司", now=NOW, company_id="c-merge")
    _act(sf, rec, settings, keep, "2026-11-05", "2026-11-30")
    _act(sf, people["rec2"], settings, gone, "2026-11-27", "2026-12-15")
    ids.update(keep=keep, gone=gone)
    return ids


def test_stored_next_due_follows_every_activity_write(sf, people, settings):
    ids = _history(sf, people, settings)
    stored = _stored(sf)
    assert stored == _rule(sf)
    assert stored[ids["甲公司"]] == date(2026, 12, 3)
    assert stored[ids["乙公司"]] is None
    assert stored[ids["丁公司"]] is None
    assert stored[ids["gone"]] == date(2026, 12, 15)
    with unit_of_work(sf) as s:
        lead_merge.merge_leads(s, people["mgr"], ids["keep"], ids["gone"], settings=settings, now=NOW)
    stored = _stored(sf)
    assert stored == _rule(sf)
    assert (stored[ids["keep"]], stored[ids["gone"]]) == (date(2026, 12, 15), None)


def test_refresh_does_not_bump_the_version_and_loaded_leads_see_the_new_date(sf, people, settings):
    rec = people["rec"]
    lead_id = _lead(sf, rec, settings, "己公司")
    with unit_of_work(sf) as s:
        lead = s.get(Lead, lead_id)
        assert lead is not None and lead.next_due_on is None
        version = lead.version
        activities.add_activity(
            s, rec, lead_id, kind="拜访", occurred_on="2026-11-30", outcome="见面", due_date="2026-12-09",
            settings=settings, now=NOW,
        )  # fmt: skip
        assert lead.next_due_on == date(2026, 12, 9)  # the same object, in the same transaction
        assert lead.version == version + 1  # the activity's own touch of the lead, not two


def test_migration_backfills_the_rule(engine, sf, people, settings):
    _history(sf, people, settings)
    expected = _rule(sf)
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0014")  # the column goes, the activities stay
    with unit_of_work(sf) as s:
        assert len(s.execute(select(Activity.id)).all()) == 9
    upgrade(engine)
    assert _stored(sf) == expected


def test_work_order_is_the_rule_order(sf, people, settings):
    """The lists ranked by the stored column give the order the rule gives: active before closed,
    overdue first, nearest next-step date (none last), newest change, highest id."""
    ids = _history(sf, people, settings)
    with unit_of_work(sf) as s:
        lead_merge.merge_leads(s, people["mgr"], ids["keep"], ids["gone"], settings=settings, now=NOW)
        # Spread the change times so the later keys matter, and close one lead.
        for n, lead_id in enumerate(sorted(ids.values())):
            s.execute(update(Lead).where(Lead.id == lead_id).values(updated_at=datetime(2026, 11, 1 + n)))
        s.execute(update(Lead).where(Lead.id == ids["丙公司"]).values(stage=settings.all_stages[-1]))
    due = _rule(sf)
    active = set(settings.active_stages)
    for actor, f in (
        (people["rec"], WorkFilter(scope="mine")),
        (people["mgr"], WorkFilter(scope="team")),
        (people["leader"], WorkFilter(scope="all")),
    ):
        with unit_of_work(sf) as s:
            page = worklist(s, actor, f, settings, per_page=200, now=NOW)
            rows = worklist_rows(s, actor, f, settings, per_page=200, now=NOW)
            info = {r.lead.id: (r.lead.stage, r.overdue, r.lead.updated_at) for r in page.rows}
        got = [r.lead.id for r in page.rows]
        assert got == [r.id for r in rows.rows]
        assert [r.next_due for r in page.rows] == [due[i] for i in got] == [r.next_due for r in rows.rows]

        def key(i: int) -> tuple:
            stage, late, changed = info[i]
            d = due[i]
            return (stage not in active, not late, d is None, d or date.min, -changed.timestamp(), -i)

        assert got == sorted(got, key=key)
        assert len(got) >= 3
