"""ChainService over the real embedded store with seed + synthetic data."""

import dataclasses

import pytest

from graph.model import Company
from graph.nx_store import NetworkxStore
from graph.service import CHECK_EVERY_S, ChainService, NotFoundError
from lianzhao.config import load_config
from seed.loader import load_anchors, load_structure, seed_store


@pytest.fixture(scope="module")
def service():
    store = NetworkxStore(None)
    seed_store(store, load_structure(), n_synthetic=1500)
    return ChainService(store, load_config())


def test_every_chain_has_a_readable_report(service):
    for chain in service.chains():
        report = service.gap_report(chain.id)
        assert report.sector is not None
        assert len(report.nodes) >= 20
        groups = [g for g in report.nodes if g.is_group]
        assert report.summary["nodes"] == len(report.nodes) - len(groups)
        assert all(g.status == "分组" for g in groups)
        assert all(g.reason for g in report.nodes)


def test_seed_data_shows_all_three_statuses_somewhere(service):
    statuses = {g.status for r in service.all_gap_reports() for g in r.nodes}
    assert statuses == {"缺链", "弱链", "强链", "分组"}


def test_targets_are_outside_firms_on_gap_nodes_with_reasons(service):
    chain = service.chains()[0]
    report = service.gap_report(chain.id)
    gap_nodes = {g.node_id for g in report.nodes if g.status != "强链"}
    targets = service.targets(chain.id, top=None)
    assert targets, "seed data should give targets"
    assert all(t.node_id in gap_nodes for t in targets)
    assert all(t.reason and t.reason[:4] in ("填补缺链", "补强弱链") for t in targets)
    assert [t.score for t in targets] == sorted((t.score for t in targets), reverse=True)
    companies = {c.id: c for c in service.store.companies([t.company_id for t in targets])}
    assert not any(c.is_local for c in companies.values())
    synthetic = [t for t in targets if t.synthetic]
    assert synthetic and all(t.company_name.endswith("（示例数据）") for t in synthetic)


def test_filters(service):
    chain = service.chains()[0]
    weak = service.targets(chain.id, status="弱链", top=None)
    assert all(t.status == "弱链" for t in weak)
    sector_rows = service.targets(sector_id=chain.sector_id, top=30)
    assert len(sector_rows) <= 30
    assert {t.chain_id for t in sector_rows} <= {c.id for c in service.chains(chain.sector_id)}


def test_find_chain_by_name_or_id(service):
    chain = service.chains()[0]
    assert service.find_chain(chain.id) == chain
    assert service.find_chain(chain.name) == chain
    with pytest.raises(NotFoundError, match="找不到产业链"):
        service.find_chain("不存在的链")


def test_node_and_company_detail(service):
    chain = service.chains()[0]
    target = service.targets(chain.id, top=1)[0]
    detail = service.node_detail(target.node_id)
    assert detail.gap.node_id == target.node_id and detail.chain.id == chain.id
    assert target.company_id in [t.company_id for t in detail.targets] or len(detail.targets) == 10
    company = service.company_detail(target.company_id)
    assert target.node_id in [n.id for n in company.nodes]
    with pytest.raises(NotFoundError):
        service.node_detail("nochain.nonode")


def test_cache_is_dropped_when_data_changes():
    store = NetworkxStore(None)
    structure = load_structure()
    seed_store(store, structure, n_synthetic=0)
    svc = ChainService(store, load_config())
    chain = structure.chains[0]
    report = svc.gap_report(chain.id)
    missing = next(g for g in report.nodes if g.status == "缺链")
    assert svc.gap_report(chain.id) is report  # cached
    firm = Company(
        id="X1",
        name="本地新企业",
        is_local=True,
        revenue=90000,
        qualifications=("专精特新",),
        node_ids=(missing.node_id,),
    )
    store.upsert_companies(
        [
            firm,
            dataclasses.replace(firm, id="X2", name="本地新企业二"),
            dataclasses.replace(firm, id="X3", name="本地新企业三"),
        ]
    )
    after = {g.node_id: g for g in svc.gap_report(chain.id).nodes}
    assert after[missing.node_id].status == "强链"


def test_local_partners_in_reasons_are_marked_synthetic(service):
    import re

    real_names = {c.name for c in load_anchors(load_structure())}
    named = [
        m
        for c in service.chains()
        for t in service.targets(c.id, top=None)
        for m in re.findall(r"本地(?:企业|链主)「(.+?)」", t.reason)
    ]
    assert named, "seed data should give 以商招商 ties"
    assert all(n.endswith("（示例数据）") or n in real_names for n in named)
    assert any(n.endswith("（示例数据）") for n in named)


def test_sectors_in_plan_order(service):
    kinds = [s.kind for s in service.sectors()]
    assert kinds == sorted(kinds, key=["战略引擎", "支柱产业", "前沿新兴", "服务支撑"].index)


class _SlowStore:
    """A store wrapper whose data_version can be made to block (a catch-up after another
    process's large write) and whose version can be bumped."""

    def __init__(self, store):
        self._store = store
        self.version = 1
        self.gate = None  # a threading.Event: data_version waits on it when set

    def data_version(self):
        if self.gate is not None:
            self.gate.wait(10)
        return f"v{self.version}"

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_stale_while_updating_serves_previous_results_then_swaps_in_the_new_ones():
    """Issue 16: after a data change, pages get the previous analysis (updating=True) at once, one
    background thread recomputes, and then the new results are served."""
    import threading
    import time

    store = NetworkxStore(None)
    seed_store(store, load_structure(), n_synthetic=300)
    slow = _SlowStore(store)
    svc = ChainService(slow, load_config())
    svc.stale_while_updating = True
    chain = svc.chains()[0].id
    first = svc.gap_report(chain)
    assert svc.gap_report(chain) is first and not svc.updating

    slow.version = 2  # another process wrote: same data here, but a new version
    time.sleep(CHECK_EVERY_S + 0.01)  # the version is looked at every CHECK_EVERY_S
    again = svc.gap_report(chain)
    assert again is first, "the previous result is served while the refresh runs"
    deadline = time.monotonic() + 10
    while svc.updating and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not svc.updating
    fresh = svc.gap_report(chain)
    assert fresh is not first and fresh == first  # recomputed for v2 (same data, equal report)

    # a version check stuck in a catch-up (seconds) holds up nobody: the request waits CHECK_WAIT_S
    # at most, gets the last version's results, and the page says 更新中
    slow.gate = threading.Event()
    slow.version = 3
    time.sleep(CHECK_EVERY_S + 0.01)
    t0 = time.perf_counter()
    assert svc.gap_report(chain) is fresh
    assert time.perf_counter() - t0 < 1.0
    assert svc.updating, "catching up: marked as updating"
    slow.gate.set()
    deadline = time.monotonic() + 10
    while (svc.updating or svc.gap_report(chain) is fresh) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not svc.updating and svc.gap_report(chain) is not fresh


def test_strict_by_default_every_call_sees_the_current_version():
    store = NetworkxStore(None)
    seed_store(store, load_structure(), n_synthetic=300)
    slow = _SlowStore(store)
    svc = ChainService(slow, load_config())
    chain = svc.chains()[0].id
    first = svc.gap_report(chain)
    slow.version = 2
    assert svc.gap_report(chain) is not first and not svc.updating
