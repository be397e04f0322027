"""`lianzhao companies search|show|list|confirm` on an embedded store holding the seed chains and the
企查查 sample export (issue 10): JSON carries stable ids, dead firms are hidden by default, the 待确认
queue is listed with candidates and confirmed by file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graph.importer import import_companies
from graph.model import Company
from graph.nx_store import NetworkxStore
from lianzhao.cli import main
from lianzhao.config import DEFAULT_CONFIG, load_config
from seed.loader import load_structure, seed_store

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("companies")
    instance = tmp / "instance"
    instance.mkdir()
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('path = "instance"', f'path = "{instance}"', 1)
    config = tmp / "config.toml"
    config.write_text(text, encoding="utf-8")
    cfg = load_config(config)
    with NetworkxStore(instance / "graph.sqlite3") as store:
        seed_store(store, load_structure(), n_synthetic=0, anchors=False)
        report = import_companies(
            store, DATA / "gsxt_copy.csv", district_cfg=cfg["district"], companies_cfg=cfg["companies"]
        )
        assert report.committed and report.pending
    return config, tmp


def cli(config, *args, input=None):
    result = CliRunner().invoke(main, ["--config", str(config), "companies", *args], input=input)
    return result


def test_show_json_carries_the_issue_fields(env):
    config, _ = env
    result = cli(config, "show", "北京通州示例骨科器械有限公司", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    for key in (
        "id",
        "uscc",
        "name",
        "status",
        "active",
        "is_local",
        "local_reason",
        "province",
        "city",
        "district",
        "zone_id",
        "registered_capital",
        "revenue",
        "qualifications",
        "node_ids",
        "placements",
    ):
        assert key in record, key
    assert record["is_local"] and record["local_reason"].startswith("信用代码登记机关")
    same = json.loads(cli(config, "show", record["uscc"], "--format", "json").output)
    assert same["id"] == record["id"]  # by credit code too


def test_search_hides_dead_firms_unless_asked(env):
    config, _ = env
    alive = json.loads(cli(config, "search", "示例", "--format", "json").output)
    every = json.loads(cli(config, "search", "示例", "--all", "--format", "json").output)
    assert len(every) == 8 and len(alive) == 5
    local = json.loads(cli(config, "search", "示例", "--local", "--format", "json").output)
    assert {r["name"] for r in local} == {"北京通州示例骨科器械有限公司", "北京示例光刻材料科技有限公司"}
    table = cli(config, "search", "光刻")
    assert table.exit_code == 0 and "北京示例光刻材料科技有限公司" in table.output


def test_pending_queue_and_confirm_by_file(env):
    config, tmp = env
    queue = json.loads(cli(config, "list", "--pending", "--format", "json").output)
    assert queue and all(r["pending"] and not r["node_ids"] for r in queue)
    firm = next(r for r in queue if r["name"] == "北京通州示例骨科器械有限公司")
    path = tmp / "confirm.csv"
    path.write_text(f"企业,产业链环节\n{firm['id']},device.joint；device.spine\n", encoding="utf-8")
    result = cli(config, "confirm", str(path))
    assert result.exit_code == 0, result.output
    record = json.loads(cli(config, "show", firm["id"], "--format", "json").output)
    assert record["node_ids"] == ["device.joint", "device.spine"] and not record["pending"]
    assert {p["source"] for p in record["placements"]} == {"confirmed"}
    bad = tmp / "bad.csv"
    bad.write_text("企业,产业链环节\n不存在的企业,device.joint\n", encoding="utf-8")
    result = cli(config, "confirm", str(bad))
    assert result.exit_code != 0 and "找不到企业" in result.output


def test_xlsx_export_needs_output(env):
    config, tmp = env
    assert cli(config, "list", "--format", "xlsx").exit_code != 0
    out = tmp / "firms.xlsx"
    assert cli(config, "list", "--format", "xlsx", "-o", str(out)).exit_code == 0 and out.stat().st_size > 0


def test_duplicates_lists_same_name_and_former_name(env):
    config, tmp = env
    cfg = load_config(config)
    path = tmp / "dupes.csv"
    path.write_text(
        "企业名称,曾用名,产业链环节\n北京示例新骨科有限公司,北京通州示例骨科器械股份有限公司,人工关节\n",
        encoding="utf-8",
    )
    with NetworkxStore(Path(cfg["instance"]["path"]) / "graph.sqlite3") as store:
        report = import_companies(store, path, district_cfg=cfg["district"], companies_cfg=cfg["companies"])
    # the 曾用名 matches the stored firm: re-import updates it (same id), no duplicate is created
    assert report.updated == 1 and report.created == 0
    result = cli(config, "duplicates", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.output) == []
    with NetworkxStore(Path(cfg["instance"]["path"]) / "graph.sqlite3") as store:  # two records of one firm
        store.upsert_companies([Company("X1", "重复示例有限公司"), Company("X2", "重复示例股份有限公司")])
    groups = json.loads(cli(config, "duplicates", "--format", "json").output)
    assert groups == [{"reason": "同名", "key": "重复示例", "company_ids": ["X1", "X2"]}]


def _crm(config):
    from crm.db import make_engine, make_session_factory, upgrade

    engine = make_engine(load_config(config))
    upgrade(engine)
    return make_session_factory(engine)


def _lead(session, company_id, name, stage="线索"):
    from crm.models import Lead
    from graph.identity import normalize_name

    lead = Lead(
        company_id=company_id,
        company_name=name,
        name_key=normalize_name(name),
        channel="精准补链招商",
        priority="中",
        stage=stage,
    )
    session.add(lead)
    session.flush()
    return lead.id


def test_merge_keeps_the_firm_with_leads_and_repoints_them(env):
    from crm.models import AuditLog, Lead
    from graph.model import Supply

    config, _ = env
    cfg = load_config(config)
    path = Path(cfg["instance"]["path"]) / "graph.sqlite3"
    with NetworkxStore(path) as store:
        store.upsert_companies(
            [
                Company("M1", "合并示例技术有限公司", province="北京市"),
                Company("M2", "合并示例科技股份有限公司", "91350100M000100Y43", city="北京市"),
                Company("M3", "合并示例伙伴有限公司"),
            ]
        )
        store.upsert_supplies([Supply("M2", "M3", "零件", 5.0)])
    sf = _crm(config)
    with sf.begin() as session:
        lost = _lead(session, "M2", "合并示例科技股份有限公司", stage="流失")
    shown = cli(config, "merge", "M1", "M2", input="n\n")
    assert shown.exit_code == 0, shown.output
    assert "保留：合并示例科技股份有限公司（M2）" in shown.output and "未合并" in shown.output
    assert "有线索而另一家没有" in shown.output  # the firm with the lead is kept, not the one named first
    result = cli(config, "merge", "M1", "M2", "--yes")
    assert result.exit_code == 0, result.output
    assert "已将「合并示例技术有限公司」（M1）并入「合并示例科技股份有限公司」（M2）" in result.output
    record = json.loads(cli(config, "show", "M1", "--format", "json").output)
    assert record["id"] == "M2" and "合并示例技术有限公司" in record["former_names"]
    assert record["province"] == "北京市"  # taken from the merged record
    with sf() as session:
        assert session.get(Lead, lost).company_id == "M2"  # never changed: its firm was kept
        entry = session.query(AuditLog).filter_by(action="merge").one()
        assert entry.entity_id == "M2" and entry.before["merged_id"] == "M1"


def test_merge_refuses_two_firms_with_open_leads_unless_forced(env):
    from crm.models import AuditLog, Lead

    config, _ = env
    cfg = load_config(config)
    with NetworkxStore(Path(cfg["instance"]["path"]) / "graph.sqlite3") as store:
        store.upsert_companies([Company("P1", "双线索示例有限公司"), Company("P2", "双线索示例股份有限公司")])
    sf = _crm(config)
    with sf.begin() as session:
        first = _lead(session, "P1", "双线索示例有限公司")
        second = _lead(session, "P2", "双线索示例股份有限公司", stage="接洽")
    refused = cli(config, "merge", "P1", "P2", "--yes")
    assert refused.exit_code != 0 and "都有进行中的线索" in refused.output
    assert json.loads(cli(config, "show", "P2", "--format", "json").output)["id"] == "P2"
    forced = cli(config, "merge", "P1", "P2", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    with sf() as session:
        assert session.get(Lead, first).company_id == "P1"
        assert session.get(Lead, second).company_id == "P1"  # re-pointed, and audited
        moved = session.query(AuditLog).filter_by(entity="lead", entity_id=str(second)).one()
        assert moved.before == {"company_id": "P2"} and moved.after == {"company_id": "P1"}
    again = cli(config, "merge", "P1", "P2", "--yes")  # the graph step is done: nothing left to move
    assert again.exit_code == 0 and "0 条线索" in again.output
