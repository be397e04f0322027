"""`lianzhao.wsgi:app` for a WSGI server other than `lianzhao serve` (configuration as the CLI finds it)."""

from __future__ import annotations

from web import create_app

from .config import load_config

app = create_app(load_config())
