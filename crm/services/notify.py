"""Notifications outside the app: who wants which inbox event by which channel, the outbox rows
written with the event, and what a message may say.

Why an outbox: a mail server or a messenger robot that is slow or down must never slow down or
fail the request that assigned a lead. The inbox message and its outbox rows are written in the
request's transaction; `crm.services.notify_send` sends them later, retried with backoff.

What a message says is decided when it is sent, for the recipient as they are then: the link to a
lead is given only while the recipient may still read it (crm.permissions.can_read), an e-mail
(personal) carries the inbox text, a group robot's webhook (others read the group) only its title.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions as perm
from ..errors import PermissionDenied, ValidationError
from ..models import MANAGER, RECRUITER, InboxMessage, Lead, User, utcnow
from ..models_api import DIGEST, EMAIL, PENDING, WEBHOOK, NotifyPreference, OutboxMessage
from ..settings import CrmSettings
from . import audit
from ._common import Actor, current_actor
from .overdue import count_overdue

# Every inbox event kind -> its Chinese label (the inbox page shows the same labels).
EVENT_LABELS = {
    "assignment": "分派",
    "reassignment": "改派",
    "comment": "批注",
    "target_list_submitted": "名录待审批",
    "target_list_returned": "名录退回",
    "target_list_approved": "名录已批准",
    "return": "退回",
    "space_hold": "空间锁定到期",
    "sector_lead": "本组产业新线索",
    "named": "牵头领导/服务专员指定",
    "claim_pending": "阶段待确认",
    "claim_confirmed": "阶段已确认",
    "claim_returned": "阶段确认退回",
    # crm/services/referrals.py, filings.py, takeover.py, lead_merge.py
    "referral_pending": "引荐人待认定",
    "referral_decided": "引荐人已认定",
    "filing_due": "首报首谈待申报",
    "takeover_request": "申请接手线索",
    "takeover_decided": "接手申请已决定",
    "lead_merged": "线索合并",
    "overdue": "超期提醒",
}
OVERDUE = "overdue"
CHANNELS = (EMAIL, WEBHOOK)
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def preference(session: Session, actor: Actor) -> NotifyPreference | None:
    actor = current_actor(session, actor)
    return session.get(NotifyPreference, actor.id)


def save_preference(
    session: Session,
    actor: Actor,
    *,
    email: str | None,
    channels: Mapping[str, list[str]],
    digest: bool,
    ip: str | None = None,
    now: datetime | None = None,
) -> NotifyPreference:
    """The actor's own choice: an address, channels per event kind, at once or as a daily digest."""
    actor = current_actor(session, actor)
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or not EMAIL_RE.match(email)):
        raise ValidationError("电子邮件地址格式不正确")
    clean: dict[str, list[str]] = {}
    for kind, chosen in channels.items():
        if kind not in EVENT_LABELS:
            raise ValidationError(f"未知的消息类型：{kind}")
        bad = set(chosen) - set(CHANNELS)
        if bad:
            raise ValidationError(f"未知的通知渠道：{'、'.join(sorted(bad))}")
        if chosen:
            clean[kind] = [c for c in CHANNELS if c in chosen]
    if email is None and any(EMAIL in c for c in clean.values()):
        raise ValidationError("选择了邮件通知，请填写电子邮件地址")
    pref = session.get(NotifyPreference, actor.id)
    before = None if pref is None else {"email": pref.email, "channels": pref.channels, "digest": pref.digest}
    if pref is None:
        pref = NotifyPreference(user_id=actor.id)
        session.add(pref)
    pref.email, pref.channels, pref.digest = email, clean, bool(digest)
    pref.updated_at = now or utcnow()
    session.flush()
    after = {"email": email, "channels": clean, "digest": bool(digest)}
    audit.record(session, actor, audit.UPDATE, "notify_preference", actor.id, before, after, ip)
    return pref


