"""Where views get their services: the chain service, a CRM database session per request and the
CRM rules in force.

The store and the session factory are built lazily on first use and shared by every request thread
of one app, so importing or creating the app connects to nothing, and tests pass in their own store
and session factory. The CRM rules are the configuration plus the administrator's overrides stored
in the CRM database (crm.settings_store): each request compares the stored version once, so a
change saved by another process is in force at this process's next request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g

from crm.db import make_engine, make_session_factory
from crm.settings import CrmSettings
from crm.settings_store import SettingsSource
from graph.backends import open_graph_store
from graph.service import ChainService

EXT = "lianzhao"


class Backend:
    """Holds the app's long-lived resources; opened on first use, closed at shutdown."""

    def __init__(self, cfg: dict[str, Any], graph_store=None, session_factory=None):
        self.cfg = cfg
        self._store = graph_store
        self._owns_store = graph_store is None
        self._session_factory = session_factory
        self._chain_service = None
        self.settings_source = SettingsSource(cfg)  # checks the configuration's CRM rules now
        self._lock = threading.RLock()  # chain_service opens the store under the same lock
        # `lianzhao serve` sets this: after another process's large write, pages get the previous
        # analysis (marked 更新中) while one background thread recomputes (graph.service.ChainService)
        self.stale_analysis_while_updating = False

    @property
    def store(self):
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_graph_store(self.cfg)
        return self._store

    @property
    def chain_service(self):
        if self._chain_service is None:
            with self._lock:
                if self._chain_service is None:
                    svc = ChainService(self.store, self.cfg)
                    svc.stale_while_updating = self.stale_analysis_while_updating
                    self._chain_service = svc
        return self._chain_service

    @property
    def session_factory(self):
        if self._session_factory is None:
            with self._lock:
                if self._session_factory is None:
                    self._session_factory = make_session_factory(make_engine(self.cfg))
        return self._session_factory

    def warm_up(self) -> float:
        """Compute every chain's gap report and ranking once (seconds taken), so the first
        visitors after a start get cached pages. `lianzhao serve` runs it in a thread."""
        t0 = time.perf_counter()
        svc = self.chain_service
        for chain in svc.chains():
            svc.gap_report(chain.id)
            svc.chain_targets(chain.id)
        return time.perf_counter() - t0

    @property
    def analysis_updating(self) -> bool:
        """True while pages are given the previous data version's analysis (a refresh is running)."""
        return self._chain_service is not None and self._chain_service.updating

    def close(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None


def init_app(app: Flask, cfg: dict[str, Any], *, graph_store=None, session_factory=None) -> None:
    app.extensions[EXT] = Backend(cfg, graph_store, session_factory)
    app.teardown_appcontext(_close_db)


def backend() -> Backend:
    return current_app.extensions[EXT]


def chain_service():
    """The shared ChainService (cached analysis per store data version)."""
    return backend().chain_service


def db():
    """The CRM session of this request; committed by the service, closed at teardown."""
    if "db" not in g:
        g.db = backend().session_factory()
    return g.db


@contextmanager
def unit_of_work() -> Iterator:
    """The request's session as one transaction: commit on success, roll back on any error.

    CRM services flush but never commit; a view wraps each write in this block.
    """
    session = db()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def crm_settings() -> CrmSettings:
    """The CRM rules in force for this request: read once per request (one version check)."""
    if "crm_settings" not in g:
        g.crm_settings = backend().settings_source.current(db())
    return g.crm_settings


def cfg() -> dict[str, Any]:
    return backend().cfg


def _close_db(exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
