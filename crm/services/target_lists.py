"""补链目标企业名录: a manager drafts a list for a sector/chain from the graph's ranking (add,
remove, reorder, annotate) and submits it; a leader returns it with comments or approves it. An
approved list is frozen with a version number, date and approver; the next round starts as a new
draft based on it, so every earlier version stays readable.

Who reads what: managers read their team's lists and every approved one; leaders read every
list that has been submitted at least once; recruiters read approved lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from .. import permissions as perm
from ..errors import NotFound, PermissionDenied, StaleEdit, ValidationError, WorkflowError
from ..models import (
    LEADER,
    MANAGER,
    TL_APPROVED,
    TL_DRAFT,
    TL_RETURNED,
    TL_SUBMITTED,
    TargetList,
    TargetListReview,
    TargetListRow,
    User,
    utcnow,
)
from ..settings import CrmSettings
from . import audit, firm_status, inbox, staffing
from ._common import Actor, current_actor, flush_or_stale, jsonable
from .lead_holders import CompanyRef

EDITABLE_STATES = (TL_DRAFT, TL_RETURNED)
ROW_FIELDS = (
    "company_id",
    "company_name",
    "uscc",
    "chain_id",
    "chain_name",
    "node_id",
    "node_name",
    "gap_status",
    "score",
    "factors",
    "reason",
    "note",
)


def _load(session: Session, list_id: int) -> TargetList:
    target_list = session.get(TargetList, list_id)
    if target_list is None:
        raise NotFound(f"目标企业名录不存在（编号 {list_id}）")
    return target_list


def _can_read(actor: Actor, tl: TargetList) -> bool:
    if not perm.can_read_target_lists(actor):
        return False
    if tl.status == TL_APPROVED:
        return True
    if actor.role == MANAGER:
        return tl.team_id == actor.team_id
    if actor.role == LEADER:
        return tl.submitted_at is not None
    return False


def _editable(
    session: Session, actor: Actor, list_id: int, expected_version: int | None
) -> tuple[Actor, TargetList]:
    actor = current_actor(session, actor)
    tl = _load(session, list_id)
    if not perm.can_manage_target_lists(actor) or tl.team_id != actor.team_id:
        raise PermissionDenied("只有本组招商经理可以编辑该名录")
    if tl.status not in EDITABLE_STATES:
        raise WorkflowError(f"名录状态为「{tl.status_label}」，不能修改；已批准的名录请另建新版本")
    if expected_version is not None and int(expected_version) != tl.version:
        raise StaleEdit(f"名录「{tl.title}」")
    return actor, tl


def _touch(session: Session, tl: TargetList, now: datetime | None = None) -> None:
    """Bump the list's version so a concurrent edit of the same list is refused."""
    tl.updated_at = now or utcnow()
    flush_or_stale(session, f"名录「{tl.title}」")


def get_list(session: Session, actor: Actor, list_id: int) -> TargetList:
    """A list with its rows (in order) and reviews, if the actor may read it."""
    actor = current_actor(session, actor)
    tl = _load(session, list_id)
    if not _can_read(actor, tl):
        raise PermissionDenied("您无权查看该名录")
    return tl


def list_lists(
    session: Session,
    actor: Actor,
    *,
    sector_id: str | None = None,
    chain_id: str | None = None,
    status: str | None = None,
) -> list[TargetList]:
    """Lists the actor may read, newest first."""
    actor = current_actor(session, actor)
    query = select(TargetList).options(
        selectinload(TargetList.created_by), selectinload(TargetList.approved_by)
    )
    if sector_id:
        query = query.where(TargetList.sector_id == sector_id)
    if chain_id:
        query = query.where(TargetList.chain_id == chain_id)
    if status:
        query = query.where(TargetList.status == status)
    lists = session.scalars(query.order_by(TargetList.updated_at.desc(), TargetList.id.desc()))
    return [tl for tl in lists if _can_read(actor, tl)]


def draft_lists_for(session: Session, actor: Actor) -> list[TargetList]:
    """Draft or returned lists of the actor's team that a manager may add rows to."""
    if not perm.can_manage_target_lists(actor):
        return []
    return [
        tl
        for tl in list_lists(session, actor)
        if tl.status in EDITABLE_STATES and tl.team_id == actor.team_id
    ]


