"""Neo4j at millions of firms (issue 16, item 4): bulk load, gaps, targets, search, memory.

    .venv/bin/python bench/neo4j_scale_bench.py --embedded /tmp/lz-scale/graph.sqlite3 --copies 5 \
        --work /tmp/lz-neo --port 7729 [--heap 2g --pagecache 2g]

Writes the embedded store as neo4j-admin CSV (graph/neo4j_bulk.py, what `lianzhao graph bulk-load`
writes), then `--copies` copies of its firms with suffixed ids (`<id>~k`; copy 0 keeps the ids;
links, zones and supplies copied alike; names repeat, so search hits repeat), so a 1M-firm store
gives 5M firms without a 20-minute synthetic build. Then stops the dev server on `--port` (own
folder .neo4j/server-<port>, started if needed), imports, starts it, opens a Neo4jStore (indexes and
counters) and measures. It replaces that server's database: never point it at a shared server.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph.neo4j_bulk import BulkFiles, admin_args, finish, write_csv  # noqa: E402
from graph.neo4j_store import Neo4jStore  # noqa: E402
from graph.nx_store import NetworkxStore  # noqa: E402
from graph.service import ChainService  # noqa: E402
from lianzhao.config import load_config  # noqa: E402

SCRIPT = ROOT / "scripts" / "neo4j.sh"


def timed(fn, *args):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def replicate(files: BulkFiles, folder: Path, copies: int) -> BulkFiles:
    """`copies` copies of every firm (ids suffixed), their links and supplies; other files as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    firm_files = {"Company:Local", "Company"}
    out = BulkFiles(nodes=[], relationships=[], firms=files.firms * copies, links=files.links * copies)
    for labels, path in files.nodes:
        target = folder / path.name
        if labels in firm_files:
            _copy_rows(path, target, copies, (0,))
        else:
            shutil.copyfile(path, target)
        out.nodes.append((labels, target))
    for kind, path in files.relationships:
        target = folder / path.name
        _copy_rows(path, target, copies, (0, 1) if kind == "SUPPLIES" else (0,))
        out.relationships.append((kind, target))
    out.supplies = files.supplies * copies
    return out


def _copy_rows(source: Path, target: Path, copies: int, id_columns: tuple[int, ...]) -> None:
    with source.open(encoding="utf-8", newline="") as f, target.open("w", encoding="utf-8", newline="") as g:
        reader, writer = csv.reader(f), csv.writer(g)
        writer.writerow(next(reader))
        rows = list(reader)
        for k in range(copies):
            for row in rows:
                if k:
                    row = list(row)
                    for i in id_columns:
                        row[i] = f"{row[i]}~{k}"
                writer.writerow(row)


class Rows(list):
    """The result table, each row printed as it is measured: a failure late in an hour-long run
    keeps the figures measured before it."""

    def __init__(self) -> None:
        super().__init__()
        print("| measure | wall s (CPU s) |\n|---|---:|", flush=True)

    def append(self, row: tuple[str, str]) -> None:
        super().append(row)
        print(f"| {row[0]} | {row[1]} |", flush=True)


