"""Incremental import on Neo4j against the bare UNWIND floor (issue 16, item 3).

    eval "$(NEO4J_PORT=7743 bash scripts/neo4j.sh start)"
    .venv/bin/python bench/neo4j_floor_bench.py --firms 10000 --runs 3

Same synthetic firms, same driver, same 5,000-row batches (one transaction each), into an empty
database (same schema: constraints, lookup, TEXT and full-text indexes) each time, writing the
same graph: the same property rows (exactly `_company_row` of the validated firms), the :Local
label, OPERATES_IN and LOCATED_IN.

`upsert_companies` against two floors, bare scripts that only CREATE that graph, in the cheapest
form (one statement per label, links in the same statement):

* "floor, rows ready-made": its property rows are built before the clock starts (the strictest);
* "floor, rows built": it builds the same rows from the Company objects inside the timing.

What the floors do NOT do, and `upsert_companies` does: validate the firms (types, ids, numbers,
pinyin initials), check that the firms exist (a stored firm is replaced: old links and counter
contributions removed, under a lock), name a missing chain node or zone (and roll back), keep the
:NodeCount counters, bump the data version. Wall and CPU (client + server process) per run, the
median run counts; runs alternate the order, and each waits for the server to go idle after the
database is cleared (the clear's background work would otherwise land in the next run).
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

from graph.backend_checks import companies_batch  # noqa: E402
from graph.neo4j_store import Neo4jStore, _company_row  # noqa: E402
from seed import synthetic  # noqa: E402
from seed.loader import load_structure  # noqa: E402

BATCH = 5_000
LINKS = """
WITH c, row
OPTIONAL MATCH (z:Zone {id: row.zone_id})
FOREACH (_ IN CASE WHEN z IS NULL THEN [] ELSE [1] END | CREATE (c)-[:LOCATED_IN]->(z))
WITH c, row
UNWIND row.node_ids AS nid
MATCH (n:ChainNode {id: nid})
CREATE (c)-[:OPERATES_IN]->(n)"""
BARE_LOCAL = "UNWIND $rows AS row CREATE (c:Company:Local) SET c = row" + LINKS
BARE_OUTSIDE = "UNWIND $rows AS row CREATE (c:Company) SET c = row" + LINKS


def server_cpu(port: int) -> float:
    """CPU seconds of the Neo4j java process listening on `port` (scripts/neo4j.sh's pid file)."""
    pid = int((ROOT / ".neo4j" / f"server-{port}" / "neo4j.pid").read_text())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(port: int, timeout: float = 15.0) -> None:
    """Wait until the server uses under 5 % of a core over half a second (or `timeout`)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        before = server_cpu(port)
        time.sleep(0.5)
        if server_cpu(port) - before < 0.025:
            return


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

    valid = list(companies_batch(firms).values())  # the same firms as upsert_companies stores
    ready = [_company_row(c) for c in valid]

    def bare(rows):
        with store._driver.session(database=store.database) as session:
            for i in range(0, len(rows), BATCH):
                chunk = rows[i : i + BATCH]
                local = [r for r in chunk if r.get("is_local")]
                outside = [r for r in chunk if not r.get("is_local")]

                def work(tx, local=local, outside=outside):
                    for query, part in ((BARE_LOCAL, local), (BARE_OUTSIDE, outside)):
                        if part:
                            tx.run(query, rows=part).consume()

                session.execute_write(work)

    measures = {
        "upsert_companies": ours,
        "floor, rows ready-made": lambda: bare(ready),
        "floor, rows built": lambda: bare([_company_row(c) for c in valid]),
    }
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in measures}
    fresh()
    ours()  # warm-up (JIT, plans), untimed
    fresh()
    bare(ready)
    load_start = os.getloadavg()[0]
    for run in range(args.runs):
        order = list(measures) if run % 2 == 0 else list(reversed(measures))
        for name in order:
            fresh()
            settle(port)
            c0, s0, t0 = time.process_time(), server_cpu(port), time.perf_counter()
            measures[name]()
            wall, client = time.perf_counter() - t0, time.process_time() - c0
            results[name].append((wall, client, server_cpu(port) - s0))
    load = os.getloadavg()[0]
    print(
        f"{args.firms:,} firms, batches of {BATCH:,}, {args.runs} runs, "
        f"load average (1 min) {load_start:.1f} at start, {load:.1f} at end"
    )
    print("| | median wall s | firms/s (wall) | median CPU s: client + server | firms per CPU s |")
    print("|---|---:|---:|---:|---:|")
    med = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs)
        client = statistics.median(r[1] for r in runs)
        server = statistics.median(r[2] for r in runs)
        cpu = statistics.median(r[1] + r[2] for r in runs)
        med[name] = (wall, cpu)
        print(
            f"| {name} | {wall:.2f} | {args.firms / wall:,.0f} | {cpu:.2f}: {client:.2f} + {server:.2f} "
            f"| {args.firms / cpu:,.0f} |"
        )
    print()
    for floor in ("floor, rows ready-made", "floor, rows built"):
        ratio_wall = med[floor][0] / med["upsert_companies"][0]
        ratio_cpu = med[floor][1] / med["upsert_companies"][1]
        print(f"upsert_companies / {floor}: {ratio_wall:.2f}× (wall), {ratio_cpu:.2f}× (CPU); goal ≥ 0.9×")
    store.clear()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
