"""Masking of personal contact details (个人信息保护法): the one rule every list, page, export, API
answer and .ics file applies, and the policy of which roles see full values.

Why one module: a number masked on the page but printed in full in the export is a leak, so every
output path calls `contact_values` / `mask_text` here and none masks on its own.

>>> mask_mobile("13812345678")
'138****5678'
>>> mask_email("zhang.san@example.com")
'z***@example.com'
>>> mask_landline("010-81234567")
'010-****4567'
>>> mask_wechat("zhangsan_88")
'zh*******88'
>>> mask_text("请联系 13812345678 或 li@example.com")
'请联系 138****5678 或 l***@example.com'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph.errors import ConfigError

from .models import MANAGER, ROLES

# Fields of a contact that are personal details (masked), and the ones that are not.
MASKED_FIELDS = ("mobile", "landline", "email", "wechat")
MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
EMAIL_RE = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*(@[A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
# A landline as people write it in free text: 010-81234567, 0316-1234567 (area code required,
# so a plain amount of money is not taken for a number).
LANDLINE_RE = re.compile(r"(?<!\d)(0\d{2,3}-?)(\d{3,4})(\d{4})(?!\d)")


def mask_mobile(value: str | None) -> str:
    """Keep the first 3 and last 4 digits of a mobile number: 138****5678."""
    v = (value or "").strip()
    if not v:
        return ""
    digits = re.sub(r"\D", "", v)
    if len(digits) >= 7:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    return "*" * len(v)


def mask_landline(value: str | None) -> str:
    """Keep the area code and the last 4 digits: 010-****4567 (an extension is dropped)."""
    v = (value or "").strip()
    if not v:
        return ""
    main = re.split(r"[转#xX]|ext", v, maxsplit=1)[0].strip()
    area, sep, number = main.rpartition("-")
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        return f"{area}{sep}{'*' * len(digits)}" if area else "*" * len(v)
    return f"{area}{sep}{'*' * (len(digits) - 4)}{digits[-4:]}"


def mask_email(value: str | None) -> str:
    """Keep the first character of the name and the domain: z***@example.com."""
    v = (value or "").strip()
    if not v:
        return ""
    name, at, domain = v.partition("@")
    if not at:
        return v[:1] + "***"
    return f"{name[:1]}***@{domain}"


def mask_wechat(value: str | None) -> str:
    """Keep two characters at each end of a 微信号 (one each for short ones)."""
    v = (value or "").strip()
    if not v:
        return ""
    keep = 2 if len(v) > 6 else 1
    if len(v) <= 2:
        return "*" * len(v)
    return v[:keep] + "*" * (len(v) - 2 * keep) + v[-keep:]


MASKERS = {"mobile": mask_mobile, "landline": mask_landline, "email": mask_email, "wechat": mask_wechat}


def mask_text(text: str | None) -> str:
    """Free text (a next step, a note) with mobile numbers, landlines and e-mail addresses masked."""
    if not text:
        return ""
    out = MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    out = EMAIL_RE.sub(lambda m: f"{m.group(1)}***{m.group(2)}", out)
    return LANDLINE_RE.sub(lambda m: f"{m.group(1)}{'*' * len(m.group(2))}{m.group(3)}", out)


@dataclass(frozen=True)
class ContactPolicy:
    """Who sees contact details in full ([contacts] full_view_roles) and who may open one contact
    in full, audited ([contacts] reveal_roles); everybody else sees masked values only."""

    full_view_roles: tuple[str, ...] = (MANAGER,)
    reveal_roles: tuple[str, ...] = ("recruiter", "leader")

    def sees_full(self, user: Any) -> bool:
        return bool(getattr(user, "is_active", False)) and getattr(user, "role", None) in self.full_view_roles

    def may_reveal(self, user: Any) -> bool:
        return self.sees_full(user) or (
            bool(getattr(user, "is_active", False)) and getattr(user, "role", None) in self.reveal_roles
        )

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> ContactPolicy:
        """[contacts] of a loaded configuration; an unknown role is a ConfigError."""
        section = cfg.get("contacts", {})
        full = tuple(str(r) for r in section.get("full_view_roles", cls.full_view_roles))
        reveal = tuple(str(r) for r in section.get("reveal_roles", cls.reveal_roles))
        for role in (*full, *reveal):
            if role not in ROLES:
                raise ConfigError(f"[contacts] 未知角色「{role}」，可选：{'、'.join(ROLES)}")
        return cls(full, reveal)


def contact_values(contact: Any, full: bool) -> dict[str, str]:
    """The personal fields of `contact` as one may show them: full, or masked."""
    out = {}
    for name in MASKED_FIELDS:
        value = getattr(contact, name, None) or ""
        out[name] = value if full else MASKERS[name](value)
    return out