def approved_versions(
    session: Session, actor: Actor, sector_id: str, chain_id: str | None = None
) -> list[TargetList]:
    """Every approved (frozen) version for a sector/chain, oldest first."""
    actor = current_actor(session, actor)
    if not perm.can_read_target_lists(actor):
        raise PermissionDenied("您无权查看目标企业名录")
    query = select(TargetList).where(
        TargetList.status == TL_APPROVED,
        TargetList.sector_id == sector_id,
        TargetList.chain_id.is_(None) if chain_id is None else TargetList.chain_id == chain_id,
    )
    return list(session.scalars(query.order_by(TargetList.version_no)))


def create_draft(
    session: Session,
    actor: Actor,
    *,
    sector_id: str,
    chain_id: str | None = None,
    title: str | None = None,
    based_on_id: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> TargetList:
    """Start a draft. With `based_on_id` (an approved list) its rows are copied as the start."""
    now = now or utcnow()
    actor = current_actor(session, actor)
    if not perm.can_manage_target_lists(actor):
        raise PermissionDenied("只有招商经理可以编制目标企业名录")
    if not (sector_id or "").strip():
        raise ValidationError("请选择产业")
    base = None
    if based_on_id is not None:
        base = _load(session, based_on_id)
        if not _can_read(actor, base) or base.status != TL_APPROVED:
            raise ValidationError("只能以已批准的名录为基础新建版本")
        sector_id, chain_id = base.sector_id, base.chain_id
    staffing.check_list_sector(actor, sector_id)
    title = (title or "").strip() or (base.title if base else f"补链目标企业名录（{chain_id or sector_id}）")
    tl = TargetList(
        sector_id=sector_id,
        chain_id=chain_id or None,
        title=title[:200],
        status=TL_DRAFT,
        team_id=actor.team_id,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        based_on_id=base.id if base else None,
    )
    session.add(tl)
    if base is not None:
        for row in base.rows:
            tl.rows.append(TargetListRow(position=row.position, **{f: getattr(row, f) for f in ROW_FIELDS}))
    session.flush()
    audit.record(
        session,
        actor,
        audit.CREATE,
        "target_list",
        tl.id,
        None,
        {
            "sector_id": sector_id,
            "chain_id": chain_id,
            "title": tl.title,
            "based_on_id": tl.based_on_id,
            "rows": len(tl.rows),
        },
        ip,
    )
    return tl


def _clean_row(row: Mapping[str, Any]) -> dict[str, Any]:
    company_id = str(row.get("company_id") or "").strip()
    name = str(row.get("company_name") or "").strip()
    if not company_id or not name:
        raise ValidationError("名录行须有企业编号和企业名称")
    score = row.get("score")
    try:
        score = None if score in (None, "") else float(score)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"「{name}」的得分必须是数字") from exc
    factors = row.get("factors") or {}
    if not isinstance(factors, Mapping):
        raise ValidationError(f"「{name}」的得分构成格式错误")
    return {
        "company_id": company_id[:64],
        "company_name": name[:200],
        "uscc": (str(row["uscc"]).strip() or None) if row.get("uscc") else None,
        "chain_id": row.get("chain_id"),
        "chain_name": row.get("chain_name"),
        "node_id": row.get("node_id"),
        "node_name": row.get("node_name"),
        "gap_status": row.get("gap_status") or row.get("status"),
        "score": score,
        "factors": jsonable(dict(factors)),
        "reason": row.get("reason"),
        "note": row.get("note"),
    }


