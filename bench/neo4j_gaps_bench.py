"""Gap reports and node_stats on a Neo4j store of ~100k firms (issue 16, item 3: gaps ≤ 50 ms).

    eval "$(NEO4J_PORT=7743 bash scripts/neo4j.sh start)"
    .venv/bin/python bench/neo4j_gaps_bench.py --firms 100000 --runs 7 [--keep]

Fills the server named by NEO4J_URI (cleared first, unless --keep finds that many firms already)
with the seed structure and `--firms` synthetic firms through `Neo4jStore.upsert_companies`
(batches of 5,000, so the :NodeCount counters are the ones the product maintains), then times,
warm (one untimed call first), the median of `--runs` calls of: `node_stats` for every node, and
every chain's gap report from a fresh ChainService (no cached results: each run reads the
version, structure, flows and counters again). Wall and client CPU; the server's own CPU is not
counted here (client CPU is the analysis in Python, wall minus it is mostly the server and Bolt).
The number of Bolt transactions of one all-gaps call is counted too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.neo4j_floor_bench import server_cpu  # noqa: E402
from graph.gaps import analyse_chain  # noqa: E402
from graph.neo4j_store import Neo4jStore  # noqa: E402
from graph.service import ChainService  # noqa: E402
from lianzhao.config import load_config  # noqa: E402
from seed import synthetic  # noqa: E402
from seed.loader import load_structure  # noqa: E402

BATCH = 5_000


def timed(fn, port):
    """(wall, client CPU, server CPU) of one call, seconds."""
    s0, c0, t0 = server_cpu(port), time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0, server_cpu(port) - s0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="reuse the firms already stored if there are enough")
    args = ap.parse_args()
    uri, port = os.environ["NEO4J_URI"], int(os.environ["NEO4J_URI"].rsplit(":", 1)[1])
    store = Neo4jStore(uri, os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    cfg = load_config()
    if not (args.keep and store.company_count() >= args.firms):
        structure = load_structure()
        store.clear()
        store.upsert_sectors(structure.sectors)
        store.upsert_chains(structure.chains)
        store.upsert_nodes(structure.nodes)
        store.upsert_flows(structure.flows)
        store.upsert_zones(structure.zones)
        firms = list(synthetic.generate_companies(structure, args.firms, seed=5))
        t0 = time.perf_counter()
        for i in range(0, len(firms), BATCH):
            store.upsert_companies(firms[i : i + BATCH])
        print(f"loaded {len(firms):,} firms in {time.perf_counter() - t0:.1f} s")
    qualified = cfg["gaps"]["qualified"]
    chains = store.chains()

    def all_gaps():
        ChainService(store, cfg).all_gap_reports()

    transactions = 0
    session = store._session

    def counting(mode):
        nonlocal transactions
        transactions += 1
        return session(mode)

    store._session = counting  # type: ignore[method-assign]
    all_gaps()
    per_call = transactions
    store._session = session  # type: ignore[method-assign]
    store.node_stats(qualified)
    results = {}
    load = os.getloadavg()[0]
    measures = (
        ("node_stats, all nodes", lambda: store.node_stats(qualified)),
        (f"gap reports, all {len(chains)} chains, fresh ChainService", all_gaps),
    )
    for name, fn in measures:
        runs = [timed(fn, port) for _ in range(args.runs)]
        # The server's CPU counter ticks in 10 ms: its mean over the runs, not a median of ticks.
        server = sum(r[2] for r in runs) / len(runs)
        wall, client = (statistics.median(r[i] for r in runs) for i in range(2))
        results[name] = [wall, client, server, min(r[0] for r in runs)]
    # The analysis alone (graph/gaps.py on data already read; the same on both backends).
    svc = ChainService(store, cfg)
    with svc._one_version():
        inputs = [
            (
                svc._nodes(c.id),
                svc._structure()[1].get(c.id, []),
                svc._all_stats(),
                svc.thresholds,
                svc._node_names(),
            )
            for c in chains
        ]
    runs = [timed(lambda: [analyse_chain(*i) for i in inputs], port) for _ in range(args.runs)]
    analysis_ms = statistics.median(r[1] for r in runs) * 1000
    print(
        f"{store.company_count():,} firms, {args.runs} runs (median, warm), load average {load:.1f} → {os.getloadavg()[0]:.1f}"
    )
    print(
        "| | median wall ms | min wall ms | CPU ms: client (median) + server (mean) |\n|---|---:|---:|---:|"
    )
    for name, (wall, cpu, server, low) in results.items():
        print(f"| {name} | {wall * 1000:.1f} | {low * 1000:.1f} | {cpu * 1000:.0f} + {server * 1000:.0f} |")
    print(f"Bolt sessions (transactions) per all-gaps call: {per_call}")
    print(
        f"of the client CPU, the analysis itself (graph/gaps.py analyse_chain, all chains): {analysis_ms:.1f} ms"
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
