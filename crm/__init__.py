"""The 招商 CRM: users and teams, leads through the "四个一" workflow, assignment, follow-up, audit.

Layers (cosmicpython style): `models` (SQLAlchemy mapping only), `workflow` and `permissions`
(pure rules), `services/*` (one module per area; every function takes a session and the acting
user and checks permissions on every object), `db` (engine, session factory, unit of work).
Nothing here connects at import time.
"""
