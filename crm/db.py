"""Engine, session factory, unit of work and schema upgrade for the CRM database.

The URL comes from cfg["database"]["url"] (env LIANZHAO_DATABASE_URL); empty means SQLite in the
instance folder (cfg["instance"]["path"], made absolute by the loader). Nothing connects until a
session is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from . import (  # noqa: F401  (their tables join Base.metadata)
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

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def database_url(cfg: dict[str, Any]) -> str:
    """The configured URL, else `sqlite:///<instance>/crm.sqlite3`."""
    url = cfg["database"]["url"]
    if url:
        return url
    folder = Path(cfg["instance"]["path"])
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'crm.sqlite3'}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(cfg: dict[str, Any] | None = None, url: str | None = None, **kwargs: Any) -> Engine:
    """Build (not connect) the engine; SQLite gets foreign keys on, WAL and a busy timeout.

    Either a loaded config or an explicit `url` (tests, tools); `echo` is [database] echo.
    """
    if cfg is None and url is None:
        raise ValueError("make_engine needs a config or a URL")
    url = url or database_url(cfg)  # type: ignore[arg-type]  # one of the two is set (checked above)
    echo = bool(cfg["database"]["echo"]) if cfg is not None else False
    if url.startswith("postgresql:"):
        url = "postgresql+psycopg:" + url[len("postgresql:") :]
    engine = create_engine(url, echo=echo, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions keep loaded objects usable after commit, so views can render what services return."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends normally, roll back on any exception."""
    session = session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic Config pointing at crm/migrations, bound to `engine` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates "%": escape it (URL-encoded passwords and options contain it).
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (from empty, or from wherever the database is)."""
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
