"""Error pages in Chinese, and domain errors turned into the right HTTP answer.

Permission checks live in the CRM services; a view that lets PermissionDenied escape gets a 403
page here, so no view needs its own try/except for it. fetch() callers get JSON instead of HTML.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

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


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.is_json or best == "application/json" or request.path.endswith(".json")


def render_error(code: int, message: str | None = None):
    message = message or DEFAULT_MESSAGES.get(code, "出错了。")
    if wants_json():
        return jsonify(ok=False, error=message), code
    return render_template(
        "errors/error.html", code=code, title=TITLES.get(code, "出错了"), message=message
    ), code


def init_app(app: Flask) -> None:
    from graph.store import GraphStoreError, GraphStoreUnavailable

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "页面已过期或表单校验失败（CSRF），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def http_error(exc):
        code = exc.code or 500
        return render_error(code, None if code in DEFAULT_MESSAGES else exc.description)

    @app.errorhandler(GraphStoreUnavailable)
    def store_down(exc):
        log.warning("graph store unavailable: %s", exc)
        return render_error(503, str(exc))

    @app.errorhandler(GraphStoreError)
    def store_error(exc):
        # graph.service.NotFoundError and friends carry a Chinese sentence.
        name = type(exc).__name__
        return render_error(404 if name == "NotFoundError" else 400, str(exc))

    try:
        from crm import errors as crm_errors
    except ImportError:  # pragma: no cover - the CRM package is always present in a full install
        crm_errors = None
    if crm_errors is not None:

        @app.errorhandler(crm_errors.PermissionDenied)
        def denied(exc):
            return render_error(403, str(exc) or None)

        @app.errorhandler(crm_errors.NotFound)
        def crm_not_found(exc):
            return render_error(404, str(exc) or None)

        @app.errorhandler(crm_errors.DuplicateLead)
        def duplicate(exc):  # 首报首谈: says who holds the firm and until when
            return render_error(409, str(exc))

        @app.errorhandler(crm_errors.StaleEdit)
        def stale(exc):
            return render_error(409, str(exc))

        @app.errorhandler(crm_errors.CrmError)
        def crm_error(exc):
            return render_error(400, str(exc))

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(exc):
        """Last line behind web.params: a number the database cannot store is the caller's error."""
        log.warning("value out of range on %s %s: %s", request.method, request.path, exc)
        return render_error(400, "参数超出范围，请检查后重试。")

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
