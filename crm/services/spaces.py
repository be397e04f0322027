"""空间资源库: add, edit and retire 载体 (land, factories, office floors), with who may do it.

One field table (`FIELDS`) serves the web form, the XLSX import and its template, and the audit
labels, so a field is declared once. Zones are plain data handed in by the caller ({id: name},
from the graph's zones): the CRM does not open the graph store.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.errors import Conflict, InvalidInput, NotFound, PermissionDenied

from ..models import ADMIN, AuditLog, utcnow
from ..models_spaces import (
    AVAILABLE,
    HELD,
    KIND_LABELS,
    LAND,
    OCCUPIED,
    SIGNED,
    SQM_PER_MU,
    UNAVAILABLE,
    SpaceHold,
    SpaceResource,
)
from . import audit
from ._common import Actor, SystemActor, current_actor, snapshot
from .spaces_settings import SpacesSettings

ENTITY = "space"
# Audit actions of holds (the log's own labels cover create/update/import).
HOLD, RELEASE, EXPIRE, FOLLOW = "hold", "release", "expire", "follow_stage"
ACTION_LABELS = {HOLD: "意向锁定", RELEASE: "释放", EXPIRE: "锁定到期", FOLLOW: "随线索阶段变更"}
OWNERSHIPS = ("国有", "集体")
FIT_OUTS = ("毛坯", "简装", "精装")
# Statuses set by hand; 意向锁定 and 已签约 come only from holds and the lead's stage.
MANUAL_STATUSES = (AVAILABLE, UNAVAILABLE, OCCUPIED)


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # the Chinese header of the import template and the form
    type: str  # text | number | int | date | kind | zone | choice | bool
    limit: int = 0  # max length (text) or the choice list's name (choice)
    choices: str = ""  # "land_uses" | "supply_modes" | "ownerships" | "fit_outs"
    required: bool = False
    example: str = ""
    aliases: tuple[str, ...] = ()


FIELDS: tuple[Field, ...] = (
    Field("code", "编号", "text", 40, required=True, example="HX-L-001", aliases=("资源编号", "载体编号")),
    Field("kind", "类型", "kind", required=True, example="土地", aliases=("载体类型", "资源类型")),
    Field(
        "name", "名称", "text", 200, required=True, example="漷县镇医药产业园地块一", aliases=("载体名称",)
    ),
    Field("zone_id", "所属园区", "zone", example="漷县镇", aliases=("园区", "镇街", "所在园区")),
    Field("address", "地址", "text", 300, example="通州区漷县镇××路"),
    Field("park", "园区/楼盘", "text", 200, example="示例医药产业园", aliases=("产业园", "楼盘")),
    Field("building", "楼栋/楼层", "text", 100, example="3号楼1-2层", aliases=("楼栋", "楼层")),
    Field("area_mu", "面积（亩）", "number", example="55", aliases=("面积(亩)", "用地面积（亩）", "亩")),
    Field(
        "area_m2", "面积（平方米）", "number", example="36667", aliases=("面积(㎡)", "面积（㎡）", "建筑面积")
    ),
    Field("land_use", "用地性质", "choice", choices="land_uses", example="工业/M1"),
    Field("plot_ratio_min", "容积率下限", "number", example="1.0"),
    Field("plot_ratio_max", "容积率上限", "number", example="2.5"),
    Field("density_max", "建筑密度上限（%）", "number", example="60"),
    Field("height_limit_m", "限高（米）", "number", example="24"),
    Field(
        "supply_mode", "供应方式", "choice", choices="supply_modes", example="先租后让", aliases=("供地方式",)
    ),
    Field("ownership", "权属", "choice", choices="ownerships", example="国有", aliases=("土地权属",)),
    Field("readiness", "场地条件", "text", 100, example="七通一平", aliases=("平整情况",)),
    Field("floor_height_m", "层高（米）", "number", example="8"),
    Field("floor_load_kn", "楼面荷载（kN/㎡）", "number", example="10", aliases=("荷载",)),
    Field("power_kva", "供电容量（kVA）", "number", example="2000", aliases=("供电容量", "电力容量")),
    Field("crane_t", "行车（吨）", "number", example="10", aliases=("行车吨位",)),
    Field("loading_docks", "装卸平台（个）", "int", example="2", aliases=("装卸平台",)),
    Field("env_permits", "可办环评", "text", 200, example="环评报告表", aliases=("环保条件",)),
    Field("fit_out", "装修", "choice", choices="fit_outs", example="简装", aliases=("装修情况",)),
    Field("price_wan_per_mu", "地价（万元/亩）", "number", example="80", aliases=("参考地价",)),
    Field("sale_price_wan", "售价（万元）", "number", example=""),
    Field("rent_yuan", "租金（元/㎡/天）", "number", example="1.2", aliases=("租金",)),
    Field("owner", "产权方/运营方", "text", 200, example="示例产业园运营公司", aliases=("产权方", "运营方")),
    Field("contact", "联系人", "text", 100, example="王女士 010-00000000"),
    Field("available_from", "可用日期", "date", example="2026-03-01", aliases=("可交付日期", "交付日期")),
    Field("map_x", "地图X", "number", example=""),
    Field("map_y", "地图Y", "number", example=""),
    Field("note", "备注", "text", 2000, example=""),
    Field("synthetic", "示例数据", "bool", example="是"),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
AUDITED = (*FIELD_NAMES, "status", "lead_id", "hold_until")
LABELS = {f.name: f.label for f in FIELDS} | {"status": "状态", "lead_id": "线索", "hold_until": "锁定至"}
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


# ----------------------------------------------------------------------------- who may


def can_read(user: Any) -> bool:
    """Business roles read the register (三权分立: not the system administrator); so does the
    operator at the command line (import, list, match)."""
    if isinstance(user, SystemActor):
        return True
    return user is not None and bool(getattr(user, "is_active", False)) and user.role != ADMIN


def can_edit(user: Any, settings: SpacesSettings) -> bool:
    """The roles config [spaces] editor_roles names add and edit resources (and the command line)."""
    return isinstance(user, SystemActor) or (can_read(user) and user.role in settings.editor_roles)


def _editor(session: Session, actor: Actor, settings: SpacesSettings) -> Actor:
    actor = current_actor(session, actor)
    if not can_edit(actor, settings):
        raise PermissionDenied("您的角色不能维护空间资源库")
    return actor


def _reader(session: Session, actor: Actor) -> Actor:
    actor = current_actor(session, actor)
    if not can_read(actor):
        raise PermissionDenied("您无权查看空间资源库")
    return actor


# ----------------------------------------------------------------------------- values


def parse_date(text: str) -> _dt.date | None:
    """2026-05-01, 2026/5/1, 2026年5月1日 -> date; empty -> None."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    m = _DATE.match(text.split(" ")[0].split("T")[0])
    if not m:
        raise ValueError(f"日期「{text}」格式应为 2026-05-01")
    try:
        return _dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"日期「{text}」不存在") from None


