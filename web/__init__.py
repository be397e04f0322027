"""The LianZhao web app: an app factory in Flask's `flaskr` style.

Nothing connects at import time. `create_app` wires configuration, security and the
blueprints; the graph store and the CRM database are opened lazily on first use (see
web.backend), so an app can be built in tests with its own store and session factory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for

from . import api, backend, errors, params, security, views_common
from . import users as _users  # noqa: F401  (registers the login loader)
from .blueprints import (
    account,
    admin,
    attachments,
    auth,
    board,
    chains,
    companies,
    contacts,
    dashboard,
    home,
    inbox,
    leads,
    monitoring,
    referrals,
    schedule,
    security_admin,
    spaces,
    target_lists,
    targets,
)


def _blueprints() -> list:
    """Every area's blueprint, in nav order. Adding an area is one line here."""
    return [
        auth.bp,
        home.bp,
        chains.bp,
        targets.bp,
        target_lists.bp,
        companies.bp,
        contacts.bp,
        leads.bp,
        attachments.bp,
        schedule.bp,
        referrals.bp,
        board.bp,
        inbox.bp,
        dashboard.bp,
        monitoring.bp,
        spaces.bp,
        admin.bp,
        security_admin.bp,
        account.bp,
        api.bp,
    ]


def create_app(
    cfg: dict[str, Any],
    *,
    graph_store=None,
    session_factory=None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    """Build the WSGI app.

    cfg: the dict from lianzhao.config.load_config (the command line and lianzhao.wsgi load it).
    graph_store: an open GraphStore to use instead of the configured one (tests, benchmarks).
    session_factory: a SQLAlchemy sessionmaker for the CRM database instead of the configured one.
    test_config: Flask config overrides (tests only).
    """
    instance = Path(cfg["instance"]["path"])
    instance.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(instance), instance_relative_config=False)
    web_cfg = cfg["web"]
    params.init_app(app)  # bounded <int:...> converter, before any route is added

    app.config.from_mapping(
        SECRET_KEY=security.secret_key(cfg, app.instance_path),
        MAX_CONTENT_LENGTH=int(web_cfg["max_upload_mb"]) * 1024 * 1024,
        LIANZHAO_CFG=cfg,
        JSON_AS_ASCII=False,
    )
    security.init_app(app, cfg)
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    backend.init_app(app, cfg, graph_store=graph_store, session_factory=session_factory)

    errors.init_app(app)
    views_common.init_app(app)
    for bp in _blueprints():
        app.register_blueprint(bp)

    @app.get("/")
    def index():
        """Each role lands on its home page (web.blueprints.home); visitors on the login page."""
        return redirect(url_for("home.index"))

    return app


def compile_templates(app: Flask) -> int:
    """Compile every template once, before `lianzhao serve` forks its workers (they inherit the
    compiled code): otherwise each worker spends ≈ 1.3 s of CPU in Jinja's compiler during its first
    visitors' requests, which queued pages for seconds at the start of the load test. Returns how
    many templates there are; a template that does not compile fails here, at start-up."""
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)
