"""CRM fixtures: every test runs on SQLite and on PostgreSQL, each migrated from empty.

PostgreSQL comes from scripts/postgres.sh (LIANZHAO_TEST_PG_URL). Unset: the pg tests are
skipped with a message, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.models import ADMIN, LEADER, MANAGER, RECRUITER
from crm.services import users as user_svc
from crm.services._common import SYSTEM
from crm.settings import CrmSettings

PG_ENV = "LIANZHAO_TEST_PG_URL"
PASSWORD = "Zhaoshang#2026"


def _pg_engine():
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI 中必须提供 PostgreSQL：{PG_ENV} 未设置（scripts/postgres.sh start）")
        pytest.skip(f'未设置 {PG_ENV}，跳过 PostgreSQL 测试（运行 eval "$(scripts/postgres.sh start)"）')
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url=url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema rides in the URL, so a CLI given engine.url lands in the same schema.
    sep = "&" if "?" in url else "?"
    engine = make_engine(url=f"{url}{sep}options=-csearch_path%3D{schema}")
    return engine, lambda: _drop_schema(admin, schema)


def _drop_schema(admin, schema):
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        engine, cleanup = make_engine(url=f"sqlite:///{tmp_path / 'crm.sqlite3'}"), None
    else:
        engine, cleanup = _pg_engine()
    upgrade(engine)
    yield engine
    engine.dispose()
    if cleanup:
        cleanup()


@pytest.fixture
def sf(engine):
    return make_session_factory(engine)


@pytest.fixture
def settings():
    return CrmSettings()


@pytest.fixture
def people(sf, settings, monkeypatch):
    """One user per role in the medical team, plus a second medical recruiter and an
    electronics manager and recruiter. Returns {key: User} (detached, usable as actors).

    Their hashes use a cheap pbkdf2 round count (scrypt costs ~0.5 s each on this machine);
    verification is werkzeug's real code either way, and users created in tests get scrypt."""
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr(
        user_svc, "hash_password", lambda pw: generate_password_hash(pw, "pbkdf2:sha256:1000")
    )
    spec = {
        "admin": (ADMIN, None),
        "leader": (LEADER, None),
        "mgr": (MANAGER, "medical"),
        "rec": (RECRUITER, "medical"),
        "rec2": (RECRUITER, "medical"),
        "mgr_e": (MANAGER, "electronics"),
        "rec_e": (RECRUITER, "electronics"),
    }
    out = {}
    with unit_of_work(sf) as s:
        for key, (role, sector) in spec.items():
            out[key] = user_svc.create_user(
                s,
                SYSTEM,
                username=key,
                display_name=f"用户{key}",
                role=role,
                password=PASSWORD,
                sector_id=sector,
                settings=settings,
            )
    monkeypatch.undo()
    return out


@pytest.fixture
def password():
    """The password every `people` user has."""
    return PASSWORD
