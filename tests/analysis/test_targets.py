"""Target ranking on literal data: factors, reasons, ordering."""

from graph.gaps import GapThresholds, analyse_chain
from graph.model import ChainNode, Company, Flow, NodeStats, Tie, Zone
from graph.targets import (
    District,
    TargetWeights,
    coverage_sentence,
    factor_coverage,
    geography_factor,
    rank_targets,
)

NODES = [
    ChainNode("m.raw", "m", "医用高分子材料", "上游", 5),
    ChainNode("m.dev", "m", "骨科植入物", "中游", 4),
    ChainNode("m.hosp", "m", "医疗服务", "下游", 2),
]
FLOWS = [Flow("m.raw", "m.dev"), Flow("m.dev", "m.hosp")]
STATS = {
    "m.dev": NodeStats("m.dev", local_firms=1, local_output=9000, qualified_firms=0),
    "m.hosp": NodeStats("m.hosp", local_firms=5, local_output=900000, qualified_firms=2),
}
GAPS = analyse_chain(NODES, FLOWS, STATS, GapThresholds())
ZONES = [
    Zone("huoxian", "漷县", "产业城镇", focus_sectors=("medical",), focus=("高端医疗器械",)),
    Zone("sanhe", "三河", "北三县", focus_sectors=("medical",), is_local=False),
]


def firm(cid, **kw):
    base = dict(id=cid, name=f"企业{cid}", province="江苏省", city="苏州市", node_ids=("m.raw",))
    base.update(kw)
    return Company(**base)


def rank(candidates, ties=()):
    return rank_targets(GAPS, candidates, ties, ZONES, "medical", District(), TargetWeights())


def test_only_outside_firms_on_gap_nodes_are_ranked():
    rows = rank([firm("a"), firm("local", is_local=True), firm("strong", node_ids=("m.hosp",))])
    assert [r.company_id for r in rows] == ["a"]
    assert rows[0].status == "缺链" and rows[0].node_name == "医用高分子材料"


def test_firm_on_two_gap_nodes_listed_once_for_the_bigger_gap():
    rows = rank([firm("a", node_ids=("m.dev", "m.raw"))])
    assert len(rows) == 1 and rows[0].node_id == "m.raw"


def test_each_factor_moves_the_score():
    plain = rank([firm("a")])[0]
    strong = rank([firm("a", qualifications=("小巨人", "上市"), revenue=800000)])[0]
    assert strong.score > plain.score and strong.factors["strength"] > plain.factors["strength"]
    central = rank([firm("a", province="北京市", city="北京市", district="海淀区")])[0]
    assert central.factors["geography"] == 1.0 and "中心城区疏解" in central.reason
    assert central.score > plain.score
    tie = Tie("a", "L1", "甘李药业", "supplies", "胰岛素原料", 10000, ("链主", "上市"))
    tied = rank([firm("a")], [tie])[0]
    assert tied.factors["ties"] == 1.0 and "向本地链主「甘李药业」供货" in tied.reason
    assert "ties" in plain.no_data and "ties" not in tied.no_data
    assert tied.score > plain.score


def test_reason_is_readable_chinese():
    row = rank([firm("a", qualifications=("专精特新",), products="高端医疗器械 耗材")])[0]
    assert row.reason.startswith("填补缺链「医用高分子材料」")
    assert "专精特新" in row.reason and "主营高端医疗器械" in row.reason
    assert "可落位漷县" in row.reason and row.factors["zone_fit"] == 0.4  # sector-only focus
    assert "本地1家下游企业（骨科植入物）需外购该环节产品" in row.reason


def test_zone_fit_ignores_partner_zones_and_other_sectors():
    gaps_other = rank_targets(GAPS, [firm("a")], [], ZONES, "nev", District(), TargetWeights())
    assert gaps_other[0].factors["zone_fit"] == 0.0


def test_weak_node_scores_below_missing_node():
    rows = rank([firm("a", node_ids=("m.raw",)), firm("b", node_ids=("m.dev",))])
    assert rows[0].company_id == "a" and rows[1].status == "弱链"
    assert rows[1].reason.startswith("补强弱链")


def test_order_is_deterministic_on_equal_scores():
    rows = rank([firm("b"), firm("a"), firm("c")])
    assert [r.company_id for r in rows] == ["a", "b", "c"]


def test_weights_from_config_change_ranking():
    cfg = {
        "targets": {
            "weight_gap": 0,
            "weight_strength": 1,
            "weight_ties": 0,
            "weight_geography": 0,
            "weight_zone_fit": 0,
        }
    }
    w = TargetWeights.from_config(cfg)
    rows = rank_targets(
        GAPS,
        [firm("a"), firm("b", node_ids=("m.dev",), qualifications=("链主",))],
        [],
        ZONES,
        "medical",
        District(),
        w,
    )
    assert rows[0].company_id == "b"


def test_synthetic_firm_marked_in_output():
    row = rank([firm("a", synthetic=True)])[0]
    assert row.company_name.endswith("（示例数据）") and row.synthetic


def test_rows_are_built_only_when_read():
    rows = rank([firm(f"f{i}") for i in range(50)])
    assert len(rows) == 50 and not rows._rows
    assert rows[0].company_id == "f0" and len(rows._rows) == 1
    assert [t.company_id for t in rows.where(company_id="f7")] == ["f7"]


def test_coverage_says_which_factors_had_data():
    cov = factor_coverage([rank([firm("a"), firm("b", province="")])])
    assert cov["ties"] == 0.0 and cov["geography"] == 0.5 and cov["gap"] == 1.0
    text = coverage_sentence(cov)
    assert "无数据的因素：本地关联" in text and "区位（50%企业有数据）" in text


def test_geography_tiers_follow_the_policy():
    w, d = TargetWeights(), District()

    def tier(**kw):
        return geography_factor(firm("a", **kw), d, w)

    central, other = tier(province="北京市", district="西城区"), tier(province="北京市", district="昌平区")
    partner, region = tier(province="河北省", city="廊坊市", district="香河县"), tier(province="天津市")
    abroad, china = tier(province="德国", city="慕尼黑"), tier(province="广东省")
    assert central[0] > region[0] > china[0] > other[0] and partner[0] < region[0]
    assert "疏解" in central[1] and "不跨区挖转" in other[1] and "配套伙伴" in partner[1]
    assert "外资" in abroad[1] and china[1] == ""
