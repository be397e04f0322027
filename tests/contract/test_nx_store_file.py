"""Embedded-store specifics beyond the contract: persistence, crash safety, versions, sharing a file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from graph.model import Chain, ChainNode, Company, Flow, Supply
from graph.nx_store import NetworkxStore
from graph.store import GraphStoreError, GraphStoreUnavailable

from .test_graph_store import CHAINS, COMPANIES, FLOWS, NODES, QUALIFIED, SECTORS, SUPPLIES, ZONES

ROOT = Path(__file__).resolve().parents[2]


def fill(store: NetworkxStore) -> None:
    store.upsert_sectors(SECTORS)
    store.upsert_chains(CHAINS)
    store.upsert_nodes(NODES)
    store.upsert_flows(FLOWS)
    store.upsert_zones(ZONES)
    store.upsert_companies(COMPANIES)
    store.upsert_supplies(SUPPLIES)


def snapshot(store: NetworkxStore) -> tuple:
    ids = [c.id for c in COMPANIES]
    return (
        store.sectors(),
        store.chains(),
        store.nodes(),
        store.flows(),
        store.zones(),
        store.companies(ids),
        [store.supplies_of(i) for i in ids],
        store.node_stats(QUALIFIED),
        store.local_ties(ids),
        store.company_count(True),
    )


def test_reopen_gives_identical_answers(tmp_path):
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        fill(st)
        before, version, data_version = snapshot(st), st.version, st.data_version()
    with NetworkxStore(path) as st:
        assert snapshot(st) == before
        assert st.version == version == 7
        assert st.data_version() == data_version


def test_version_bumps_on_writes_only(tmp_path):
    st = NetworkxStore(tmp_path / "g.sqlite3")
    v0, d0 = st.version, st.data_version()
    st.upsert_sectors(SECTORS)
    assert st.version == v0 + 1 and st.data_version() != d0
    st.sectors(), st.node_stats(QUALIFIED)
    assert st.version == v0 + 1
    with pytest.raises(GraphStoreError):
        st.upsert_chains([Chain("x", "坏", "ghost")])
    assert st.version == v0 + 1  # a rejected write changes nothing
    st.clear()
    assert st.version == v0 + 2
    st.close()


def test_recreated_file_has_new_data_version(tmp_path):
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        st.upsert_sectors(SECTORS)
        first = st.data_version()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with NetworkxStore(path) as st:
        st.upsert_sectors(SECTORS)
        assert st.version == 1 and st.data_version() != first


def test_memory_stores_have_distinct_data_versions():
    assert NetworkxStore().data_version() != NetworkxStore().data_version()


def test_second_connection_sees_other_writers(tmp_path):
    path = tmp_path / "g.sqlite3"
    web, cli = NetworkxStore(path), NetworkxStore(path)
    fill(cli)
    assert web.company_count() == len(COMPANIES)  # reloaded after the other commit
    web.upsert_companies([Company("N-1", "新公司", is_local=True, revenue=1.0, node_ids=("md-3",))])
    assert cli.node_stats(QUALIFIED)["md-3"].local_firms == 2
    assert cli.version == web.version
    # a write validated against stale memory would accept this; the store reloads first
    cli.clear()
    with pytest.raises(GraphStoreError):
        web.upsert_companies([Company("N-2", "x", node_ids=("md-3",))])
    web.close(), cli.close()


def test_closed_store_refuses_calls(tmp_path):
    st = NetworkxStore(tmp_path / "g.sqlite3")
    st.close()
    with pytest.raises(GraphStoreError, match="已关闭"):
        st.sectors()
    with pytest.raises(GraphStoreError, match="已关闭"):
        st.upsert_sectors(SECTORS)
    ok, message = st.health()
    assert not ok and "已关闭" in message


def test_garbage_file_is_unavailable_in_chinese(tmp_path):
    path = tmp_path / "g.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GraphStoreUnavailable, match="无法打开图存储文件"):
        NetworkxStore(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "g.sqlite3"
    NetworkxStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    conn.close()
    with pytest.raises(GraphStoreUnavailable, match="格式版本"):
        NetworkxStore(path)


def test_bad_numbers_and_self_ties_rejected(store_file):
    with pytest.raises(GraphStoreError):
        store_file.upsert_companies([Company("x", "x", revenue=float("nan"))])
    with pytest.raises(GraphStoreError):
        store_file.upsert_supplies([Supply("L-a", "L-a", "自供")])
    with pytest.raises(GraphStoreError):
        store_file.upsert_nodes([ChainNode("x", "med-dev", "x", "中间")])
    assert store_file.company("x") is None


@pytest.fixture
def store_file(tmp_path):
    st = NetworkxStore(tmp_path / "g.sqlite3")
    fill(st)
    yield st
    st.close()


CHILD = textwrap.dedent("""
    import sys
    from graph.model import Chain, ChainNode, Company, Sector
    from graph.nx_store import NetworkxStore

    st = NetworkxStore(sys.argv[1])
    st.upsert_sectors([Sector("s", "医药健康")])
    st.upsert_chains([Chain("c", "高端医疗器械", "s")])
    st.upsert_nodes([ChainNode("n", "c", "关节", "中游")])
    st.upsert_companies([Company(f"A{i:06d}", f"已提交䶮{i}", is_local=True, revenue=1.0,
                                 node_ids=("n",)) for i in range(1000)])
    print("ready", st.version, flush=True)
    st.upsert_companies([Company(f"B{i:07d}", f"写到一半𠮷{i}", is_local=True, revenue=2.0,
                                 scope="经营范围" * 40, node_ids=("n",)) for i in range(120_000)])
    print("done", flush=True)
