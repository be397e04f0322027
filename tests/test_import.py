"""Company and relation import through the real embedded store (NetworkxStore, in memory)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import Workbook

from graph.identity import company_id_for, uscc_check_char
from graph.importer import (
    EvidencePlacer,
    ImportFileError,
    NodeResolver,
    import_companies,
    import_relations,
    parse_number,
)
from graph.model import Chain, ChainNode, Flow, Sector, Zone
from graph.nx_store import NetworkxStore

DISTRICT = {"district": "通州区", "city": "北京市", "province": "北京市"}
TODAY = dt.date(2026, 11, 27)
USCC_A = "91350100M000100Y43"
USCC_B = "914403001922038216"
HEAD = [
    "统一社会信用代码",
    "企业名称",
    "省份",
    "城市",
    "区县",
    "是否本地",
    "所属园区",
    "注册资本(万元)",
    "营业收入(万元)",
    "员工人数",
    "成立年份",
    "资质",
    "主营产品",
    "经营范围",
    "产业链环节",
]


def make_uscc(n: int) -> str:
    first = f"91110112{n:09d}"
    return first + uscc_check_char(first)


@pytest.fixture
def store():
    s = NetworkxStore(None)
    s.upsert_sectors(
        [Sector("medical", "医药健康", "战略引擎"), Sector("digital", "新一代数字科技", "前沿新兴")]
    )
    s.upsert_chains(
        [
            Chain("devices", "高端医疗器械", "medical"),
            Chain("pharma", "生物创新药", "medical"),
            Chain("xr", "XR与智能终端", "digital"),
        ]
    )
    s.upsert_nodes(
        [
            ChainNode("devices.titanium", "devices", "医用钛材", "上游", 4, ("钛合金", "医用钛")),
            ChainNode(
                "devices.ortho", "devices", "骨科植入器械", "中游", 5, ("人工关节", "骨科植入物", "脊柱")
            ),
            ChainNode(
                "devices.imaging", "devices", "医学影像设备", "中游", 4, ("CT", "医学影像", "核磁共振")
            ),
            ChainNode("devices.rnd", "devices", "研发服务", "上游", 2, ("临床试验",)),
            ChainNode("pharma.rnd", "pharma", "研发服务", "上游", 3, ("CRO", "药物筛选")),
            ChainNode("pharma.insulin", "pharma", "胰岛素", "中游", 5, ("胰岛素", "糖尿病")),
            ChainNode("xr.wear", "xr", "AR/VR/XR 可穿戴", "下游", 4, ("头显", "智能眼镜")),
        ]
    )
    s.upsert_flows([Flow("devices.titanium", "devices.ortho")])
    s.upsert_zones(
        [
            Zone("huoxian", "漷县镇", "产业城镇", "通州区", ("medical",)),
            Zone("xianghe", "香河机器人小镇", "北三县", "香河县", (), is_local=False),
            Zone("xiji", "西集镇", "产业城镇", "通州区"),
            Zone("xiji2", "西集第二园区", "产业城镇", "通州区"),
        ]
    )
    yield s
    s.close()


def write_csv(path, header, rows, encoding="utf-8-sig"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def firm_row(**cells) -> list[str]:
    keys = {
        "uscc": 0,
        "name": 1,
        "province": 2,
        "city": 3,
        "district": 4,
        "is_local": 5,
        "zone": 6,
        "capital": 7,
        "revenue": 8,
        "employees": 9,
        "founded": 10,
        "quals": 11,
        "products": 12,
        "scope": 13,
        "nodes": 14,
    }
    row = [""] * len(HEAD)
    for key, value in cells.items():
        row[keys[key]] = value
    return row


def run(store, path, **kw):
    return import_companies(store, path, district_cfg=DISTRICT, today=TODAY, **kw)


def test_full_row_with_chinese_headers(store, tmp_path):
    path = write_csv(
        tmp_path / "firms.csv",
        HEAD,
        [
            firm_row(
                uscc=USCC_A,
                name="北京春立示例医疗器械股份有限公司",
                province="北京市",
                city="北京市",
                district="通州区",
                zone="漷县",
                capital="１２,０００",
                revenue="35,000.5",
                employees="620",
                founded="2001",
                quals="专精特新；高新技术企业、上市",
                products="人工关节",
                scope="医疗器械生产",
                nodes="骨科植入器械",
            )
        ],
    )
    report = run(store, path)
    assert report.ok and report.committed and (report.created, report.updated) == (1, 0)
    firm = store.company(USCC_A)
    assert firm.name == "北京春立示例医疗器械股份有限公司"
    assert firm.is_local is True  # derived from 区县 == config district
    assert firm.zone_id == "huoxian"
    assert firm.registered_capital == 12000 and firm.revenue == 35000.5 and firm.employees == 620
    assert firm.founded == 2001
    assert firm.qualifications == ("专精特新", "高新技术企业", "上市")
    assert firm.node_ids == ("devices.ortho",)


def test_english_headers_full_width_brackets_and_spaces(store, tmp_path):
    header = ["USCC", " name ", "district", "Registered_Capital", "nodes", "产业链 环节（备注）"]
    path = write_csv(
        tmp_path / "en.csv",
        header,
        [[USCC_B, "深圳示例影像有限公司", "南山区", "800", "devices.imaging", "x"]],
    )
    report = run(store, path)
    assert report.ok, report.errors
    firm = store.company(USCC_B)
    assert firm.is_local is False and firm.registered_capital == 800 and firm.node_ids == ("devices.imaging",)
    assert any("产业链 环节（备注）" in w for w in report.warnings)


@pytest.mark.parametrize(
    "encoding, bom",
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("gb18030", b""),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
    ],
)
def test_rare_characters_survive_every_encoding(store, tmp_path, encoding, bom):
    name = "北京䶮𠮷生物科技有限公司"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEAD, firm_row(name=name, district="通州区", nodes="胰岛素")])
    path = tmp_path / "rare.csv"
    path.write_bytes(bom + buffer.getvalue().encode(encoding))
    report = run(store, path)
    assert report.ok, report.errors
    firm = store.company(company_id_for(name))
    assert firm.name == name


def test_xlsx_input_with_numbers_and_rare_name(store, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEAD)
    sheet.append(
        [
            USCC_A,
            "𠮷祥钛业有限公司",
            "陕西省",
            "宝鸡市",
            "渭滨区",
            None,
            None,
            5000,
            12000.5,
            300,
            2008,
            "专精特新",
            "钛合金棒材",
            None,
            None,
        ]
    )
    path = tmp_path / "firms.xlsx"
    workbook.save(path)
    report = run(store, path)
    assert report.ok, report.errors
    firm = store.company(USCC_A)
    assert firm.name == "𠮷祥钛业有限公司" and firm.revenue == 12000.5 and firm.employees == 300
    assert firm.node_ids == ("devices.titanium",)  # placed by keyword 钛合金


def test_invalid_and_duplicate_credit_codes(store, tmp_path):
    bad = USCC_A[:-1] + ("0" if USCC_A[-1] != "0" else "1")
    path = write_csv(
        tmp_path / "codes.csv",
        HEAD,
        [
            firm_row(uscc=USCC_A, name="甲公司", nodes="胰岛素"),
            firm_row(uscc=bad, name="乙公司", nodes="胰岛素"),
            firm_row(uscc=USCC_A.lower(), name="丙公司", nodes="胰岛素"),
            firm_row(uscc="123", name="丁公司", nodes="胰岛素"),
            firm_row(name="甲 有限公司", nodes="胰岛素"),
            firm_row(name="戊有限公司", nodes="胰岛素"),
            firm_row(name="戊股份有限公司", nodes="胰岛素"),
        ],
    )
    report = run(store, path)
    assert not report.committed and store.company_count() == 0
    messages = {e.row: e.message for e in report.errors}
    assert "校验位错误" in messages[3]
    assert "与第 2 行重复" in messages[4]  # lower case is the same code
    assert "18位" in messages[5]
    assert "企业名称与第 2 行重复" in messages[6]  # spaces and legal-form suffix folded
    assert "企业名称与第 7 行重复" in messages[8]


def test_bad_cells_are_reported_per_row_and_nothing_is_written(store, tmp_path):
    path = write_csv(
        tmp_path / "bad.csv",
        HEAD,
        [
            firm_row(name="好公司", nodes="胰岛素"),
            firm_row(name="负数公司", revenue="-5", nodes="胰岛素"),
            firm_row(name="文字公司", capital="很多", employees="12.5", nodes="胰岛素"),
            firm_row(name="园区公司", zone="火星园区；西集", nodes="胰岛素"),
            firm_row(name="资质公司", quals="专精特新；五星企业", nodes="胰岛素"),
            firm_row(name="环节公司", nodes="不存在的环节"),
            firm_row(name="歧义公司", nodes="研发服务"),
            firm_row(name="年份公司", founded="2031", nodes="胰岛素"),
            firm_row(name="本地公司", is_local="也许", nodes="胰岛素"),
            firm_row(name="", nodes="胰岛素"),
        ],
    )
    report = run(store, path)
    assert not report.committed
    assert store.company_count() == 0
    messages = {e.row: e.message for e in report.errors}
    assert sorted(messages) == [3, 4, 5, 7, 8, 9, 10, 11]
    assert "营业收入不能为负数" in messages[3]
    assert "注册资本「很多」不是有效数字" in messages[4] and "员工人数应为整数" in messages[4]
    assert "未知园区「火星园区；西集」" in messages[5]
    assert 6 not in messages  # an unknown designation is a warning, kept as a tag (issue 10)
    assert any("五星企业" in w for w in report.warnings)
    assert "未知产业链环节「不存在的环节」" in messages[7]
    assert "高端医疗器械" in messages[8] and "生物创新药" in messages[8] and "链名/环节名" in messages[8]
    assert "1900 到 2026" in messages[9]
    assert "是否本地" in messages[10]
    assert "企业名称不能为空" in messages[11]
    assert "未写入" in report.summary()


def test_chain_qualified_node_names_and_ids(store, tmp_path):
    path = write_csv(
        tmp_path / "nodes.csv",
        HEAD,
        [
            firm_row(name="甲", nodes="生物创新药/研发服务；devices.rnd"),
            firm_row(name="乙", nodes="XR与智能终端/AR/VR/XR 可穿戴"),
            firm_row(name="丙", nodes="ar/vr/xr可穿戴、胰岛素"),
        ],
    )
    report = run(store, path)
    assert report.ok, report.errors
    assert store.company(company_id_for("甲")).node_ids == ("devices.rnd", "pharma.rnd")
    assert store.company(company_id_for("乙")).node_ids == ("xr.wear",)
    assert store.company(company_id_for("丙")).node_ids == ("pharma.insulin", "xr.wear")


def test_reimport_updates_instead_of_duplicating(store, tmp_path):
    first = write_csv(
        tmp_path / "a.csv",
        HEAD,
        [
            firm_row(
                uscc=USCC_A, name="北京甲医疗有限公司", district="通州区", revenue="100", nodes="骨科植入器械"
            ),
            firm_row(
                name="天津乙材料有限公司", city="天津市", revenue="50", quals="专精特新", nodes="医用钛材"
            ),
        ],
    )
    assert run(store, first).created == 2
    # same firms: one by credit code with a new name, one by name with another legal-form suffix;
    # empty cells and absent columns keep what is stored
    second = write_csv(
        tmp_path / "b.csv",
        ["统一社会信用代码", "企业名称", "营业收入(万元)"],
        [
            [USCC_A, "北京甲医疗科技有限公司", "120"],
            ["", "天津乙材料股份有限公司", ""],
        ],
    )
    report = run(store, second)
    assert (report.created, report.updated) == (0, 2), report.errors
    assert store.company_count() == 2
    a = store.company(USCC_A)
    assert a.name == "北京甲医疗科技有限公司" and a.revenue == 120 and a.node_ids == ("devices.ortho",)
    assert a.is_local is True
    b = store.company(company_id_for("天津乙材料有限公司"))
    assert b.name == "天津乙材料股份有限公司" and b.revenue == 50 and b.qualifications == ("专精特新",)


def test_name_match_with_conflicting_credit_code_is_a_duplicate_warning(store, tmp_path):
    run(store, write_csv(tmp_path / "a.csv", HEAD, [firm_row(uscc=USCC_A, name="甲公司", nodes="胰岛素")]))
    report = run(
        store, write_csv(tmp_path / "b.csv", HEAD, [firm_row(uscc=USCC_B, name="甲公司", nodes="胰岛素")])
    )
    # the new code matches nothing, but the name matches a firm holding another code: another firm
    # by law, probably the same in fact (issue 10: a 疑似重复 warning, not a refusal)
    assert report.committed and not report.errors and report.created == 1
    assert any("疑似重复" in w and USCC_A in w and "第 2 行" in w for w in report.warnings), report.warnings
    assert store.company(USCC_A).uscc == USCC_A and store.company(USCC_B).uscc == USCC_B


def test_two_rows_pointing_at_one_stored_firm(store, tmp_path):
    run(store, write_csv(tmp_path / "a.csv", HEAD, [firm_row(uscc=USCC_A, name="甲公司", nodes="胰岛素")]))
    report = run(
        store,
        write_csv(
            tmp_path / "b.csv", HEAD, [firm_row(uscc=USCC_A, name="甲新名公司"), firm_row(name="甲公司")]
        ),
    )
    assert [e.row for e in report.errors] == [3]
    assert "第 2 行是同一家已有企业" in report.errors[0].message


def test_partial_writes_good_rows_and_returns_rejects(store, tmp_path):
    path = write_csv(
        tmp_path / "mixed.csv",
        HEAD,
        [
            firm_row(name="好甲", nodes="胰岛素"),
            firm_row(name='=HYPERLINK("http://x")', revenue="abc", nodes="胰岛素"),
            firm_row(name="好乙", products="CT 医学影像设备"),
        ],
    )
    report = run(store, path, partial=True)
    assert report.committed and report.written == 2 and report.rejected == 1
    assert store.company_count() == 2
    columns, rows = report.reject_table()
    assert [title for _, title in columns] == HEAD + ["错误原因"]
    assert rows[0]["c1"] == '=HYPERLINK("http://x")' and "不是有效数字" in rows[0]["reason"]
    assert "写入 2" in report.summary() and "跳过 1" in report.summary()


def test_is_local_rules(store, tmp_path):
    path = write_csv(
        tmp_path / "local.csv",
        HEAD,
        [
            firm_row(name="甲", district="通州区", is_local="否", nodes="胰岛素"),  # explicit wins
            firm_row(name="乙", district="朝阳区", nodes="胰岛素"),
            firm_row(name="丙", zone="香河", nodes="胰岛素"),  # no 区县: zone decides; unique prefix
            firm_row(name="丁", zone="huoxian", nodes="胰岛素"),
            firm_row(name="戊", is_local="Y", nodes="胰岛素"),
        ],
    )
    assert run(store, path).ok
    local = {c.name: c.is_local for c in store.companies_on_nodes(["pharma.insulin"])}
    assert local == {"甲": False, "乙": False, "丙": False, "丁": True, "戊": True}


def test_zone_names_ids_prefixes_and_ambiguity(store, tmp_path):
    path = write_csv(
        tmp_path / "z.csv",
        HEAD,
        [
            firm_row(name="甲", zone="漷县", nodes="胰岛素"),
            firm_row(name="乙", zone="XiJi", nodes="胰岛素"),
            firm_row(name="丙", zone="西集", nodes="胰岛素"),
        ],
    )
    report = run(store, path)
    assert [e.row for e in report.errors] == [4]
    assert "不明确" in report.errors[0].message and "西集第二园区" in report.errors[0].message
    run(store, path, partial=True)
    assert store.company(company_id_for("甲")).zone_id == "huoxian"
    assert store.company(company_id_for("乙")).zone_id == "xiji"


def test_keyword_placement_and_pending(store, tmp_path):
    path = write_csv(
        tmp_path / "kw.csv",
        HEAD,
        [
            firm_row(name="甲", products="人工关节、脊柱内固定", scope="骨科植入物研发"),
            firm_row(name="乙", products="智能眼镜", scope="电子产品销售"),
            firm_row(name="丙", products="办公家具", scope="家具销售"),
        ],
    )
    report = run(store, path)
    assert report.committed and not report.errors  # no placement is not a refusal: 待确认
    assert report.placed == 2 and report.pending == 1
    assert "2 家按关键词归入" in report.summary() and "1 家待确认" in report.summary()
    joint = store.company(company_id_for("甲"))
    assert "devices.ortho" in joint.node_ids and not joint.pending
    placement = joint.placement_list()[0]
    assert placement.source == "keyword" and placement.confidence >= 0.6 and placement.evidence
    assert store.company(company_id_for("乙")).node_ids == ("xr.wear",)
    furniture = store.company(company_id_for("丙"))
    assert furniture.pending and furniture.node_ids == ()


def test_evidence_placer_prefers_more_and_product_evidence_and_sends_ties_to_pending():
    nodes = [
        ChainNode("c.a", "c", "储能电池", "中游", 3, ("电池", "电芯")),
        ChainNode("c.b", "c", "储能变流器", "中游", 3, ("变流器", "PCS")),
        ChainNode("c.c", "c", "电池回收", "下游", 3, ("电池",)),
        ChainNode("c.d", "c", "运维", "下游", 3, ("储能电站运维",)),
    ]
    placer = EvidencePlacer(nodes, generic=())
    best = placer.place("电芯与储能电池")
    assert [p.node_id for p in best.placed] == ["c.a"] and best.placed[0].source == "keyword"
    assert set(best.placed[0].evidence) == {"电芯", "储能电池"}
    tie = placer.place("电池")  # shared word: no confident node, both are candidates
    assert tie.pending and {p.node_id for p in tie.candidates} == {"c.a", "c.c"}
    assert [p.node_id for p in placer.place("储能电站运维服务").placed] == ["c.d"]
    assert [p.node_id for p in placer.place("pcs 储能变流器").placed] == ["c.b"]  # case folded
    assert not placer.place("smartpcs").candidates  # ASCII words match whole tokens only
    assert placer.place("").candidates == () and placer.place("食品").candidates == ()


def test_evidence_placer_negative_words_child_over_parent_codes_and_generic_scope():
    nodes = [
        ChainNode("ic.mat", "ic", "关键材料", "上游", 3, ("材料",)),
        ChainNode(
            "ic.si",
            "ic",
            "大尺寸硅片",
            "上游",
            5,
            ("硅片", "单晶硅"),
            parent_id="ic.mat",
            negative_keywords=("光伏",),
            industry_codes=("3985",),
        ),
        ChainNode("eq.sp", "eq", "专用设备", "中游", 3, ("专用设备",)),
    ]
    placer = EvidencePlacer(nodes, generic=("专用设备制造",))
    wafer = placer.place("12英寸硅片、材料", "")
    assert [p.node_id for p in wafer.placed] == ["ic.si"]  # the child beats its parent
    assert not placer.place("光伏硅片").candidates  # vetoed by 光伏
    by_code = placer.place("", "", industry_code="3985")
    assert by_code.candidates[0].node_id == "ic.si" and "行业代码3985" in by_code.candidates[0].evidence
    generic = placer.place("", "专用设备制造；技术服务")
    assert generic.pending  # a standard scope phrase is weak evidence


def test_evidence_placer_handles_many_terms_quickly():
    nodes = [
        ChainNode(f"c.n{i}", "c", f"环节{i}", "中游", 3, tuple(f"关键词{i}-{j}" for j in range(5)))
        for i in range(2000)
    ]
    placer = EvidencePlacer(nodes, generic=())
    result = placer.place("生产关键词7-1，以及关键词7-2")
    assert [p.node_id for p in result.placed] == ["c.n7"]


def test_node_resolver_reports_every_bad_token():
    resolver = NodeResolver([Chain("a", "甲链", "s")], [ChainNode("a.x", "a", "X环节", "上游")])
    with pytest.raises(ValueError) as info:
        resolver.resolve_cell("X环节；Y；乙链/X环节")
    assert "「Y」" in str(info.value) and "乙链/X环节" in str(info.value)


def test_parse_number_formats():
    assert parse_number("１,２３４.５", "x") == 1234.5
    assert parse_number("300万元", "x") == 300
    assert parse_number("", "x") is None
    for bad in ("nan", "inf", "1.2.3", "-0.5"):
        with pytest.raises(ValueError):
            parse_number(bad, "营业收入")


def test_missing_name_column_and_duplicate_headers(store, tmp_path):
    with pytest.raises(ImportFileError, match="缺少必需的列：企业名称"):
        run(store, write_csv(tmp_path / "a.csv", ["城市"], [["北京"]]))
    with pytest.raises(ImportFileError, match="表头重复"):
        run(store, write_csv(tmp_path / "b.csv", ["企业名称", "企业名称"], [["甲", "甲"]]))
    # Two synonyms of one column (企查查 has both): the better one is used, the other named as ignored.
    report = run(
        store,
        write_csv(tmp_path / "c.csv", ["公司名称", "企业名称", "产业链环节"], [["乙公司", "甲", "胰岛素"]]),
        dry_run=True,
    )
    assert ("企业名称", "企业名称") in report.understood and report.ignored == ["公司名称"]


def test_progress_callback_reaches_total(store, tmp_path):
    rows = [firm_row(uscc=make_uscc(i), name=f"进度{i}公司", nodes="胰岛素") for i in range(4500)]
    calls = []
    report = run(store, write_csv(tmp_path / "p.csv", HEAD, rows), progress=lambda d, t: calls.append((d, t)))
    assert report.written == 4500
    assert calls[-1] == (4500, 4500) and calls[0][0] < 4500
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ---- relations -----------------------------------------------------------------------------------
@pytest.fixture
def firms(store, tmp_path):
    path = write_csv(
        tmp_path / "firms.csv",
        HEAD,
        [
            firm_row(uscc=USCC_A, name="北京䶮医疗器械有限公司", district="通州区", nodes="骨科植入器械"),
            firm_row(uscc=USCC_B, name="宝鸡钛业股份有限公司", city="宝鸡市", nodes="医用钛材"),
            firm_row(name="上海影像有限公司", nodes="医学影像设备"),
        ],
    )
    assert run(store, path).ok
    return store


def test_relations_by_code_and_name(firms, tmp_path):
    path = write_csv(
        tmp_path / "rel.csv",
        ["供应方", "采购方", "产品", "年交易额（万元）"],
        [
            [USCC_B, "北京䶮医疗器械有限公司", "钛合金棒材", "1,200"],
            ["上海影像有限公司", USCC_A, "", ""],
        ],
    )
    report = import_relations(firms, path)
    assert report.ok and report.written == 2
    supplies = firms.supplies_of(USCC_A)
    assert {(s.supplier_id, s.product, s.amount) for s in supplies} == {
        (USCC_B, "钛合金棒材", 1200.0),
        (company_id_for("上海影像有限公司"), "", None),
    }
    again = import_relations(firms, path)  # idempotent: same key replaces
    assert again.written == 2 and len(firms.supplies_of(USCC_A)) == 2


def test_relation_errors_and_english_headers(firms, tmp_path):
    bad_code = USCC_B[:-1] + ("0" if USCC_B[-1] != "0" else "1")
    path = write_csv(
        tmp_path / "rel.csv",
        ["supplier", "buyer", "product", "amount"],
        [
            [USCC_B, USCC_A, "棒材", "10"],
            ["不存在公司", USCC_A, "棒材", "10"],
            [bad_code, USCC_A, "棒材", "10"],
            [USCC_A, USCC_A, "自供", ""],
            ["宝鸡钛业有限公司", USCC_A, "棒材", "20"],
            [USCC_B, "", "棒材", "-3"],
        ],
    )
    report = import_relations(firms, path)
    assert not report.committed and firms.supplies_of(USCC_A) == []
    messages = {e.row: e.message for e in report.errors}
    assert sorted(messages) == [3, 4, 5, 6, 7]
    assert "找不到供应方「不存在公司」" in messages[3]
    assert "校验位错误" in messages[4]
    assert "同一家企业" in messages[5]
    assert "与第 2 行重复" in messages[6]
    assert "采购方不能为空" in messages[7] and "不能为负数" in messages[7]
    partial = import_relations(firms, path, partial=True)
    assert partial.written == 1 and partial.rejected == 5


# ---- CLI -----------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path):
    """A config whose instance folder is in tmp_path, with the test structure in its embedded store."""
    from lianzhao.config import DEFAULT_CONFIG

    instance = tmp_path / "instance"
    instance.mkdir()
    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('path = "instance"', f'path = "{instance}"', 1)
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    with NetworkxStore(instance / "graph.sqlite3") as s:
        s.upsert_sectors([Sector("medical", "医药健康", "战略引擎")])
        s.upsert_chains([Chain("pharma", "生物创新药", "medical")])
        s.upsert_nodes([ChainNode("pharma.insulin", "pharma", "胰岛素", "中游", 5, ("胰岛素",))])
    return config, instance / "graph.sqlite3"


def invoke(config, *args):
    from click.testing import CliRunner

    from lianzhao.cli import main

    return CliRunner().invoke(main, ["--config", str(config), "import", *args])


def test_cli_default_mode_writes_nothing_and_exits_1(cli_env, tmp_path):
    config, db = cli_env
    path = write_csv(
        tmp_path / "firms.csv",
        HEAD,
        [firm_row(name="甲", nodes="胰岛素"), firm_row(name="乙", revenue="x", nodes="胰岛素")],
    )
    result = invoke(config, "companies", str(path))
    assert result.exit_code == 1
    assert "第 3 行" in result.stderr and "未写入任何数据" in result.stdout and "--partial" in result.stderr
    with NetworkxStore(db) as s:
        assert s.company_count() == 0
    assert not (tmp_path / "firms.rejected.csv").exists()


def test_cli_partial_writes_good_rows_and_rejects_file(cli_env, tmp_path):
    config, db = cli_env
    path = write_csv(
        tmp_path / "firms.csv",
        HEAD,
        [
            firm_row(name="甲𠮷", nodes="胰岛素"),
            firm_row(name="=cmd|' /C calc'!A0", revenue="x", nodes="胰岛素"),
        ],
        encoding="gb18030",
    )
    result = invoke(config, "companies", str(path), "--partial")
    assert result.exit_code == 0, result.output
    assert "已写入 1 家企业" in result.stdout and "新增 1" in result.stdout
    with NetworkxStore(db) as s:
        assert s.company(company_id_for("甲𠮷")).name == "甲𠮷"
    rejects = tmp_path / "firms.rejected.csv"
    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == HEAD + ["错误原因"]
    assert rows[1][1] == "'=cmd|' /C calc'!A0"  # neutralised for Excel
    assert "营业收入" in rows[1][-1]
    # the fixed rejects file can be imported again: the apostrophe is undone on the way in
    fixed = [r[:-1] for r in rows[1:]]
    fixed[0][8] = "10"
    result = invoke(config, "companies", str(write_csv(tmp_path / "fixed.csv", HEAD, fixed)))
    assert result.exit_code == 0, result.output
    with NetworkxStore(db) as s:
        assert s.company(company_id_for("=cmd|' /C calc'!A0")).revenue == 10


def test_cli_relations_and_custom_rejects_path(cli_env, tmp_path):
    config, db = cli_env
    invoke(
        config,
        "companies",
        str(
            write_csv(
                tmp_path / "f.csv",
                HEAD,
                [firm_row(uscc=USCC_A, name="甲", nodes="胰岛素"), firm_row(name="乙", nodes="胰岛素")],
            )
        ),
    )
    rel = write_csv(
        tmp_path / "rel.csv", ["供应方", "采购方", "产品"], [["乙", USCC_A, "原料"], ["丙", USCC_A, "x"]]
    )
    out = tmp_path / "errs" / "bad.csv"
    result = invoke(config, "relations", str(rel), "--partial", "--rejects", str(out))
    assert result.exit_code == 0, result.output
    assert "已写入 1 条供应关系" in result.stdout and out.exists()
    with NetworkxStore(db) as s:
        assert [x.product for x in s.supplies_of(USCC_A)] == ["原料"]


def test_cli_file_errors_are_chinese(cli_env, tmp_path):
    config, _ = cli_env
    result = invoke(config, "companies", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1 and "错误：找不到文件" in result.stderr
    result = invoke(config, "relations", str(write_csv(tmp_path / "r.csv", ["供应方"], [["甲"]])))
    assert result.exit_code == 1 and "缺少必需的列：采购方" in result.stderr


def test_relation_party_shaped_like_a_code_falls_back_to_name(store, tmp_path):
    name = "ABCDEFGHJKLMNPQRTU"  # 18 code characters, but a (foreign) firm name
    path = write_csv(
        tmp_path / "f.csv",
        HEAD,
        [firm_row(name=name, nodes="胰岛素"), firm_row(uscc=USCC_A, name="甲", nodes="胰岛素")],
    )
    assert run(store, path).ok
    rel = write_csv(tmp_path / "r.csv", ["供应方", "采购方"], [[name, "甲"]])
    report = import_relations(store, rel)
    assert report.ok, report.errors
    assert store.supplies_of(USCC_A)[0].supplier_id == company_id_for(name)


def test_cli_template_round_trips(cli_env, tmp_path):
    from openpyxl import load_workbook

    config, db = cli_env
    out = tmp_path / "模板.xlsx"
    result = invoke(config, "template", "companies", "-o", str(out))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    assert sheet["A1"].value == "统一社会信用代码" and sheet["B1"].value == "企业名称"
    result = invoke(config, "template", "relations", "-o", str(tmp_path / "r.csv"))
    assert result.exit_code == 0
    assert (
        (tmp_path / "r.csv").read_text(encoding="utf-8-sig").startswith("供应方,采购方,产品,年交易额(万元)")
    )


def test_interrupt_during_validation_writes_nothing(tmp_path):
    """Ctrl-C arrives as KeyboardInterrupt in the progress callback: the file store stays as it was."""
    db = tmp_path / "graph.sqlite3"
    with NetworkxStore(db) as s:
        s.upsert_sectors([Sector("medical", "医药健康")])
        s.upsert_chains([Chain("pharma", "生物创新药", "medical")])
        s.upsert_nodes([ChainNode("pharma.insulin", "pharma", "胰岛素", "中游")])
        rows = [firm_row(uscc=make_uscc(i), name=f"中断{i}公司", nodes="胰岛素") for i in range(4500)]
        path = write_csv(tmp_path / "big.csv", HEAD, rows)

        def interrupt(done, total):
            if done >= 4000:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run(s, path, progress=interrupt)
        assert s.company_count() == 0
    with NetworkxStore(db) as reopened:
        assert reopened.company_count() == 0


def test_cli_unwritable_rejects_file_is_reported(cli_env, tmp_path):
    config, db = cli_env
    path = write_csv(
        tmp_path / "firms.csv",
        HEAD,
        [firm_row(name="甲", nodes="胰岛素"), firm_row(name="乙", revenue="x", nodes="胰岛素")],
    )
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    result = invoke(config, "companies", str(path), "--partial", "--rejects", str(blocker / "r.csv"))
    assert result.exit_code == 1
    assert "正确的行已导入" in result.stderr and "已写入 1 家企业" in result.stdout
