"""系统管理: users (create, disable/enable, reset password, role and team), the settings that
config.toml leaves to the administrator, the company/relation import page, and the district-wide
audit log (等保 2.0 asks for it to be reviewed).

Settings: config.toml's [admin] editable lists the keys ("crm.follow_up_days", ...) an
administrator may change at run time; every other key stays pinned by the file. Changes are
validated as a whole (CrmSettings.from_config), written atomically to <instance>/settings.json,
audited, and applied to the running app; the file is read again when the app starts.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from crm.services import duties
from graph.upload_limits import UploadLimits, upload_name

from .. import backend
from ..params import page_arg, parse_int

bp = Blueprint("admin", __name__, url_prefix="/admin")

SETTINGS_FILE = "settings.json"
# Keys an administrator may be allowed to change: key -> (label, kind, extra).
SETTING_SPECS = {
    "crm.first_contact_days": ("首次联系时限（天）", "int", {"min": 1, "max": 365}),
    "crm.follow_up_days": ("跟进间隔（天）", "int", {"min": 1, "max": 365}),
    "crm.protection_days": ("首报首谈保护期（天）", "int", {"min": 1, "max": 3650}),
    "crm.auto_assign": (
        "自动分派",
        "choice",
        {"choices": {"off": "关闭", "sector": "按产业轮流", "chain": "按产业链优先"}},
    ),
    "four_ones.key_investment_min": ("重点项目投资额门槛（万元）", "float", {"min": 0}),
    "security.lockout_failures": ("连续登录失败锁定次数", "int", {"min": 1, "max": 100}),
    "security.lockout_minutes": ("锁定时长（分钟）", "int", {"min": 1, "max": 1440}),
}
IMPORT_KINDS = {"companies": "企业", "relations": "供应关系"}
IMPORT_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}


@bp.before_request
@login_required
def _admins_only():
    # 三员分立 (crm/services/duties.py): the audit log is the audit duty, the rest the system duty
    duty = duties.AUDIT_DUTY if request.endpoint == "admin.audit_log" else duties.SYSTEM_DUTY
    if not duties.holds(current_user.orm, duty, backend.crm_settings().security):
        abort(403, "系统管理仅限系统管理员")
    return None


# ----------------------------------------------------------------------------- settings store


def editable_keys(cfg: dict) -> list[str]:
    """Keys config.toml hands to the administrator ([admin] editable), known to this page."""
    wanted = (cfg.get("admin") or {}).get("editable") or []
    return [k for k in wanted if k in SETTING_SPECS]


def _settings_path(cfg: dict) -> Path:
    from lianzhao.config import instance_path

    return instance_path(cfg) / SETTINGS_FILE


def read_overrides(cfg: dict) -> dict:
    try:
        data = json.loads(_settings_path(cfg).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        current_app.logger.warning("ignoring unreadable %s", SETTINGS_FILE)
        return {}
    return data if isinstance(data, dict) else {}


def apply_overrides(cfg: dict, overrides: dict) -> None:
    """Put the allowed overrides into the live config dict (in place)."""
    for key in editable_keys(cfg):
        if key in overrides:
            section, name = key.split(".", 1)
            cfg.setdefault(section, {})[name] = overrides[key]


@bp.record_once
def _load_overrides_at_start(state):
    """When the app is built, the administrator's saved settings join the configuration."""
    ext = state.app.extensions.get(backend.EXT)
    if ext is None:
        return
    with state.app.app_context():
        apply_overrides(ext.cfg, read_overrides(ext.cfg))
    ext._crm_settings = None


def _current_value(cfg: dict, key: str):
    section, name = key.split(".", 1)
    return (cfg.get(section) or {}).get(name)


def _parse(key: str, raw: str):
    label, kind, extra = SETTING_SPECS[key]
    raw = (raw or "").strip()
    if kind == "choice":
        if raw not in extra["choices"]:
            raise ValueError(f"{label}取值无效")
        return raw
    try:
        value = int(raw) if kind == "int" else float(raw)
    except ValueError:
        raise ValueError(f"{label}须为{'整数' if kind == 'int' else '数字'}") from None
    if value < extra.get("min", value) or value > extra.get("max", value):
        raise ValueError(f"{label}须在 {extra.get('min')} 到 {extra.get('max', '∞')} 之间")
    return value


# ----------------------------------------------------------------------------- users


def _sectors():
    return backend.chain_service().sectors()


