"""Integer parameters from URLs and forms, bounded: no request can reach the database with an
integer it cannot store (a 64-bit overflow on SQLite, PostgreSQL's 32-bit `integer` ids), and
no versioned edit is saved without the version its form was loaded with.

Ids beyond the range are refused (404 in a path, 400 in a form or query); page numbers are
clamped. Views call these helpers instead of `int()`.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL `integer`, the type of every id column
MAX_PAGE = 100_000


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` in every route: digits only, at most MAX_ID (else the route does not match: 404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Call before any route is registered."""
    app.url_map.converters["int"] = BoundedIntConverter


def parse_int(value, default: int | None = None, *, lo: int = 0, hi: int = MAX_ID) -> int | None:
    """`value` as an int in [lo, hi]; empty or not a number gives `default`; out of range: 400."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    try:
        number = int(str(value).strip()[:40])
    except (TypeError, ValueError):
        return default
    if not lo <= number <= hi:
        abort(400, f"参数超出范围（{lo}–{hi}）")
    return number


def page_arg(value, default: int = 1) -> int:
    """A page number, clamped to [1, MAX_PAGE] (a page past the end shows the last one)."""
    try:
        number = int(str(value).strip()[:40]) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default
    return max(1, min(number, MAX_PAGE))


# What a form without a version field is checked with: no object has it, so the service refuses
# the edit as stale (409) after its permission checks, and the edit is never saved unchecked.
MISSING_VERSION = -1


def required_version(form=None) -> int:
    """The `version` field of an edit form. Required: a form that leaves it out (or sends junk)
    gets MISSING_VERSION, never None, so it cannot skip the check against lost updates."""
    raw = (form if form is not None else request.form).get("version", "")
    number = parse_int(raw, None, lo=0)
    return MISSING_VERSION if number is None else number