@dataclass
class AddRowsResult:
    added: list[TargetListRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # Chinese: why each row was left out


def add_rows(
    session: Session,
    actor: Actor,
    list_id: int,
    rows: Iterable[Mapping[str, Any]],
    *,
    expected_version: int | None = None,
    settings: CrmSettings | None = None,
    reason: str | None = None,
    ip: str | None = None,
) -> AddRowsResult:
    """Append ranked targets (dicts as the graph's ranking gives them: company_id, company_name,
    uscc, chain_id, chain_name, node_id, node_name, status, score, factors, reason). A firm already
    on the list for the same node is skipped and reported. With `settings`, a firm whose CRM
    status is landed, lost or paused (crm.services.firm_status) is skipped with a warning unless
    a `reason` is given, which is then kept as the row's note."""
    actor, tl = _editable(session, actor, list_id, expected_version)
    reason = (reason or "").strip() or None
    flagged: dict[str | None, firm_status.CrmStatus] = {}
    rows = list(rows)
    if settings is not None:
        refs = [CompanyRef(r.get("company_id"), r.get("company_name"), r.get("uscc")) for r in rows]
        flagged = {k: v for k, v in firm_status.statuses(session, refs, settings).items() if v.flagged}
    present = {(r.company_id, r.node_id) for r in tl.rows}
    position = max((r.position for r in tl.rows), default=0)
    result = AddRowsResult()
    for raw in rows:
        values = _clean_row(raw)
        key = (values["company_id"], values["node_id"])
        if key in present:
            result.skipped.append(
                f"「{values['company_name']}」已在名录中（{values['node_name'] or '同一环节'}）"
            )
            continue
        status = flagged.get(values["company_id"])
        if status is not None:
            if reason is None:
                result.skipped.append(
                    f"「{values['company_name']}」在招商系统中为「{status.text}」，加入名录须填写理由"
                )
                continue
            values["note"] = f"加入理由（{status.stage}）：{reason}"
        present.add(key)
        position += 1
        row = TargetListRow(position=position, **values)
        tl.rows.append(row)
        result.added.append(row)
    _touch(session, tl)
    if result.added:
        audit.record(
            session,
            actor,
            audit.UPDATE,
            "target_list",
            tl.id,
            None,
            {"added": [r.company_name for r in result.added]},
            ip,
        )
    return result


def remove_rows(
    session: Session,
    actor: Actor,
    list_id: int,
    row_ids: Sequence[int],
    *,
    expected_version: int | None = None,
    ip: str | None = None,
) -> TargetList:
    actor, tl = _editable(session, actor, list_id, expected_version)
    wanted = set(row_ids)
    removed = [r for r in tl.rows if r.id in wanted]
    if len(removed) != len(wanted):
        raise NotFound("要删除的行不在该名录中")
    for row in removed:
        tl.rows.remove(row)
    for i, row in enumerate(tl.rows, start=1):
        row.position = i
    _touch(session, tl)
    audit.record(
        session,
        actor,
        audit.UPDATE,
        "target_list",
        tl.id,
        {"removed": [r.company_name for r in removed]},
        None,
        ip,
    )
    return tl


def reorder(
    session: Session,
    actor: Actor,
    list_id: int,
    row_ids: Sequence[int],
    *,
    expected_version: int | None = None,
    ip: str | None = None,
) -> TargetList:
    """Set the order of all rows: `row_ids` must name every row of the list exactly once."""
    actor, tl = _editable(session, actor, list_id, expected_version)
    by_id = {r.id: r for r in tl.rows}
    if sorted(row_ids) != sorted(by_id):
        raise ValidationError("排序须包含名录中的全部企业且不能重复")
    before = [r.id for r in sorted(tl.rows, key=lambda r: r.position)]
    for i, row_id in enumerate(row_ids, start=1):
        by_id[row_id].position = i
    _touch(session, tl)
    session.expire(tl, ["rows"])
    audit.record(
        session, actor, audit.UPDATE, "target_list", tl.id, {"order": before}, {"order": list(row_ids)}, ip
    )
    return tl


def annotate(
    session: Session,
    actor: Actor,
    list_id: int,
    row_id: int,
    note: str | None,
    *,
    expected_version: int | None = None,
    ip: str | None = None,
) -> TargetListRow:
    actor, tl = _editable(session, actor, list_id, expected_version)
    row = next((r for r in tl.rows if r.id == row_id), None)
    if row is None:
        raise NotFound("该行不在名录中")
    note = (note or "").strip() or None
    if note is not None and len(note) > 2000:
        raise ValidationError("批注不能超过 2000 个字符")
    before = row.note
    row.note = note
    _touch(session, tl)
    audit.record(
        session, actor, audit.UPDATE, "target_list_row", row.id, {"note": before}, {"note": note}, ip
    )
    return row


def rename(
    session: Session,
    actor: Actor,
    list_id: int,
    title: str,
    *,
    expected_version: int | None = None,
    ip: str | None = None,
) -> TargetList:
    actor, tl = _editable(session, actor, list_id, expected_version)
    title = (title or "").strip()
    if not title:
        raise ValidationError("名录标题不能为空")
    before = tl.title
    tl.title = title[:200]
    _touch(session, tl)
    audit.record(
        session, actor, audit.UPDATE, "target_list", tl.id, {"title": before}, {"title": tl.title}, ip
    )
    return tl


def _review(
    session: Session, actor: Actor, tl: TargetList, action: str, comment: str | None, now: datetime
) -> None:
    tl.reviews.append(TargetListReview(action=action, comment=comment, actor_id=actor.id, at=now))


def submit(
    session: Session,
    actor: Actor,
    list_id: int,
    comment: str | None = None,
    *,
    expected_version: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> TargetList:
    """Send a draft (or a returned list) to the leaders for approval."""
    now = now or utcnow()
    actor, tl = _editable(session, actor, list_id, expected_version)
    if not tl.rows:
        raise ValidationError("名录中还没有企业，不能提交")
    before = tl.status
    tl.status, tl.submitted_at = TL_SUBMITTED, now
    _review(session, actor, tl, "submit", (comment or "").strip() or None, now)
    _touch(session, tl, now)
    for leader in session.scalars(select(User).where(User.role == LEADER, User.is_active.is_(True))):
        inbox.notify(
            session,
            leader.id,
            "target_list_submitted",
            f"{actor.display_name}提交了《{tl.title}》，请审批",
            comment,
            target_list_id=tl.id,
            action_key=inbox.target_list_review_key(tl.id),
            now=now,
        )
    audit.record(
        session, actor, audit.SUBMIT, "target_list", tl.id, {"status": before}, {"status": tl.status}, ip
    )
    return tl


def _reviewable(
    session: Session, actor: Actor, list_id: int, expected_version: int | None
) -> tuple[Actor, TargetList]:
    actor = current_actor(session, actor)
    if not perm.can_review_target_lists(actor):
        raise PermissionDenied("只有区领导可以审批目标企业名录")
    tl = _load(session, list_id)
    if tl.status != TL_SUBMITTED:
        raise WorkflowError(f"名录状态为「{tl.status_label}」，不在待审批状态")
    if expected_version is not None and int(expected_version) != tl.version:
        raise StaleEdit(f"名录「{tl.title}」")
    return actor, tl


def return_list(
    session: Session,
    actor: Actor,
    list_id: int,
    comment: str,
    *,
    expected_version: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> TargetList:
    """A leader sends the list back to its manager; a comment saying why is required."""
    now = now or utcnow()
    actor, tl = _reviewable(session, actor, list_id, expected_version)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("退回名录须填写意见")
    tl.status = TL_RETURNED
    _review(session, actor, tl, "return", comment, now)
    inbox.close_action(session, inbox.target_list_review_key(tl.id), now)
    _touch(session, tl, now)
    inbox.notify(
        session,
        tl.created_by_id,
        "target_list_returned",
        f"{actor.display_name}退回了《{tl.title}》",
        comment,
        target_list_id=tl.id,
        now=now,
    )
    audit.record(
        session,
        actor,
        audit.RETURN,
        "target_list",
        tl.id,
        {"status": TL_SUBMITTED},
        {"status": TL_RETURNED, "comment": comment},
        ip,
    )
    return tl


def approve(
    session: Session,
    actor: Actor,
    list_id: int,
    comment: str | None = None,
    *,
    expected_version: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> TargetList:
    """A leader approves: the list is frozen as the next version of its sector/chain."""
    now = now or utcnow()
    actor, tl = _reviewable(session, actor, list_id, expected_version)
    scope = select(func.max(TargetList.version_no)).where(
        TargetList.status == TL_APPROVED,
        TargetList.sector_id == tl.sector_id,
        TargetList.chain_id.is_(None) if tl.chain_id is None else TargetList.chain_id == tl.chain_id,
    )
    tl.version_no = (session.scalar(scope) or 0) + 1
    tl.status, tl.approved_at, tl.approved_by_id = TL_APPROVED, now, actor.id
    comment = (comment or "").strip() or None
    _review(session, actor, tl, "approve", comment, now)
    inbox.close_action(session, inbox.target_list_review_key(tl.id), now)
    _touch(session, tl, now)
    inbox.notify(
        session,
        tl.created_by_id,
        "target_list_approved",
        f"{actor.display_name}批准了《{tl.title}》（第 {tl.version_no} 版）",
        comment,
        target_list_id=tl.id,
        now=now,
    )
    audit.record(
        session,
        actor,
        audit.APPROVE,
        "target_list",
        tl.id,
        {"status": TL_SUBMITTED},
        {"status": TL_APPROVED, "version_no": tl.version_no, "comment": comment},
        ip,
    )
    return tl
