"""Neo4j vs the embedded store, side by side in one run (issue 3, item 7).

    eval "$(bash scripts/neo4j.sh start)"
    .venv/bin/python bench/neo4j_bench.py --sizes 100000 [--out docs/BENCHMARKS.md]

Per size: the seed structure plus N deterministic synthetic firms (seed/synthetic.py) and their
supply edges are written into a file-backed NetworkxStore and into the Neo4j server named by
NEO4J_URI (cleared first), in the batches `lianzhao init` uses (5,000 per call). Timed per store:
firm import (rows/s, node links included), supply import, gap analysis of every chain
(ChainService.all_gap_reports on a fresh service, and the bare node_stats call), and the target
list of the chain with the most firms; then parity: every chain's gap rows and target rows
compared between the two stores. Timings are recorded, never asserted: the machine is shared.
Wall seconds are shown with CPU seconds in brackets (this process, plus the Neo4j server process
when its pid file is under .neo4j/), which the load of other work does not inflate.

With --out, the section between ``<!-- neo4j-bench:start -->`` and ``<!-- neo4j-bench:end -->``
of the Markdown file is replaced (appended when missing). Ctrl-C stops cleanly: the temporary
embedded store is deleted and the Markdown file is not touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from graph.neo4j_store import Neo4jStore  # noqa: E402
from graph.nx_store import NetworkxStore  # noqa: E402
from graph.service import ChainService  # noqa: E402
from lianzhao.config import load_config  # noqa: E402
from seed import synthetic  # noqa: E402
from seed.loader import load_anchors, load_structure  # noqa: E402

START, END = "<!-- neo4j-bench:start -->", "<!-- neo4j-bench:end -->"
BATCH = 5_000
TARGETS = {"firm_rows_s": 5_000, "gaps_s": 2.0}


def say(text: str, end: str = "\n") -> None:
    print(text, end=end, file=sys.stderr, flush=True)


def server_pid(uri: str) -> int | None:
    """The local Neo4j started by scripts/neo4j.sh for this port, if any (for its CPU time)."""
    port = urlparse(uri).port or 7687
    pid_file = ROOT / ".neo4j" / f"server-{port}" / "neo4j.pid"
    try:
        pid = int(pid_file.read_text())
        Path(f"/proc/{pid}/stat").read_text()
        return pid
    except (OSError, ValueError):
        return None


class Clock:
    """Wall time plus CPU time of this process and of the Neo4j server process."""

    def __init__(self, pid: int | None):
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def _server_cpu(self) -> float:
        if self.pid is None:
            return 0.0
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick

    def __enter__(self):
        self.wall0, self.cpu0, self.srv0 = time.perf_counter(), time.process_time(), self._server_cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0 + self._server_cpu() - self.srv0


def batches(items: list, size: int = BATCH):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def write_all(store, structure, firms, supplies, clock_pid, label: str) -> dict:
    out = {}
    store.upsert_sectors(structure.sectors)
    store.upsert_chains(structure.chains)
    store.upsert_nodes(structure.nodes)
    store.upsert_flows(structure.flows)
    store.upsert_zones(structure.zones)
    rates = []
    with Clock(clock_pid) as c:
        done = 0
        for batch in batches(firms):
            t0 = time.perf_counter()
            done += store.upsert_companies(batch)
            rates.append(len(batch) / (time.perf_counter() - t0))
            say(f"\r  {label} 企业：{done:,}/{len(firms):,}", end="")
    say("")
    out["firm_s"], out["firm_cpu"] = c.wall, c.cpu
    out["firm_rows_s"] = len(firms) / c.wall
    out["firm_rows_s_median_batch"] = statistics.median(rates)
    out["firm_rows_cpu_s"] = len(firms) / c.cpu if c.cpu else 0
    with Clock(clock_pid) as c:
        for batch in batches(supplies):
            store.upsert_supplies(batch)
    out["supply_s"], out["supply_cpu"] = c.wall, c.cpu
    out["supply_rows_s"] = len(supplies) / c.wall if supplies else 0
    return out


def timed_median(fn, runs: int, pid) -> tuple[float, float, object]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        with Clock(pid) as c:
            result = fn()
        walls.append(c.wall)
        cpus.append(c.cpu)
    return statistics.median(walls), statistics.median(cpus), result


def analyse(store, cfg, chain_id: str, runs: int, pid) -> dict:
    qualified = cfg["gaps"]["qualified"]
    out = {}
    out["stats_s"], out["stats_cpu"], _ = timed_median(lambda: store.node_stats(qualified), runs, pid)
    out["gaps_s"], out["gaps_cpu"], reports = timed_median(
        lambda: ChainService(store, cfg).all_gap_reports(), runs, pid
    )
    out["targets_s"], out["targets_cpu"], targets = timed_median(
        lambda: ChainService(store, cfg).chain_targets(chain_id), runs, pid
    )
    out["reports"], out["targets"] = reports, targets
    return out


def parity(store_a, store_b, cfg) -> tuple[int, int]:
    """(identical rows, rows) over every chain's gap rows and target rows."""
    a, b = ChainService(store_a, cfg), ChainService(store_b, cfg)
    same = total = 0
    for chain in store_a.chains():
        for ra, rb in (
            (a.gap_report(chain.id).nodes, b.gap_report(chain.id).nodes),
            (a.chain_targets(chain.id), b.chain_targets(chain.id)),
        ):
            total += max(len(ra), len(rb))
            same += sum(1 for x, y in zip(ra, rb) if x == y)
    return same, total


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Python {platform.python_version()}"


