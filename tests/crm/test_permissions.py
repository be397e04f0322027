"""Permission rules per role on own, team, other-team and pool leads (pure) and through services."""

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from crm import permissions as perm
from crm.db import unit_of_work
from crm.errors import PermissionDenied
from crm.queries.worklist import WorkFilter, worklist
from crm.services import activities, leads
from crm.settings import CrmSettings as _CrmSettings

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

MED, ELEC = 1, 2
rec = NS(id=10, role="recruiter", team_id=MED, is_active=True)
mgr = NS(id=20, role="manager", team_id=MED, is_active=True)
leader = NS(id=30, role="leader", team_id=None, is_active=True)
admin = NS(id=40, role="admin", team_id=None, is_active=True)
gone = NS(id=11, role="recruiter", team_id=MED, is_active=False)

own = NS(owner_id=10, team_id=MED)  # rec's own lead
teammate = NS(owner_id=12, team_id=MED)  # another medical recruiter's lead
other_team = NS(owner_id=50, team_id=ELEC)  # an electronics recruiter's lead
pool_med = NS(owner_id=None, team_id=MED)
pool_elec = NS(owner_id=None, team_id=ELEC)
pool_none = NS(owner_id=None, team_id=None)  # a pool lead no team holds yet
inactive_owner = NS(owner_id=11, team_id=MED)

CASES = {
    # user, lead: (read, edit, comment, assign)
    ("rec", "own"): (1, 1, 1, 0),
    ("rec", "teammate"): (0, 0, 0, 0),
    ("rec", "other_team"): (0, 0, 0, 0),
    ("rec", "pool_med"): (1, 1, 1, 0),
    # Another team's pool is not this recruiter's pool: not listed, not opened (it could not
    # be claimed anyway); a pool lead of no team is everyone's.
    ("rec", "pool_elec"): (0, 0, 0, 0),
    ("rec", "pool_none"): (1, 1, 1, 0),
    ("mgr", "own"): (1, 1, 1, 1),
    ("mgr", "teammate"): (1, 1, 1, 1),
    ("mgr", "other_team"): (0, 0, 0, 0),
    ("mgr", "pool_med"): (1, 1, 1, 1),
    ("mgr", "pool_elec"): (0, 0, 0, 0),
    ("mgr", "pool_none"): (1, 1, 1, 1),
    ("leader", "own"): (1, 0, 1, 0),
    ("leader", "other_team"): (1, 0, 1, 0),
    ("leader", "pool_elec"): (1, 0, 1, 0),
    ("admin", "own"): (0, 0, 0, 0),
    ("admin", "pool_med"): (0, 0, 0, 0),
    ("gone", "inactive_owner"): (0, 0, 0, 0),
}


@pytest.mark.parametrize("user_key,lead_key", list(CASES))
def test_role_matrix(user_key, lead_key):
    user, lead = globals()[user_key], globals()[lead_key]
    expected = CASES[(user_key, lead_key)]
    got = (
        perm.can_read(user, lead),
        perm.can_edit(user, lead),
        perm.can_comment(user, lead),
        perm.can_assign(user, lead),
    )
    assert tuple(int(x) for x in got) == expected


def test_claim_flag_and_assignee_rules():
    assert perm.can_claim(rec, pool_med) and not perm.can_claim(rec, pool_elec)
    assert not perm.can_claim(rec, own) and not perm.can_claim(mgr, pool_med)
    assert perm.can_flag_key(mgr, teammate) and not perm.can_flag_key(rec, own)
    assert perm.can_be_assignee(mgr, rec) and not perm.can_be_assignee(mgr, gone)
    assert not perm.can_be_assignee(mgr, NS(id=51, role="recruiter", team_id=ELEC, is_active=True))
    assert not perm.can_be_assignee(mgr, leader)
    assert perm.can_review_target_lists(leader) and not perm.can_review_target_lists(mgr)
    assert perm.can_manage_target_lists(mgr) and not perm.can_manage_target_lists(rec)
    assert perm.can_manage_users(admin) and not perm.can_manage_users(leader)


def _lead(sf, actor, name):
    with unit_of_work(sf) as s:
        return leads.create_lead(s, actor, {"company_name": name, "channel": "精准补链"}, settings=SETTINGS)


