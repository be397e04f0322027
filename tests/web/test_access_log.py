"""The audit log records views of personal data and exports (issue 17, item 3)."""

from __future__ import annotations

from crm.db import unit_of_work
from crm.models import AuditLog
from crm.services import target_lists
from crm.services.users import get_by_username


def _entries(env, action):
    with unit_of_work(env.session_factory) as s:
        return [(e.entity, e.entity_id, e.actor_name) for e in s.query(AuditLog).filter_by(action=action)]


def test_lead_views_and_exports_are_audited(env, leads, as_user):
    manager = as_user("jingli")
    assert manager.get(f"/leads/{leads.own}").status_code == 200
    assert ("lead_view", str(leads.own), "jingli") in _entries(env, "view")
    with unit_of_work(env.session_factory) as s:
        list_id = target_lists.create_draft(s, get_by_username(s, "jingli"), sector_id="nev").id
    assert manager.get(f"/targets/lists/{list_id}/export.xlsx").status_code == 200
    assert manager.get("/targets/export.xlsx").status_code == 200
    exports = _entries(env, "export")
    assert ("target_list", str(list_id), "jingli") in exports
    assert any(entity == "ranking" for entity, _, _ in exports)


def test_a_refused_view_is_not_logged_as_a_view(env, leads, as_user):
    assert as_user("zhuanyuan2").get(f"/leads/{leads.own}").status_code in (403, 404)
    assert _entries(env, "view") == []
