"""The masking rule (个人信息保护法) and the [contacts] policy: one place, every shape of number."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.masking import (
    ContactPolicy,
    contact_values,
    mask_email,
    mask_landline,
    mask_mobile,
    mask_text,
    mask_wechat,
)
from graph.errors import ConfigError
from lianzhao.config import build_config


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("13812345678", "138****5678"), ("", ""), (None, ""), ("12", "**")],
)
def test_mobile(raw, masked):
    assert mask_mobile(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("010-81234567", "010-****4567"),
        ("0316-1234567转801", "0316-***4567"),
        ("400-810-8888", "400-810-8888".rsplit("-", 1)[0] + "-****"),
    ],
)
def test_landline(raw, masked):
    assert mask_landline(raw) == masked


def test_email_and_wechat():
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    assert mask_email("noat") == "n***"
    assert mask_wechat("zhangsan_88") == "zh*******88"
    assert mask_wechat("abcdef") == "a****f"
    assert "5678" not in mask_wechat("13812345678")[3:-2]


def test_free_text_loses_numbers_and_addresses():
    text = "下周三拜访，联系王总 13912345678，座机 010-81234567，邮箱 wang@corp.cn；投资 5000 万元"
    out = mask_text(text)
    assert "13912345678" not in out and "139****5678" in out
    assert "81234567" not in out and "010-****4567" in out
    assert "wang@corp.cn" not in out and "w***@corp.cn" in out
    assert "5000 万元" in out  # amounts are not numbers to hide


def test_contact_values_full_or_masked():
    c = SimpleNamespace(mobile="13812345678", landline=None, email="li@x.com", wechat="wx_lisi01")
    assert contact_values(c, True) == {"mobile": "13812345678", "landline": "", "email": "li@x.com",
                                       "wechat": "wx_lisi01"}  # fmt: skip
    masked = contact_values(c, False)
    assert masked["mobile"] == "138****5678" and masked["email"] == "l***@x.com"
    assert masked["wechat"] != "wx_lisi01"


def test_policy_from_config_and_roles():
    policy = ContactPolicy.from_config(build_config({}))
    assert policy == ContactPolicy()  # the dataclass defaults are the shipped config's
    manager = SimpleNamespace(role="manager", is_active=True)
    recruiter = SimpleNamespace(role="recruiter", is_active=True)
    admin = SimpleNamespace(role="admin", is_active=True)
    assert policy.sees_full(manager) and not policy.sees_full(recruiter)
    assert policy.may_reveal(recruiter) and policy.may_reveal(manager) and not policy.may_reveal(admin)
    assert not policy.may_reveal(SimpleNamespace(role="recruiter", is_active=False))
    with pytest.raises(ConfigError, match="未知角色"):
        ContactPolicy.from_config(build_config({"contacts": {"full_view_roles": ["boss"]}}))