def warm_up(n: int, cfg: dict) -> None:
    """Untimed: write and analyse `n` firms once so the server's JIT and query caches are warm, as
    on a long-running production server; then clear."""
    uri = os.environ["NEO4J_URI"]
    structure = load_structure()
    firms = list(synthetic.generate_companies(structure, n, seed=1))
    with Neo4jStore(
        uri,
        os.environ.get("NEO4J_USER", "neo4j"),
        os.environ.get("NEO4J_PASSWORD", ""),
        os.environ.get("NEO4J_DATABASE", "neo4j"),
    ) as neo:
        say(f"== 预热 Neo4j（{n:,} 家企业，不计时）")
        neo.clear()
        write_all(neo, structure, firms, [], None, "预热")
        for chain in neo.chains():
            ChainService(neo, cfg).chain_targets(chain.id)
        neo.clear()


def run_size(n: int, cfg: dict, runs: int) -> dict:
    uri = os.environ["NEO4J_URI"]
    pid = server_pid(uri)
    structure = load_structure()
    say(f"== {n:,} 家示例企业：生成数据")
    anchors = load_anchors(structure)
    favoured = {nid for c in anchors if c.is_local for nid in c.node_ids}
    firms = anchors + list(synthetic.generate_companies(structure, n, favoured=favoured))
    sampler = synthetic.SupplySampler(structure)
    for c in firms[len(anchors) :]:
        sampler.add(c)
    supplies = list(sampler.supplies())
    links = sum(len(c.node_ids) for c in firms)
    counts = {}
    for c in firms:
        for nid in c.node_ids:
            counts[structure_chain(structure, nid)] = counts.get(structure_chain(structure, nid), 0) + 1
    busiest = max(counts, key=counts.get)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="neo4j-bench-") as tmp:
        emb = NetworkxStore(Path(tmp) / "graph.sqlite3")
        neo = Neo4jStore(
            uri,
            os.environ.get("NEO4J_USER", "neo4j"),
            os.environ.get("NEO4J_PASSWORD", ""),
            os.environ.get("NEO4J_DATABASE", "neo4j"),
        )
        try:
            say("  清空 Neo4j")
            neo.clear()
            result = {"n": len(firms), "links": links, "supplies": len(supplies), "chain": busiest}
            result["emb"] = write_all(emb, structure, firms, supplies, None, "嵌入式")
            result["neo"] = write_all(neo, structure, firms, supplies, pid, "Neo4j")
            say("  分析：缺口与目标企业")
            result["emb"].update(analyse(emb, cfg, busiest, runs, None))
            result["neo"].update(analyse(neo, cfg, busiest, runs, pid))
            result["parity"] = parity(emb, neo, cfg)
            result["target_rows"] = len(result["emb"]["targets"])
        finally:
            emb.close()
            neo.close()
    result["load"] = (load0, os.getloadavg())
    result["server_cpu"] = pid is not None
    return result


_NODE_CHAIN: dict[str, str] = {}


def structure_chain(structure, node_id: str) -> str:
    if not _NODE_CHAIN:
        _NODE_CHAIN.update({n.id: n.chain_id for n in structure.nodes})
    return _NODE_CHAIN[node_id]


