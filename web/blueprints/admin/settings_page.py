"""业务设置: a thin editor of the run-time settings. Definitions (label, type, range) are
crm.settings.SETTINGS, the stored values and their checks crm.services.runtime_settings; this
page only renders the rows and hands the form over."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.services import runtime_settings
from web import backend

from ._blueprint import bp


def _row(r: runtime_settings.SettingRow) -> dict:
    s = r.setting
    extra = {
        name: value
        for name, value in (("min", s.minimum), ("max", s.maximum), ("choices", s.choices))
        if value is not None
    }
    return {
        "key": s.key,
        "label": s.label,
        "kind": s.kind,
        "extra": extra,
        "value": r.value,
        "editable": r.editable,
    }


def _render_settings(errors=None, status=200):
    rows = [_row(r) for r in runtime_settings.setting_rows(backend.db(), backend.cfg())]
    return render_template(
        "admin/settings.html", rows=rows, errors=errors or [], crm=backend.crm_settings()
    ), status


@bp.get("/settings")
def settings():
    return _render_settings()


@bp.post("/settings")
def save_settings():
    """Every changed key and the resulting rules are validated as a whole; all or nothing is saved."""
    try:
        with backend.unit_of_work() as session:
            changes = runtime_settings.save_settings(
                session, current_user.orm, backend.cfg(), request.form, request.remote_addr
            )
    except runtime_settings.SettingsRejected as exc:
        return _render_settings(exc.errors, 400)
    if not changes:
        flash("设置没有变化。", "info")
    else:
        flash(f"已保存 {len(changes)} 项设置，立即生效。", "success")
    return redirect(url_for("admin.settings"))
