"""GraphStore.merge_companies and graph/merge.py on every backend: one firm kept, ties and links
moved, the merged id an alias that still resolves (so a lead naming it never breaks)."""

from __future__ import annotations

import pytest

from graph.errors import InvalidInput, NotFound
from graph.identity import normalize_name
from graph.merge import merge_companies, merged_record
from graph.model import Company, Supply
from graph.nx_store import NetworkxStore
from graph.store import InvalidGraphData, UnknownReference

from .test_graph_store import CHAINS, COMPANIES, FLOWS, LOCAL_A, NODES, OUT_X, SECTORS, SUPPLIES, ZONES
from .test_graph_store import full as full  # noqa: F401  (fixture)


def test_merge_moves_links_ties_and_names(full):
    before = full.data_version()
    done = merge_companies(full, "O-x", "O-y")
    assert not done.already_done and full.data_version() != before
    assert "O-y" not in full.company_ids()
    kept = full.company("O-x")
    assert kept.node_ids == ("ev-1", "md-1", "md-2")
    assert kept.former_names == ("三河扭矩科技有限公司",)
    assert kept.zone_id == "sanhe"  # the kept firm had none: taken from the merged one
    assert kept.uscc == OUT_X.uscc and kept.name == OUT_X.name  # its own values stay
    # the tie between the two disappears; the others stay
    assert [(s.supplier_id, s.buyer_id, s.product) for s in full.supplies_of("O-x")] == [
        ("L-b", "O-x", "高分子材料"),
        ("O-x", "L-a", "钛合金棒材"),
        ("O-x", "L-a", "钛合金粉末"),
    ]
    assert full.supplies_of("O-y") == []
    stats = full.node_stats(["小巨人"])
    assert stats["ev-1"].outside_firms == 1 and stats["md-1"].outside_firms == 1
    assert full.company_count() == len(COMPANIES) - 1
    assert [c.id for c in full.companies_on_nodes(["ev-1"])] == ["O-x"]


def test_old_id_credit_code_and_name_resolve_to_the_kept_firm(full):
    merge_companies(full, "O-y", "O-x")
    assert full.company("O-x").id == "O-y"  # a lead naming the old id still finds its firm
    assert full.companies(["O-x"]) == []  # the bulk read lists stored firms only
    assert full.match_companies([OUT_X.uscc], [normalize_name(OUT_X.name)]) == {
        OUT_X.uscc: "O-y",
        normalize_name(OUT_X.name): "O-y",
    }
    assert full.find_companies("𠮷利")[0].id == "O-y"  # by its 曾用名 now


def test_local_merge_moves_ties_and_keeps_output_once(full):
    merge_companies(full, "L-a", "L-b")
    kept = full.company("L-a")
    assert kept.node_ids == ("md-1", "md-1a", "md-2")
    assert kept.qualifications == ("专精特新", "上市", "高新技术企业")
    assert Supply("L-a", "O-x", "高分子材料", None) in full.supplies_of("L-a")
    stats = full.node_stats(["高新技术企业"])
    assert stats["md-1"].local_firms == 1 and stats["md-1a"].local_firms == 1
    assert sum(s.local_output for s in stats.values()) == pytest.approx(120000.0)  # once, not twice
    assert [t.local_id for t in full.local_ties(["O-x"])] == ["L-a", "L-a", "L-a"]


def test_aliases_follow_a_later_merge(full):
    merge_companies(full, "L-b", "L-c")
    merge_companies(full, "L-a", "L-b")
    assert full.company("L-c").id == "L-a"
    assert full.company("L-b").id == "L-a"
    assert set(full.company("L-a").former_names) == {"北京䶮材科技有限公司", "通州𠮷康服务有限公司"}


def test_merge_again_is_a_no_op(full):
    merge_companies(full, "O-x", "O-y")
    version = full.data_version()
    assert merge_companies(full, "O-x", "O-y").already_done
    assert full.data_version() == version
    with pytest.raises(InvalidInput):  # the merged id cannot be kept any more
        merge_companies(full, "O-y", "O-x")


def test_bad_merges_write_nothing(full):
    version = full.data_version()
    with pytest.raises(NotFound):
        merge_companies(full, "O-x", "nobody")
    with pytest.raises(InvalidInput):
        merge_companies(full, "O-x", "O-x")
    with pytest.raises(UnknownReference):
        full.merge_companies(LOCAL_A, "nobody", [])
    with pytest.raises(InvalidGraphData):
        full.merge_companies(LOCAL_A, "L-a", [])
    with pytest.raises(InvalidGraphData):  # a moved tie may not name the merged firm
        full.merge_companies(LOCAL_A, "L-b", [Supply("L-b", "O-x", "x")])
    with pytest.raises(UnknownReference):
        full.merge_companies(LOCAL_A, "L-b", [Supply("L-a", "nobody", "x")])
    assert full.data_version() == version
    assert full.company("L-b").id == "L-b"


def test_clear_forgets_aliases(full):
    merge_companies(full, "O-x", "O-y")
    full.clear()
    assert full.company("O-y") is None


def test_merged_record_rules():
    keep = Company("A", "甲公司", node_ids=(), pending=True, placements=("n1\tcandidate\t0.40\t词",))
    other = Company("B", "乙公司", former_names=("甲公司", "丙公司"), node_ids=("n2",))
    m = merged_record(keep, other)
    assert m.former_names == ("乙公司", "丙公司")  # its own name is never a 曾用名
    assert m.node_ids == ("n2",) and not m.pending and m.placements == ()


