"""CRM settings from config.toml: defaults equal the shipped file; bad values are refused."""

from __future__ import annotations

import pytest

from crm.settings import CrmSettings
from lianzhao.config import ConfigError, load_config


def test_shipped_config_equals_defaults():
    assert CrmSettings.from_config(load_config()) == CrmSettings()


def test_overrides_and_labels():
    s = CrmSettings.from_config(
        {
            "crm": {"follow_up_days": 7, "auto_assign": "chain"},
            "four_ones": {"sponsor": "包联区领导", "gate_stage": "签约", "key_investment_min": 5000},
            "security": {"password_composition": False},
        }
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
        ({"crm": {"protection_days": "很久"}}, "取值错误"),
        ({"security": {"password_min_length": 6}}, "8"),
    ],
)
def test_bad_values_refused(cfg, match):
    with pytest.raises(ConfigError, match=match):
        CrmSettings.from_config(cfg)
