"""Speed of the embedded graph store at district scale and beyond.

    .venv/bin/python bench/bench_nx_store.py 100000 1000000

For each firm count: bulk upsert (memory, file), reopen from the file, node_stats,
companies_on_nodes, local_ties, match_companies, and resident memory. Results go to
docs/BENCHMARKS.md by hand (the machine's numbers vary).
"""

from __future__ import annotations

import gc
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.identity import normalize_name  # noqa: E402
from graph.model import QUALIFICATIONS, Chain, ChainNode, Company, Sector, Supply  # noqa: E402
from graph.nx_store import NetworkxStore  # noqa: E402

CHAINS, NODES_PER_CHAIN = 30, 20


def structure():
    sectors = [Sector(f"s{i}", f"产业{i}") for i in range(10)]
    chains = [Chain(f"c{i}", f"产业链{i}", f"s{i % 10}") for i in range(CHAINS)]
    nodes = [
        ChainNode(f"c{i}-n{j}", f"c{i}", f"环节{j}", ("上游", "中游", "下游")[j % 3])
        for i in range(CHAINS)
        for j in range(NODES_PER_CHAIN)
    ]
    return sectors, chains, nodes


def firms(n: int, node_ids: list[str], rng: random.Random) -> list[Company]:
    out = []
    for i in range(n):
        quals = tuple(rng.sample(QUALIFICATIONS, rng.choice((0, 0, 0, 1, 2))))
        out.append(
            Company(
                f"F{i:08d}",
                f"示例企业䶮{i}有限公司",
                None,
                "北京市",
                "北京市",
                "通州区",
                rng.random() < 0.1,
                None,
                round(rng.uniform(100, 100000), 2),
                1000.0,
                50,
                2010,
                quals,
                "主营产品",
                "",
                None,
                True,
                tuple(rng.sample(node_ids, rng.choice((1, 1, 2, 3)))),
            )
        )
    return out


def timed(label: str, fn, *args):
    """Wall and CPU seconds: on a shared machine the CPU figure is the stable one."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn(*args)
    print(
        f"  {label:<42} {time.perf_counter() - t0:8.2f} s wall {time.process_time() - c0:8.2f} s cpu",
        flush=True,
    )
    return result


def run(n: int) -> None:
    rng = random.Random(n)
    sectors, chains, nodes = structure()
    node_ids = [x.id for x in nodes]
    companies = firms(n, node_ids, rng)
    supplies = [
        Supply(companies[rng.randrange(n)].id, companies[rng.randrange(n)].id, "零部件", 100.0)
        for _ in range(n)
    ]
    supplies = [s for s in supplies if s.supplier_id != s.buyer_id]
    print(f"{n:,} firms, {len(nodes)} nodes, {len(supplies):,} supplies")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.sqlite3"
        for label, st in (("memory", NetworkxStore()), ("file", NetworkxStore(path))):
            st.upsert_sectors(sectors), st.upsert_chains(chains), st.upsert_nodes(nodes)
            timed(f"upsert_companies ({label})", st.upsert_companies, companies)
            timed(f"upsert_supplies ({label})", st.upsert_supplies, supplies)
            timed(f"re-upsert 10% of firms ({label})", st.upsert_companies, companies[: n // 10])
            st.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        print(f"  {'file size':<42} {size / 2**20:8.1f} MiB")
        st = timed("reopen (load file into memory)", NetworkxStore, path)
        timed("first full GC after loading (one-off)", gc.collect)
        timed("node_stats (all nodes)", st.node_stats, ["专精特新", "小巨人"])
        timed("node_stats x100 (one chain)", lambda: [st.node_stats(["上市"], "c1") for _ in range(100)])
        timed(
            "companies_on_nodes (one chain, local)", st.companies_on_nodes, node_ids[:NODES_PER_CHAIN], True
        )
        outside = [c.id for c in companies[:1000]]
        timed("local_ties (1000 firms)", st.local_ties, outside)
        names = [normalize_name(c.name) for c in companies[:10000]]
        timed("match_companies (10000 names)", st.match_companies, [], names)
        with NetworkxStore(path) as other:  # e.g. `lianzhao import` beside a running server
            other.upsert_companies(companies[:100])
        timed("catch up with another process (100 firms)", st.company_count)
        timed("full reload (what catching up replaces)", st._load)
        st.close()
    print(f"  {'peak RSS':<42} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:8.2f} GiB")


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["100000"]:
        run(int(arg))