def _render_users(new_password=None, status=200):
    from crm.models import ROLE_LABELS
    from crm.services import users

    session = backend.db()
    return render_template(
        "admin/users.html",
        users=users.list_users(session, current_user.orm),
        roles=ROLE_LABELS,
        sectors=_sectors(),
        teams=users.list_teams(session),
        new_password=new_password,
        policy=backend.crm_settings().security,
    ), status


@bp.get("/")
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():
    return _render_users()


def _int(value):
    number = parse_int(value)
    if number is None and value not in (None, ""):
        abort(400, "参数无效")
    return number


@bp.post("/users")
def create_user():
    from crm.errors import ValidationError
    from crm.passwords import generate_password
    from crm.services import users

    form = request.form
    password = form.get("password") or ""
    generated = not password
    password = password or generate_password()
    try:
        with backend.unit_of_work() as session:
            user = users.create_user(
                session,
                current_user.orm,
                username=form.get("username", ""),
                display_name=form.get("display_name", ""),
                role=form.get("role", ""),
                password=password,
                sector_id=form.get("sector_id") or None,
                settings=backend.crm_settings(),
                ip=request.remote_addr,
                must_change_password=True,
            )
    except ValidationError as exc:
        flash(f"用户未创建：{exc}", "error")
        return _render_users(status=400)
    flash(f"已创建用户「{user.username}」（{user.role_label}），首次登录须修改密码。", "success")
    # Rendered, not redirected: a generated password is shown once and never stored in a cookie.
    return _render_users(new_password=(user.username, password) if generated else None)


