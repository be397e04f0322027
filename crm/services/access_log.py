"""Reads of personal data and exports, in the audit log (等保 2.0: who looked at or took away
which records). Views are logged under their own entity names (``lead_view``) so a lead's change
history stays a history of changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import audit
from ._common import Actor

VIEW, EXPORT = "view", "export"


def record_view(session: Session, actor: Actor, entity: str, entity_id: Any, ip: str | None = None) -> None:
    """A page showing one record's personal data (a lead's contacts and history) was opened."""
    audit.record(session, actor, VIEW, f"{entity}_view", entity_id, None, None, ip)


def record_export(
    session: Session,
    actor: Actor,
    entity: str,
    entity_id: Any,
    detail: dict | None = None,
    ip: str | None = None,
) -> None:
    """A file left the system: a 名录 or ranking workbook, a print view."""
    audit.record(session, actor, EXPORT, entity, entity_id, None, detail or {}, ip)
