"""What the closed-loop views share: the loop settings ([stage_evidence], [attachments]) read once
per app, the attachments' folder, the district for landed firms, and the graph store a confirmed
落地 writes to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from crm.attachment_store import AttachmentStore
from crm.loop_settings import LoopSettings
from crm.masking import ContactPolicy

from . import backend

EXT = "lianzhao.loop"
CONTACTS_EXT = "lianzhao.contacts"


def loop_settings() -> LoopSettings:
    """[stage_evidence] and [attachments] from the app's configuration, read once."""
    ext = current_app.extensions
    if EXT not in ext:
        ext[EXT] = LoopSettings.from_config(backend.cfg(), backend.crm_settings().stages)
    return ext[EXT]


def attachment_store() -> AttachmentStore:
    """[attachments] folder: empty means <instance>/attachments, a relative path is under the instance."""
    ext = current_app.extensions
    key = EXT + ".attachments"
    if key not in ext:
        folder = Path(loop_settings().attachments.folder or "attachments")
        if not folder.is_absolute():
            folder = Path(backend.cfg()["instance"]["path"]) / folder
        ext[key] = AttachmentStore(folder)
    return ext[key]


def district() -> dict[str, Any]:
    return dict(backend.cfg().get("district", {}))


def graph_store() -> Any:
    return backend.backend().store


def contact_policy() -> ContactPolicy:
    """[contacts]: who sees contact details in full and who may open them (crm.masking), read once."""
    ext = current_app.extensions
    if CONTACTS_EXT not in ext:
        ext[CONTACTS_EXT] = ContactPolicy.from_config(backend.cfg())
    return ext[CONTACTS_EXT]
