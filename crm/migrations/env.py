"""Alembic environment for the CRM; runs with an engine handed over by crm.db.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from crm import (  # noqa: F401  (their tables join Base.metadata)
    models_api,
    models_calendar,
    models_contacts,
    models_imports,
    models_loop,
    models_monitoring,
    models_referrals,
    models_security,
    models_spaces,
)
from crm.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
