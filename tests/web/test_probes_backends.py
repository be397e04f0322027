"""The security probes of issue 17 run again against Neo4j + PostgreSQL (item 8).

This module re-collects the probe tests of the embedded-store modules (authorisation matrix,
CSRF on every POST, open redirects, revocable sessions, lockout, input bounds, no-store,
uploads) with its own `env`: the web app on a Neo4j graph store and a PostgreSQL CRM (a schema of
its own per test). Without both servers the tests skip, and fail under CI=true.
Start them with scripts/neo4j.sh and scripts/postgres.sh (see docs/SECURITY.md).
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.services._common import SYSTEM
from crm.services.users import create_user
from crm.settings import CrmSettings
from lianzhao.config import load_config
from tests.web.webdata import PASSWORD, USERS, WebEnv, chain_data, companies
from web import create_app

# The authorisation matrix and the upload and escaping probes live in the modules of what they test.
from .test_admin import (  # noqa: F401
    test_admin_cannot_open_business_lists_or_board,
    test_business_roles_cannot_open_admin,
    test_upload_name_is_text_and_no_temp_file_is_left,
    test_upload_over_the_size_limit_is_refused_in_chinese,
)
from .test_app import test_healthz_tells_an_anonymous_caller_no_paths  # noqa: F401

# Re-collected here, so they run with this module's `env` (Neo4j + PostgreSQL).
from .test_input_bounds import *  # noqa: F403
from .test_leads import (  # noqa: F401
    test_flash_and_error_pages_escape_user_text,
    test_leader_reads_but_does_not_edit,
    test_other_team_and_admin_neither_read_nor_write_a_lead,
)
from .test_lockout import *  # noqa: F403
from .test_no_store import *  # noqa: F403
from .test_security import *  # noqa: F403
from .test_sessions import *  # noqa: F403
from .test_target_lists import (  # noqa: F401
    test_target_list_writes_only_by_its_team_manager_and_approval_only_by_a_leader,
)
from .test_upload_limits import *  # noqa: F403

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres]


def _need(var: str, how: str) -> str:
    value = os.environ.get(var)
    if not value:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI 中必须提供 {var}（{how}）")
        pytest.skip(f"未设置 {var}，跳过 Neo4j + PostgreSQL 安全探测（{how}）")
    return value


@pytest.fixture
def env(tmp_path):
    from graph.neo4j_store import Neo4jStore  # optional backend

    pg_url = _need("LIANZHAO_TEST_PG_URL", 'eval "$(bash scripts/postgres.sh start)"')
    uri = _need("NEO4J_URI", 'eval "$(bash scripts/neo4j.sh start)"')
    store = Neo4jStore(
        uri,
        os.environ.get("NEO4J_USER", "neo4j"),
        os.environ.get("NEO4J_PASSWORD", ""),
        os.environ.get("NEO4J_DATABASE", "neo4j"),
    )
    store.clear()  # Community has one database
    sectors, chains, nodes, flows, zones = chain_data()
    store.upsert_sectors(sectors)
    store.upsert_chains(chains)
    store.upsert_nodes(nodes)
    store.upsert_flows(flows)
    store.upsert_zones(zones)
    firms, supplies = companies()
    store.upsert_companies(firms)
    store.upsert_supplies(supplies)

    schema = f"p_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url=pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url=url)
    upgrade(engine)
    sf = make_session_factory(engine)
    with unit_of_work(sf) as s:
        for username, (name, role, sector) in USERS.items():
            create_user(
                s,
                SYSTEM,
                username=username,
                display_name=name,
                role=role,
                password=PASSWORD,
                sector_id=sector,
                settings=CrmSettings(),
            )
    folder = tmp_path / "instance"
    folder.mkdir()
    cfg = load_config(env={})
    cfg["instance"] = {"path": str(folder)}
    cfg["database"] = {"url": url}
    cfg["graph"] = {"backend": "neo4j"}
    cfg.setdefault("web", {})["secret_key"] = "test-secret-key-not-for-production"
    yield WebEnv(cfg, store, sf, folder)
    store.close()
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def app(env):
    return create_app(
        env.cfg, graph_store=env.store, session_factory=env.session_factory, test_config={"TESTING": True}
    )


def test_this_module_really_runs_on_neo4j_and_postgresql(app, env):
    assert type(env.store).__name__ == "Neo4jStore"
    assert env.session_factory.kw["bind"].dialect.name == "postgresql"
