"""Exports as bureaus have them (issue 10): one test per layout, each file as the vendor lays it out
(tests/data/make_exports.py writes them), imported unchanged into a store holding the seed chains."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from graph.gaps import GapThresholds
from graph.importer import import_companies, parse_designations, parse_money
from graph.nx_store import NetworkxStore
from lianzhao.config import load_config
from seed.loader import load_structure, seed_store

DATA = Path(__file__).parent / "data"
TODAY = dt.date(2024, 6, 1)


@pytest.fixture(scope="module")
def cfg():
    return load_config()


@pytest.fixture
def store():
    s = NetworkxStore(None)
    seed_store(s, load_structure(), n_synthetic=0, anchors=False)
    return s


def run(store, cfg, name, **kw):
    return import_companies(
        store, DATA / name, district_cfg=cfg["district"], companies_cfg=cfg["companies"], today=TODAY, **kw
    )


def by_name(store):
    return {c.name: c for c in store.companies(store.company_ids())}


def check_common(store, report, *, placed=True):
    """What every vendor layout must give: 8 firms, no refusals, status, locality, money, qualifications."""
    assert report.committed and not report.errors, report.errors
    assert report.written == 8 and report.inactive == 3
    firms = by_name(store)
    tz = firms["北京通州示例骨科器械有限公司"]
    assert tz.is_local and tz.active and tz.local_reason
    assert tz.registered_capital == 5000 and tz.founded == 2012 and tz.founded_date == "2012-05-01"
    dead = firms["北京示例食品有限公司"]
    assert dead.is_local and not dead.active and dead.status == "注销"
    assert not firms["北京朝阳示例控股有限公司"].active  # 吊销，未注销
    assert not firms["北京海淀示例医药科技有限公司"].active  # 迁出
    sh = firms["上海示例半导体硅片有限公司"]
    assert not sh.is_local and sh.registered_capital == pytest.approx(3000 * 7.1)
    assert sh.capital_text == "3000万美元"
    assert not firms["三河示例机器人有限公司"].is_local
    if placed:
        assert (
            "ic.silicon" in sh.node_ids and "ic.photoresist" in firms["北京示例光刻材料科技有限公司"].node_ids
        )
    # Dead firms count nowhere: the 注销 food firm is on no node's local count.
    stats = store.node_stats(GapThresholds().qualified)
    assert all(s.local_firms == 0 for nid, s in stats.items() if nid.startswith("food."))
    return firms


def test_qichacha_export_with_title_rows(store, cfg):
    report = run(store, cfg, "qichacha_export.xlsx")
    assert report.header_row == 3 and sum("跳过表头上方" in w for w in report.warnings) == 2
    assert "纳税人识别号" in report.ignored and "序号" in report.ignored  # named, not silently dropped
    assert ("国标行业小类", "所属行业") in report.understood and ("所属区县", "区县") in report.understood
    firms = check_common(store, report)
    tz = firms["北京通州示例骨科器械有限公司"]
    assert set(tz.qualifications) == {"小巨人", "专精特新", "高新技术企业"}
    assert tz.former_names == ("北京通州示例医械科技有限公司",) and tz.legal_rep == "张0"
    assert tz.insured == 50 and tz.website == "www.example0.com" and tz.email == "info0@example.com"
    assert {"device.joint", "device.spine"} <= set(tz.node_ids)
    joint = next(p for p in tz.placement_list() if p.node_id == "device.joint")
    assert joint.source == "keyword" and "人工关节" in joint.evidence
    sz = firms["深圳示例储能技术有限公司"]
    assert sz.registered_capital == 12000 and sz.qualifications == ("单项冠军",) and sz.tags == ("瞪羚企业",)
    assert any("瞪羚企业" in w for w in report.warnings)


def test_tianyancha_export(store, cfg):
    report = run(store, cfg, "tianyancha_export.xlsx")
    assert ("公司名称", "企业名称") in report.understood
    firms = check_common(store, report)
    assert firms["北京示例光刻材料科技有限公司"].registered_capital == 12000  # 「12,000万人民币」


def test_qixinbao_export_gb18030(store, cfg):
    report = run(store, cfg, "qixinbao_export.csv")
    assert report.encoding == "gb18030"
    firms = check_common(store, report)
    assert firms["北京通州示例骨科器械有限公司"].status == "存续（在营、开业、在册）"
    assert firms["北京朝阳示例控股有限公司"].registered_capital is None  # 「-」


def test_gsxt_copy_without_district_uses_credit_code(store, cfg):
    report = run(store, cfg, "gsxt_copy.csv")
    firms = check_common(store, report, placed=False)
    tz = firms["北京通州示例骨科器械有限公司"]
    assert tz.local_reason == "信用代码登记机关 110112 属本区" and tz.founded_date == "2012-05-01"
    assert "110105" in firms["北京朝阳示例控股有限公司"].local_reason
    # Only 经营范围: weak evidence goes to 待确认, not refused and not counted.
    assert report.pending >= 1
    pending = [c for c in firms.values() if c.pending]
    assert all(not c.node_ids for c in pending) and any(c.placements for c in pending)


def test_statistics_directory_in_thousands(store, cfg):
    report = run(store, cfg, "guishang_directory.xlsx")
    assert report.committed and not report.errors and report.written == 3
    firms = by_name(store)
    tz = firms["北京通州示例骨科器械有限公司"]
    assert tz.revenue == pytest.approx(18000.0)  # 180000 千元
    assert tz.industry_code == "3586" and tz.employees == 120 and tz.is_local


def test_reimport_matches_by_former_name(store, cfg, tmp_path):
    run(store, cfg, "qichacha_export.xlsx")
    first = by_name(store)["北京通州示例骨科器械有限公司"].id
    path = tmp_path / "renamed.csv"
    path.write_text(
        "企业名称,曾用名,所属区县,产业链环节\n北京通州示例新名称有限公司,北京通州示例骨科器械有限公司,通州区,人工关节\n",
        encoding="utf-8",
    )
    report = import_companies(store, path, district_cfg=cfg["district"], companies_cfg=cfg["companies"])
    assert report.updated == 1 and store.company(first).name == "北京通州示例新名称有限公司"


def test_dry_run_writes_nothing(store, cfg):
    before = store.company_count()
    report = run(store, cfg, "qichacha_export.xlsx", dry_run=True)
    assert not report.committed and store.company_count() == before and report.understood


def test_money_and_designation_vocabulary():
    rates = {"美元": 7.1, "港元": 0.91}
    assert parse_money("5000万元人民币", "注册资本", rates) == (5000.0, "")
    assert parse_money("1.2亿元", "注册资本", rates) == (12000.0, "")
    assert parse_money("--", "注册资本", rates) == (None, "")
    assert parse_money("100", "营业收入", rates, scale=0.1) == (10.0, "")
    with pytest.raises(ValueError, match="未配置汇率"):
        parse_money("50万韩元", "注册资本", rates)
    assert parse_designations("专精特新小巨人")[0] == ("小巨人", "专精特新")
    assert parse_designations("上市公司；A股上市；制造业单项冠军")[0] == ("上市", "单项冠军")


def test_duplicate_warnings_of_a_second_export(store, cfg, tmp_path):
    """疑似重复 at import (issue 10): a 企查查 export first, then a 天眼查-style CSV a colleague made later,
    with a title row, the orthopaedics firm again under a new credit code (re-registered), and two rows
    of one firm (old and new name). Warnings, not refusals: every row is imported."""
    from tests.data.make_exports import TZ, code

    first = run(store, cfg, "qichacha_export.xlsx")
    assert first.committed
    old = by_name(store)["北京通州示例骨科器械有限公司"]
    again, renamed, old_name = code(TZ, "MA0DUP001"), code(TZ, "MA0DUP002"), code(TZ, "MA0DUP003")
    path = tmp_path / "天眼查_第二批.csv"
    path.write_text(
        "天眼查 · 企业列表（导出时间：2024-05-30）,,,,,,\n"
        "公司名称,登记状态,注册资本,所属省份,所属区县,统一社会信用代码,曾用名\n"
        f"北京通州示例骨科器械股份有限公司,存续,5000万元人民币,北京市,通州区,{again},\n"
        f"北京示例精工科技有限公司,存续,800万元人民币,北京市,通州区,{renamed},北京示例精工机械有限公司\n"
        f"北京示例精工机械有限公司,注销,800万元人民币,北京市,通州区,{old_name},\n",
        encoding="utf-8-sig",
    )
    report = run(store, cfg, path)
    assert report.committed and not report.errors and report.created == 3, report.errors
    dupes = [w for w in report.warnings if "疑似重复" in w]
    assert len(dupes) == 2, report.warnings
    assert "第 3 行" in dupes[0] and old.id in dupes[0] and old.uscc in dupes[0]  # the stored firm
    assert "第 5 行" in dupes[1] and "第 4 行" in dupes[1] and "曾用名" in dupes[1]  # within the file
    assert store.company(old.id).uscc == old.uscc  # the stored firm is not touched
