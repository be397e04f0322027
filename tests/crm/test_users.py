"""Users, teams, password policy and login lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.db import unit_of_work
from crm.errors import PermissionDenied, ValidationError
from crm.models import AuditLog, User, utcnow
from crm.passwords import password_problems
from crm.services import users as user_svc
from crm.services._common import SYSTEM
from crm.settings import CrmSettings, SecurityPolicy

SETTINGS = CrmSettings()  # the built-in rules, passed explicitly (services need settings)

PASSWORD = "Zhaoshang#2026"  # as in conftest.people


def test_password_policy_composition_switch():
    strict = SecurityPolicy(password_min_length=10, password_composition=True)
    asvs = SecurityPolicy(password_min_length=10, password_composition=False)
    assert password_problems("correcthorsebattery", strict)  # one class only
    assert password_problems("correcthorsebattery", asvs) == []
    assert password_problems("Abcdef12!x", strict) == []
    assert password_problems("Ab1!", strict)  # too short
    assert "不能包含用户名" in password_problems("Zhangsan#2026x", asvs, "zhangsan")


def test_create_user_requires_admin_and_valid_input(sf, people):
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            user_svc.create_user(
                s,
                people["mgr"],
                username="x1",
                display_name="x",
                role="招商专员",
                password=PASSWORD,
                sector_id="medical",
                settings=SETTINGS,
            )
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="已存在"):
            user_svc.create_user(
                s,
                people["admin"],
                username="rec",
                display_name="x",
                role="recruiter",
                password=PASSWORD,
                sector_id="medical",
                settings=SETTINGS,
            )
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="安全策略"):
            user_svc.create_user(
                s,
                people["admin"],
                username="weak",
                display_name="x",
                role="recruiter",
                password="password123",
                sector_id="medical",
                settings=SETTINGS,
            )
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="产业组"):
            user_svc.create_user(
                s,
                people["admin"],
                username="noteam",
                display_name="x",
                role="招商经理",
                password=PASSWORD,
                settings=SETTINGS,
            )
    with unit_of_work(sf) as s:
        u = user_svc.create_user(
            s,
            people["admin"],
            username="newbie",
            display_name="新人",
            role="招商专员",
            password=PASSWORD,
            sector_id="nev",
            ip="10.0.0.9",
            settings=SETTINGS,
        )
        assert u.team.name == "新能源智能汽车招商组" and u.role == "recruiter"
    with unit_of_work(sf) as s:
        entry = s.scalars(
            select(AuditLog).where(AuditLog.entity == "user", AuditLog.entity_id == str(u.id))
        ).one()
        assert entry.action == "create" and entry.ip == "10.0.0.9"
        assert entry.actor_id == people["admin"].id and entry.after["username"] == "newbie"
        assert "password_hash" not in entry.after


def test_authenticate_and_lockout(sf, people):
    settings = CrmSettings()
    t0 = utcnow()
    with unit_of_work(sf) as s:
        ok = user_svc.authenticate(s, "rec", PASSWORD, settings=settings, ip="1.2.3.4", now=t0)
        assert ok.ok and ok.user.id == people["rec"].id
    with unit_of_work(sf) as s:
        assert not user_svc.authenticate(s, "nobody", PASSWORD, settings=settings).ok
    for i in range(settings.security.lockout_failures):
        with unit_of_work(sf) as s:
            res = user_svc.authenticate(s, "rec", "wrong", settings=settings, now=t0)
            assert not res.ok
    assert "锁定" in res.message
    # Locked: even the right password is refused until the lock expires.
    with unit_of_work(sf) as s:
        res = user_svc.authenticate(s, "rec", PASSWORD, settings=settings, now=t0 + timedelta(minutes=1))
        assert not res.ok and "锁定" in res.message
    later = t0 + timedelta(minutes=settings.security.lockout_minutes + 1)
    with unit_of_work(sf) as s:
        assert user_svc.authenticate(s, "rec", PASSWORD, settings=settings, now=later).ok
    with unit_of_work(sf) as s:
        failures = s.scalars(select(AuditLog).where(AuditLog.action == "login_failed")).all()
        assert len(failures) >= settings.security.lockout_failures + 2


def test_disable_user_blocks_login_and_actions(sf, people):
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            user_svc.disable_user(s, people["rec"], people["rec2"].id)
    with unit_of_work(sf) as s:
        user_svc.disable_user(s, people["admin"], people["rec"].id)
    with unit_of_work(sf) as s:
        res = user_svc.authenticate(s, "rec", PASSWORD, settings=SETTINGS)
        assert not res.ok and "停用" in res.message
        assert user_svc.load_for_login_session(s, people["rec"].id) is None
    with unit_of_work(sf) as s:
        # The detached object still says active; the service reloads and refuses.
        with pytest.raises(PermissionDenied, match="停用"):
            user_svc.list_users(s, people["rec"])
    with unit_of_work(sf) as s:
        names = [u.username for u in user_svc.list_users(s, people["admin"])]
        assert "rec" in names
        names = [u.username for u in user_svc.list_users(s, people["mgr"])]
        assert "rec" not in names


def test_reset_and_change_password(sf, people):
    new = "Neue!Passwort9"
    with unit_of_work(sf) as s:
        user_svc.reset_password(s, SYSTEM, people["rec"].id, new, settings=SETTINGS)
    with unit_of_work(sf) as s:
        res = user_svc.authenticate(s, "rec", new, settings=SETTINGS)
        assert res.ok and res.must_change_password
    with unit_of_work(sf) as s:
        with pytest.raises(ValidationError, match="原密码"):
            user_svc.change_password(s, people["rec"], "bad", "Another#Pass77", settings=SETTINGS)
    with unit_of_work(sf) as s:
        user_svc.change_password(s, people["rec"], new, "Another#Pass77", settings=SETTINGS)
    with unit_of_work(sf) as s:
        res = user_svc.authenticate(s, "rec", "Another#Pass77", settings=SETTINGS)
        assert res.ok and not res.must_change_password
        assert s.get(User, people["rec"].id).password_hash != new
