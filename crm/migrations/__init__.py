"""Alembic migrations of the CRM schema (run through crm.db.upgrade)."""