def server_rss_mb(port: int) -> float:
    pid = (ROOT / ".neo4j" / f"server-{port}" / "neo4j.pid").read_text().strip()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def neo4j_sh(command: str, port: int, heap: str, pagecache: str) -> str:
    env = {**os.environ, "NEO4J_PORT": str(port), "NEO4J_KEEP_DATA": "1", "NEO4J_HEAP": heap}
    env["NEO4J_PAGECACHE"] = pagecache
    done = subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedded", type=Path, required=True)
    ap.add_argument("--copies", type=int, default=5)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--port", type=int, default=7729)
    ap.add_argument("--heap", default="2g")
    ap.add_argument("--pagecache", default="2g")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="the server's database is already loaded: measure from the connect on",
    )
    args = ap.parse_args()
    rows = Rows()
    rows.append(("load average (1 min) at start", f"{os.getloadavg()[0]:.1f}"))
    cfg = load_config()
    home = ROOT / ".neo4j" / f"server-{args.port}"
    env_line = neo4j_sh("start", args.port, args.heap, args.pagecache)  # ensure it exists (password)
    password = env_line.split("NEO4J_PASSWORD=")[1].strip()
    with NetworkxStore(args.embedded) as source:
        if not args.reuse:
            one, wall, cpu = timed(write_csv, source, args.work / "csv1")
            rows.append(
                (f"write CSV from the embedded store ({one.firms:,} firms), s", f"{wall:.1f} ({cpu:.1f})")
            )
            files, wall, cpu = timed(replicate, one, args.work / "csv", args.copies)
            rows.append((f"replicate ×{args.copies}, s", f"{wall:.1f} ({cpu:.1f})"))
            shutil.rmtree(args.work / "csv1")
            neo4j_sh("stop", args.port, args.heap, args.pagecache)
            admin = ["java", "-cp", str(ROOT / ".neo4j" / "lib" / "*"), "org.neo4j.cli.AdminTool"]
            env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([*admin, *admin_args(files)], env=env, check=True, capture_output=True)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            rows.append(
                (
                    f"neo4j-admin import: {files.firms:,} firms, {files.links:,} links, {files.supplies:,} supplies, s",
                    f"{wall:.1f} ({cpu:.1f}) — {files.firms / wall:,.0f} firms/s wall, {files.firms / cpu:,.0f} per CPU s",
                )
            )
            shutil.rmtree(args.work / "csv")
        neo4j_sh("start", args.port, args.heap, args.pagecache)
        uri = f"bolt://127.0.0.1:{args.port}"
        store, wall, cpu = timed(Neo4jStore, uri, "neo4j", password)
        rows.append(
            (
                "first connect: constraints, indexes, counters from the firms, s",
                f"{wall:.1f} (client {cpu:.1f})",
            )
        )
        _, wall, cpu = timed(finish, source, store)
        rows.append(("structure upserts after the import, s", f"{wall:.1f} ({cpu:.1f})"))
    qualified = cfg["gaps"]["qualified"]
    rows.append(("firms in Neo4j", f"{store.company_count():,}"))
    times = [timed(store.node_stats, qualified)[1:] for _ in range(args.runs)]
    rows.append(("node_stats, all chains (median), s", f"{statistics.median(t[0] for t in times):.3f}"))
    times = []
    for _ in range(args.runs):
        svc = ChainService(store, cfg)
        times.append(timed(lambda svc=svc: [svc.gap_report(c.id) for c in store.chains()])[1:])
    rows.append(
        (
            "gaps for all chains, fresh ChainService (median), s",
            f"{statistics.median(t[0] for t in times):.3f} ({statistics.median(t[1] for t in times):.3f})",
        )
    )
    svc = ChainService(store, cfg)
    targets, wall, cpu = timed(svc.chain_targets, "device")
    rows.append((f"targets of chain device ({len(targets):,} rows), s", f"{wall:.1f} ({cpu:.1f})"))
    # The worst case, as in bench/embedded_scale_bench.py: every leaf made a gap, so every outside
    # firm of the chain is read and ranked (at these synthetic counts every node is 强链 otherwise).
    forced = ChainService(store, {**cfg, "gaps": {**cfg["gaps"], "weak_firms_below": 10**9}})
    targets, wall, cpu = timed(forced.chain_targets, "device")
    rows.append(
        (f"targets of device, every leaf a gap ({len(targets):,} rows ranked), s", f"{wall:.1f} ({cpu:.1f})")
    )
    for needle in ("康", "医疗", "精密科技"):
        store.find_companies(needle)
        hits, wall, cpu = timed(store.find_companies, needle)
        rows.append((f"find_companies({needle!r}) → {len(hits)}, s", f"{wall:.3f} ({cpu:.3f})"))
    rows.append(
        (
            "Neo4j server RSS, MB",
            f"{server_rss_mb(args.port):,.0f} (heap {args.heap}, page cache {args.pagecache})",
        )
    )
    rows.append(("client peak RSS, MB", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}"))
    store.close()
    size = sum(p.stat().st_size for p in (home / "data").rglob("*") if p.is_file())
    rows.append(("Neo4j data folder, GB", f"{size / 2**30:.1f}"))
    rows.append(("load average (1 min) at end", f"{os.getloadavg()[0]:.1f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
