"""Benchmark of the web app (issue 5, item 7): the app under waitress on loopback at 100k firms.

    .venv/bin/python bench/web_bench.py [--firms 100000] [--runs 20] [--out docs/BENCHMARKS.md]

Why a script and not a test: timings depend on the machine, so they are measured and recorded in
docs/BENCHMARKS.md ("Web (part 1)"), never asserted. Steps:

1. seed a fresh file-backed NetworkxStore with the chain structure, anchor firms and N synthetic
   firms (seed.synthetic, deterministic) and a CRM SQLite database with one recruiter;
2. start `lianzhao serve`'s app under waitress in a CHILD process on 127.0.0.1 (own GIL);
3. log in over HTTP like a browser (CSRF token from the page), then request each chain-gap page and
   the target-list pages: the first request of each is cold (analysis computed), the next --runs are
   warm (cached per store data version). Server time is the app's `Server-Timing` header; the wall
   time (client side, includes the transfer) is reported beside it;
4. write one company through the store in this process: the data version changes, the server drops
   its cache, and the next request recomputes (measured as "after a data change").

Targets: chain-gap page <= 300 ms, target list page <= 300 ms server time (warm). Ctrl-C stops
cleanly: the child server is terminated and the temporary folder removed; the Markdown file is
touched only at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import multiprocessing as mp
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from crm.settings import CrmSettings as _CrmSettings

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Yace#2026web"
START, END = "<!-- web-bench:start -->", "<!-- web-bench:end -->"
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _cfg(folder: Path) -> dict:
    from lianzhao.config import load_config

    cfg = load_config(env={})
    cfg["instance"] = {"path": str(folder)}
    cfg["database"]["url"] = f"sqlite:///{folder / 'crm.sqlite3'}"
    cfg["web"]["secret_key"] = "bench-secret"
    return cfg


def prepare(folder: Path, firms: int) -> dict:
    from crm.db import make_engine, make_session_factory, unit_of_work, upgrade
    from crm.services._common import SYSTEM
    from crm.services.users import create_user
    from graph.nx_store import NetworkxStore
    from seed.loader import seed_store

    cfg = _cfg(folder)
    store = NetworkxStore(folder / "graph.sqlite3")
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done, total):
        now = time.perf_counter()
        if now - last[0] > 2 or done == total:
            last[0] = now
            print(
                f"\r  生成示例数据：{done:,}/{total:,}（{done * 100 // max(total, 1)}%）", end="", flush=True
            )

    summary = seed_store(store, n_synthetic=firms, progress=progress)
    print(
        f"\n  已写入 {summary.synthetic + summary.anchors:,} 家企业、{summary.supplies:,} 条供应关系，"
        f"用时 {time.perf_counter() - t0:.1f} 秒"
    )
    store.close()
    engine = make_engine(cfg)
    upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as s:
        create_user(
            s,
            SYSTEM,
            username="bench",
            display_name="压测专员",
            role="recruiter",
            password=PASSWORD,
            sector_id="medical",
            settings=SETTINGS,
        )
    engine.dispose()
    return cfg


def serve(cfg: dict, port_queue, threads: int) -> None:
    """Child process: the app under waitress on a free loopback port."""
    from waitress import create_server

    from web import create_app

    app = create_app(cfg)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="LianZhao-bench")
    port_queue.put(server.effective_port)
    server.run()


class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> tuple[float, float, bytes]:
        """(server ms from Server-Timing, wall ms, body)."""
        t0 = time.perf_counter()
        with self.opener.open(self.base + path, timeout=120) as resp:
            body = resp.read()
            timing = resp.headers.get("Server-Timing", "")
        wall = (time.perf_counter() - t0) * 1000
        match = re.search(r"dur=([\d.]+)", timing)
        return (float(match.group(1)) if match else float("nan")), wall, body

    def login(self, username: str, password: str) -> None:
        _s, _w, body = self.get("/login")
        token = TOKEN.search(body.decode()).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrf_token": token}
        ).encode()
        with self.opener.open(self.base + "/login", data=data, timeout=60) as resp:
            if "/login" in resp.geturl():
                raise SystemExit("压测账号登录失败")


def measure(client: Client, path: str, runs: int) -> dict:
    cold_server, cold_wall, body = client.get(path)
    warm = [client.get(path)[:2] for _ in range(runs)]
    servers = sorted(s for s, _ in warm)
    walls = sorted(w for _, w in warm)
    return {
        "path": path,
        "cold": cold_server,
        "cold_wall": cold_wall,
        "p50": statistics.median(servers),
        "p95": servers[int(0.95 * (len(servers) - 1))],
        "wall_p50": statistics.median(walls),
        "bytes": len(body),
    }


def run(firms: int, runs: int, threads: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="lianzhao-web-bench-"))
    proc = None
    try:
        print(f"准备 {firms:,} 家企业的数据 …")
        cfg = prepare(folder, firms)
        ctx = mp.get_context("spawn")
        ports = ctx.Queue()
        proc = ctx.Process(target=serve, args=(cfg, ports, threads), daemon=True)
        proc.start()
        port = ports.get(timeout=120)
        client = Client(f"http://127.0.0.1:{port}")
        client.login("bench", PASSWORD)

        from graph.nx_store import NetworkxStore
        from graph.service import ChainService

        store = NetworkxStore(folder / "graph.sqlite3")
        svc = ChainService(store, cfg)
        chains = svc.chains()
        counts = {
            c.id: sum(g.local_firms + g.outside_firms for g in svc.gap_report(c.id).nodes) for c in chains
        }
        biggest = max(chains, key=lambda c: counts[c.id])
        print(
            f"服务已启动（端口 {port}，{threads} 线程）；最大的产业链：{biggest.name}（{counts[biggest.id]:,} 家企业·环节）"
        )

        first_page = measure(client, "/chains/", runs)  # computes every chain's report once
        rows = {"overview": first_page}
        gap_pages = [measure(client, f"/chains/{c.id}", runs) for c in chains]
        rows["graph_biggest"] = next(r for r, c in zip(gap_pages, chains) if c.id == biggest.id)
        rows["graph_all_p50"] = statistics.median(r["p50"] for r in gap_pages)
        rows["graph_all_max_p95"] = max(r["p95"] for r in gap_pages)
        rows["targets_chain"] = measure(client, f"/targets/?chain={biggest.id}", runs)
        rows["targets_all"] = measure(client, "/targets/", runs)
        rows["targets_all_200"] = measure(client, "/targets/?top=200", runs)
        gap = svc.gap_report(biggest.id).critical_gaps(1)[0]
        rows["panel"] = measure(client, f"/chains/nodes/{gap.node_id}/panel", runs)
        sector_id = biggest.sector_id
        rows["sector"] = measure(client, f"/chains/sector/{sector_id}", runs)

        # a data change: one firm rewritten through the store; the server's cache must refresh
        firm = store.companies_on_nodes([gap.node_id], local=False)[0]
        from dataclasses import replace

        svc.gap_report(biggest.id)
        svc.chain_targets(biggest.id)
        store.upsert_companies([replace(firm, revenue=(firm.revenue or 0) + 1)])
        t0 = time.perf_counter()
        svc.gap_report(biggest.id)
        svc.chain_targets(biggest.id)
        in_process = (time.perf_counter() - t0) * 1000
        after_server, after_wall, _ = client.get(f"/chains/{biggest.id}")
        rows["after_change"] = {"server": after_server, "wall": after_wall, "in_process": in_process}
        store.close()
        rows["firms"] = firms
        rows["chains"] = len(chains)
        rows["threads"] = threads
        rows["runs"] = runs
        return rows
    finally:
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def markdown(r: dict) -> str:
    def row(name, m, target="—"):
        return (
            f"| {name} | `{m['path']}` | {m['cold']:.0f} | {m['p50']:.1f} | {m['p95']:.1f} | "
            f"{m['wall_p50']:.1f} | {m['bytes'] / 1024:.0f} KB | {target} |"
        )

    lines = [
        START,
        "## Web (part 1)",
        "",
        f"`bench/web_bench.py --firms {r['firms']}` on {dt.date.today().isoformat()}: {r['firms']:,} synthetic firms "
        f"(seed.synthetic) in the embedded store, {r['chains']} chains, the app under waitress "
        f"({r['threads']} threads) in its own process on 127.0.0.1, logged in as a recruiter. "
        "Server time is the app's `Server-Timing` header; wall time is the client's, transfer included. "
        f"Cold = first request (analysis computed); warm = median / p95 of the next {r['runs']} "
        "(analysis cached per store data version). 2 cores, 24 GB.",
        "",
        "| page | path | cold ms | warm p50 ms | warm p95 ms | wall p50 ms | size | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        row("sector list (all chains)", r["overview"]),
        row("chain-gap graph, biggest chain", r["graph_biggest"], "≤ 300 ms"),
        row("target list, one chain (top 50)", r["targets_chain"], "≤ 300 ms"),
        row("target list, all chains (top 50)", r["targets_all"], "≤ 300 ms"),
        row("target list, all chains (top 200)", r["targets_all_200"]),
        row("node side panel (JSON)", r["panel"]),
        row("sector overview", r["sector"]),
        "",
        f"All {r['chains']} chain-gap pages: warm p50 {r['graph_all_p50']:.1f} ms, worst p95 "
        f"{r['graph_all_max_p95']:.1f} ms.",
        "",
        "Cache invalidation: after one company is written, the data version changes and the cached "
        "analysis is dropped, never served stale. Written by the same process (as web imports will), "
        f"the biggest chain's gap report and ranking recompute in {r['after_change']['in_process']:.0f} ms. "
        "Written by ANOTHER process (the benchmark, like a `lianzhao import` next to a running server), "
        "the server's embedded store first reloads the whole file, so the next chain-gap request took "
        f"{r['after_change']['server']:.0f} ms server time. `lianzhao serve` pre-computes every chain's "
        "analysis in a background thread at start, so the cold column is what the first visitor after "
        "a data change sees, not after a restart.",
        "<!-- " + repr({k: v for k, v in r.items()}) + " -->",
        END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="链招网页端基准测试")
    parser.add_argument("--firms", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--out", type=Path, default=None, help="写入结果的 Markdown 文件（docs/BENCHMARKS.md）"
    )
    args = parser.parse_args()
    try:
        result = run(args.firms, args.runs, args.threads)
    except KeyboardInterrupt:
        print("\n已中断，未写入结果。")
        raise SystemExit(130)
    section = markdown(result)
    print(section)
    if args.out:
        write_section(args.out, section)
        print(f"已写入 {args.out}")


if __name__ == "__main__":
    main()
