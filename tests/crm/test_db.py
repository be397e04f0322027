"""Engine set-up, unit of work, and migrations that match the models on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

import crm.models_loop  # noqa: F401  (its tables join Base.metadata)
from crm import models_monitoring  # noqa: F401  (its tables join Base.metadata)
from crm.db import current_revision, database_url, head_revision, make_engine, unit_of_work, upgrade
from crm.models import Base, Team
from lianzhao.config import build_config


def test_migrations_from_empty_match_models(engine):
    assert current_revision(engine) == head_revision() == "0015"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    upgrade(engine)  # idempotent at head


def test_default_url_is_sqlite_in_instance(tmp_path):
    cfg = build_config({"instance": {"path": "inst"}}, base=tmp_path)
    assert database_url(cfg) == f"sqlite:///{tmp_path / 'inst' / 'crm.sqlite3'}"
    cfg["database"]["url"] = "postgresql://u@h/db"
    assert database_url(cfg) == "postgresql://u@h/db"
    assert make_engine(cfg).dialect.driver == "psycopg"  # plain postgresql:// gets psycopg 3


def test_sqlite_has_foreign_keys_and_wal(tmp_path):
    engine = make_engine(url=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_unit_of_work_commits_or_rolls_back(sf):
    with unit_of_work(sf) as s:
        s.add(Team(sector_id="medical", name="医药健康招商组"))
    with pytest.raises(RuntimeError):
        with unit_of_work(sf) as s:
            s.add(Team(sector_id="nev", name="新能源智能汽车招商组"))
            s.flush()
            raise RuntimeError("中途失败")
    with unit_of_work(sf) as s:
        assert s.scalars(select(Team.sector_id)).all() == ["medical"]


def test_foreign_keys_enforced(sf):
    from sqlalchemy.exc import IntegrityError

    from crm.models import User

    with pytest.raises(IntegrityError):
        with unit_of_work(sf) as s:
            s.add(
                User(
                    username="ghost",
                    display_name="x",
                    role="recruiter",
                    team_id=999,
                    password_hash="x",
                    is_active=True,
                    focus_chains=[],
                    failed_logins=0,
                )
            )


def test_upgrade_from_previous_revision_keeps_data(tmp_path):
    """A database made by an older release upgrades in place (here: 0002 -> head)."""
    engine = make_engine(url=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO teams (sector_id, name) VALUES ('medical', '医药健康招商组')"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM teams")).scalar() == "医药健康招商组"
        names = {r[1] for r in conn.execute(text("PRAGMA index_list('leads')"))}
        assert "ix_leads_overdue_team" in names and "ix_leads_stage_contact" not in names
