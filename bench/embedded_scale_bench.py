"""The embedded store at 1M firms (issue 16, item 2): open time, chains/gaps commands, RSS, first
request after another process's write, targets and directory search, each in a fresh process.

    .venv/bin/python bench/embedded_scale_bench.py --firms 1000000 --dir /tmp/lz-scale [--keep]

Builds <dir>/graph.sqlite3 with `seed_store` (seed chains, anchors, N synthetic firms and their
supplies) unless it already holds N synthetic firms, then measures. Prints one Markdown table
with wall seconds and CPU seconds (child process) side by side. Loopback/local only; nothing is
asserted (timings depend on the shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

# Child snippets: each runs in a fresh interpreter and prints one JSON line.
OPEN = """
import json, os, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from graph.nx_store import NetworkxStore
from graph.service import ChainService
from lianzhao.config import load_config
st = NetworkxStore(sys.argv[1])
svc = ChainService(st, load_config())
reports = [svc.gap_report(c.id) for c in st.chains()]
ready, ready_cpu = time.perf_counter() - t0, time.process_time() - c0
rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
biggest = st.chain("device") or st.chains()[0]  # the chain with the most firms in the seed
# Worst case for targets: every leaf node of the chain a gap (at 1M synthetic firms all are strong),
# so every outside firm of the chain is read and ranked.
cfg = load_config()
cfg = {**cfg, "gaps": {**cfg["gaps"], "weak_firms_below": 10**9}}
t1, c1 = time.perf_counter(), time.process_time()
targets = ChainService(st, cfg).chain_targets(biggest.id)
targets_s, targets_cpu = time.perf_counter() - t1, time.process_time() - c1
t2, c2 = time.perf_counter(), time.process_time()
hits = st.find_companies("康")
search_first, search_first_cpu = time.perf_counter() - t2, time.process_time() - c2
t3 = time.perf_counter()
st.find_companies("医疗")
search_again = time.perf_counter() - t3
print(json.dumps(dict(ready=ready, ready_cpu=ready_cpu, rss_ready=rss_ready, chain=biggest.id,
    targets=len(targets), targets_s=targets_s, targets_cpu=targets_cpu, search_first=search_first,
    search_first_cpu=search_first_cpu, search_again=search_again, hits=len(hits),
    rss_peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, firms=st.company_count())))
"""

# Holds the store open like a server, waits for the parent's write, times the next request.
AFTER_WRITE = """
import json, sys, time
from graph.nx_store import NetworkxStore
from graph.service import ChainService
from lianzhao.config import load_config
st = NetworkxStore(sys.argv[1])
svc = ChainService(st, load_config())
chains = st.chains()
[svc.gap_report(c.id) for c in chains]
print("ready", flush=True)
sys.stdin.readline()  # the parent wrote 100 firms from another process
t0, c0 = time.perf_counter(), time.process_time()
[svc.gap_report(c.id) for c in chains]
first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
t1 = time.perf_counter()
st.company(sys.argv[2])
print(json.dumps(dict(after_write=first, after_write_cpu=first_cpu, company_lookup=time.perf_counter() - t1)))
"""

WRITE = """
import sys
from graph.model import Company
from graph.nx_store import NetworkxStore
st = NetworkxStore(sys.argv[1])
node = st.nodes()[5].id
st.upsert_companies([Company(f"bench-w-{i:03d}", f"写入测试{i}", is_local=True, revenue=10.0, node_ids=(node,))
                     for i in range(100)])
"""


def child(code: str, *args: str, env: dict | None = None) -> dict:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [PY, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, env=env, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip().startswith("{") else {}
    result["wall"] = time.perf_counter() - started
    result["cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result["peak_mb"] = after.ru_maxrss / 1024
    return result


def command(args: list[str], env: dict) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one `lianzhao ...` run in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [str(Path(PY).with_name("lianzhao")), *args], cwd=ROOT, env=env, check=True, capture_output=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        wall,
        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        after.ru_maxrss / 1024,
    )


def build(path: Path, firms: int) -> tuple[float, float]:
    code = (
        "import sys\nfrom graph.nx_store import NetworkxStore\nfrom seed.loader import seed_store\n"
        "st = NetworkxStore(sys.argv[1])\nst.clear()\nseed_store(st, n_synthetic=int(sys.argv[2]))\n"
    )
    r = child(code, str(path), str(firms))
    return r["wall"], r["cpu"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--firms", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / "graph.sqlite3"
    env = {**os.environ, "LIANZHAO_INSTANCE": str(args.dir), "LIANZHAO_GRAPH_BACKEND": "networkx"}
    rows: list[tuple[str, str]] = [("load average (1 min) at start", f"{os.getloadavg()[0]:.1f}")]
    count = child(
        "import json,sys\nfrom graph.nx_store import NetworkxStore\n"
        "print(json.dumps({'n': NetworkxStore(sys.argv[1]).company_count()}))",
        str(path),
    ).get("n", 0)
    if args.rebuild or count < args.firms:
        wall, cpu = build(path, args.firms)
        rows.append(("build (seed_store: firms + supplies), s", f"{wall:.1f} ({cpu:.1f})"))
    rows.append(("store file, MB", f"{path.stat().st_size / 2**20:.0f}"))
    for label, cmd in (
        ("`lianzhao chains`", ["chains"]),
        ("`lianzhao gaps --chain device`", ["gaps", "--chain", "device"]),
    ):
        wall, cpu, peak = command(cmd, env)
        rows.append((f"{label}, s (peak RSS MB)", f"{wall:.2f} ({cpu:.2f}) — {peak:.0f} MB"))
    r = child(OPEN, str(path))
    rows += [
        ("firms in store", f"{r['firms']:,}"),
        ("server ready: open + gap reports of all chains, s", f"{r['ready']:.2f} ({r['ready_cpu']:.2f})"),
        ("RSS when ready, MB", f"{r['rss_ready']:.0f}"),
        (
            f"targets of the biggest chain ({r['chain']}, {r['targets']:,} rows), s",
            f"{r['targets_s']:.2f} ({r['targets_cpu']:.2f})",
        ),
        (
            "directory search, first call (builds the index), s",
            f"{r['search_first']:.2f} ({r['search_first_cpu']:.2f})",
        ),
        ("directory search, next call, s", f"{r['search_again']:.3f}"),
        ("peak RSS after targets and search, MB", f"{r['rss_peak']:.0f}"),
    ]
    server = subprocess.Popen(
        [PY, "-c", AFTER_WRITE, str(path), "bench-w-050"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout.readline().strip() == "ready"
    child(WRITE, str(path))
    out, _ = server.communicate("go\n", timeout=600)
    w = json.loads(out.strip().splitlines()[-1])
    rows += [
        (
            "first gap request after another process wrote 100 firms, s",
            f"{w['after_write']:.3f} ({w['after_write_cpu']:.3f})",
        ),
        ("company lookup by id after that write, s", f"{w['company_lookup']:.4f}"),
        ("load average (1 min) at end", f"{os.getloadavg()[0]:.1f}"),
    ]
    print("| measure | wall s (CPU s) |\n|---|---:|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
