"""Changing the run-time settings (系统管理 → 业务设置): who may, what is checked, what is audited.

The web page is a thin editor over `setting_rows` and `save_settings`; the definitions (label,
type, range) are crm.settings.SETTINGS and the rows live in crm.settings_store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from graph.errors import ConfigError, InvalidInput

from .. import permissions, settings_store
from ..errors import PermissionDenied, ValidationError
from ..settings import SETTINGS, CrmSettings, SettingDef, config_value, editable_keys
from . import audit


class SettingsRejected(ValidationError):
    """Some values were refused; `errors` lists each reason in Chinese and nothing was written."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("设置未保存：" + "；".join(self.errors))


@dataclass(frozen=True)
class SettingRow:
    setting: SettingDef
    value: Any
    editable: bool


def _current(session: Session, cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    overrides = settings_store.read_overrides(session)
    editable = set(editable_keys(cfg))
    values = {
        key: overrides[key] if key in overrides and key in editable else config_value(cfg, key)
        for key in SETTINGS
    }
    return values, overrides


def setting_rows(session: Session, cfg: Mapping[str, Any]) -> list[SettingRow]:
    """Every known setting with its value in force and whether the administrator may change it."""
    values, _ = _current(session, cfg)
    editable = set(editable_keys(cfg))
    return [SettingRow(s, values[key], key in editable) for key, s in SETTINGS.items()]


def save_settings(
    session: Session, actor: Any, cfg: Mapping[str, Any], form: Mapping[str, str], ip: str | None = None
) -> dict[str, Any]:
    """Parse the editable keys present in `form`, validate the resulting rules as a whole, store the
    changed ones and audit them. Returns the changes ({} when nothing changed); keys the
    configuration pins are ignored. SettingsRejected when any value is refused."""
    if not permissions.can_manage_users(actor):
        raise PermissionDenied("业务设置仅限系统管理员修改")
    values, overrides = _current(session, cfg)
    errors, changes = [], {}
    for key in editable_keys(cfg):
        if key not in form:
            continue
        try:
            value = SETTINGS[key].parse(form[key])
        except InvalidInput as exc:
            errors.append(str(exc))
            continue
        if value != values[key]:
            changes[key] = value
    if not errors:
        try:
            CrmSettings.from_config(cfg, {**overrides, **changes})
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise SettingsRejected(errors)
    if not changes:
        return {}
    before = {key: values[key] for key in changes}
    settings_store.write_overrides(session, changes, getattr(actor, "id", None))
    audit.record(session, actor, audit.UPDATE, "settings", None, before, changes, ip)
    return changes


def import_legacy(
    session: Session, actor: Any, cfg: Mapping[str, Any], saved: Mapping[str, Any]
) -> dict[str, Any]:
    """Take over the values an older release kept in <instance>/settings.json (a flat
    {"crm.follow_up_days": 7} mapping): checked and audited like a save from the page."""
    form = {key: str(value) for key, value in saved.items() if key in SETTINGS}
    return save_settings(session, actor, cfg, form)
