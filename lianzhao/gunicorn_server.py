"""`lianzhao serve --workers N` on Linux/macOS: the app under gunicorn, N worker processes.

Why a second server: waitress is one process, so one GIL; on a machine with several cores a single
process renders pages on one core at a time. gunicorn forks N workers from a master that restarts a
worker that dies. Imported only on that path (lianzhao/commands/web.py), so Windows and
single-process set-ups never need gunicorn.

The app is built once in the master (`preload_app`): the session secret is read or created once, and
every worker inherits the same key. Nothing in the app connects at import or build time (the graph
store and the CRM engine open on first use, web.backend), so each worker opens its own store and
database connections after the fork. Per-process state that must agree across workers lives in the
database or is keyed on a version read per request (docs/DEPLOYMENT.md "Several worker processes").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):
    """gunicorn's embedding API: options from `lianzhao serve`, the already built app."""

    def __init__(self, app: Any, options: dict[str, Any], on_worker_start: Callable[[], None] | None = None):
        self.application = app
        self.options = options
        self.on_worker_start = on_worker_start
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if self.on_worker_start is not None:
            start = self.on_worker_start

            def post_worker_init(_worker: Any) -> None:
                # after the fork: each worker warms its own analysis cache in the background
                threading.Thread(target=start, name="lianzhao-warm-up", daemon=True).start()

            self.cfg.set("post_worker_init", post_worker_init)

    def load(self) -> Any:
        return self.application


def options(
    *, host: str, port: int, workers: int, threads: int, timeout: int, keepalive: int, trusted_proxy: str
) -> dict[str, Any]:
    """gunicorn settings: gthread workers (threads per process, as under waitress), no access log
    (the audit log records what matters), proxy headers trusted only from the configured proxy."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": workers,
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "preload_app": True,
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": keepalive,
        "forwarded_allow_ips": trusted_proxy or "127.0.0.1",
        "proc_name": "lianzhao",
        "accesslog": None,
        "loglevel": "warning",
    }
