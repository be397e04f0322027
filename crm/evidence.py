"""The facts a stage claim carries (签约 date, agreed investment, the landed entity ...), as pure
functions: the catalogue, parsing of a requirement written in config.toml, and checking a form.

A requirement is one fact or alternatives: ``"agreement_no|agreement_file"`` (either one),
``"entity_uscc|entity_name+registered_on"`` (the credit code, or both name and date).

>>> req = parse_requirement("entity_uscc|entity_name+registered_on")
>>> requirement_label(req)
'落地主体统一社会信用代码，或落地主体名称及注册日期'
>>> facts, missing = check_facts([req, parse_requirement("space")], {"entity_name": "通州某科技"})
>>> missing
['落地主体统一社会信用代码，或落地主体名称及注册日期', '所在载体']
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from graph.identity import InvalidCreditCode, clean_uscc

from .errors import ValidationError

# key -> (Chinese label, kind). Kinds: date, amount (万元, ≥ 0), text, uscc, file (an attachment).
FACTS: dict[str, tuple[str, str]] = {
    "signed_on": ("签约日期", "date"),
    "agreed_investment": ("协议投资额（万元）", "amount"),
    "agreement_no": ("协议编号", "text"),
    "agreement_file": ("协议文件", "file"),
    "entity_uscc": ("落地主体统一社会信用代码", "uscc"),
    "entity_name": ("落地主体名称", "text"),
    "registered_on": ("注册日期", "date"),
    "registered_capital": ("注册资本（万元）", "amount"),
    "space": ("所在载体", "text"),
    "started_on": ("开工日期", "date"),
    "production_on": ("投产日期", "date"),
    "first_year_output": ("首年产值（万元）", "amount"),
}

Requirement = tuple[tuple[str, ...], ...]  # alternatives, each a tuple of fact keys

_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_requirement(text: str) -> Requirement:
    """``"a|b+c"`` -> ``(("a",), ("b", "c"))``; unknown fact keys raise ValueError."""
    alternatives = []
    for alt in text.split("|"):
        keys = tuple(k.strip() for k in alt.split("+") if k.strip())
        for key in keys:
            if key not in FACTS:
                raise ValueError(f"未知事实项「{key}」，可选：{'、'.join(FACTS)}")
        if keys:
            alternatives.append(keys)
    if not alternatives:
        raise ValueError("空的事实项")
    return tuple(alternatives)


def requirement_label(req: Requirement) -> str:
    parts = ["及".join(FACTS[k][0] for k in alt) for alt in req]
    return "，或".join(parts)


def requirement_keys(reqs: Sequence[Requirement]) -> list[str]:
    """Every fact key the requirements mention, in order (for the form)."""
    seen: list[str] = []
    for req in reqs:
        for alt in req:
            seen.extend(k for k in alt if k not in seen)
    return seen


def parse_date(text: str) -> date:
    """2026-03-01, 2026/3/1 or 2026年3月1日."""
    m = _DATE.match(text)
    if not m:
        raise ValueError(text)
    return date(int(m[1]), int(m[2]), int(m[3]))


def _clean(key: str, raw: Any) -> Any:
    """One fact's value, typed as it is stored (JSON): None when empty; ValidationError when wrong."""
    label, kind = FACTS[key]
    if kind == "file":
        ids = [int(v) for v in (raw or []) if str(v).strip().isdigit()]
        return ids or None
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None
    if kind == "date":
        try:
            return parse_date(text).isoformat()
        except ValueError as exc:
            raise ValidationError(f"{label}格式不正确：{text}（示例：2026-03-01）") from exc
    if kind == "amount":
        try:
            value = float(text.replace(",", "").replace("万元", "").replace("万", ""))
        except ValueError as exc:
            raise ValidationError(f"{label}须为数字（万元）：{text}") from exc
        if value < 0 or value != value or value > 1e9:
            raise ValidationError(f"{label}不能为负数或过大：{text}")
        return value
    if kind == "uscc":
        try:
            return clean_uscc(text)
        except InvalidCreditCode as exc:
            raise ValidationError(f"{label}无效：{exc}") from exc
    return text[:200]


def check_facts(reqs: Sequence[Requirement], raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the filled facts, typed; the requirements not met, in Chinese). Bad values raise."""
    facts = {}
    for key in requirement_keys(reqs):
        value = _clean(key, raw.get(key))
        if value is not None:
            facts[key] = value
    missing = [requirement_label(req) for req in reqs if not any(all(k in facts for k in alt) for alt in req)]
    return facts, missing


def fact_lines(facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, shown value) pairs of a claim's facts, in catalogue order."""
    out = []
    for key, (label, kind) in FACTS.items():
        if key in facts and kind != "file":
            value = facts[key]
            out.append((label, f"{value:g}" if isinstance(value, float) else str(value)))
    return out