def _fill(store):
    store.upsert_sectors(SECTORS)
    store.upsert_chains(CHAINS)
    store.upsert_nodes(NODES)
    store.upsert_flows(FLOWS)
    store.upsert_zones(ZONES)
    store.upsert_companies(COMPANIES)
    store.upsert_supplies(SUPPLIES)


def test_embedded_file_keeps_aliases_and_other_processes_catch_up(tmp_path):
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as writer, NetworkxStore(path) as reader:
        _fill(writer)
        assert reader.company("O-y").id == "O-y"
        merge_companies(writer, "O-x", "O-y")
        assert reader.company("O-y").id == "O-x"  # replays by reloading
        assert "O-y" not in reader.company_ids()
    with NetworkxStore(path) as again:
        assert again.company("O-y").id == "O-x"
        assert again.match_companies([], [normalize_name("三河扭矩科技有限公司")]) == {
            normalize_name("三河扭矩科技有限公司"): "O-x"
        }


def test_pinyin_initials_and_abbreviations_find_firms(store):
    """Issue 10: "bjkh" finds 北京康汇 (initials stored at write time); heteronyms up front give every
    variant (重庆: zq and cq); an abbreviation (简称) inside the name is a plain substring."""
    store.upsert_companies(
        [
            Company("K1", "北京康汇医疗器械有限公司"),
            Company("K2", "重庆长安示例汽车股份有限公司"),
            Company("K3", "京东方科技集团股份有限公司"),
        ]
    )
    assert [c.id for c in store.find_companies("bjkh")] == ["K1"]
    assert [c.id for c in store.find_companies("BJKH")] == ["K1"]  # folded like every needle
    assert [c.id for c in store.find_companies("cqca")] == ["K2"]  # 重庆长安 as people read it
    assert [c.id for c in store.find_companies("zqza")] == ["K2"]  # the first readings too
    assert [c.id for c in store.find_companies("京东方")] == ["K3"]  # 简称
    assert store.company("K1").initials == "bjkhylqx" and store.company("K1") == Company(
        "K1", "北京康汇医疗器械有限公司"
    )  # derived, not compared
    store.upsert_companies([Company("K1", "天津康汇医疗器械有限公司")])  # renamed: initials follow
    assert store.find_companies("bjkh") == [] and [c.id for c in store.find_companies("tjkh")] == ["K1"]


def test_old_embedded_file_gets_initials_on_open(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with NetworkxStore(path) as st:
        st.upsert_companies([Company("K1", "北京康汇医疗器械有限公司")])
    conn = sqlite3.connect(path)  # as a file written before the column existed
    conn.execute("ALTER TABLE companies DROP COLUMN initials")
    conn.commit()
    conn.close()
    with NetworkxStore(path) as st:
        assert [c.id for c in st.find_companies("bjkh")] == ["K1"]


def test_schema_2_file_without_aliases_gets_the_table_on_open(tmp_path):
    """Files written by the embedded store before merges existed gain the aliases table on open."""
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with NetworkxStore(path) as st:
        st.upsert_companies(
            [Company("K1", "北京康汇医疗器械有限公司"), Company("K2", "北京康汇医疗科技有限公司")]
        )
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE aliases")
    conn.commit()
    conn.close()
    with NetworkxStore(path) as st:
        merge_companies(st, "K1", "K2")
        assert st.company("K2").id == "K1" and [a.id for a in st.company_aliases()] == ["K2"]
        assert st.company_count() == 1


def test_aliases_are_listed_and_copied_as_they_are(full):
    from graph.model import CompanyAlias

    merge_companies(full, "O-x", "O-y")
    assert full.company_aliases() == [
        CompanyAlias("O-y", "O-x", None, normalize_name("三河扭矩科技有限公司"))
    ]
    copy = CompanyAlias("gone-1", "L-a", "91350100M000100Y43", "旧名")
    assert full.upsert_aliases([copy]) == 1
    assert full.company("gone-1").id == "L-a"
    with pytest.raises(UnknownReference):
        full.upsert_aliases([CompanyAlias("gone-2", "nobody")])
    with pytest.raises(InvalidGraphData):
        full.upsert_aliases([CompanyAlias("L-a", "L-a")])
    assert [a.id for a in full.company_aliases()] == ["O-y", "gone-1"]


def test_sync_copies_aliases(full):
    from graph.sync import sync

    merge_companies(full, "O-x", "O-y")
    target = NetworkxStore(None)
    sync(full, target)
    assert target.company("O-y").id == "O-x" and target.company_aliases() == full.company_aliases()


def test_merged_record_keeps_status_locality_and_field_groups():
    keep = Company("A", "甲公司", registered_capital=100.0, founded=2001, status="存续")
    other = Company(
        "B",
        "乙公司",
        registered_capital=3000 * 7.1,
        capital_text="3000万美元",
        founded_date="2012-05-01",
        status="注销",
        active=False,
        is_local=True,
        local_reason="区县",
        industry_code="3586",
        industry="医疗仪器设备及器械制造",
    )
    m = merged_record(keep, other)
    assert (m.status, m.active, m.is_local, m.local_reason) == ("存续", True, False, "")
    assert (m.registered_capital, m.capital_text) == (100.0, "")  # not another firm's original text
    assert (m.founded, m.founded_date) == (2001, "")
    assert (m.industry_code, m.industry) == ("3586", "医疗仪器设备及器械制造")
