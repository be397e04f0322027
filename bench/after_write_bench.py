"""The first pages after ANOTHER process's large write (issue 16, item 4): strict vs stale-while-updating.

    .venv/bin/python bench/after_write_bench.py --data /tmp/lianzhao-load-bench [--write 20000]

Uses the instance prepared by bench/load_bench.py (100k firms, its CRM). For each mode the graph file
is restored from the pristine copy, an app is built in this process (as a gunicorn worker holds it)
and warmed (chain-gap page, target list, lead list), then a child process writes --write new firms
into the same file (one transaction, like `lianzhao import`), and the next pages are timed: wall and
this process's CPU for the first request and the following ones. Strict ([web] stale_analysis =
false, the behaviour before): the first request catches up with the file and recomputes. Stale (the
default of `lianzhao serve`): the previous analysis is served at once, marked 更新中, while one
background thread does that work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
WRITER = """
import sys
from graph.nx_store import NetworkxStore
from seed.loader import load_structure
from seed.synthetic import generate_companies
store = NetworkxStore(sys.argv[1])
firms = list(generate_companies(load_structure(), int(sys.argv[2]), seed=424242))
store.upsert_companies(firms)
store.close()
"""


def run_mode(folder: Path, stale: bool, n_write: int) -> dict:
    from lianzhao.config import load_config
    from web import create_app

    for suffix in ("", "-wal", "-shm"):  # a new file, never one an open connection still maps
        Path(f"{folder / 'graph.sqlite3'}{suffix}").unlink(missing_ok=True)
    shutil.copy2(folder / "graph.base.sqlite3", folder / "graph.sqlite3")
    prepared = json.loads((folder / "prepared.json").read_text())
    cfg = load_config(env={})
    cfg["instance"] = {"path": str(folder)}
    cfg["database"]["url"] = prepared["db"]
    cfg["web"]["secret_key"] = "after-write-bench"
    app = create_app(cfg)
    app.extensions["lianzhao"].stale_analysis_while_updating = stale
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "rec_nev_0", "password": "Bench#Password1", "csrf_token": token})
    pages = ["/chains/device", "/targets/?chain=device", "/leads/"]
    for path in pages:
        client.get(path)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", WRITER, str(folder / "graph.sqlite3"), str(n_write)], check=True, cwd=ROOT
    )
    write_s = time.perf_counter() - t0
    out = []
    for i in range(8):
        path = pages[i % len(pages)]
        w0, c0 = time.perf_counter(), time.process_time()
        body = client.get(path).get_data(as_text=True)
        out.append(
            {
                "path": path,
                "wall_ms": (time.perf_counter() - w0) * 1000,
                "cpu_ms": (time.process_time() - c0) * 1000,
                "updating": 'data-testid="analysis-updating"' in body,
            }
        )
    svc = app.extensions["lianzhao"].chain_service
    t1 = time.perf_counter()
    while svc.updating and time.perf_counter() - t1 < 300:
        time.sleep(0.05)
    return {"stale": stale, "write_s": write_s, "requests": out, "refresh_done_s": time.perf_counter() - t1}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--write", type=int, default=20000)
    parser.add_argument("--mode", choices=["strict", "stale"], default=None, help="one mode (internal)")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.data, args.mode == "stale", args.write)))
        return
    results = []
    for mode in ("strict", "stale"):  # each in a fresh process, as each worker is
        out = subprocess.run(
            [sys.executable, __file__, "--data", str(args.data), "--write", str(args.write), "--mode", mode],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    print(json.dumps({"load": os.getloadavg()[0], "results": results}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