@bp.post("/users/<int:user_id>/active")
def set_active(user_id: int):
    from crm.errors import ValidationError
    from crm.services import users

    active = request.form.get("active") == "1"
    try:
        with backend.unit_of_work() as session:
            user = users.set_active(session, current_user.orm, user_id, active, ip=request.remote_addr)
    except ValidationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    flash(f"已{'启用' if active else '停用'}用户「{user.username}」。", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    from crm.errors import ValidationError
    from crm.passwords import generate_password
    from crm.services import users

    password = request.form.get("password") or ""
    generated = not password
    password = password or generate_password()
    try:
        with backend.unit_of_work() as session:
            user = users.reset_password(
                session,
                current_user.orm,
                user_id,
                password,
                settings=backend.crm_settings(),
                ip=request.remote_addr,
            )
    except ValidationError as exc:
        flash(f"密码未重置：{exc}", "error")
        return _render_users(status=400)
    flash(f"已重置「{user.username}」的密码并解除锁定，对方下次登录须修改密码。", "success")
    return _render_users(new_password=(user.username, password) if generated else None)


@bp.post("/users/<int:user_id>")
def update_user(user_id: int):
    from crm.errors import ValidationError
    from crm.services import users

    form = request.form
    try:
        with backend.unit_of_work() as session:
            user = users.update_user(
                session,
                current_user.orm,
                user_id,
                display_name=form.get("display_name"),
                role=form.get("role") or None,
                sector_id=form.get("sector_id", None),
                ip=request.remote_addr,
            )
    except ValidationError as exc:
        flash(f"用户未修改：{exc}", "error")
        return redirect(url_for("admin.users"))
    flash(f"已保存用户「{user.username}」。", "success")
    return redirect(url_for("admin.users"))


# ----------------------------------------------------------------------------- settings page


@bp.get("/settings")
def settings():
    return _render_settings()


def _render_settings(errors=None, status=200):
    cfg = backend.cfg()
    editable = set(editable_keys(cfg))
    rows = [
        {
            "key": key,
            "label": spec[0],
            "kind": spec[1],
            "extra": spec[2],
            "value": _current_value(cfg, key),
            "editable": key in editable,
        }
        for key, spec in SETTING_SPECS.items()
    ]
    return render_template(
        "admin/settings.html", rows=rows, errors=errors or [], crm=backend.crm_settings()
    ), status


@bp.post("/settings")
def save_settings():
    """Validate every changed key and the resulting rules as a whole; write all or nothing."""
    import copy

    from crm.services import audit
    from crm.settings import CrmSettings
    from lianzhao.config import ConfigError

    cfg = backend.cfg()
    keys = editable_keys(cfg)
    errors, changes = [], {}
    for key in keys:
        if key in request.form:
            try:
                value = _parse(key, request.form[key])
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if value != _current_value(cfg, key):
                changes[key] = value
    candidate = copy.deepcopy({k: v for k, v in cfg.items() if not k.startswith("_")})
    for key, value in changes.items():
        section, name = key.split(".", 1)
        candidate.setdefault(section, {})[name] = value
    if not errors:
        try:
            CrmSettings.from_config(candidate).validate()
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        return _render_settings(errors, 400)
    if not changes:
        flash("设置没有变化。", "info")
        return redirect(url_for("admin.settings"))
    overrides = read_overrides(cfg)
    before = {k: _current_value(cfg, k) for k in changes}
    overrides.update(changes)
    path = _settings_path(cfg)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(overrides, fh, ensure_ascii=False, indent=2)
    try:
        with backend.unit_of_work() as session:
            audit.record(
                session,
                current_user.orm,
                audit.UPDATE,
                "settings",
                None,
                before,
                changes,
                request.remote_addr,
            )
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half of it
    apply_overrides(cfg, overrides)
    backend.backend()._crm_settings = None  # rebuilt from the live config on next use
    flash(f"已保存 {len(changes)} 项设置，立即生效。", "success")
    return redirect(url_for("admin.settings"))


# ----------------------------------------------------------------------------- import page


@bp.get("/import")
def import_page():
    from graph.importer import COMPANY_COLUMNS, RELATION_COLUMNS

    return render_template(
        "admin/import.html",
        report=None,
        kinds=IMPORT_KINDS,
        company_columns=COMPANY_COLUMNS,
        relation_columns=RELATION_COLUMNS,
    )


@bp.post("/import")
def run_import():
    """Import an uploaded file; any bad row means nothing is written and every row error is shown."""
    from crm.services import audit
    from graph.importer import COMPANY_COLUMNS, RELATION_COLUMNS, import_companies, import_relations
    from graph.tabular import TabularError

    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in IMPORT_KINDS:
        abort(400, "请选择导入类型")
    error = None
    report = None
    if upload is None or not upload.filename:
        error = "请选择要导入的文件（CSV 或 XLSX）"
    else:
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in IMPORT_SUFFIXES:
            error = "只支持 CSV 或 XLSX 文件（旧版 .xls 请先另存为 .xlsx）"
    if error is None:
        from lianzhao.config import instance_path

        folder = instance_path(backend.cfg()) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix)
        os.close(fd)
        # messages name the file as the user knows it, never the server's temporary file
        shown = upload_name(upload.filename)
        try:
            upload.save(tmp)
            store = backend.backend().store
            limits = UploadLimits.from_config(backend.cfg())
            if kind == "companies":
                report = import_companies(
                    store,
                    tmp,
                    district_cfg=backend.cfg().get("district", {}),
                    limits=limits,
                    display_name=shown,
                )
            else:
                report = import_relations(store, tmp, limits=limits, display_name=shown)
        except TabularError as exc:
            error = str(exc)
        finally:
            Path(tmp).unlink(missing_ok=True)
    if report is not None:
        with backend.unit_of_work() as session:
            audit.record(
                session,
                current_user.orm,
                "import",
                kind,
                None,
                None,
                {
                    "file": upload.filename,
                    "total": report.total,
                    "written": report.written,
                    "rejected": report.rejected,
                    "committed": report.committed,
                },
                request.remote_addr,
            )
    status = 200 if report is not None and report.committed else 400
    return render_template(
        "admin/import.html",
        report=report,
        error=error,
        kind=kind,
        filename=upload.filename if upload else None,
        kinds=IMPORT_KINDS,
        company_columns=COMPANY_COLUMNS,
        relation_columns=RELATION_COLUMNS,
    ), status


# ----------------------------------------------------------------------------- audit log

AUDIT_PER_PAGE = 50


@bp.get("/audit")
def audit_log():
    """The whole district's audit log, newest first, filtered by user, action, object and day,
    each entry as readable Chinese (services.audit.describe)."""
    from datetime import datetime

    from crm.errors import ValidationError
    from crm.services import audit, users

    from ..localtime import zone_from_config

    session = backend.db()
    actor = current_user.orm
    args = request.args
    f = {
        "user": _int_arg(args.get("user")),
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
    labels = {key: spec[0] for key, spec in SETTING_SPECS.items()}
    lines = audit.describe(session, page.items, labels=labels, sectors={s.id: s.name for s in _sectors()})
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
        people=users.list_users(session, actor),
        actions=audit.ACTION_LABELS,
        entities=audit.ENTITY_LABELS,
        args=args_kept,
    ), 400 if error else 200


def _int_arg(value) -> int | None:
    return parse_int(value)
