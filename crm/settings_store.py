"""The administrator's run-time settings in the CRM database, and the per-process cache of the
effective settings built from them.

Every web process, worker and command reads the same rows, so a change saved by one process is
seen by the next request of every other: `SettingsSource.current` compares one version counter
(a primary-key read) per call and rebuilds the settings only when it moved.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from graph.errors import ConfigError, InvalidInput

from .models import SettingOverride, SettingsVersion, utcnow
from .settings import SETTINGS, CrmSettings

VERSION_ROW = 1


def read_version(session: Session) -> int:
    """The counter of saved changes (0 before the first)."""
    return session.scalar(select(SettingsVersion.version).where(SettingsVersion.id == VERSION_ROW)) or 0


def read_overrides(session: Session) -> dict[str, Any]:
    """Stored overrides of known settings; a stored value out of its range is an operator error."""
    out = {}
    for row in session.scalars(select(SettingOverride)):
        setting = SETTINGS.get(row.key)
        if setting is None:
            continue  # a setting a newer or older release knew: not ours to apply
        try:
            out[row.key] = setting.check(row.value)
        except InvalidInput as exc:
            raise ConfigError(
                f"数据库中保存的业务设置 {row.key} 无效：{exc}；请在 系统管理 → 业务设置 中改正"
            ) from exc
    return out


def write_overrides(session: Session, changes: Mapping[str, Any], actor_id: int | None) -> int:
    """Upsert the changed values and move the version counter; returns the new version."""
    now = utcnow()
    for key, value in changes.items():
        row = session.get(SettingOverride, key)
        if row is None:
            session.add(SettingOverride(key=key, value=value, updated_at=now, updated_by_id=actor_id))
        else:
            row.value, row.updated_at, row.updated_by_id = value, now, actor_id
    moved = cast(
        CursorResult[Any],
        session.execute(
            update(SettingsVersion)
            .where(SettingsVersion.id == VERSION_ROW)
            .values(version=SettingsVersion.version + 1)
        ),
    ).rowcount
    if not moved:
        session.add(SettingsVersion(id=VERSION_ROW, version=1))
    session.flush()
    return read_version(session)


def effective_settings(session: Session, cfg: Mapping[str, Any]) -> CrmSettings:
    """The rules in force now: the configuration plus the stored overrides (one-shot callers: CLI)."""
    return CrmSettings.from_config(cfg, read_overrides(session))


class SettingsSource:
    """Per-process cache of the effective settings, refreshed when the stored version moves."""

    def __init__(self, cfg: Mapping[str, Any]):
        self.cfg = cfg
        self._lock = threading.Lock()
        self._version: int | None = None
        self._settings: CrmSettings | None = None
        CrmSettings.from_config(cfg)  # a wrong configuration is reported when the app is built

    def current(self, session: Session) -> CrmSettings:
        version = read_version(session)
        with self._lock:
            if self._settings is None or version != self._version:
                self._settings = CrmSettings.from_config(self.cfg, read_overrides(session))
                self._version = version
            return self._settings
