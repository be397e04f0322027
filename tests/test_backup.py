"""Backups that restore (issue 17, item 7): the restore drill. An instance is backed up while two
writers keep adding leads (CRM) and firms (graph store); the archive is restored into an empty
instance and every table's and every graph kind's count and checksum must match the manifest.
Runs with a SQLite CRM and, when LIANZHAO_TEST_PG_URL is set, with PostgreSQL (pg_dump)."""

from __future__ import annotations

import json
import os
import tarfile
import threading
import time
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
from crm.models import Lead
from crm.services import leads as lead_svc
from crm.services import users as user_svc
from crm.services._common import SYSTEM
from graph.model import Chain, ChainNode, Company, Sector, Supply
from graph.nx_store import NetworkxStore
from lianzhao.backup import (
    BackupError,
    create_backup,
    crm_digest,
    graph_digest,
    graph_entities,
    restore_backup,
)
from lianzhao.cli import main
from lianzhao.config import DEFAULT_CONFIG, load_config

PASSWORD = "Beifen#2026drill"


def _pg_database(name: str) -> str:
    url = os.environ["LIANZHAO_TEST_PG_URL"]
    admin = make_engine(url=url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


def _instance(tmp_path, name: str, crm: str):
    folder = tmp_path / name
    folder.mkdir()
    config = tmp_path / f"{name}.toml"
    config.write_text(
        DEFAULT_CONFIG.read_text(encoding="utf-8").replace('path = "instance"', f'path = "{folder}"', 1),
        encoding="utf-8",
    )
    cfg = load_config(config, env={})
    if crm == "postgresql":
        cfg["database"]["url"] = _pg_database(f"bk_{name}_{uuid.uuid4().hex[:6]}")
    return cfg, config, folder


@pytest.fixture(params=["sqlite", "postgresql"])
def crm_kind(request):
    if request.param == "postgresql" and not os.environ.get("LIANZHAO_TEST_PG_URL"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI 中必须提供 PostgreSQL：LIANZHAO_TEST_PG_URL 未设置")
        pytest.skip("未设置 LIANZHAO_TEST_PG_URL，跳过 PostgreSQL 备份演练")
    return request.param


def _seed(cfg, folder):
    with NetworkxStore(folder / "graph.sqlite3") as store:
        store.upsert_sectors([Sector("medical", "医药健康", "战略引擎")])
        store.upsert_chains([Chain("pharma", "生物创新药", "medical")])
        store.upsert_nodes([ChainNode("pharma.api", "pharma", "原料药", "上游", 4, ("原料药",))])
        store.upsert_companies(
            [
                Company(f"c{i}", f"示例数据·种子企业{i}", node_ids=("pharma.api",), synthetic=True)
                for i in range(20)
            ]
        )
        store.upsert_supplies([Supply("c1", "c2", "原料药", 120.0)])
    engine = make_engine(cfg)
    upgrade(engine)
    sf = make_session_factory(engine)
    with unit_of_work(sf) as s:
        user_svc.create_user(
            s,
            SYSTEM,
            username="rec",
            display_name="备份专员",
            role="recruiter",
            password=PASSWORD,
            sector_id="medical",
            settings=user_svc.CrmSettings(),
        )
    (folder / "settings.json").write_text('{"crm.follow_up_days": 10}', encoding="utf-8")
    (folder / "secret_key").write_text("k" * 64, encoding="ascii")
    return engine, sf


class Writers:
    """Two writers that keep adding rows until stopped: leads through the CRM service, firms
    through a second handle on the graph file (as the web server and `lianzhao import` would)."""

    def __init__(self, sf, graph_path):
        self.sf, self.graph_path = sf, graph_path
        self.stop = threading.Event()
        self.leads = self.firms = 0
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._leads), threading.Thread(target=self._firms)]

    def _leads(self):
        try:
            while not self.stop.is_set():
                with unit_of_work(self.sf) as s:
                    rec = user_svc.get_by_username(s, "rec")
                    lead_svc.create_lead(
                        s,
                        rec,
                        {"company_name": f"示例数据·并发线索{self.leads}", "sector_id": "medical"},
                        settings=user_svc.CrmSettings(),
                    )
                self.leads += 1
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def _firms(self):
        try:
            with NetworkxStore(self.graph_path) as store:
                while not self.stop.is_set():
                    n = self.firms
                    store.upsert_companies(
                        [Company(f"w{n}-{i}", f"示例数据·并发企业{n}-{i}", synthetic=True) for i in range(25)]
                    )
                    self.firms += 1
        except BaseException as exc:
            self.errors.append(exc)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def _lead_count(sf):
    with unit_of_work(sf) as s:
        return s.query(Lead).count()