def test_services_enforce_permissions_on_every_object(sf, people):
    own_lead = _lead(sf, people["rec"], "示例数据·甲医疗器械有限公司")
    mate_lead = _lead(sf, people["rec2"], "示例数据·乙医疗器械有限公司")
    elec_lead = _lead(sf, people["rec_e"], "示例数据·丙半导体有限公司")
    pool_lead = _lead(sf, people["mgr"], "示例数据·丁生物科技有限公司")
    assert pool_lead.owner_id is None and pool_lead.team_id == people["mgr"].team_id

    def can(actor, fn):
        try:
            with unit_of_work(sf) as s:
                fn(s, actor)
            return True
        except PermissionDenied:
            return False

    read = lambda lid: lambda s, a: leads.get_lead(s, a, lid)
    edit = lambda lid: lambda s, a: leads.update_lead(s, a, lid, {"notes": f"by {a.id}"}, settings=SETTINGS)
    move = lambda lid: lambda s, a: leads.transition(s, a, lid, "搁置", "测试", settings=SETTINGS)
    act = lambda lid: (
        lambda s, a: activities.add_activity(
            s, a, lid, kind="电话", outcome="约定下周面谈", settings=SETTINGS
        )
    )
    note = lambda lid: lambda s, a: activities.add_comment(s, a, lid, "请抓紧推进")

    p = people
    assert [can(p["rec"], read(x.id)) for x in (own_lead, mate_lead, elec_lead, pool_lead)] == [1, 0, 0, 1]
    assert [can(p["rec"], edit(x.id)) for x in (own_lead, mate_lead, elec_lead, pool_lead)] == [1, 0, 0, 1]
    assert [can(p["rec"], act(x.id)) for x in (own_lead, mate_lead, elec_lead)] == [1, 0, 0]
    assert [can(p["mgr"], read(x.id)) for x in (own_lead, mate_lead, elec_lead, pool_lead)] == [1, 1, 0, 1]
    assert [can(p["mgr"], edit(x.id)) for x in (own_lead, mate_lead, elec_lead)] == [1, 1, 0]
    assert [can(p["mgr_e"], read(x.id)) for x in (own_lead, elec_lead, pool_lead)] == [0, 1, 0]
    assert [can(p["rec_e"], read(x.id)) for x in (pool_lead, elec_lead)] == [0, 1]
    assert [can(p["leader"], read(x.id)) for x in (own_lead, mate_lead, elec_lead, pool_lead)] == [1, 1, 1, 1]
    assert [can(p["leader"], edit(x.id)) for x in (own_lead, elec_lead)] == [0, 0]
    assert can(p["leader"], note(elec_lead.id)) and not can(p["leader"], act(elec_lead.id))
    assert not can(p["leader"], move(own_lead.id))
    assert [can(p["admin"], read(x.id)) for x in (own_lead, pool_lead)] == [0, 0]
    assert not can(p["rec"], note(mate_lead.id))
    assert can(p["rec2"], move(mate_lead.id)) and not can(p["rec"], move(mate_lead.id))
    # Lists apply the same rule in SQL.
    with unit_of_work(sf) as s:
        names = lambda a: {l.id for l in worklist(s, a, WorkFilter(scope="all"), SETTINGS, per_page=50).items}
        assert names(p["rec"]) == {own_lead.id, pool_lead.id}
        assert names(p["mgr"]) == {own_lead.id, mate_lead.id, pool_lead.id}
        assert names(p["mgr_e"]) == {elec_lead.id}  # the medical team's pool is not theirs
        assert names(p["rec_e"]) == {elec_lead.id}
        pool_only = WorkFilter(scope="pool")
        assert {l.id for l in worklist(s, p["rec_e"], pool_only, SETTINGS).items} == set()
        assert {l.id for l in worklist(s, p["leader"], pool_only, SETTINGS).items} == {pool_lead.id}
        assert names(p["leader"]) == {own_lead.id, mate_lead.id, elec_lead.id, pool_lead.id}
        assert names(p["admin"]) == set()
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            leads.create_lead(s, p["leader"], {"company_name": "示例数据·戊公司"}, settings=SETTINGS)
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied, match="重点项目"):
            leads.update_lead(s, p["rec"], own_lead.id, {"key_flag": True}, settings=SETTINGS)
    with unit_of_work(sf) as s:
        assert leads.update_lead(s, p["mgr"], own_lead.id, {"key_flag": True}, settings=SETTINGS).key_flag
