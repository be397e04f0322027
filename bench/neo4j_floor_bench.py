"""Incremental import on Neo4j against the bare UNWIND floor (issue 16, item 3).

    eval "$(NEO4J_PORT=7728 bash scripts/neo4j.sh start)"
    .venv/bin/python bench/neo4j_floor_bench.py --firms 20000 --runs 3

Same synthetic firms, same driver, same 5,000-row batches (one transaction each), into an empty
database each time: `Neo4jStore.upsert_companies` (validation, the existence check, :Local label,
links, counters, version bump) against a bare script that only CREATEs the same property rows and
their OPERATES_IN links. Wall and CPU (client + server process) per run; the median run counts.
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

from graph.backend_checks import micro, output_micro  # noqa: E402
from graph.identity import company_search_text, normalize_name  # noqa: E402
from graph.neo4j_store import Neo4jStore, _props  # noqa: E402
from seed import synthetic  # noqa: E402
from seed.loader import load_structure  # noqa: E402

BATCH = 5_000
BARE = """
UNWIND $rows AS row
CREATE (c:Company) SET c = row
WITH c, row
UNWIND row.node_ids AS nid
MATCH (n:ChainNode {id: nid})
CREATE (c)-[:OPERATES_IN]->(n)"""


def server_cpu(port: int) -> float:
    """CPU seconds of the Neo4j java process listening on `port` (scripts/neo4j.sh's pid file)."""
    pid = int((ROOT / ".neo4j" / f"server-{port}" / "neo4j.pid").read_text())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rows_of(firms):
    rows = []
    for c in firms:
        props = {k: v for k, v in _props(c).items() if v != "" and v != []}
        props["node_ids"] = list(c.node_ids)
        props["norm_name"] = normalize_name(c.name)
        props["revenue_micro"] = micro(c.revenue)
        props["output_micro"] = output_micro(c)
        props["search_text"] = company_search_text(c.name, c.former_names, c.uscc)
        rows.append(props)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    uri, port = os.environ["NEO4J_URI"], int(os.environ["NEO4J_URI"].rsplit(":", 1)[1])
    store = Neo4jStore(uri, os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
    structure = load_structure()
    firms = list(synthetic.generate_companies(structure, args.firms, seed=5))

    def fresh():
        store.clear()
        store.upsert_sectors(structure.sectors)
        store.upsert_chains(structure.chains)
        store.upsert_nodes(structure.nodes)
        store.upsert_zones(structure.zones)

    def ours():
        for i in range(0, len(firms), BATCH):
            store.upsert_companies(firms[i : i + BATCH])

    def bare():
        rows = rows_of(firms)  # the floor gets its rows ready-made
        with store._driver.session(database=store.database) as session:
            for i in range(0, len(rows), BATCH):
                chunk = rows[i : i + BATCH]
                session.execute_write(lambda tx, chunk=chunk: tx.run(BARE, rows=chunk).consume())

    results: dict[str, list[tuple[float, float]]] = {"upsert_companies": [], "bare UNWIND floor": []}
    fresh()
    ours()  # warm-up (JIT, plans), untimed
    for _ in range(args.runs):
        for name, fn in (("bare UNWIND floor", bare), ("upsert_companies", ours)):
            fresh()
            c0, s0, t0 = time.process_time(), server_cpu(port), time.perf_counter()
            fn()
            results[name].append((time.perf_counter() - t0, time.process_time() - c0 + server_cpu(port) - s0))
    load = os.getloadavg()[0]
    print(f"{args.firms:,} firms, batches of {BATCH:,}, {args.runs} runs, load average {load:.1f}")
    print("| | median wall s | firms/s (wall) | median CPU s (client + server) | firms per CPU s |")
    print("|---|---:|---:|---:|---:|")
    med = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        med[name] = (wall, cpu)
        print(f"| {name} | {wall:.2f} | {args.firms / wall:,.0f} | {cpu:.2f} | {args.firms / cpu:,.0f} |")
    ratio_wall = med["bare UNWIND floor"][0] / med["upsert_companies"][0]
    ratio_cpu = med["bare UNWIND floor"][1] / med["upsert_companies"][1]
    print(f"\nupsert_companies / floor rate: {ratio_wall:.2f}× (wall), {ratio_cpu:.2f}× (CPU); goal ≥ 0.9×")
    store.clear()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