def _number(text: str, label: str, integer: bool = False) -> float | int | None:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "")
    for unit in ("万元", "平方米", "㎡", "亩", "kVA", "kva", "米", "吨", "元"):
        cleaned = cleaned.removesuffix(unit)
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{label}「{text}」不是有效数字") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValueError(f"{label}必须是非负数")
    if integer:
        if not value.is_integer():
            raise ValueError(f"{label}应为整数")
        return int(value)
    return value


def _choices(name: str, settings: SpacesSettings) -> tuple[str, ...]:
    return {
        "land_uses": settings.land_uses,
        "supply_modes": settings.supply_modes,
        "ownerships": OWNERSHIPS,
        "fit_outs": FIT_OUTS,
    }[name]


def resolve_zone(text: str, zones: Mapping[str, str]) -> str:
    """A zone id from its id or name (「漷县」 finds 漷县镇); ValueError naming the choices."""
    text = text.strip()
    if text in zones:
        return text
    for zid, name in zones.items():
        if text == name or (len(text) >= 2 and name.startswith(text)):
            return zid
    raise ValueError(f"园区「{text}」不存在，可选：{'、'.join(zones.values())}")


def clean(
    data: Mapping[str, Any], settings: SpacesSettings, zones: Mapping[str, str], *, creating: bool
) -> dict[str, Any]:
    """Validate and convert raw values (form strings or import cells); InvalidInput lists every problem."""
    unknown = set(data) - set(FIELD_NAMES)
    if unknown:
        raise InvalidInput(f"不能修改的字段：{'、'.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for f in FIELDS:
        if f.name not in data:
            if creating and f.required:
                problems.append(f"{f.label}不能为空")
            continue
        raw = data[f.name]
        text = "" if raw is None else str(raw).strip()
        if isinstance(raw, bool) or isinstance(raw, (int, float)) and f.type in ("number", "int"):
            text = str(raw)
        try:
            if not text:
                if f.required:
                    raise ValueError(f"{f.label}不能为空")
                value: Any = False if f.type == "bool" else None
            elif f.type == "text":
                if len(text) > f.limit:
                    raise ValueError(f"{f.label}不能超过 {f.limit} 个字符")
                value = text
            elif f.type in ("number", "int"):
                value = _number(text, f.label, f.type == "int")
            elif f.type == "date":
                value = raw if isinstance(raw, _dt.date) else parse_date(text)
            elif f.type == "kind":
                by_label = {v: k for k, v in KIND_LABELS.items()} | {
                    "地块": LAND,
                    "研发办公": "office",
                    "写字楼": "office",
                }
                value = text if text in KIND_LABELS else by_label.get(text)
                if value is None:
                    raise ValueError(f"类型须为：{'、'.join(KIND_LABELS.values())}")
            elif f.type == "zone":
                value = resolve_zone(text, zones)
            elif f.type == "choice":
                options = _choices(f.choices, settings)
                if text not in options:
                    raise ValueError(f"{f.label}须为：{'、'.join(options)}")
                value = text
            else:  # bool
                value = raw if isinstance(raw, bool) else text in ("是", "1", "true", "True", "on", "y", "Y")
        except ValueError as exc:
            problems.append(str(exc))
            continue
        out[f.name] = value
    if problems:
        raise InvalidInput("；".join(problems))
    # Land in 亩 and ㎡: fill the one left empty.
    if out.get("area_mu") is not None and out.get("area_m2") is None:
        out["area_m2"] = round(out["area_mu"] * SQM_PER_MU, 1)
    elif out.get("area_m2") is not None and out.get("area_mu") is None and out.get("kind", LAND) == LAND:
        out["area_mu"] = round(out["area_m2"] / SQM_PER_MU, 2)
    return out


# ----------------------------------------------------------------------------- write


def get(session: Session, actor: Actor, resource_id: int) -> SpaceResource:
    _reader(session, actor)
    return _load(session, resource_id)


def _load(session: Session, resource_id: int) -> SpaceResource:
    resource = session.get(SpaceResource, resource_id)
    if resource is None:
        raise NotFound(f"空间资源不存在（编号 {resource_id}）")
    return resource


def create(
    session: Session,
    actor: Actor,
    data: Mapping[str, Any],
    *,
    settings: SpacesSettings,
    zones: Mapping[str, str],
    ip: str | None = None,
    now: _dt.datetime | None = None,
) -> SpaceResource:
    actor = _editor(session, actor, settings)
    values = clean(data, settings, zones, creating=True)
    if session.scalar(select(SpaceResource.id).where(SpaceResource.code == values["code"])):
        raise Conflict(f"编号「{values['code']}」已存在")
    now = now or utcnow()
    resource = SpaceResource(
        **values, status=AVAILABLE, created_at=now, updated_at=now, status_changed_at=now
    )
    session.add(resource)
    session.flush()
    audit.record(session, actor, audit.CREATE, ENTITY, resource.id, None, snapshot(resource, AUDITED), ip)
    return resource


def update(
    session: Session,
    actor: Actor,
    resource_id: int,
    changes: Mapping[str, Any],
    *,
    settings: SpacesSettings,
    zones: Mapping[str, str],
    expected_version: int | None = None,
    ip: str | None = None,
    now: _dt.datetime | None = None,
) -> SpaceResource:
    """Change fields; a save over someone else's newer one is refused (Conflict)."""
    actor = _editor(session, actor, settings)
    resource = _load(session, resource_id)
    if expected_version is not None and int(expected_version) != resource.version:
        raise Conflict(f"空间资源「{resource.name}」已被其他人修改，请刷新后重试")
    values = clean({"kind": resource.kind, **changes}, settings, zones, creating=False)
    if "code" in values and values["code"] != resource.code:
        if session.scalar(select(SpaceResource.id).where(SpaceResource.code == values["code"])):
            raise Conflict(f"编号「{values['code']}」已存在")
    before = snapshot(resource, AUDITED)
    for name, value in values.items():
        setattr(resource, name, value)
    b, a = audit.diff(before, snapshot(resource, AUDITED))
    if a:
        resource.updated_at = now or utcnow()
        session.flush()
        audit.record(session, actor, audit.UPDATE, ENTITY, resource.id, b, a, ip)
    return resource


def set_status(
    session: Session,
    actor: Actor,
    resource_id: int,
    status: str,
    *,
    settings: SpacesSettings,
    ip: str | None = None,
    now: _dt.datetime | None = None,
) -> SpaceResource:
    """可招商 / 暂不可用 / 已入驻 by hand; a held or signed resource changes only with its lead."""
    actor = _editor(session, actor, settings)
    resource = _load(session, resource_id)
    if status not in MANUAL_STATUSES:
        raise InvalidInput(f"状态只能手工设为：{'、'.join(MANUAL_STATUSES)}")
    if resource.status in (HELD, SIGNED) and resource.lead_id is not None:
        raise Conflict(
            f"「{resource.name}」{resource.status}于线索 {resource.lead_id}，须先释放或随线索阶段变化"
        )
    if status == resource.status:
        return resource
    before = {"status": resource.status}
    now = now or utcnow()
    resource.status, resource.status_changed_at, resource.updated_at = status, now, now
    session.flush()
    audit.record(session, actor, audit.UPDATE, ENTITY, resource.id, before, {"status": status}, ip)
    return resource


def history(
    session: Session, actor: Actor, resource_id: int
) -> tuple[list[audit.AuditLine], list[SpaceHold]]:
    """The resource's audit lines (newest first) and its holds: what a person reads as its history."""
    _reader(session, actor)
    _load(session, resource_id)
    entries = session.scalars(
        select(AuditLog)
        .where(AuditLog.entity == ENTITY, AuditLog.entity_id == str(resource_id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(200)
    ).all()
    lines = audit.describe(session, entries, labels=LABELS)
    for line in lines:
        line.action = ACTION_LABELS.get(line.action, line.action)
    holds = session.scalars(
        select(SpaceHold).where(SpaceHold.resource_id == resource_id).order_by(SpaceHold.held_at.desc())
    ).all()
    return lines, list(holds)
