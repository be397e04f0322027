"""The JSON API under /api/v1 for other systems (城市大脑, a successor system, scripts): docs/API.md.

`bp` is registered by the app factory like every area's blueprint. The description is served at
/api/v1/openapi.json and browsable at /api/v1/docs (Swagger UI vendored under web/static), both
without a token: they hold no data.
"""

from __future__ import annotations

from flask import jsonify, render_template

from . import views  # noqa: F401  (registers the endpoints on bp)
from .core import bp, operation
from .spec import build_spec

__all__ = ["bp"]


@operation("/openapi.json", summary="接口描述（OpenAPI 3）", tag="说明", scope=None)
def openapi():
    """This description, generated from the code; readable without a token."""
    return jsonify(build_spec())


@operation("/docs", summary="接口说明页面", tag="说明", scope=None, produces="text/html")
def docs():
    """A browsable page of the description (Swagger UI, served by the app itself)."""
    return render_template("api/docs.html")
