"""Sending the outbox: e-mail over SMTP to the bureau's own mail server, and JSON webhooks to a
configured internal address (generic JSON, or the markdown format of 企业微信/政务微信 and 钉钉
group robots), signed with HMAC-SHA256.

Run by `lianzhao notify send` (once, from cron or a systemd timer, or `--loop`), never inside a
web request. Each message is committed on its own, so a crash mid-run never sends one twice.
A failed send is retried after `retry_base_seconds * 2**attempts`; after `max_attempts` it stays
`failed` with its error for the administrator (系统管理 → 通知发送).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from ..models import utcnow
from ..models_api import (
    DIGEST,
    DROPPED,
    EMAIL,
    FAILED,
    PENDING,
    SENT,
    WEBHOOK,
    NotifyPreference,
    OutboxMessage,
)
from .notify import Rendered, last_digest_at, render

SIGNATURE_HEADER = "X-Lianzhao-Signature"
TIMESTAMP_HEADER = "X-Lianzhao-Timestamp"
FORMATS = ("json", "wecom", "dingtalk")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body): what a receiver recomputes."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_payload(fmt: str, msg: Rendered, kind: str) -> dict[str, Any]:
    """The JSON body for the configured robot format."""
    if fmt == "wecom":  # 企业微信 / 政务微信 群机器人
        return {"msgtype": "markdown", "markdown": {"content": f"{msg.summary}\n> 接收人：{msg.recipient}"}}
    if fmt == "dingtalk":
        return {
            "msgtype": "markdown",
            "markdown": {"title": msg.subject, "text": f"{msg.summary}\n\n> 接收人：{msg.recipient}"},
        }
    return {
        "event": kind,
        "title": msg.subject,
        "text": msg.summary,
        "link": msg.link,
        "recipient": msg.recipient,
    }


def dingtalk_url(url: str, secret: str, timestamp_ms: str) -> str:
    """钉钉's own signing: timestamp and base64(HMAC-SHA256(timestamp + "\\n" + secret)) in the URL."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={timestamp_ms}&sign={urllib.parse.quote_plus(base64.b64encode(mac))}"


def send_webhook(cfg: Mapping[str, Any], msg: Rendered, kind: str) -> None:
    url = cfg["webhook_url"]
    if not url:
        raise RuntimeError("未配置 webhook 地址（[notify] webhook_url）")
    fmt = cfg["webhook_format"]
    body = json.dumps(webhook_payload(fmt, msg, kind), ensure_ascii=False).encode("utf-8")
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: stamp}
    secret = cfg["webhook_secret"]
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, stamp, body)
        if fmt == "dingtalk":
            url = dingtalk_url(url, secret, str(int(time.time() * 1000)))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=float(cfg["timeout_seconds"])) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise RuntimeError(f"webhook 返回 HTTP {response.status}")


def send_email(cfg: Mapping[str, Any], to: str, msg: Rendered) -> None:
    mail = EmailMessage()
    mail["From"] = cfg["mail_from"]
    mail["To"] = to
    mail["Subject"] = msg.subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=cfg["mail_from"].rpartition("@")[2] or None)
    mail.set_content(msg.text)
    with smtplib.SMTP(cfg["smtp_host"], int(cfg["smtp_port"]), timeout=float(cfg["timeout_seconds"])) as smtp:
        if cfg["smtp_starttls"]:
            smtp.starttls()
        if cfg["smtp_username"]:
            smtp.login(cfg["smtp_username"], cfg["smtp_password"])
        smtp.send_message(mail)


Sender = Callable[[OutboxMessage, Rendered, str | None], None]


def default_sender(ncfg: Mapping[str, Any]) -> Sender:
    def send(row: OutboxMessage, msg: Rendered, email: str | None) -> None:
        if row.channel == EMAIL:
            if not email:
                raise RuntimeError("收件人未填写电子邮件地址")
            send_email(ncfg, email, msg)
        elif row.channel == WEBHOOK:
            send_webhook(ncfg, msg, row.kind)
        else:
            raise RuntimeError(f"未知渠道 {row.channel}")

    return send


def _due(session: Session, now: datetime, digest_cut: datetime, limit: int) -> list[OutboxMessage]:
    query = (
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == PENDING) & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == DIGEST)
                & (OutboxMessage.created_at <= digest_cut)
                & (OutboxMessage.next_attempt_at <= now),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two workers never take the same rows
    return list(session.scalars(query))


def deliver_due(
    session_factory: sessionmaker,
    cfg: Mapping[str, Any],
    *,
    now: datetime | None = None,
    sender: Sender | None = None,
    limit: int = 200,
) -> dict[str, int]:
    """Send what is due; returns counts {"sent", "retry", "failed", "dropped"}."""
    ncfg = cfg["notify"]
    counts = {"sent": 0, "retry": 0, "failed": 0, "dropped": 0}
    if not ncfg["enabled"]:
        return counts
    now = now or utcnow()
    tz = ZoneInfo(cfg["web"]["timezone"])
    cut = last_digest_at(now, int(ncfg["digest_hour"]), tz)
    sender = sender or default_sender(ncfg)
    with session_factory() as session:
        due = _due(session, now, cut, limit)
        groups: dict[tuple, list[OutboxMessage]] = defaultdict(list)
        for row in due:
            key = (row.user_id, row.channel, "digest") if row.status == DIGEST else ("one", row.id)
            groups[key].append(row)
        for rows in groups.values():
            outcome = _deliver(session, rows, ncfg, sender, now)
            counts[outcome] += 1
            session.commit()
    return counts


def _deliver(
    session: Session, rows: list[OutboxMessage], ncfg: Mapping[str, Any], sender: Sender, now: datetime
) -> str:
    user = rows[0].user
    if user is None or not user.is_active:
        for row in rows:
            row.status, row.last_error = DROPPED, "收件人账号已停用"
        return "dropped"
    pref = session.get(NotifyPreference, user.id)
    base = ncfg["base_url"] or "http://127.0.0.1:8000"
    try:
        sender(rows[0], render(session, rows, base), pref.email if pref else None)
    except Exception as exc:  # any transport failure: retry later, keep the reason
        attempts = rows[0].attempts + 1
        final = attempts >= int(ncfg["max_attempts"])
        for row in rows:
            row.attempts = attempts
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.next_attempt_at = now + timedelta(
                seconds=int(ncfg["retry_base_seconds"]) * 2 ** (attempts - 1)
            )
            if final:
                row.status = FAILED
        return "failed" if final else "retry"
    for row in rows:
        row.status, row.sent_at, row.attempts = SENT, now, row.attempts + 1
    return "sent"


def retry_failed(session: Session, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Put failed rows back in the queue (the administrator fixed the mail server, say)."""
    query = select(OutboxMessage).where(OutboxMessage.status == FAILED)
    if ids:
        query = query.where(OutboxMessage.id.in_(ids))
    rows = list(session.scalars(query))
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, now or utcnow()
    session.flush()
    return len(rows)
