"""CRM settings: from the loaded configuration (defaults are the shipped file), bad values refused,
and the administrator's run-time overrides stored in the CRM database, seen by every process."""

from __future__ import annotations

import pytest

from crm import settings_store
from crm.db import unit_of_work
from crm.errors import PermissionDenied
from crm.models import AuditLog, SettingOverride
from crm.services import runtime_settings
from crm.settings import SETTINGS, CrmSettings
from lianzhao.config import ConfigError, build_config, load_config


def test_shipped_config_equals_defaults():
    """The dataclass defaults (used by tests and doctests) are the shipped config.toml's values."""
    assert CrmSettings.from_config(load_config(env={})) == CrmSettings()


def test_overrides_and_labels():
    s = CrmSettings.from_config(
        build_config(
            {
                "crm": {"follow_up_days": 7, "auto_assign": "chain"},
                "four_ones": {"sponsor": "包联区领导", "gate_stage": "签约", "key_investment_min": 5000},
                "security": {"password_composition": False},
            }
        )
    )
    assert s.follow_up_days == 7 and s.auto_assign == "chain"
    assert s.four_ones.labels["sponsor"] == "包联区领导" and s.four_ones.gate_stage == "签约"
    assert s.four_ones.key_investment_min == 5000 and not s.security.password_composition
    assert s.active_stages == ("线索", "接洽", "在谈", "签约", "落地")


@pytest.mark.parametrize(
    "cfg,match",
    [
        ({"security": {"audit_retention_days": 90}}, "180"),
        ({"four_ones": {"gate_stage": "洽谈"}}, "gate_stage"),
        ({"crm": {"contact_kinds": ["拜访", "宴请"]}}, "contact_kinds"),
        ({"crm": {"auto_assign": "random"}}, "auto_assign"),
        ({"crm": {"first_contact_days": 0}}, "正整数"),
        ({"crm": {"stages": ["线索", "搁置"]}}, "重复"),
        ({"security": {"password_min_length": 6}}, "8"),
        ({"web": {"timezone": "Mars/Olympus"}}, "timezone"),
        ({"admin": {"editable": ["crm.follow_up_dayz"]}}, "crm.follow_up_dayz"),
    ],
)
def test_bad_values_refused(cfg, match):
    with pytest.raises(ConfigError, match=match):
        CrmSettings.from_config(build_config(cfg))


def test_wrong_type_is_refused_when_the_file_is_read():
    with pytest.raises(ConfigError, match=r"\[crm\] protection_days 应为数字"):
        build_config({"crm": {"protection_days": "很久"}})


def test_a_partial_dict_is_not_a_configuration():
    """No silent built-in defaults: a dict that did not come through the loader is refused."""
    with pytest.raises(ConfigError, match="load_config"):
        CrmSettings.from_config(
            {"crm": {}, "four_ones": {}, "security": {}, "web": {}, "admin": {"editable": []}}
        )


def test_setting_definitions_parse_and_check():
    days = SETTINGS["crm.follow_up_days"]
    assert days.parse("7") == 7
    for bad, match in (("0", "之间"), ("x", "整数"), ("1.5", "整数")):
        with pytest.raises(ValueError, match=match):
            days.parse(bad)
    assert SETTINGS["four_ones.key_investment_min"].parse("0.5") == 0.5
    with pytest.raises(ValueError, match="取值无效"):
        SETTINGS["crm.auto_assign"].parse("sometimes")


CFG = {"admin": {"editable": ["crm.follow_up_days", "crm.auto_assign", "security.lockout_failures"]}}


def test_saved_settings_are_audited_and_in_force(sf, people):
    cfg = build_config(CFG)
    with unit_of_work(sf) as s:
        changes = runtime_settings.save_settings(
            s,
            people["admin"],
            cfg,
            {"crm.follow_up_days": "7", "crm.auto_assign": "off", "crm.protection_days": "5"},
            ip="10.0.0.1",
        )
    assert changes == {"crm.follow_up_days": 7}  # unchanged and pinned keys are not saved
    with unit_of_work(sf) as s:
        assert {r.key: r.value for r in s.query(SettingOverride)} == {"crm.follow_up_days": 7}
        entry = s.query(AuditLog).filter_by(entity="settings").one()
        assert entry.before == {"crm.follow_up_days": 14} and entry.after == {"crm.follow_up_days": 7}
        assert entry.ip == "10.0.0.1" and entry.actor_id == people["admin"].id
        settings = settings_store.effective_settings(s, cfg)
        assert settings.follow_up_days == 7 and settings.protection_days == 90
        rows = {r.setting.key: r for r in runtime_settings.setting_rows(s, cfg)}
        assert rows["crm.follow_up_days"].value == 7 and rows["crm.follow_up_days"].editable
        assert rows["crm.protection_days"].value == 90 and not rows["crm.protection_days"].editable
        assert runtime_settings.save_settings(s, people["admin"], cfg, {"crm.follow_up_days": "7"}) == {}


def test_only_administrators_change_settings_and_bad_values_write_nothing(sf, people):
    cfg = build_config(CFG)
    with unit_of_work(sf) as s, pytest.raises(PermissionDenied):
        runtime_settings.save_settings(s, people["mgr"], cfg, {"crm.follow_up_days": "7"})
    with unit_of_work(sf) as s, pytest.raises(runtime_settings.SettingsRejected) as info:
        runtime_settings.save_settings(
            s, people["admin"], cfg, {"crm.follow_up_days": "0", "crm.auto_assign": "random"}
        )
    assert len(info.value.errors) == 2 and "跟进间隔" in info.value.errors[0]
    with unit_of_work(sf) as s:
        assert s.query(SettingOverride).count() == 0 and settings_store.read_version(s) == 0


def test_a_change_saved_by_one_process_is_seen_by_the_next_call_of_another(sf, people):
    """Two SettingsSource objects stand for two server processes sharing the CRM database."""
    cfg = build_config(CFG)
    first, second = settings_store.SettingsSource(cfg), settings_store.SettingsSource(cfg)
    with unit_of_work(sf) as s:
        assert first.current(s).follow_up_days == second.current(s).follow_up_days == 14
        cached = second.current(s)
        assert second.current(s) is cached  # unchanged version: nothing rebuilt
    with unit_of_work(sf) as s:
        runtime_settings.save_settings(s, people["admin"], cfg, {"security.lockout_failures": "3"})
    with unit_of_work(sf) as s:
        assert second.current(s).security.lockout_failures == 3
        assert first.current(s).security.lockout_failures == 3


def test_overrides_of_keys_the_file_no_longer_hands_over_are_ignored(sf, people):
    with unit_of_work(sf) as s:
        runtime_settings.save_settings(s, people["admin"], build_config(CFG), {"crm.follow_up_days": "7"})
    pinned = build_config({"admin": {"editable": []}})
    with unit_of_work(sf) as s:
        assert settings_store.effective_settings(s, pinned).follow_up_days == 14
