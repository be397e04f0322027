"""What every page shares: the navigation, template helpers and the /healthz probe."""

from __future__ import annotations

import os
import time
from datetime import tzinfo

from flask import Flask, current_app, g, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import text

from graph.gaps import format_wan
from graph.model import GROUP, MISSING, STRONG, WEAK
from graph.store import GraphStoreError

from . import backend
from .access import may_open
from .localtime import format_local, zone_from_config

# Top navigation: (label, endpoint, prefix, area). An item shows only once its endpoint exists
# and the user's role may open its area (web.access), so nobody is offered a page that answers 403.
# The prefix is the endpoint prefix that marks the item as the current one.
NAV = [
    ("待办", "home.index", "home.", "home"),
    ("产业链图谱", "chains.index", "chains.", "chains"),
    ("补链目标", "targets.index", "targets.index", "targets"),
    ("企业名录", "companies.index", "companies.", "companies"),
    ("目标名录", "target_lists.lists", "target_lists.", "lists"),
    ("线索", "leads.index", "leads.", "leads"),
    ("日程", "calendar.index", "calendar.", "calendar"),
    ("看板", "board.index", "board.", "board"),
    ("收件箱", "inbox.index", "inbox.", "inbox"),
    ("驾驶舱", "dashboard.index", "dashboard.", "dashboard"),
    ("监测", "monitoring.index", "monitoring.", "monitoring"),
    ("空间资源", "spaces.index", "spaces.", "spaces"),
    ("管理", "admin.index", "admin.", "admin"),
    ("安全管理", "security_admin.index", "security_admin.", "security"),
    ("审计日志", "admin.audit_log", "admin.audit", "audit"),
]

# Blueprints whose pages show gap analysis or rankings (the 更新中 notice, web.backend.Backend).
ANALYSIS_PAGES = frozenset({"chains", "targets", "dashboard", "home", "companies"})

STATUS_CLASS = {MISSING: "missing", WEAK: "weak", STRONG: "strong", GROUP: "group"}

ROLE_LABELS = {
    "recruiter": "招商专员",
    "manager": "招商经理",
    "leader": "区领导",
    "leadership": "区领导",
    "admin": "系统管理员",
    "security_admin": "安全管理员",
    "audit_admin": "审计管理员",
}


def role_label(role) -> str:
    value = getattr(role, "value", role)
    return ROLE_LABELS.get(str(value), str(value or ""))


def init_app(app: Flask) -> None:
    # Static files: cached by browsers for a year, and every URL carries the file's mtime (?v=),
    # so a new release is fetched at once (vis-network is 650 KB; the 政务内网 can be slow).
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 365 * 24 * 3600
    versions: dict[str, int] = {}

    @app.url_defaults
    def static_version(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            name = values["filename"]
            if name not in versions:
                try:
                    versions[name] = int(os.stat(os.path.join(app.static_folder, name)).st_mtime)
                except OSError:
                    versions[name] = 0
            values["v"] = versions[name]

    app.jinja_env.filters["wan"] = lambda v: format_wan(float(v or 0))
    app.jinja_env.filters["pct"] = lambda v: f"{float(v or 0) * 100:.0f}%"
    app.jinja_env.filters["score"] = lambda v: f"{float(v or 0):.1f}"
    app.jinja_env.filters["status_class"] = lambda s: STATUS_CLASS.get(s, "none")
    app.jinja_env.filters["role_label"] = role_label

    zones: list[tzinfo] = []  # the app's zone, resolved at its first use (the config is fixed by then)

    def localtime(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """Stored UTC shown on the district's clock ([web] timezone): `{{ x.created_at | localtime }}`."""
        # Pages call this ~50 times each: the app's config is looked up once, not per call.
        if not zones:
            zones.append(zone_from_config(backend.cfg()))
        return format_local(value, zones[0], fmt)

    app.jinja_env.filters["localtime"] = localtime

    def start_timer():
        g.t0 = time.perf_counter()

    # first of all before-request hooks, so login checks count in the server time too
    app.before_request_funcs.setdefault(None, []).insert(0, start_timer)

    @app.after_request
    def server_timing(response):
        """Server-Timing header: the app's own time per request (bench/web_bench.py reads it)."""
        if "t0" in g:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.t0) * 1000:.1f}"
        return response

    # The menu's URLs take no arguments, so they differ only by the mount point (script root):
    # built once per app and mount point instead of 15 url_for calls on every page.
    nav_urls: dict[str, dict[str, str]] = {}

    def nav_url_map() -> dict[str, str]:
        root = request.script_root
        urls = nav_urls.get(root)
        if urls is None:
            urls = {e: url_for(e) for _, e, _, _ in NAV if e in current_app.view_functions}
            nav_urls[root] = urls
        return urls

    @app.context_processor
    def layout_context():

        items = []
        # no menu until a new or reset account has set its own password (it could open nothing)
        if current_user.is_authenticated and not getattr(current_user.orm, "must_change_password", False):
            here = request.endpoint or ""
            actor = current_user.orm
            urls = nav_url_map()
            for label, endpoint, prefix, area in NAV:
                if endpoint in urls and may_open(actor, area):
                    items.append(
                        {
                            "label": label,
                            "url": urls[endpoint],
                            "active": here.startswith(prefix),
                            "inbox": endpoint == "inbox.index",  # carries the unread badge
                        }
                    )
        return {
            # pages built on the gap analysis say when they show the previous data version's results
            "analysis_updating": request.blueprint in ANALYSIS_PAGES and backend.backend().analysis_updating,
            "nav_items": items,
            "site_name": "链招",
            "district_name": backend.cfg().get("district", {}).get("name", ""),
        }

    @app.get("/healthz")
    def healthz():
        """Liveness for the load balancer: graph store and CRM database, no login needed."""

        try:
            ok_graph, graph_msg = backend.backend().store.health()
        except GraphStoreError as exc:  # the store could not even be opened
            ok_graph, graph_msg = False, str(exc)
        try:
            session = backend.db()
            session.execute(text("SELECT 1"))
            ok_db, db_msg = True, "数据库连接正常"
        except Exception as exc:  # the probe reports, it must not raise
            ok_db, db_msg = False, f"数据库不可用：{type(exc).__name__}"
        ok = ok_graph and ok_db
        if not (current_user.is_authenticated and getattr(current_user.orm, "role", None) == "admin"):
            # no login needed, so no file paths, server addresses or error texts for anyone else
            graph_msg = "产业链图存储正常" if ok_graph else "产业链图存储不可用"
            db_msg = "数据库连接正常" if ok_db else "数据库不可用"
        body = {
            "status": "ok" if ok else "error",
            "graph": {"ok": ok_graph, "message": graph_msg},
            "db": {"ok": ok_db, "message": db_msg},
        }
        return jsonify(body), 200 if ok else 503
