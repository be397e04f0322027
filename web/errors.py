"""Error pages in Chinese, and domain errors turned into the right HTTP answer.

Permission checks live in the CRM services; a view that lets PermissionDenied escape gets a 403
page here, so no view needs its own try/except for it. Every error a user should read is a kind
of graph.errors.LianzhaoError and gets its status from its kind (`status_for`), never from its
class name. fetch() callers get JSON instead of HTML.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from graph.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    LianzhaoError,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from graph.store import GraphStoreError, GraphStoreUnavailable

log = logging.getLogger(__name__)

TITLES = {
    400: "请求有误",
    403: "无权访问",
    404: "页面不存在",
    405: "不支持的操作",
    409: "操作未完成",
    413: "文件过大",
    500: "系统出错",
    503: "服务暂不可用",
}
DEFAULT_MESSAGES = {
    400: "请求内容有误，请返回上一页重试。",
    403: "您没有权限查看或操作此内容。如需权限，请联系本部门管理员。",
    404: "您要找的页面不存在，可能已被删除或地址有误。",
    405: "该页面不支持此操作。",
    413: "上传的文件超过允许的大小。",
    500: "系统出现意外错误，已记录日志。请稍后重试，或联系系统管理员。",
    503: "后台服务暂时无法连接，请稍后重试，或联系系统管理员。",
}


def too_large_message(limit_bytes: int | None) -> str:
    """The 413 text naming the configured limit ([web] max_upload_mb), so users know what fits."""
    if not limit_bytes:
        return DEFAULT_MESSAGES[413]
    mb = limit_bytes / (1024 * 1024)
    shown = f"{mb:g} MB" if mb >= 1 else f"{max(limit_bytes // 1024, 1)} KB"
    return f"上传的文件超过 {shown} 的上限，未被接收。请拆分后分批上传，或改用 CSV（通常比 XLSX 小）。"


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        request.is_json
        or best == "application/json"
        or request.path.endswith(".json")
        or request.path.startswith("/api/")  # the API answers JSON only, also for unknown paths
    )


def render_error(code: int, message: str | None = None):
    message = message or DEFAULT_MESSAGES.get(code, "出错了。")
    if wants_json():
        return jsonify(ok=False, error=message), code
    return render_template(
        "errors/error.html", code=code, title=TITLES.get(code, "出错了"), message=message
    ), code


# Kinds of user-facing errors (graph/errors.py) -> HTTP status, checked in this order with
# isinstance, so a subclass anywhere (crm, graph, seed) gets its kind's status.
STATUS_BY_KIND: tuple[tuple[type[BaseException], int], ...] = (
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unavailable, 503),
    (GraphStoreUnavailable, 503),
    (InvalidInput, 400),
    (ConfigError, 500),
)


def status_for(exc: BaseException) -> int:
    """The HTTP status of a domain error, by its kind; other domain errors are 400."""
    return next((code for kind, code in STATUS_BY_KIND if isinstance(exc, kind)), 400)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "页面已过期或表单校验失败（CSRF），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = exc.code or 500
        if code == 413:
            return render_error(413, too_large_message(app.config.get("MAX_CONTENT_LENGTH")))
        return render_error(code, None if code in DEFAULT_MESSAGES else exc.description)

    def domain_error(exc):
        code = status_for(exc)
        if code >= 500:
            log.warning("%s: %s", type(exc).__name__, exc)
        return render_error(code, str(exc) or None)

    app.register_error_handler(LianzhaoError, domain_error)
    app.register_error_handler(GraphStoreError, domain_error)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(exc):
        """Last line behind web.params: a number the database cannot store is the caller's error."""
        log.warning("value out of range on %s %s: %s", request.method, request.path, exc)
        db = g.get("db")
        if db is not None:  # PostgreSQL aborts the transaction: the error page must still query
            db.rollback()
        return render_error(400, "参数超出范围，请检查后重试。")

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