def fmt_s(wall: float, cpu: float) -> str:
    return f"{wall:.2f} ({cpu:.2f})"


def render(results: list[dict], command: str, warmup: int) -> str:
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## Neo4j vs embedded (issue 3)",
        "",
        f'Reproduce with `{command}` after `eval "$(bash scripts/neo4j.sh start)"`. '
        f"Measured {now} at {head} on {machine()}; Neo4j 5.26 Community from scripts/neo4j.sh "
        f"(heap {os.environ.get('NEO4J_HEAP', '1g')}, page cache {os.environ.get('NEO4J_PAGECACHE', '256m')}, "
        "same machine, Bolt over loopback, warmed up by an untimed load of "
        f"{warmup:,} firms), embedded = NetworkxStore on a SQLite file. "
        "Writes in batches of 5,000 (one transaction each), as `lianzhao init` and `graph sync` do. "
        "Times are wall seconds with CPU seconds in brackets (client process + Neo4j server process): "
        "the 2-core machine was shared with other engineers' tests and benchmarks, so wall time "
        "carries their load; the load average is given per run.",
        "",
    ]
    for r in results:
        e, n = r["emb"], r["neo"]
        same, total = r["parity"]
        lines += [
            f"### {r['n']:,} firms ({r['links']:,} node links, {r['supplies']:,} supply edges)",
            "",
            f"Load average at start / end: {r['load'][0][0]:.1f} / {r['load'][1][0]:.1f}.",
            "",
            "| | embedded (networkx + SQLite) | Neo4j | target |",
            "|---|---:|---:|---:|",
            f"| Import firms incl. node links, s | {fmt_s(e['firm_s'], e['firm_cpu'])} | "
            f"{fmt_s(n['firm_s'], n['firm_cpu'])} | |",
            f"| Import firms, rows/s | {e['firm_rows_s']:,.0f} | {n['firm_rows_s']:,.0f} | "
            f"≥ {TARGETS['firm_rows_s']:,} |",
            f"| … median of the 5,000-row batches, rows/s | {e['firm_rows_s_median_batch']:,.0f} | "
            f"{n['firm_rows_s_median_batch']:,.0f} | |",
            f"| … firm rows per CPU second (client + server) | {e['firm_rows_cpu_s']:,.0f} | "
            f"{n['firm_rows_cpu_s']:,.0f} | |",
            f"| Import supply edges, s | {fmt_s(e['supply_s'], e['supply_cpu'])} | "
            f"{fmt_s(n['supply_s'], n['supply_cpu'])} | |",
            f"| node_stats, all chains (one call), s | {fmt_s(e['stats_s'], e['stats_cpu'])} | "
            f"{fmt_s(n['stats_s'], n['stats_cpu'])} | |",
            f"| Gaps for all chains (fresh ChainService), s | {fmt_s(e['gaps_s'], e['gaps_cpu'])} | "
            f"{fmt_s(n['gaps_s'], n['gaps_cpu'])} | ≤ {TARGETS['gaps_s']} |",
            f"| Targets of chain `{r['chain']}` ({r['target_rows']:,} rows), s | "
            f"{fmt_s(e['targets_s'], e['targets_cpu'])} | {fmt_s(n['targets_s'], n['targets_cpu'])} | |",
            f"| Parity: identical gap + target rows | | {same:,} / {total:,} "
            f"({100 * same / max(total, 1):.1f}%) | 100% |",
            "",
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per median of the analysis timings")
    parser.add_argument("--out", type=Path, help="Markdown file whose Neo4j section is replaced")
    parser.add_argument("--warmup", type=int, default=20_000, help="firms written once, untimed, first")
    args = parser.parse_args()
    if not os.environ.get("NEO4J_URI"):
        say('错误：未设置 NEO4J_URI。请先运行 eval "$(bash scripts/neo4j.sh start)"')
        return 2
    cfg = load_config()
    try:
        if args.warmup:
            warm_up(args.warmup, cfg)
        results = [run_size(n, cfg, args.runs) for n in args.sizes]
    except KeyboardInterrupt:
        say("\n已中断，未写入结果。")
        return 130
    command = "python bench/neo4j_bench.py --sizes " + " ".join(map(str, args.sizes))
    section = render(results, command, args.warmup)
    print(section)
    if args.out:
        write_section(args.out, section)
        say(f"已写入 {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
