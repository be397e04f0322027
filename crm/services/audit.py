"""Audit log: who did what, when, from which address, with before/after values. Append-only:
this module only inserts and reads; database triggers refuse UPDATE and DELETE."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import PermissionDenied, ValidationError
from ..models import LEADER, ROLE_LABELS, TL_STATUS_LABELS, AuditLog, Team, User, utcnow
from ..settings import SecurityPolicy
from . import duties
from ._common import Actor, current_actor, jsonable
from .lead_fields import NUMBER_FIELDS, TEXT_FIELDS, USER_FIELDS

# Actions written to the log.
(
    CREATE,
    UPDATE,
    ASSIGN,
    TRANSITION,
    LOGIN,
    LOGIN_FAILED,
    DISABLE,
    ENABLE,
    RESET_PASSWORD,
    SUBMIT,
    RETURN,
    APPROVE,
    COMMENT,
) = (
    "create",
    "update",
    "assign",
    "transition",
    "login",
    "login_failed",
    "disable",
    "enable",
    "reset_password",
    "submit",
    "return",
    "approve",
    "comment",
)
ACTION_LABELS = {
    CREATE: "新建",
    UPDATE: "修改",
    ASSIGN: "分派",
    TRANSITION: "阶段变更",
    LOGIN: "登录",
    LOGIN_FAILED: "登录失败",
    DISABLE: "停用",
    ENABLE: "启用",
    RESET_PASSWORD: "重置密码",
    SUBMIT: "提交审批",
    RETURN: "退回",
    APPROVE: "批准",
    COMMENT: "批注",
    "import": "导入数据",
    "api_use": "接口调用",  # crm.services.api_tokens
    "revoke": "吊销",
    # crm/services/sessions.py and crm/services/throttle.py
    "logout": "退出登录",
    "session_revoke": "结束会话",
    "login_lock": "登录锁定",
    "unlock": "解除锁定",
    # crm/services/access_log.py
    "view": "查看",
    "export": "导出",
    # crm/services/attachments.py
    "upload": "上传附件",
    "download": "下载附件",
    "remove_file": "删除附件",
    # crm/services/contacts.py
    "delete": "删除",
    "reveal": "查看完整信息",
    "feed_use": "日程订阅读取",  # crm/services/calendar_feeds.py
    # crm/services/referrals.py, filings.py, projects.py, lead_merge.py, takeover.py
    "referral": "登记引荐人",
    "referral_decide": "认定引荐人",
    "filing": "首报首谈申报",
    "project_link": "项目关联",
    "merge": "合并",  # lead_merge.py (entity 线索) and company_merge.py (entity 企业) share the action
    "merged_into": "并入其他线索",
    "takeover_request": "申请接手",
    "takeover_decide": "决定接手申请",
}


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict | None = None,
    after: dict | None = None,
    ip: str | None = None,
    actor_name: str | None = None,
) -> AuditLog:
    """Append one entry. `actor` None is for events without a known user (failed login)."""
    entry = AuditLog(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_name=actor_name or (getattr(actor, "username", None) if actor is not None else None),
        ip=ip,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass
class AuditPage:
    items: list[AuditLog]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_entries(
    session: Session,
    actor: Actor,
    *,
    entity: str | None = None,
    entity_id: Any = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = 50,
    policy: SecurityPolicy | None = None,
) -> AuditPage:
    """Read the log, newest first, filtered by entity, user, action and time ([since, until)).
    Leaders and whoever holds the audit duty (crm/services/duties.py) only."""
    actor = current_actor(session, actor)
    if actor.role != LEADER and not duties.holds(actor, duties.AUDIT_DUTY, policy):
        raise PermissionDenied("只有审计管理员（或未分设时的系统管理员）和区领导可以查看审计日志")
    query = select(AuditLog)
    if entity:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    if actor_id is not None:
        query = query.where(AuditLog.actor_id == actor_id)
    if action:
        query = query.where(AuditLog.action == action)
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at < until)
    per_page = max(1, min(int(per_page), 500))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    items = session.scalars(
        query.order_by(AuditLog.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return AuditPage(list(items), total, page, per_page)


def day_range(
    start: str | date | None, end: str | date | None, offset: timedelta = timedelta(0)
) -> tuple[datetime | None, datetime | None]:
    """A filter's "from day / to day" (both inclusive, on the district's clock `offset` east of
    UTC) as the stored naive-UTC [since, until). Bad dates are a ValidationError."""

    def parse(value: str | date | None, label: str) -> date | None:
        if value in (None, ""):
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValidationError(f"{label}格式应为 YYYY-MM-DD") from exc

    first, last = parse(start, "起始日期"), parse(end, "截止日期")
    if first and last and last < first:
        raise ValidationError("截止日期不能早于起始日期")
    since = datetime.combine(first, time.min) - offset if first else None
    until = datetime.combine(last + timedelta(days=1), time.min) - offset if last else None
    return since, until


# ----------------------------------------------------------------------------- readable lines

# Chinese names of the fields that entries carry (leads, activities, users, target lists, logins).
BASE_LABELS = {
    "uscc": "统一社会信用代码",
    "channel": "招商渠道",
    "priority": "优先级",
    "key_flag": "重点项目",
    "task_force_members": "工作专班成员",
    "service_plan": "服务方案",
    "stage": "阶段",
    "stage_reason": "阶段原因",
    "owner_id": "负责人",
    "team_id": "所属组",
    "reason": "原因",
    "automatic": "自动分派",
    "comment": "批注",
    "kind": "类型",
    "occurred_on": "日期",
    "outcome": "结果",
    "next_step": "下一步",
    "due_date": "截止日期",
    "participants": "参与人员",
    "lead_id": "线索",
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "is_active": "启用",
    "focus_chains": "负责产业链",
    "password": "密码",
    "title": "标题",
    "status": "状态",
    "based_on_id": "基于名录",
    "rows": "企业数",
    "added": "新增企业",
    "removed": "移除企业",
    "order": "排序",
    "note": "备注",
    "version_no": "版本",
    "file": "文件",
    "total": "总行数",
    "written": "写入",
    "rejected": "拒绝",
    "committed": "已提交",
    "attachment_id": "附件编号",
    "attachment_ids": "附件编号",
    "filename": "文件名",
    "size": "大小（字节）",
    "sha256": "SHA-256",
    "activity_id": "跟进编号",
    "claim_id": "阶段申报编号",
}
USER_ID_FIELDS = frozenset(
    {
        "owner_id",
        "sponsor_user_id",
        "case_officer_user_id",
        "created_by_id",
        "approved_by_id",
        "from_user_id",
        "to_user_id",
        "by_user_id",
    }
)
# Codes that say nothing to a reader next to the name the same entry carries: shown only alone.
SHOWN_ONLY_WITHOUT = {
    "chain_id": "chain_name",
    "node_id": "node_name",
    "company_id": "company_name",
    "sector_name": "sector_id",
}
PLAN_PARTS = (("needs", "需求"), ("policy_support", "政策支持"), ("milestones", "里程碑"))
EMPTY = "空"


def field_labels() -> dict[str, str]:
    """Every field name an entry may carry -> its Chinese label."""
    labels = dict(BASE_LABELS)
    labels.update({k: v[0] for k, v in TEXT_FIELDS.items()})
    labels.update(NUMBER_FIELDS)
    labels.update(USER_FIELDS)
    labels.update(MERGE_LABELS)
    return labels


# What a merge entry carries (crm/services/company_merge.py).
MERGE_LABELS = {
    "merged_id": "被合并企业编号",
    "merged_name": "被合并企业",
    "merged_uscc": "被合并企业信用代码",
    "lead_ids": "改指的线索",
    "moved_ties": "转移的供应关系",
    "forced": "强制合并",
    "graph_already_merged": "图谱此前已合并",
}


@dataclass
class AuditLine:
    """One entry as a person reads it: when, who (display name), what, and each change."""

    id: int
    at: datetime
    actor: str
    ip: str | None
    action: str
    entity: str
    entity_id: str | None
    changes: list[str] = field(default_factory=list)
    subject: str | None = None  # the user's display name when the entry is about a user


ENTITY_LABELS = {
    "lead": "线索",
    "activity": "跟进",
    "user": "用户",
    "target_list": "目标名录",
    "target_list_row": "名录条目",
    "settings": "系统设置",
    "lead_view": "线索详情",
    "ranking": "补链目标排名",
    "login": "登录",
    "contact": "联系人",
    "calendar_feed": "日程订阅地址",
    "company": "企业",
}


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or value == {}
        or (isinstance(value, Mapping) and all(_is_empty(v) for v in value.values()))
    )


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _plain(value: Any) -> str:
    if _is_empty(value):
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, (list, tuple)):
        return "、".join(_plain(v) for v in value if not _is_empty(v)) or EMPTY
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{_plain(v)}" for k, v in value.items() if not _is_empty(v)) or EMPTY
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        return value[:16].replace("T", " ")  # an ISO time from the JSON
    return str(value)


def service_plan_text(plan: Any) -> str:
    """{"needs": …, "policy_support": …, "milestones": [...]} -> 需求：…；政策支持：…；里程碑：…"""
    if not isinstance(plan, Mapping):
        return _plain(plan)
    parts = [f"{label}：{_plain(plan.get(key))}" for key, label in PLAN_PARTS if not _is_empty(plan.get(key))]
    return "；".join(parts) or EMPTY


class _Names:
    """Turns stored codes and ids into the names people know."""

    def __init__(self, users: Mapping[int, str], teams: Mapping[int, str], sectors: Mapping[str, str]):
        self.users, self.teams, self.sectors = users, teams, sectors

    def value(self, key: str, value: Any) -> str:
        if _is_empty(value):
            return EMPTY
        if key in USER_ID_FIELDS:
            return self._user(value)
        if key == "team_id":
            return _lookup(self.teams, value, f"编号 {value} 的组")
        if key == "sector_id":
            return self.sectors.get(str(value), str(value))
        if key == "service_plan":
            return service_plan_text(value)
        if key == "role":
            return ROLE_LABELS.get(str(value), str(value))
        if key == "status":
            return TL_STATUS_LABELS.get(str(value), str(value))
        if key == "order" and isinstance(value, list):
            return f"{len(value)} 项"
        return _plain(value)

    def _user(self, value: Any) -> str:
        return _lookup(self.users, value, f"编号 {value} 的用户")


def _lookup(names: Mapping[int, str], value: Any, default: Any) -> Any:
    uid = _as_int(value)
    return default if uid is None else names.get(uid, default)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _user_ids(entries: Iterable[AuditLog]) -> set[int]:
    ids: set[int] = set()
    for entry in entries:
        if entry.actor_id is not None:
            ids.add(entry.actor_id)
        for values in (entry.before or {}, entry.after or {}):
            for key in USER_ID_FIELDS & set(values):
                uid = _as_int(values[key])
                if uid is not None:
                    ids.add(uid)
        subject = _as_int(entry.entity_id) if entry.entity == "user" else None
        if subject is not None:
            ids.add(subject)
    return ids


def describe(
    session: Session,
    entries: Iterable[AuditLog],
    *,
    sectors: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[AuditLine]:
    """Audit entries as readable Chinese lines: field labels, user ids -> display names (one
    query for all of them), team ids -> team names, sector ids -> names from `sectors` (the
    caller's mapping: the CRM does not read the graph), the service plan as
    "需求：…；政策支持：…；里程碑：…", values of the same meaning on both sides dropped. An
    update whose every change is a no-op is left out altogether."""
    entries = list(entries)
    ids = _user_ids(entries)
    users = (
        dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    )
    teams = dict(session.execute(select(Team.id, Team.name)).all())
    names = _Names(users, teams, sectors or {})
    all_labels = {**field_labels(), **(labels or {})}
    lines = []
    for entry in entries:
        changes = _changes(entry, names, all_labels)
        if not changes and entry.action == UPDATE and (entry.before or entry.after):
            continue  # nothing really changed
        who = users.get(entry.actor_id) if entry.actor_id is not None else None
        lines.append(
            AuditLine(
                id=entry.id,
                at=entry.at,
                actor=who or entry.actor_name or "系统",
                ip=entry.ip,
                action=ACTION_LABELS.get(entry.action, entry.action),
                entity=entry.entity,
                entity_id=entry.entity_id,
                changes=changes,
                subject=_lookup(users, entry.entity_id, None) if entry.entity == "user" else None,
            )
        )
    return lines


def _changes(entry: AuditLog, names: _Names, labels: Mapping[str, str]) -> list[str]:
    before, after = entry.before or {}, entry.after or {}
    out = []
    keys = list(after) + [k for k in before if k not in after]
    for key in keys:
        if SHOWN_ONLY_WITHOUT.get(key) in keys:
            continue
        label = labels.get(key, key)
        old = names.value(key, before.get(key)) if key in before else None
        new = names.value(key, after.get(key)) if key in after else None
        if key == "automatic":  # an assignment says how it was made, not a change of a field
            if after.get(key):
                out.append("系统自动分派")
            continue
        if old is None:  # created or recorded: the values set
            if new != EMPTY:
                out.append(f"{label}：{new}")
        elif new is None:  # removed rows and the like: only what was there
            if old != EMPTY:
                out.append(f"{label}：{old}")
        elif old != new:
            out.append(f"{label}：{old} → {new}")
    return out
