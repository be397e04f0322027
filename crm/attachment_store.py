"""Where attachment bytes live: one folder, random names, nothing half-written.

Why a module of its own: the rules (crm.services.attachments) must not touch the file system,
and tests pass their own folder. A file is first written as ``<name>.part``; it becomes ``<name>``
only after the database transaction that records it commits (`bind` hooks the session), and is
removed if that transaction rolls back. A ``.part`` left by a crash between the commit and the
rename is promoted on first read (`path_of`), so a committed row always finds its file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

PART = ".part"
_PENDING = "lianzhao.attachments.pending"
_BOUND = "lianzhao.attachments.bound"
CHUNK = 1024 * 1024


class TooLarge(Exception):
    """The stream went past the byte limit; nothing is left on disk."""


@dataclass(frozen=True)
class Written:
    stored_name: str
    size: int
    sha256: str
    part: Path  # the temporary file, until the transaction commits


class AttachmentStore:
    """A folder of files named by `secrets.token_hex`; the user's name never reaches a path."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)

    # ------------------------------------------------------------------ writing

    def write_part(self, stream: BinaryIO | bytes, limit: int) -> Written:
        """Copy `stream` to a new ``.part`` file, at most `limit` bytes (TooLarge beyond)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16)
        part = self.folder / (name + PART)
        digest, size = hashlib.sha256(), 0
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(stream):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(size)
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return Written(name, size, digest.hexdigest(), part)

    def bind(self, session: Session, written: Written) -> None:
        """Promote the ``.part`` when `session` commits; remove it when the transaction ends otherwise."""
        session.info.setdefault(_PENDING, []).append((self, written))
        if not session.info.get(_BOUND):
            event.listen(session, "after_commit", _promote_all)
            event.listen(session, "after_transaction_end", _discard_all)
            session.info[_BOUND] = True

    def discard(self, written: Written) -> None:
        written.part.unlink(missing_ok=True)

    def promote(self, written: Written) -> None:
        os.replace(written.part, self.folder / written.stored_name)

    # ------------------------------------------------------------------ reading

    def path_of(self, stored_name: str) -> Path | None:
        """The file of a committed row (a leftover ``.part`` is promoted); None if it is gone."""
        if not _is_token(stored_name):
            return None
        path = self.folder / stored_name
        if path.is_file():
            return path
        part = self.folder / (stored_name + PART)
        if part.is_file():
            os.replace(part, path)
            return path
        return None


def _chunks(stream: BinaryIO | bytes) -> Iterable[bytes]:
    if isinstance(stream, (bytes, bytearray)):
        for i in range(0, len(stream), CHUNK):
            yield bytes(stream[i : i + CHUNK])
        return
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _is_token(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def _promote_all(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    for store, written in pending:
        try:
            store.promote(written)
        except OSError:  # the row is committed: path_of promotes the .part on first read
            log.exception("attachment %s not renamed after commit", written.stored_name)


def _discard_all(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit (rollback, close): drop its files."""
    if transaction.parent is not None:
        return
    for store, written in session.info.pop(_PENDING, []):
        store.discard(written)
