"""系统管理: one blueprint ("admin", URLs under /admin), its views in one module per job:
users (create, disable/enable, reset password, role and team), settings_page (the thin editor of
the run-time settings, crm.services.runtime_settings), imports (the company/relation import page)
and audit_log (the district-wide audit log that 等保 2.0 asks to be reviewed). Every view is for
system administrators only (_blueprint.py)."""

from __future__ import annotations

from . import audit_log, imports, settings_page, users
from ._blueprint import bp

__all__ = ["audit_log", "bp", "imports", "settings_page", "users"]
