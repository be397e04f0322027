"""The API's plumbing: the blueprint, who is calling (bearer token or the page's own session),
scopes, rate limits, JSON errors, pagination and the operation registry the OpenAPI description
is generated from (web.api.spec).

No rules here: views call the same crm services, crm queries and ChainService as the pages, with
the token's user as the actor, so the permission checks are the pages' own.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import HTTPException

from crm.services import api_tokens
from crm.services.api_tokens import InvalidToken
from graph.errors import LianzhaoError
from graph.store import GraphStoreError

from .. import backend
from ..errors import status_for
from ..security import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # checked in `authenticate`: only a bearer-token call without a session cookie is exempt

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CODES = {400: "invalid_input", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 412: "precondition_failed", 413: "too_large", 429: "rate_limited", 500: "server_error",
         503: "unavailable"}  # fmt: skip


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code or CODES[status], headers


def error_response(status: int, message: str, code: str | None = None, details: Any = None, headers=None):
    body: dict[str, Any] = {"error": {"code": code or CODES.get(status, "error"), "message": message}}
    if details is not None:
        body["error"]["details"] = details
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="lianzhao"'
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.message, exc.code, headers=exc.headers)


@bp.errorhandler(InvalidToken)
def _invalid_token(exc: InvalidToken):
    return error_response(401, str(exc))


@bp.errorhandler(SchemaError)
def _schema_error(exc: SchemaError):
    return error_response(400, "请求内容有误：" + _first_message(exc.messages), details=exc.messages)


@bp.errorhandler(LianzhaoError)
@bp.errorhandler(GraphStoreError)
def _domain_error(exc: Exception):
    status = status_for(exc)
    if status == 409 and getattr(g, "if_match", None) is not None and type(exc).__name__ == "StaleEdit":
        status = 412  # the If-Match version is no longer the record's
    return error_response(status, str(exc) or "请求未完成", _domain_code(exc, status))


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return error_response(
        400, "使用登录会话调用接口须带 X-CSRFToken 头；其他系统请改用接口令牌（不带会话 Cookie）", "csrf"
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    code = exc.code or 500
    return error_response(code, exc.description if isinstance(exc.description, str) else "请求有误")


def _domain_code(exc: Exception, status: int) -> str:
    names = {"DuplicateLead": "duplicate_lead", "StaleEdit": "stale", "GateNotSatisfied": "gate_not_satisfied",
             "WorkflowError": "workflow"}  # fmt: skip
    return names.get(type(exc).__name__, CODES.get(status, "error"))


def _first_message(messages: Any) -> str:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()), ("", ""))
        return (
            f"{key}：{_first_message(value)}" if key and not isinstance(key, int) else _first_message(value)
        )
    if isinstance(messages, list) and messages:
        return _first_message(messages[0])
    return str(messages)


# ----------------------------------------------------------------------------- rate limit


class RateLimiter:
    """Sliding one-minute window per key, in this process (a few dozen integrators, not a CDN)."""

    def __init__(self) -> None:
        self._hits: dict[Any, deque] = {}
        self._lock = threading.Lock()

    def hit(self, key: Any, limit: int, now: float | None = None) -> float | None:
        """None if allowed, else the seconds until the next call is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - 60:
                hits.popleft()
            if len(hits) >= limit:
                return max(1.0, 60 - (now - hits[0]))
            hits.append(now)
            return None


def _limiter() -> RateLimiter:
    return current_app.extensions.setdefault("lianzhao_api_limiter", RateLimiter())