def test_restore_drill_under_concurrent_writes(tmp_path, crm_kind):
    cfg, _, folder = _instance(tmp_path, "src", crm_kind)
    engine, sf = _seed(cfg, folder)
    with Writers(sf, folder / "graph.sqlite3") as writers:
        deadline = time.time() + 20
        while (writers.leads < 5 or writers.firms < 3) and time.time() < deadline and not writers.errors:
            time.sleep(0.05)
        before = _lead_count(sf)
        archive, manifest = create_backup(cfg, tmp_path / "drill.tar.gz")
        written_during = writers.leads
        time.sleep(0.3)  # the writers carry on after the snapshot
    assert not writers.errors, writers.errors
    after = _lead_count(sf)
    print(
        f"drill ({crm_kind}): leads before/in backup/after {before}/{manifest['crm']['leads']['rows']}/{after}, "
        f"firms in backup {manifest['graph']['companies']['rows']}, archive {archive.stat().st_size // 1024} KB"
    )
    assert before <= manifest["crm"]["leads"]["rows"] <= after
    assert after > manifest["crm"]["leads"]["rows"] or written_during == writers.leads
    assert manifest["graph"]["companies"]["rows"] >= 20 + 25 * 3
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    target_cfg, _, target = _instance(tmp_path, "dst", crm_kind)
    restored = restore_backup(target_cfg, archive)
    assert restored == manifest
    # independent of restore's own check: recount and re-hash everything
    restored_engine = make_engine(target_cfg)
    with restored_engine.connect() as conn:
        assert crm_digest(conn) == manifest["crm"]
    with NetworkxStore(target / "graph.sqlite3") as store:
        assert graph_digest(graph_entities(store)) == manifest["graph"]
        assert store.supplies_of("c1")
    assert (target / "settings.json").read_text(encoding="utf-8") == '{"crm.follow_up_days": 10}'
    assert not (target / "secret_key").exists()  # a restored instance makes its own
    with unit_of_work(make_session_factory(restored_engine)) as s:  # the restored CRM works
        assert user_svc.authenticate(s, "rec", PASSWORD, settings=user_svc.CrmSettings()).ok
    restored_engine.dispose()
    engine.dispose()

    # an instance that holds data is never overwritten
    with pytest.raises(BackupError, match="不是空的"):
        restore_backup(target_cfg, archive)


def test_a_corrupted_archive_is_refused(tmp_path):
    cfg, _, folder = _instance(tmp_path, "src", "sqlite")
    _seed(cfg, folder)
    archive, _ = create_backup(cfg, tmp_path / "b.tar.gz")
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "settings.json" or member.name.endswith("settings.json"):
                data = data.replace(b"10", b"99")
            member.size = len(data)
            dst.addfile(member, __import__("io").BytesIO(data))
    target_cfg, _, target = _instance(tmp_path, "dst", "sqlite")
    with pytest.raises(BackupError, match="校验和不符"):
        restore_backup(target_cfg, bad)
    assert not (target / "graph.sqlite3").exists()


def test_cli_backup_and_restore(tmp_path):
    cfg, config, folder = _instance(tmp_path, "src", "sqlite")
    _seed(cfg, folder)
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(config), "backup", "-o", str(tmp_path / "cli.tar.gz")])
    assert result.exit_code == 0, result.output
    assert (
        "已写入备份" in result.output and "企业 21 家" not in result.output and "企业 20 家" in result.output
    )
    manifest = json.loads(tarfile.open(tmp_path / "cli.tar.gz").extractfile("manifest.json").read())
    assert manifest["crm"]["users"]["rows"] == 1
    _, target_config, _ = _instance(tmp_path, "dst", "sqlite")
    result = runner.invoke(main, ["--config", str(target_config), "restore", str(tmp_path / "cli.tar.gz")])
    assert result.exit_code == 0 and "条数与校验和全部一致" in result.output, result.output
    result = runner.invoke(main, ["--config", str(target_config), "restore", str(tmp_path / "cli.tar.gz")])
    assert result.exit_code == 1 and "不是空的" in result.output
