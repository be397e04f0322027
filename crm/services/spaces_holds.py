"""意向锁定: a resource held for one lead for a while; signing and landing move it with the lead.

Exactly one of two simultaneous holds wins: the hold is one conditional UPDATE of the resource
row ("only while free, or while the last hold has expired"), which PostgreSQL serialises on the
row lock and re-checks after the first commits; a partial unique index on open holds backs it.

The resource follows the lead's stage (`follow_lead_stage`, called from leads.transition): the
stage after the "四个一" gate stage (在谈 -> 签约) signs it, the one after that (落地) and later
ones mark it occupied; a lost lead releases it. Stage names thus stay those of config [crm].
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from graph.errors import Conflict, PermissionDenied

from .. import permissions as perm
from ..models import Lead, utcnow
from ..models_spaces import (
    AVAILABLE,
    END_EXPIRED,
    END_LOST,
    END_RELEASED,
    END_SIGNED,
    HELD,
    OCCUPIED,
    SIGNED,
    SpaceHold,
    SpaceResource,
)
from ..settings import CrmSettings
from . import audit, inbox
from ._common import SYSTEM, Actor, current_actor, get_lead
from .spaces import ENTITY, EXPIRE, FOLLOW, HOLD, RELEASE, _load, can_read
from .spaces_settings import SpacesSettings

INBOX_KIND = "space_hold"


def can_hold(user: Any, lead: Any, settings: SpacesSettings) -> bool:
    """A role of config [spaces] hold_roles that may edit the lead holds resources for it."""
    return can_read(user) and user.role in settings.hold_roles and perm.can_edit(user, lead)


def _open_hold(session: Session, resource_id: int) -> SpaceHold | None:
    return session.scalar(
        select(SpaceHold).where(SpaceHold.resource_id == resource_id, SpaceHold.ended_at.is_(None))
    )


def _end(session: Session, hold: SpaceHold | None, reason: str, actor: Actor, now: datetime) -> None:
    if hold is not None:
        hold.ended_at, hold.end_reason, hold.ended_by_id = now, reason, actor.id


def hold(
    session: Session,
    actor: Actor,
    resource_id: int,
    lead_id: int,
    *,
    settings: SpacesSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> SpaceHold:
    """Hold the resource for the lead for [spaces] hold_days. Refused (Conflict) while another
    lead holds or signed it; a hold past its time is taken over (its holder is told)."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not can_hold(actor, lead, settings):
        raise PermissionDenied("您不能为该线索锁定空间资源")
    now = now or utcnow()
    resource = _load(session, resource_id)
    until = now + timedelta(days=settings.hold_days)
    free = or_(
        SpaceResource.status == AVAILABLE,
        and_(SpaceResource.status == HELD, SpaceResource.hold_until < now),
    )
    won = cast(
        CursorResult[Any],
        session.execute(
            update(SpaceResource)
            .where(SpaceResource.id == resource_id, free)
            .values(
                status=HELD,
                lead_id=lead.id,
                hold_until=until,
                status_changed_at=now,
                updated_at=now,
                version=SpaceResource.version + 1,
            )
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    session.refresh(resource)
    if won != 1:
        if resource.lead_id == lead.id and resource.status in (HELD, SIGNED):
            raise Conflict(f"「{resource.name}」已为本线索{resource.status}")
        who = f"线索 {resource.lead_id}" if resource.lead_id else "他人"
        raise Conflict(f"「{resource.name}」当前状态为{resource.status}（{who}），不能锁定")
    previous = _open_hold(session, resource_id)
    if previous is not None:  # expired, not yet swept: end it and tell its holder
        _end(session, previous, END_EXPIRED, SYSTEM, now)
        _notify_expired(session, previous, resource, now)
        session.flush()
    new = SpaceHold(
        resource_id=resource_id, lead_id=lead.id, held_by_id=actor.id, held_at=now, expires_at=until
    )
    session.add(new)
    session.flush()
    audit.record(
        session, actor, HOLD, ENTITY, resource.id, {"status": AVAILABLE},
        {"status": HELD, "lead_id": lead.id, "hold_until": until}, ip,
    )  # fmt: skip
    return new


def release(
    session: Session,
    actor: Actor,
    resource_id: int,
    *,
    settings: SpacesSettings,
    reason: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> SpaceResource:
    """End a hold before its time (someone who may hold for that lead, or an editor of the register)."""
    actor = current_actor(session, actor)
    resource = _load(session, resource_id)
    if resource.status != HELD or resource.lead_id is None:
        raise Conflict(f"「{resource.name}」未被锁定，无需释放")
    lead = session.get(Lead, resource.lead_id)
    editor = can_read(actor) and actor.role in settings.editor_roles
    if not (editor or (lead is not None and can_hold(actor, lead, settings))):
        raise PermissionDenied("您不能释放该空间资源的锁定")
    now = now or utcnow()
    before = {"status": resource.status, "lead_id": resource.lead_id, "hold_until": resource.hold_until}
    _end(session, _open_hold(session, resource_id), END_RELEASED, actor, now)
    _free(resource, now)
    session.flush()
    after = {"status": AVAILABLE, "lead_id": None, "hold_until": None}
    if reason and reason.strip():
        after["reason"] = reason.strip()[:500]
    audit.record(session, actor, RELEASE, ENTITY, resource.id, before, after, ip)
    return resource


def _free(resource: SpaceResource, now: datetime) -> None:
    resource.status, resource.lead_id, resource.hold_until = AVAILABLE, None, None
    resource.status_changed_at = resource.updated_at = now


def _notify_expired(session: Session, held: SpaceHold, resource: SpaceResource, now: datetime) -> None:
    lead = session.get(Lead, held.lead_id)
    to: set[int] = {uid for uid in (held.held_by_id, lead.owner_id if lead else None) if uid is not None}
    for uid in sorted(to):
        inbox.notify(
            session,
            uid,
            INBOX_KIND,
            f"空间资源「{resource.name}」的意向锁定已到期释放",
            f"为线索「{lead.company_name if lead else held.lead_id}」锁定的{resource.kind_label}"
            f"「{resource.code}」已于{held.expires_at:%Y-%m-%d}到期，现已恢复可招商。如仍需要，请重新锁定。",
            lead_id=held.lead_id,
            now=now,
        )


def expire_due(session: Session, *, now: datetime | None = None) -> list[SpaceResource]:
    """Free every resource whose hold has run out, tell the holders (inbox), audit it. Run by
    `lianzhao spaces expire` (cron) and before the register is shown."""
    now = now or utcnow()
    due = session.scalars(
        select(SpaceResource)
        .where(SpaceResource.status == HELD, SpaceResource.hold_until < now)
        .order_by(SpaceResource.id)
        .with_for_update(skip_locked=True)
    ).all()
    for resource in due:
        held = _open_hold(session, resource.id)
        before = {"status": HELD, "lead_id": resource.lead_id, "hold_until": resource.hold_until}
        if held is not None:
            _end(session, held, END_EXPIRED, SYSTEM, now)
            _notify_expired(session, held, resource, now)
        _free(resource, now)
        audit.record(session, SYSTEM, EXPIRE, ENTITY, resource.id, before, {"status": AVAILABLE}, None)
    session.flush()
    return list(due)


def _stage_roles(settings: CrmSettings) -> tuple[str | None, tuple[str, ...]]:
    """(signing stage, stages at which the project occupies its space) from the configured stages."""
    stages = settings.stages
    gate = stages.index(settings.four_ones.gate_stage)
    signing = stages[gate + 1] if gate + 1 < len(stages) else None
    return signing, tuple(stages[gate + 2 :])


def follow_lead_stage(
    session: Session,
    actor: Actor,
    lead: Lead,
    from_stage: str,
    settings: CrmSettings,
    now: datetime | None = None,
) -> list[SpaceResource]:
    """Move the lead's held or signed resources with its new stage (see the module docstring)."""
    target = lead.stage
    signing, occupying = _stage_roles(settings)
    rows: Sequence[SpaceResource] = session.scalars(
        select(SpaceResource).where(
            SpaceResource.lead_id == lead.id, SpaceResource.status.in_((HELD, SIGNED))
        )
    ).all()
    if not rows:
        return []
    now = now or utcnow()
    changed = []
    for resource in rows:
        before = {"status": resource.status, "lead_id": resource.lead_id}
        if target == settings.lost_stage:
            _end(session, _open_hold(session, resource.id), END_LOST, actor, now)
            _free(resource, now)
        elif target in occupying:
            _end(session, _open_hold(session, resource.id), END_SIGNED, actor, now)
            resource.status, resource.hold_until = OCCUPIED, None
        elif target == signing and resource.status == HELD:
            _end(session, _open_hold(session, resource.id), END_SIGNED, actor, now)
            resource.status, resource.hold_until = SIGNED, None
        else:
            continue
        resource.status_changed_at = resource.updated_at = now
        changed.append(resource)
        after = {"status": resource.status, "lead_id": resource.lead_id, "stage": f"{from_stage} → {target}"}
        audit.record(session, actor, FOLLOW, ENTITY, resource.id, before, after, None)
    session.flush()
    return changed


def holds_of_lead(session: Session, actor: Actor, lead_id: int) -> list[SpaceResource]:
    """The resources held for or signed by a lead the actor may read."""
    actor = current_actor(session, actor)
    lead = get_lead(session, lead_id)
    if not (can_read(actor) and perm.can_read(actor, lead)):
        raise PermissionDenied("您无权查看该线索")
    return list(
        session.scalars(
            select(SpaceResource).where(SpaceResource.lead_id == lead_id).order_by(SpaceResource.code)
        )
    )
