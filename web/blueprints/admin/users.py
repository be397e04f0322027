"""User administration: create (a generated password is shown once), disable/enable, reset the
password, change role and team. Views parse the form, call crm.services.users and render."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.errors import ValidationError
from crm.models import ROLE_LABELS
from crm.passwords import generate_password
from crm.services import users as user_service
from web import backend

from ._blueprint import bp, sectors


def _render_users(new_password=None, status=200):
    session = backend.db()
    return render_template(
        "admin/users.html",
        users=user_service.list_users(session, current_user.orm),
        roles=ROLE_LABELS,
        sectors=sectors(),
        teams=user_service.list_teams(session),
        new_password=new_password,
        policy=backend.crm_settings().security,
    ), status


@bp.get("/users")
def users():
    return _render_users()


@bp.post("/users")
def create_user():
    form = request.form
    password = form.get("password") or ""
    generated = not password
    password = password or generate_password()
    try:
        with backend.unit_of_work() as session:
            user = user_service.create_user(
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
    active = request.form.get("active") == "1"
    try:
        with backend.unit_of_work() as session:
            user = user_service.set_active(session, current_user.orm, user_id, active, ip=request.remote_addr)
    except ValidationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    flash(f"已{'启用' if active else '停用'}用户「{user.username}」。", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    password = request.form.get("password") or ""
    generated = not password
    password = password or generate_password()
    try:
        with backend.unit_of_work() as session:
            user = user_service.reset_password(
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
    form = request.form
    try:
        with backend.unit_of_work() as session:
            user = user_service.update_user(
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
