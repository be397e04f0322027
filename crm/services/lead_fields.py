"""The editable fields of a lead (labels, limits) and their validation.

Why apart from the lead service: the audit log's field labels and every writer of lead fields
(form, bulk import from targets, demo) read these tables; keeping them below the services that
use them is what lets audit and leads import each other's pieces without a cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from graph.identity import InvalidCreditCode, clean_uscc, normalize_name

from ..errors import ValidationError
from ..models import LEADER, User
from ..settings import CrmSettings
from ._common import jsonable

TEXT_FIELDS = {  # field -> (label, max length)
    "company_name": ("企业名称", 200),
    "company_id": ("企业图谱编号", 64),
    "sector_id": ("产业", 64),
    "sector_name": ("产业名称", 100),
    "chain_id": ("产业链", 64),
    "chain_name": ("产业链名称", 100),
    "node_id": ("环节", 64),
    "node_name": ("环节名称", 100),
    "gap_status": ("链状态", 16),
    "gap_reason": ("补链理由", 4000),
    "zone": ("意向落位园区", 100),
    "notes": ("备注", 4000),
    "sponsor_name": ("牵头区领导", 100),
    "task_force_department": ("工作专班牵头部门", 200),
    "case_officer_name": ("项目服务专员", 100),
}
NUMBER_FIELDS = {
    "gap_score": "推荐得分",
    "investment": "预计投资额（万元）",
    "expected_output": "预计年产值（万元）",
    "land_mu": "用地需求（亩）",
    "floor_m2": "用房需求（平方米）",
}
USER_FIELDS = {"sponsor_user_id": "牵头区领导", "case_officer_user_id": "项目服务专员"}
EDITABLE = (
    *TEXT_FIELDS,
    *NUMBER_FIELDS,
    *USER_FIELDS,
    "uscc",
    "channel",
    "priority",
    "key_flag",
    "task_force_members",
    "service_plan",
)
AUDITED = (*EDITABLE, "stage", "stage_reason", "owner_id", "team_id")


def clean_fields(
    session: Session, data: Mapping[str, Any], settings: CrmSettings, creating: bool
) -> dict[str, Any]:
    """Validate and normalise lead fields; raise ValidationError listing every problem."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name, (label, limit) in TEXT_FIELDS.items():
        if name in data:
            value = data[name]
            value = None if value is None else str(value).strip() or None
            if value is not None and len(value) > limit:
                problems.append(f"{label}不能超过 {limit} 个字符")
            out[name] = value
    if creating or "company_name" in data:
        if not out.get("company_name"):
            problems.append("企业名称不能为空")
    for name, label in NUMBER_FIELDS.items():
        if name in data:
            value = data[name]
            if value is None or (isinstance(value, str) and not value.strip()):
                out[name] = None
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                problems.append(f"{label}必须是数字")
                continue
            if math.isnan(number) or math.isinf(number) or number < 0:
                problems.append(f"{label}必须是非负数")
                continue
            out[name] = number
    if "uscc" in data:
        try:
            out["uscc"] = clean_uscc(data["uscc"])
        except InvalidCreditCode as exc:
            problems.append(str(exc))
    if creating or "channel" in data:
        channel = data.get("channel") or "其他"
        if channel not in settings.channels:
            problems.append(f"招商渠道须为：{'、'.join(settings.channels)}")
        out["channel"] = channel
    if creating or "priority" in data:
        priority = data.get("priority") or settings.priorities[len(settings.priorities) // 2]
        if priority not in settings.priorities:
            problems.append(f"优先级须为：{'、'.join(settings.priorities)}")
        out["priority"] = priority
    if "key_flag" in data:
        out["key_flag"] = bool(data["key_flag"])
    if "task_force_members" in data:
        members = data["task_force_members"] or []
        if isinstance(members, str):
            members = [
                m for m in (x.strip() for x in members.replace("，", ",").replace("、", ",").split(","))
            ]
        out["task_force_members"] = [str(m).strip() for m in members if str(m).strip()]
    if "service_plan" in data:
        plan = data["service_plan"] or {}
        if not isinstance(plan, Mapping):
            problems.append("服务方案格式错误")
        else:
            out["service_plan"] = {
                k: jsonable(v) for k, v in plan.items() if k in ("needs", "policy_support", "milestones")
            }
    for name, label in USER_FIELDS.items():
        if name in data:
            uid = data[name]
            if uid in (None, ""):
                out[name] = None
                continue
            try:
                user = session.get(User, int(uid))
            except (TypeError, ValueError):
                user = None
            if user is None or not user.is_active:
                problems.append(f"{label}须为有效用户")
            elif name == "sponsor_user_id" and user.role != LEADER:
                problems.append("牵头区领导须为区领导角色的用户")
            else:
                out[name] = user.id
    if problems:
        raise ValidationError("；".join(problems))
    if "company_name" in out and out["company_name"]:
        out["name_key"] = normalize_name(out["company_name"])
    return out
