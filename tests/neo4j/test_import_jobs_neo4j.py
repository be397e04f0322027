"""A web import job against Neo4j: a failure inside the one write transaction (some firms already
sent to the server) rolls everything back, the job says nothing was written, and the store is
free for the next import — as for the embedded store (tests/web/test_import_web.py)."""

from __future__ import annotations

import pytest

from crm.db import unit_of_work
from crm.models_imports import ImportJob
from crm.services import import_jobs as job_svc
from crm.services.users import get_by_username
from graph import neo4j_store
from graph.backends import store_identity
from tests.web.webdata import build_env, chain_data, close_env, uscc
from web import import_jobs as runner


@pytest.fixture
def crm_env(tmp_path):
    env = build_env(tmp_path / "instance")
    yield env
    close_env(env)


def _structure(store) -> None:
    sectors, chains, nodes, flows, zones = chain_data()
    store.upsert_sectors(sectors)
    store.upsert_chains(chains)
    store.upsert_nodes(nodes)
    store.upsert_flows(flows)
    store.upsert_zones(zones)


def _job(env, folder, n: int, job_id: str) -> runner.Step:
    path = folder / f"{job_id}.csv"
    lines = ["企业名称,统一社会信用代码,省份"] + [
        f"图库示例企业{i:04d},{uscc(300_000 + i)},河北省" for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    with unit_of_work(env.session_factory) as s:
        admin = get_by_username(s, "admin")
        job = job_svc.start(
            s,
            admin,
            job_id=job_id,
            session_token="t",
            kind="companies",
            filename="图库.csv",
            stored_name=path.name,
            slot=store_identity(env.cfg),
            keep_minutes=60,
        )
        admin_id = admin.id
        job.state = job_svc.CHECKED
        job.slot = None
    with unit_of_work(env.session_factory) as s:
        job_svc.confirm(s, s.get(ImportJob, job_id), job_svc.ALL, store_identity(env.cfg), 60)
    return runner.Step(
        job_id, "companies", path, "图库.csv", None, env.session_factory, env.cfg, folder, admin_id
    )


def test_failure_inside_the_neo4j_write_leaves_nothing(neo, crm_env, monkeypatch, tmp_path):
    _structure(neo)
    before = neo.company_count()
    folder = runner.upload_folder(tmp_path)
    step = _job(crm_env, folder, 120, "neo4jcrash")
    step = runner.Step(**{**step.__dict__, "store": neo})
    real = neo4j_store._chunks
    sent = []

    def chunks(rows, size=None):
        for i, chunk in enumerate(real(rows, 20)):
            if i == 2 and rows and "norm_name" in rows[0]:  # the third batch of firms
                raise RuntimeError("connection lost mid-transaction")
            sent.append(len(chunk))
            yield chunk

    monkeypatch.setattr(neo4j_store, "_chunks", chunks)
    runner.commit(step, partial=False)
    monkeypatch.undo()
    assert sum(sent) >= 40  # firms had reached the server inside the transaction
    assert neo.company_count() == before
    with unit_of_work(crm_env.session_factory) as s:
        job = s.get(ImportJob, "neo4jcrash")
        assert job.state == "failed" and job.slot is None and "没有写入任何数据" in job.message

    again = _job(crm_env, folder, 120, "neo4jagain")
    runner.commit(runner.Step(**{**again.__dict__, "store": neo}), partial=False)
    assert neo.company_count() == before + 120
