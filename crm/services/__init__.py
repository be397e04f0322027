"""Service layer: one module per area. Every function takes a SQLAlchemy session (inside a
`crm.db.unit_of_work`) and the acting user, enforces permissions on every object it touches,
writes the audit log, and raises `crm.errors.CrmError` subclasses with Chinese messages.
Services flush but never commit: the caller's unit of work decides.
"""