""")


def test_killed_writer_loses_nothing_committed(tmp_path):
    """SIGKILL in the middle of a big write: reopening gives exactly the earlier commits."""
    path = tmp_path / "g.sqlite3"
    wal = Path(f"{path}-wal")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        first = child.stdout.readline().split()
        assert first[0] == "ready", first
        committed_version = int(first[1])
        size = wal.stat().st_size
        deadline = time.monotonic() + 120
        # kill once the big transaction is spilling pages into the WAL, i.e. truly mid-write
        while wal.stat().st_size <= size + 1024 * 1024 and time.monotonic() < deadline:
            assert child.poll() is None, "the child finished before it could be killed"
            time.sleep(0.05)
        assert wal.stat().st_size > size, "the big write never reached the file"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        assert "done" not in child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with NetworkxStore(path) as st:
        assert st.version == committed_version
        assert st.company_count() == 1000
        assert st.company("B0000000") is None
        assert st.company("A000999").name == "已提交䶮999"
        assert st.node_stats(QUALIFIED)["n"].local_firms == 1000
        assert st.node_stats(QUALIFIED)["n"].local_output == pytest.approx(1000.0)
        # and the reopened store takes writes again
        st.upsert_companies([Company("C1", "之后写入", node_ids=("n",))])
        assert st.company_count() == 1001


def test_failure_mid_write_leaves_file_and_memory_unchanged(tmp_path, monkeypatch):
    """An exception (or Ctrl-C) after some rows reached SQLite rolls the whole call back."""
    import graph.nx_file as nx_file

    path = tmp_path / "g.sqlite3"
    st = NetworkxStore(path)
    fill(st)
    before, version = snapshot(st), st.version
    real, written = nx_file.company_row, []

    def flaky(c, norm):
        written.append(c.id)
        if len(written) == 30_000:  # past the first executemany chunk
            raise KeyboardInterrupt
        return real(c, norm)

    monkeypatch.setattr(nx_file, "company_row", flaky)
    many = [
        Company(f"Z{i:06d}", f"批量{i}", is_local=True, revenue=1.0, node_ids=("md-2",))
        for i in range(40_000)
    ]
    with pytest.raises(KeyboardInterrupt):
        st.upsert_companies(many + [Company("L-a", "被改名", node_ids=("md-3",))])
    assert len(written) == 30_000
    assert snapshot(st) == before and st.version == version
    monkeypatch.setattr(nx_file, "company_row", real)
    st.close()
    with NetworkxStore(path) as again:
        assert snapshot(again) == before and again.version == version
        assert again.company("Z000000") is None


def test_rejected_batch_never_reaches_the_file(tmp_path):
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        fill(st)
        before = snapshot(st)
        with pytest.raises(GraphStoreError):
            st.upsert_supplies([Supply("L-c", "O-y", "新品"), Supply("L-c", "ghost", "新品")])
        with pytest.raises(GraphStoreError):
            st.upsert_companies(
                [Company("N-1", "新", node_ids=("md-1",)), Company("N-2", "新2", zone_id="ghost")]
            )
    with NetworkxStore(path) as st:
        assert snapshot(st) == before


def test_old_file_without_new_columns_opens(tmp_path):
    """Files written before a Company field existed get the column with the field's default."""
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        fill(st)
        before = snapshot(st)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX companies_norm")  # files of that time had no index on it either
        conn.execute("ALTER TABLE companies DROP COLUMN norm_name")
        conn.execute("ALTER TABLE companies DROP COLUMN scope")
        conn.execute("DROP INDEX companies_search")
        conn.execute("ALTER TABLE companies DROP COLUMN search_text")
    conn.close()
    with NetworkxStore(path) as st:
        assert snapshot(st) == before  # scope was '' everywhere: the default comes back
        assert st.match_companies([], ["三河扭矩科技"]) == {"三河扭矩科技": "O-y"}
        assert [c.id for c in st.find_companies("扭矩")] == ["O-y"]  # search text derived again