# ----------------------------------------------------------------------------- who is calling


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def authenticate(scope: str) -> Any:
    """Set g.actor for this call, or raise ApiError. A bearer token acts as its user; without one,
    the page's own signed-in session may call the API too, under the usual CSRF rule."""
    api_cfg = backend.cfg()["api"]
    if not api_cfg["enabled"]:
        abort(404)
    has_cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    plain = _bearer()
    if plain is None and request.headers.get("Authorization"):
        raise ApiError(401, "请使用 Authorization: Bearer <令牌> 方式调用接口")
    if request.method not in SAFE_METHODS and (has_cookie or plain is None):
        csrf.protect()  # a cookie travels with cross-site requests; a bearer header does not
    if plain is not None:
        with backend.unit_of_work() as session:
            user, token = api_tokens.authenticate(session, plain, ip=request.remote_addr)
            scopes = list(token.scopes or [])
            token_id = token.id
        wait = _limiter().hit(token_id, int(api_cfg["rate_limit_per_minute"]))
        if wait is not None:
            raise ApiError(429, "调用过于频繁，请稍后再试", headers={"Retry-After": str(int(wait) + 1)})
        g.api_token_id = token_id
    elif current_user.is_authenticated:
        user, scopes = current_user.orm, ["read", "write"]
    else:
        raise ApiError(401, "缺少接口令牌：请在请求头中提供 Authorization: Bearer <令牌>")
    if scope not in scopes:
        raise ApiError(403, "该令牌为只读令牌，不能修改数据", "insufficient_scope")
    g.actor = user
    return user


# ----------------------------------------------------------------------------- registry


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    tag: str
    scope: str | None
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    response: type[Schema] | None = None
    paged: bool = False
    status: int = 200
    errors: tuple[int, ...] = field(default=())
    produces: str = "application/json"


OPERATIONS: list[Operation] = []


def operation(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    scope: str | None = "read",
    query: type[Schema] | None = None,
    body: type[Schema] | None = None,
    response: type[Schema] | None = None,
    paged: bool = False,
    status: int = 200,
    errors: tuple[int, ...] = (),
    produces: str = "application/json",
) -> Callable:
    """Register an API view: its route, its auth (scope None: public) and what the OpenAPI
    description says about it. The view's docstring is the operation's description."""

    def deco(fn: Callable) -> Callable:
        OPERATIONS.append(
            Operation(
                rule,
                method,
                fn.__name__,
                summary,
                inspect.cleandoc(fn.__doc__ or ""),
                tag,
                scope,
                query,
                body,
                response,
                paged,
                status,
                errors,
                produces,
            )  # fmt: skip
        )

        @wraps(fn)
        def view(**kwargs):
            if scope is not None:
                authenticate(scope)
            elif not backend.cfg()["api"]["enabled"]:
                abort(404)
            return fn(**kwargs)

        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return deco


# ----------------------------------------------------------------------------- parsing helpers


def load_query(schema: type[Schema]) -> dict[str, Any]:
    return schema().load(request.args.to_dict())


def load_body(schema: type[Schema], *, partial: bool = False) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "请求体须为 JSON 对象（Content-Type: application/json）")
    return schema().load(data, partial=partial)


def page_args(args: dict[str, Any]) -> tuple[int, int]:
    limit = int(backend.cfg()["api"]["max_per_page"])
    page = max(1, int(args.get("page") or 1))
    per_page = max(1, min(int(args.get("per_page") or 50), limit))
    return page, per_page


def paged(items: list[Any], schema: type[Schema], page: int, per_page: int, total: int):
    return jsonify(
        {"items": schema(many=True).dump(items), "page": page, "per_page": per_page, "total": total}
    )


def slice_page(rows: list[Any], page: int, per_page: int) -> list[Any]:
    return rows[(page - 1) * per_page : page * per_page]


def if_match_version() -> int | None:
    """The version from an If-Match header (`"lead-12-v3"` or `W/"…"`), if any."""
    raw = request.headers.get("If-Match")
    if not raw:
        g.if_match = None
        return None
    tag = raw.strip().removeprefix("W/").strip('"')
    _, _, version = tag.rpartition("-v")
    try:
        g.if_match = int(version)
    except ValueError:
        raise ApiError(400, "If-Match 格式应为该记录的 ETag")
    return g.if_match


def etag(kind: str, obj_id: Any, version: int) -> str:
    return f'"{kind}-{obj_id}-v{version}"'


def remote_ip() -> str | None:
    return request.remote_addr
