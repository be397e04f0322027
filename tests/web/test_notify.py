"""Notifications outside the app (issue 18), against a real SMTP server (aiosmtpd on port 8025)
and a real local HTTP receiver: an assignment sends a mail and a signed webhook, each with a
link that opens the lead; failures are retried with backoff and shown to the administrator."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from crm.db import unit_of_work
from crm.models import utcnow
from crm.models_api import FAILED, SENT, OutboxMessage
from crm.services.assignment import assign_lead
from crm.services.leads import create_lead
from crm.services.notify import enqueue_reminders, save_preference
from crm.services.notify_send import SIGNATURE_HEADER, TIMESTAMP_HEADER, deliver_due, sign
from crm.services.users import get_by_username
from crm.settings import CrmSettings

from .conftest import csrf_token

SETTINGS = CrmSettings()
SMTP_PORT = 8025
SECRET = "webhook-test-secret"


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def receiver():
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((dict(self.headers), body))
            status = 500 if getattr(server, "fail", False) else 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.got = got
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()
    server.server_close()


def _configure(env, receiver, fmt="json"):
    env.cfg["notify"].update(
        enabled=True,
        base_url="http://lianzhao.test",
        smtp_host="127.0.0.1",
        smtp_port=SMTP_PORT,
        mail_from="lianzhao@tongzhou.test",
        webhook_url=receiver.url,
        webhook_format=fmt,
        webhook_secret=SECRET,
        timeout_seconds=5,
        max_attempts=2,
        retry_base_seconds=60,
    )


def _assign(env, digest=False):
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        save_preference(
            s, rec, email="zhang@tongzhou.test", channels={"assignment": ["email", "webhook"]}, digest=digest
        )
        mgr = get_by_username(s, "jingli")
        lead = create_lead(
            s, mgr, {"company_name": "苏州功率芯片", "sector_id": "nev", "channel": "精准补链"},
            settings=SETTINGS, auto_assign=False,
        )  # fmt: skip
        assign_lead(s, mgr, lead.id, rec.id)
        return lead.id


def test_an_assignment_sends_a_mail_and_a_signed_webhook_with_working_links(env, app, smtp, receiver):
    _configure(env, receiver)
    lead_id = _assign(env)
    with unit_of_work(env.session_factory) as s:  # queued in the request's transaction, not sent
        assert {r.channel for r in s.query(OutboxMessage)} == {"email", "webhook"}
    assert smtp.messages == [] and receiver.got == []
    counts = deliver_due(env.session_factory, env.cfg)
    assert counts["sent"] == 2
    ((rcpt, mail),) = smtp.messages
    assert rcpt == ["zhang@tongzhou.test"] and "分派" in mail["Subject"]
    link = f"http://lianzhao.test/leads/{lead_id}"
    assert link in mail.get_content()
    ((headers, body),) = receiver.got
    assert headers[SIGNATURE_HEADER] == sign(SECRET, headers[TIMESTAMP_HEADER], body)
    payload = json.loads(body)
    assert payload["event"] == "assignment" and payload["link"] == link
    # the link works: the recipient signed in opens the lead
    client = app.test_client()
    client.post(
        "/login",
        data={"username": "zhuanyuan", "password": "Lianzhao#2026web", "csrf_token": csrf_token(client)},
    )
    assert client.get(link.removeprefix("http://lianzhao.test")).status_code == 200
    assert deliver_due(env.session_factory, env.cfg)["sent"] == 0  # nothing sent twice


def test_robot_formats(env, smtp, receiver):
    _configure(env, receiver, fmt="wecom")
    _assign(env)
    deliver_due(env.session_factory, env.cfg)
    ((headers, body),) = receiver.got
    payload = json.loads(body)
    assert payload["msgtype"] == "markdown" and "查看详情" in payload["markdown"]["content"]


def test_failures_retry_with_backoff_then_show_to_the_administrator(env, app, smtp, receiver):
    _configure(env, receiver)
    receiver.fail = True
    env.cfg["notify"]["smtp_port"] = 1  # nothing listens there
    _assign(env)
    now = utcnow()
    assert deliver_due(env.session_factory, env.cfg, now=now)["retry"] == 2
    assert deliver_due(env.session_factory, env.cfg, now=now + timedelta(seconds=30))["retry"] == 0  # backoff
    assert deliver_due(env.session_factory, env.cfg, now=now + timedelta(seconds=61))["failed"] == 2
    with unit_of_work(env.session_factory) as s:
        rows = s.query(OutboxMessage).all()
        assert {r.status for r in rows} == {FAILED} and all(r.last_error for r in rows)
    client = app.test_client()
    client.post(
        "/login", data={"username": "admin", "password": "Lianzhao#2026web", "csrf_token": csrf_token(client)}
    )
    page = client.get("/account/outbox").get_data(as_text=True)
    assert "发送失败" in page and "苏州功率芯片" not in page  # the administrator sees no business data
    receiver.fail = False
    env.cfg["notify"]["smtp_port"] = SMTP_PORT
    client.post("/account/outbox/retry", data={"csrf_token": csrf_token(client, "/account/outbox")})
    assert deliver_due(env.session_factory, env.cfg)["sent"] == 2


def test_digest_waits_for_the_hour_and_sends_one_message(env, smtp, receiver):
    _configure(env, receiver)
    env.cfg["notify"]["webhook_url"] = ""
    _assign(env, digest=True)
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        mgr = get_by_username(s, "jingli")
        lead = create_lead(s, mgr, {"company_name": "第二家公司", "sector_id": "nev", "channel": "精准补链"},
                           settings=SETTINGS, auto_assign=False)  # fmt: skip
        assign_lead(s, mgr, lead.id, rec.id)
    now = utcnow()
    assert deliver_due(env.session_factory, env.cfg, now=now)["sent"] == 0
    counts = deliver_due(env.session_factory, env.cfg, now=now + timedelta(days=1))
    assert counts == {"sent": 1, "retry": 1, "failed": 0, "dropped": 0}  # webhook: no address, retried
    ((rcpt, mail),) = smtp.messages
    assert "汇总" in mail["Subject"] and "第二家公司" in mail.get_content()


def test_link_only_while_the_recipient_may_read_the_lead(env, smtp, receiver):
    _configure(env, receiver)
    lead_id = _assign(env)
    with unit_of_work(env.session_factory) as s:  # reassigned to the manager before the send
        mgr = get_by_username(s, "jingli")
        assign_lead(s, mgr, lead_id, mgr.id, reason="调整")
        rec2 = get_by_username(s, "zhuanyuan2")
        rec2.team_id = None
        s.get(type(rec2), get_by_username(s, "zhuanyuan").id).team_id = None  # leaves the team
    deliver_due(env.session_factory, env.cfg)
    ((_, mail),) = smtp.messages
    assert f"/leads/{lead_id}" not in mail.get_content() and "/inbox/" in mail.get_content()
    with unit_of_work(env.session_factory) as s:
        assert {r.status for r in s.query(OutboxMessage)} == {SENT}


def test_daily_overdue_reminder_once_a_day(env, smtp, receiver):
    _configure(env, receiver)
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        save_preference(s, rec, email="zhang@tongzhou.test", channels={"overdue": ["email"]}, digest=False)
        create_lead(s, rec, {"company_name": "久未联系公司", "sector_id": "nev", "channel": "精准补链"},
                    settings=SETTINGS, now=utcnow() - timedelta(days=30))  # fmt: skip
    tz = ZoneInfo("Asia/Shanghai")
    with unit_of_work(env.session_factory) as s:
        assert enqueue_reminders(s, SETTINGS, tz=tz) == 1
        assert enqueue_reminders(s, SETTINGS, tz=tz) == 0  # once a day
    deliver_due(env.session_factory, env.cfg)
    ((_, mail),) = smtp.messages
    assert "超期" in mail["Subject"] and "http://lianzhao.test/leads/?overdue=1" in mail.get_content()