def test_qualified_may_be_a_single_name(store_file):
    assert store_file.node_stats("上市")["md-2"].qualified_firms == 1
    assert store_file.node_stats("上")["md-2"].qualified_firms == 0


def test_threads_share_one_store(store_file):
    """Web servers call one store from many threads: reads stay consistent during writes."""
    import threading

    errors: list[BaseException] = []

    def writer():
        try:
            for i in range(200):
                store_file.upsert_companies(
                    [Company(f"T{i:04d}", f"线程{i}", is_local=True, revenue=1.0, node_ids=("md-3",))]
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        try:
            for _ in range(300):
                stats = store_file.node_stats(QUALIFIED)["md-3"]
                members = store_file.companies_on_nodes(["md-3"], local=True)
                assert stats.local_firms <= len(store_file.companies_on_nodes(["md-3"], local=True))
                assert len(members) >= 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store_file.node_stats(QUALIFIED)["md-3"].local_firms == 201


def test_own_writes_do_not_trigger_reloads(store_file, monkeypatch):
    """Reloading 1M firms takes seconds: only another connection's commit may cause it."""
    calls = []
    monkeypatch.setattr(store_file, "_load", lambda *args: calls.append(1))
    store_file.upsert_companies([Company("N-1", "新公司", node_ids=("md-1",))])
    store_file.company_count(), store_file.node_stats(QUALIFIED)
    assert calls == []


class _FirmReads:
    """Fails the test if the store decodes a firm row (catching up must read structure and counters only)."""

    def __init__(self, monkeypatch):
        import graph.nx_file as nx_file

        self.count, real = 0, nx_file.company_from_row

        def counting(row):
            self.count += 1
            return real(row)

        monkeypatch.setattr(nx_file, "company_from_row", counting)


def test_other_writers_are_seen_without_reading_firms(tmp_path, monkeypatch):
    path = tmp_path / "g.sqlite3"
    web, cli = NetworkxStore(path), NetworkxStore(path)
    fill(cli)
    assert snapshot(web) == snapshot(cli)
    # several versions at once, a firm naming a node that a later version adds,
    # a firm moved and made non-local, a supply amount changed
    from dataclasses import replace

    cli.upsert_companies([replace(COMPANIES[0], node_ids=("md-3",), is_local=False)])
    cli.upsert_nodes([ChainNode("md-9", "med-dev", "新环节", "下游")])
    cli.upsert_companies([Company("N-9", "新企业𠮷", is_local=True, revenue=5.0, node_ids=("md-9",))])
    cli.upsert_supplies([Supply("O-x", "L-a", "钛合金棒材", 1.5)])
    cli.upsert_flows([Flow("md-3", "md-9")])
    reads = _FirmReads(monkeypatch)
    assert web.node_stats(QUALIFIED) == cli.node_stats(QUALIFIED)
    assert web.company_count(True) == cli.company_count(True) and web.nodes() == cli.nodes()
    assert web.version == cli.version and web.data_version() == cli.data_version()
    assert reads.count == 0  # caught up from structure rows and counters alone
    assert snapshot(web) == snapshot(cli)
    assert web.companies_on_nodes(["md-9"]) == cli.companies_on_nodes(["md-9"])
    assert web.match_companies([], ["新企业𠮷"]) == {"新企业𠮷": "N-9"}
    cli.clear()
    assert web.company_count() == 0 and web.nodes() == [] and web.node_stats(QUALIFIED) == {}
    web.close(), cli.close()


def test_opening_reads_no_firm(tmp_path, monkeypatch):
    """`lianzhao chains`/`gaps` and a starting server read structure and counters, not firms."""
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        fill(st)
        stats, counts = st.node_stats(QUALIFIED), (st.company_count(), st.company_count(True))
    reads = _FirmReads(monkeypatch)
    with NetworkxStore(path) as st:
        assert st.node_stats(QUALIFIED) == stats and (st.company_count(), st.company_count(True)) == counts
        assert reads.count == 0


def test_interrupted_reload_is_redone_not_trusted(tmp_path, monkeypatch):
    path = tmp_path / "g.sqlite3"
    web, cli = NetworkxStore(path), NetworkxStore(path)
    cli.clear()
    fill(cli)
    from graph.nx_memory import GraphMemory

    real = GraphMemory.load_counters

    def interrupted(self, rows, totals):
        raise KeyboardInterrupt

    monkeypatch.setattr(GraphMemory, "load_counters", interrupted)
    with pytest.raises(KeyboardInterrupt):
        web.company_count()  # Ctrl-C in the middle of the reload
    monkeypatch.setattr(GraphMemory, "load_counters", real)
    assert snapshot(web) == snapshot(cli)
    web.close(), cli.close()


def test_schema_1_file_gets_memberships_and_counters(tmp_path):
    """A file written before counters were stored is upgraded once, counters derived from its firms."""
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        fill(st)
        before = snapshot(st)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE memberships")
        conn.execute("DROP TABLE node_counts")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
        conn.execute("DELETE FROM meta WHERE key IN ('firms', 'local_firms')")
    conn.close()
    with NetworkxStore(path) as st:
        assert snapshot(st) == before
        assert st.companies_on_nodes(["md-2"]) == [c for c in before[5] if "md-2" in c.node_ids]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
    conn.close()


def test_bulk_export_helpers(store_file):
    assert store_file.company_ids() == sorted(c.id for c in COMPANIES)
    assert store_file.supplies_from(["O-x", "ghost"]) == sorted(
        [s for s in SUPPLIES if s.supplier_id == "O-x"], key=lambda s: (s.buyer_id, s.product)
    )
    assert store_file.supplies_from([]) == []


def test_unusable_folder_is_unavailable_in_chinese(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(GraphStoreUnavailable, match="无法创建图存储目录"):
        NetworkxStore(blocker / "graph.sqlite3")


def test_open_does_not_wait_for_a_writer(tmp_path):
    """A server starting while `lianzhao import` holds the write lock opens at once and sees
    the last commit, not the import's uncommitted rows."""
    path = tmp_path / "g.sqlite3"
    with NetworkxStore(path) as st:
        fill(st)
        before = snapshot(st)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO sectors VALUES ('x', '{}')")
    try:
        started = time.monotonic()
        with NetworkxStore(path) as st:
            assert snapshot(st) == before
        assert time.monotonic() - started < 10  # the busy timeout is 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_recount_nodes_after_a_write_outside_upserts(store_file):
    """The hook for writes that change firms another way (merging, deleting): their SQL, then the
    touched nodes' counters and the totals recomputed in the same transaction."""
    before = store_file.node_stats(QUALIFIED)
    assert before["md-2"].local_firms == 1 and before["md-2"].outside_firms == 1

    def delete_two(conn):
        conn.execute("DELETE FROM companies WHERE id IN ('L-a', 'O-x')")
        conn.execute("DELETE FROM memberships WHERE company_id IN ('L-a', 'O-x')")

    store_file.recount_nodes(["md-1", "md-2"], delete_two)
    after = store_file.node_stats(QUALIFIED)
    assert after["md-2"].local_firms == 0 and after["md-2"].outside_firms == 0
    assert after["md-1"].outside_firms == before["md-1"].outside_firms - 1
    assert after["md-3"] == before["md-3"]  # not touched
    assert store_file.company_count() == len(COMPANIES) - 2
    assert store_file.company_count(True) == sum(c.is_local for c in COMPANIES) - 1
