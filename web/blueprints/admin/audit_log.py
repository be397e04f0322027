"""The whole district's audit log, newest first, filtered by user, action, object and day, each
entry as readable Chinese (crm.services.audit.describe)."""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request
from flask_login import current_user

from crm.errors import ValidationError
from crm.services import audit
from crm.services import users as user_service
from crm.settings import SETTINGS
from web import backend
from web.localtime import zone_from_config
from web.params import page_arg

from ._blueprint import bp, int_arg, sectors

AUDIT_PER_PAGE = 50


@bp.get("/audit")
def audit_log():
    session = backend.db()
    actor = current_user.orm
    args = request.args
    f = {
        "user": int_arg(args.get("user")),
        "action": args.get("action") or None,
        "entity": args.get("entity") or None,
        "start": (args.get("start") or "").strip(),
        "end": (args.get("end") or "").strip(),
    }
    if f["action"] not in (None, *audit.ACTION_LABELS):
        f["action"] = None
    if f["entity"] not in (None, *audit.ENTITY_LABELS):
        f["entity"] = None
    offset = zone_from_config(backend.cfg()).utcoffset(datetime.now()) or None
    error = None
    try:
        since, until = audit.day_range(f["start"], f["end"], *([offset] if offset else []))
    except ValidationError as exc:
        error, since, until = str(exc), None, None
    page = audit.list_entries(
        session,
        actor,
        actor_id=f["user"],
        action=f["action"],
        entity=f["entity"],
        since=since,
        until=until,
        page=page_arg(args.get("page")),
        per_page=AUDIT_PER_PAGE,
        policy=backend.crm_settings().security,
    )
    labels = {key: s.label for key, s in SETTINGS.items()}
    lines = audit.describe(session, page.items, labels=labels, sectors={s.id: s.name for s in sectors()})
    args_kept = {
        k: v
        for k, v in (
            ("user", f["user"]),
            ("action", f["action"]),
            ("entity", f["entity"]),
            ("start", f["start"]),
            ("end", f["end"]),
        )
        if v
    }
    return render_template(
        "admin/audit.html",
        page=page,
        lines=lines,
        f=f,
        error=error,
        people=user_service.list_users(session, actor),
        actions=audit.ACTION_LABELS,
        entities=audit.ENTITY_LABELS,
        args=args_kept,
    ), 400 if error else 200