def last_digest_at(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    """The latest daily digest time (naive UTC) not after `now`: `hour` o'clock on the district's
    clock. Digest rows written before it go out in that digest; later ones wait for the next."""
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at > local:
        at -= timedelta(days=1)
    return at.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def enqueue(
    session: Session,
    message: InboxMessage,
    *,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Outbox rows for one inbox message, per the recipient's preference (none: nothing)."""
    pref = session.get(NotifyPreference, message.user_id)
    if pref is None:
        return []
    now = now or utcnow()
    rows = []
    for channel in (pref.channels or {}).get(message.kind, []):
        if channel == EMAIL and not pref.email:
            continue
        row = OutboxMessage(
            user_id=message.user_id,
            channel=channel,
            kind=message.kind,
            status=DIGEST if pref.digest else PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        row.inbox_message = message
        session.add(row)
        rows.append(row)
    return rows


def enqueue_reminders(
    session: Session, settings: CrmSettings, *, tz: ZoneInfo, now: datetime | None = None
) -> int:
    """The daily 超期提醒 for each user who asked for it and has overdue leads (a recruiter: own;
    a manager: the team's), at most one per user and channel per local day. Counted by the same
    rule as the inbox's reminders (crm.services.overdue). Returns the rows queued."""
    now = now or utcnow()
    day_start = last_digest_at(now, 0, tz)
    queued = 0
    for pref in session.scalars(select(NotifyPreference)):
        channels = [c for c in (pref.channels or {}).get(OVERDUE, []) if c != EMAIL or pref.email]
        user = session.get(User, pref.user_id)
        if not channels or user is None or not user.is_active or user.role not in (RECRUITER, MANAGER):
            continue
        done = set(
            session.scalars(
                select(OutboxMessage.channel).where(
                    OutboxMessage.user_id == user.id,
                    OutboxMessage.kind == OVERDUE,
                    OutboxMessage.created_at >= day_start,
                )
            )
        )
        owner = user.id if user.role == RECRUITER else None
        n = count_overdue(session, user, settings=settings, now=now, owner_id=owner)
        for channel in channels:
            if n and channel not in done:
                session.add(
                    OutboxMessage(
                        user_id=user.id, channel=channel, kind=OVERDUE, title=f"您有 {n} 条线索已超过响应时限",
                        status=PENDING, attempts=0, next_attempt_at=now, created_at=now,
                    )
                )  # fmt: skip
                queued += 1
    session.flush()
    return queued


@dataclass(frozen=True)
class Rendered:
    """One message as it leaves the app."""

    subject: str
    text: str  # e-mail body (personal channel)
    summary: str  # webhook text (a group may read it): title and link only
    link: str
    recipient: str


def link_for(
    session: Session, user: User, message: InboxMessage | None, base_url: str, kind: str = ""
) -> str:
    """A deep link the recipient can open: the lead or list if still readable, else the inbox."""
    base = base_url.rstrip("/")
    if message is not None and message.lead_id is not None:
        lead = session.get(Lead, message.lead_id)
        if lead is not None and perm.can_read(user, lead):
            return f"{base}/leads/{lead.id}"
    if message is not None and message.target_list_id is not None and perm.can_read_target_lists(user):
        return f"{base}/lists/{message.target_list_id}"
    if message is None and kind == OVERDUE:
        return f"{base}/leads/?overdue=1"
    return f"{base}/inbox/"


def render(session: Session, rows: list[OutboxMessage], base_url: str) -> Rendered:
    """One message for one or more outbox rows of the same user (several: the daily digest)."""
    user = rows[0].user
    parts, links = [], []
    for row in rows:
        message = row.inbox_message
        label = EVENT_LABELS.get(row.kind, row.kind)
        title = message.title if message is not None else (row.title or "您有一条新消息")
        link = link_for(session, user, message, base_url, row.kind)
        links.append(link)
        lead_readable = link != f"{base_url.rstrip('/')}/inbox/" or message is None or message.lead_id is None
        body = (message.body or "") if message is not None and lead_readable else ""
        parts.append((label, title, body, link))
    if len(rows) == 1:
        label, title, body, link = parts[0]
        subject = f"【链招】{label}：{title}"
        text = f"{user.display_name}，您好：\n\n{title}\n{body}\n\n查看详情：{link}\n".replace(
            "\n\n\n", "\n\n"
        )
        summary = f"【链招】{label}：{title}\n查看详情：{link}"
    else:
        subject = f"【链招】今日消息汇总（{len(rows)} 条）"
        lines = [f"{i}. [{label}] {title}\n   {link}" for i, (label, title, _b, link) in enumerate(parts, 1)]
        text = f"{user.display_name}，您好：\n\n您有 {len(rows)} 条新消息：\n\n" + "\n".join(lines) + "\n"
        summary = f"【链招】{user.display_name}的今日消息汇总（{len(rows)} 条）\n" + "\n".join(lines)
    return Rendered(subject, text, summary, links[0], user.display_name)


def failures(session: Session, actor: Actor, *, limit: int = 100) -> list[OutboxMessage]:
    """Failed notifications, newest first: for the administrator (who sees no business data, so
    the page shows kind, channel, recipient and error, not the message)."""
    actor = current_actor(session, actor)
    if not perm.can_manage_users(actor):
        raise PermissionDenied("只有系统管理员可以查看通知发送情况")
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status != "sent")
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )
