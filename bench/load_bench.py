"""A bounded mixed load that must hold (issue 16, item 4).

    .venv/bin/python bench/load_bench.py [--firms 100000] [--clients 50] [--duration 60]
                                         [--import-firms 50000] [--database sqlite|postgresql]
                                         [--data DIR] [--out docs/BENCHMARKS.md]

A script, not a test; loopback only; it stops by itself after --duration seconds. Steps:

1. an instance with --firms synthetic firms in the embedded graph store (seed.loader) and a CRM
   (bench/crm_bench.py's generator: 8 teams × 5 recruiters, managers, a leader; --leads leads);
   --database postgresql uses the server of `scripts/postgres.sh` (PGPORT) instead of SQLite;
2. `lianzhao serve --workers 2 --threads 4` (gunicorn) on a free loopback port;
3. --clients logged-in users (recruiters, managers, the leader), each in its own thread, loop:
   think 1–3 s, then one action — page views (我的线索, a lead page, the team board, 驾驶舱, a
   chain-gap graph, a target list) or a write (a lead edit: notes on the lead page's form with its
   version; an activity: 记跟进 on one of the client's own leads);
4. at a third of the run, `lianzhao import companies` of --import-firms new firms runs as another
   process (as an administrator would), so every worker has to catch up with a large write;
5. at the end: errors (exceptions, 5xx, 4xx other than expected), page latency p50/p95 overall,
   during and after the import, and writes acknowledged vs found in the CRM database.

Goals: 0 errors, page p95 <= 300 ms, no write lost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

START, END = "<!-- load-bench:start -->", "<!-- load-bench:end -->"
PASSWORD = "Bench#Password1"
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
MARK = "压测"
SECRET = "load-bench-secret"
AFTER_IMPORT_S = 20  # the load goes on at least this long after the import ended (the catch-up)


# ----------------------------------------------------------------------------- preparation


def prepare(folder: Path, firms: int, leads: int, activities: int, db_url: str) -> None:
    import crm_bench

    from crm.db import make_engine, make_session_factory, upgrade
    from graph.nx_store import NetworkxStore
    from lianzhao.config import load_config
    from seed.loader import seed_store

    t0 = time.perf_counter()
    store = NetworkxStore(folder / "graph.sqlite3")
    seed_store(store, n_synthetic=firms)
    store.close()
    print(f"  图存储：{firms:,} 家企业，{time.perf_counter() - t0:.0f} 秒")
    cfg = load_config(env={})
    cfg["database"]["url"] = db_url
    engine = make_engine(cfg)
    upgrade(engine)
    crm_bench.generate(make_session_factory(engine), leads, activities)
    engine.dispose()
    (folder / "prepared.json").write_text(json.dumps({"firms": firms, "leads": leads, "db": db_url}))


def import_file(folder: Path, n: int) -> Path:
    """--import-firms new synthetic firms (another seed: new credit codes) as an import CSV."""
    import graph_bench

    from seed.loader import load_structure

    out = folder / f"import-{n}"
    out.mkdir(exist_ok=True)
    if not (out / "companies.csv").exists():
        graph_bench.write_dataset(load_structure(), n, out, seed=20261202)
    return out / "companies.csv"


# ----------------------------------------------------------------------------- clients


def _server_ms(header: str) -> float | None:
    m = re.search(r"dur=([\d.]+)", header)
    return float(m.group(1)) if m else None


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[float, str, str, float]] = []  # (t, kind, name, ms)
        self.server: list[float] = []  # the app's own time of page views (Server-Timing)
        self.errors: list[str] = []
        self.acts_ok: list[str] = []
        self.edits_ok: dict[int, str] = {}  # lead id -> last acknowledged notes

    def add(self, kind: str, name: str, ms: float) -> None:
        with self.lock:
            self.samples.append((time.monotonic(), kind, name, ms))

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


class User:
    def __init__(self, base: str, username: str, leads: list[int], stats: Stats, rng: random.Random):
        self.base, self.username, self.leads, self.stats, self.rng = base, username, leads, stats, rng
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("User-Agent", "lianzhao-load-bench")]
        self.token = ""
        self.n = 0
        self.server_ms: float | None = None

    def _open(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=60) as resp:
                self.server_ms = _server_ms(resp.headers.get("Server-Timing", ""))
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def timed(self, kind: str, name: str, path: str, data: dict | None = None) -> str | None:
        t0 = time.perf_counter()
        try:
            status, text = self._open(path, data)
        except Exception as exc:  # a refused or reset connection is an error of the run
            self.stats.error(f"{self.username} {path}: {type(exc).__name__} {exc}")
            return None
        self.stats.add(kind, name, (time.perf_counter() - t0) * 1000)
        if kind == "page" and self.server_ms is not None:
            with self.stats.lock:
                self.stats.server.append(self.server_ms)
        if status >= 400:
            self.stats.error(f"{self.username} {path}: HTTP {status}")
            return None
        m = TOKEN.search(text)
        if m:
            self.token = m.group(1)
        return text

    def login(self) -> None:
        status, text = self._open("/login")
        self.token = TOKEN.search(text).group(1)
        status, text = self._open(
            "/login", {"username": self.username, "password": PASSWORD, "csrf_token": self.token}
        )
        if "退出" not in text and "logout" not in text:
            raise SystemExit(f"{self.username} 登录失败")
        self.token = TOKEN.search(text).group(1)

    def act(self, chains: list[str]) -> None:
        r = self.rng.random()
        role = (
            "leader"
            if self.username == "leader"
            else ("manager" if self.username.startswith("mgr_") else "rec")
        )
        if role == "leader":
            choice = self.rng.choice(
                [
                    ("/dashboard/", "驾驶舱"),
                    ("/leads/", "全部线索"),
                    ("/chains/" + self.rng.choice(chains), "产业链图谱"),
                    ("/targets/?chain=" + self.rng.choice(chains), "补链目标"),
                ]  # fmt: skip
            )
            self.timed("page", choice[1], choice[0])
            return
        if role == "manager":
            choice = self.rng.choice(
                [
                    ("/board/", "团队看板"),
                    ("/leads/?scope=team", "本组线索"),
                    ("/chains/" + self.rng.choice(chains), "产业链图谱"),
                ]
            )
            self.timed("page", choice[1], choice[0])
            return
        if r < 0.40 or not self.leads:
            self.timed("page", "我的线索", "/leads/")
        elif r < 0.55:
            self.timed("page", "线索页", f"/leads/{self.rng.choice(self.leads)}")
        elif r < 0.65:
            self.timed("page", "产业链图谱", "/chains/" + self.rng.choice(chains))
        elif r < 0.72:
            self.timed("page", "补链目标", "/targets/?chain=" + self.rng.choice(chains))
        elif r < 0.86:
            self.n += 1
            lead = self.rng.choice(self.leads)
            outcome = f"{MARK}-{self.username}-{self.n}"
            today = dt.date.today().isoformat()
            text = self.timed(
                "write", "记跟进", f"/leads/{lead}/activities",
                {"csrf_token": self.token, "kind": "电话", "occurred_on": today, "outcome": outcome,
                 "next_step": "再次联系", "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat(),
                 "next": f"/leads/{lead}"},
            )  # fmt: skip
            if text is not None and "已登记" in text:
                with self.stats.lock:
                    self.stats.acts_ok.append(outcome)
            elif text is not None:
                self.stats.error(f"{self.username} 记跟进未保存（lead {lead}）")
        else:
            self.n += 1
            lead = self.rng.choice(self.leads)
            page = self.timed("page", "线索页", f"/leads/{lead}")
            m = VERSION.search(page or "")
            if not m:
                return
            notes = f"{MARK}-{self.username}-{self.n}"
            text = self.timed(
                "write", "修改线索", f"/leads/{lead}/details",
                {"csrf_token": self.token, "version": m.group(1), "notes": notes, "next": f"/leads/{lead}"},
            )  # fmt: skip
            if text is not None and "项目信息已保存" in text:
                with self.stats.lock:
                    self.stats.edits_ok[lead] = notes
            elif text is not None:
                self.stats.error(f"{self.username} 修改线索未保存（lead {lead}）")


def client_loop(user: User, chains: list[str], end: dict) -> None:
    while True:
        pause = user.rng.uniform(1.0, 3.0)
        if time.monotonic() + pause >= end["at"]:
            return
        time.sleep(pause)
        try:
            user.act(chains)
        except Exception as exc:
            user.stats.error(f"{user.username}: {type(exc).__name__} {exc}")


# ----------------------------------------------------------------------------- run


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def proc_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def run(args) -> dict:
    from sqlalchemy import create_engine, text

    folder = args.data
    folder.mkdir(parents=True, exist_ok=True)
    if args.database == "postgresql":
        port = os.environ.get("PGPORT")
        if not port:
            raise SystemExit('PostgreSQL：先 eval "$(PGPORT=54xx bash scripts/postgres.sh start)"')
        db_url = (
            os.environ.get("LIANZHAO_DATABASE_URL")
            or f"postgresql+psycopg://postgres@127.0.0.1:{port}/lianzhao_load"
        )
    else:
        db_url = f"sqlite:///{folder / 'crm.sqlite3'}"
    marker = folder / "prepared.json"
    if not marker.exists() or json.loads(marker.read_text()).get("db") != db_url:
        print(f"准备 {args.firms:,} 家企业与 {args.leads:,} 条线索 …")
        if args.database == "sqlite":
            (folder / "crm.sqlite3").unlink(missing_ok=True)
        prepare(folder, args.firms, args.leads, args.leads * 10, db_url)
    csv_file = import_file(folder, args.import_firms) if args.import_firms else None
    import shutil

    base_store = folder / "graph.base.sqlite3"
    if not base_store.exists():
        shutil.copy2(folder / "graph.sqlite3", base_store)
    for suffix in ("-wal", "-shm"):
        Path(f"{folder / 'graph.sqlite3'}{suffix}").unlink(missing_ok=True)
    shutil.copy2(base_store, folder / "graph.sqlite3")  # every run starts from the same firms
    cfg_file = folder / "load_config.toml"
    cfg_file.write_text(
        f'[instance]\npath = "{folder}"\n[database]\nurl = "{db_url}"\n'
        f"[web]\nstale_analysis = {'false' if args.strict_analysis else 'true'}\n"
    )
    env = {**os.environ, "LIANZHAO_SECRET_KEY": SECRET}
    lianzhao = str(Path(sys.executable).parent / "lianzhao")

    engine = create_engine(db_url)
    with engine.connect() as conn:
        owned = conn.execute(
            text(
                "SELECT u.username, l.id FROM leads l JOIN users u ON u.id = l.owner_id WHERE u.role = 'recruiter'"
            )
        ).all()
        users = [
            r[0] for r in conn.execute(text("SELECT username FROM users WHERE is_active ORDER BY id")).all()
        ]
        acts_before = conn.execute(
            text(f"SELECT count(*) FROM activities WHERE outcome LIKE '{MARK}-%'")
        ).scalar()
    by_user: dict[str, list[int]] = {}
    for username, lead_id in owned:
        by_user.setdefault(username, []).append(lead_id)
    from seed.loader import load_structure

    chain_ids = [c.id for c in load_structure().chains]

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [lianzhao, "--config", str(cfg_file), "serve", "--workers", str(args.workers), "--threads",
         str(args.threads), "--port", str(port)],  # fmt: skip
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        t_start = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() - t_start > 120:
                    raise SystemExit("服务没有启动：" + (server.stdout.read() if server.stdout else ""))
                time.sleep(0.5)
        ready_s = time.monotonic() - t_start
        warmed = 0  # every worker prints one line when its analysis is pre-computed (lianzhao serve)
        while warmed < args.workers and time.monotonic() - t_start < 300:
            line = server.stdout.readline() if server.stdout else ""
            warmed += "预先计算" in line
        warm_s = time.monotonic() - t_start
        server_log: list[str] = []
        threading.Thread(
            target=lambda: server_log.extend(server.stdout or []), daemon=True
        ).start()  # keep draining the pipe, so the server never blocks on a full one
        stats = Stats()
        names = (
            [u for u in users if u.startswith("rec_")]
            + [u for u in users if u.startswith("mgr_")]
            + ["leader"]
        )
        names = (names * ((args.clients // len(names)) + 1))[: args.clients]
        clients = []
        for i, name in enumerate(names):
            u = User(base, name, by_user.get(name, []), stats, random.Random(i))
            u.login()
            clients.append(u)
        print(
            f"  {len(clients)} 个已登录的用户，服务就绪用时 {ready_s:.1f} 秒；开始 {args.duration} 秒混合负载"
        )
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == server.pid]
        cpu0 = sum(proc_cpu(p) for p in [server.pid, *workers])
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        end = {"at": t0 + args.duration}  # moved on if the import ends late: AFTER_IMPORT_S of load follow it
        threads = [
            threading.Thread(target=client_loop, args=(u, chain_ids, end), daemon=True) for u in clients
        ]
        for t in threads:
            t.start()
        imp: dict = {}
        if csv_file is not None:
            time.sleep(args.duration / 3)
            end["at"] = float("inf")  # the clients go on while the import runs
            imp["start"] = time.monotonic() - t0
            p = subprocess.run(
                [lianzhao, "--config", str(cfg_file), "import", "companies", "--partial", str(csv_file)],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            imp["end"] = time.monotonic() - t0
            end["at"] = max(t0 + args.duration, time.monotonic() + AFTER_IMPORT_S)
            imp["rc"] = p.returncode
            imp["tail"] = (p.stdout + p.stderr).strip().splitlines()[-2:]
            print(
                f"  导入 {args.import_firms:,} 家企业：{imp['start']:.0f}–{imp['end']:.0f} 秒，退出码 {p.returncode}"
            )
        for t in threads:
            t.join(timeout=60)
        wall = time.monotonic() - t0
        cpu = sum(proc_cpu(p) for p in [server.pid, *workers]) - cpu0
        load1 = os.getloadavg()[0]
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)

    with engine.connect() as conn:
        acts_after = conn.execute(
            text(f"SELECT count(*) FROM activities WHERE outcome LIKE '{MARK}-%'")
        ).scalar()
        stored_notes = dict(
            conn.execute(
                text(f"SELECT id, notes FROM leads WHERE id IN ({','.join(map(str, stats.edits_ok)) or '0'})")
            ).all()
        )
    engine.dispose()
    lost_edits = [lead for lead, notes in stats.edits_ok.items() if stored_notes.get(lead) != notes]
    pages = [s for s in stats.samples if s[1] == "page"]
    writes = [s for s in stats.samples if s[1] == "write"]

    def window(rows, lo, hi):
        return [ms for t, _k, _n, ms in rows if lo <= t - t0 < hi]

    r = {
        "measured": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "database": args.database,
        "stale_analysis": not args.strict_analysis,
        "firms": args.firms,
        "leads": args.leads,
        "clients": args.clients,
        "duration": args.duration,
        "workers": args.workers,
        "threads": args.threads,
        "ready_s": ready_s,
        "warm_s": warm_s,
        "import": imp,
        "import_firms": args.import_firms,
        "requests": len(stats.samples),
        "pages": len(pages),
        "errors": len(stats.errors),
        "error_samples": stats.errors[:10],
        "server_log_tail": server_log[-10:],
        "page_p50": pct([s[3] for s in pages], 0.5),
        "page_p95": pct([s[3] for s in pages], 0.95),
        "page_max": max((s[3] for s in pages), default=float("nan")),
        "page_server_p50": pct(stats.server, 0.5),
        "page_server_p95": pct(stats.server, 0.95),
        "write_p50": pct([s[3] for s in writes], 0.5),
        "write_p95": pct([s[3] for s in writes], 0.95),
        "by_page": {
            name: {"n": len(v), "p50": pct(v, 0.5), "p95": pct(v, 0.95)}
            for name in sorted({s[2] for s in pages})
            for v in [[s[3] for s in pages if s[2] == name]]
        },
        "acts_sent_ok": len(stats.acts_ok),
        "acts_stored": acts_after - acts_before,
        "edits_ok": len(stats.edits_ok),
        "edits_lost": len(lost_edits),
        "server_cpu_s": cpu,
        "wall_s": wall,
        "load_before": load0,
        "load_after": load1,
    }
    if imp:
        lo, hi = imp["start"], imp["end"]
        r["during_import"] = {
            "n": len(window(pages, lo, hi)),
            "p50": pct(window(pages, lo, hi), 0.5),
            "p95": pct(window(pages, lo, hi), 0.95),
        }
        r["after_import"] = {
            "n": len(window(pages, hi, 1e9)),
            "p50": pct(window(pages, hi, 1e9), 0.5),
            "p95": pct(window(pages, hi, 1e9), 0.95),
        }
        r["before_import"] = {
            "n": len(window(pages, 0, lo)),
            "p50": pct(window(pages, 0, lo), 0.5),
            "p95": pct(window(pages, 0, lo), 0.95),
        }
        # per 5-second slice after the import: how long the catch-up hurts
        r["slices"] = [
            (
                round(a),
                pct(window(pages, a, a + 5), 0.5),
                pct(window(pages, a, a + 5), 0.95),
                len(window(pages, a, a + 5)),
            )
            for a in range(0, args.duration, 5)
        ]
    return r


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def markdown(runs: list[dict]) -> str:
    lines = [
        START,
        "## Load that holds (issue 16, item 4)",
        "",
        "`bench/load_bench.py`: loopback only, stops by itself. `lianzhao serve --workers 2 --threads 4` "
        "(gunicorn); N logged-in users in threads of the bench process (the same 2 cores), each thinking "
        "1–3 s between actions: page views (我的线索, lead page, team board, 驾驶舱, chain-gap graph, target "
        "list) and writes (lead edit with its version, 记跟进 on an own lead); at a third of the run "
        "`lianzhao import companies` of new synthetic firms runs as another process. Page latency is the "
        "client's wall time (transfer included).",
        "",
        "| run | CRM | server | firms | import | clients × s | requests | errors | page p50 / p95 ms (wall) | page p50 / p95 ms (server) | wall p95 before / during / after import | writes ok / stored | lost | server CPU s | load avg |",
        "| --- | --- | --- | ---: | --- | --- | ---: | ---: | --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for r in runs:
        imp = r.get("import") or {}
        span = (
            f"{r['import_firms']:,} firms, {imp.get('start', 0):.0f}–{imp.get('end', 0):.0f} s (rc {imp.get('rc')})"
            if imp
            else "—"
        )
        pha = (
            f"{r['before_import']['p95']:.0f} / {r['during_import']['p95']:.0f} / {r['after_import']['p95']:.0f}"
            if imp else "—"
        )  # fmt: skip
        writes = f"{r['acts_sent_ok']} acts / {r['acts_stored']} · {r['edits_ok']} leads edited"
        server_ms = (
            f"{r['page_server_p50']:.0f} / {r['page_server_p95']:.0f}" if r.get("page_server_p50") else "—"
        )
        mode = f"{r['workers']}×{r['threads']}, {'stale' if r.get('stale_analysis', True) else 'strict'}"
        lines.append(
            f"| {r['measured']} at {r['git']} | {r['database']} | {mode} | {r['firms']:,} | {span} | "
            f"{r['clients']} × {r['duration']} | {r['requests']:,} | {r['errors']} | "
            f"{r['page_p50']:.0f} / {r['page_p95']:.0f} | {server_ms} | {pha} | {writes} | "
            f"{r['edits_lost'] + max(0, r['acts_sent_ok'] - r['acts_stored'])} | {r['server_cpu_s']:.0f} of {r['wall_s']:.0f} wall | "
            f"{r['load_before']:.1f} → {r['load_after']:.1f} |"
        )
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="bounded mixed load with an import in the middle")
    parser.add_argument("--firms", type=int, default=100000)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--import-firms", type=int, default=50000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--strict-analysis",
        action="store_true",
        help="[web] stale_analysis = false (the behaviour before issue 16)",
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "lianzhao-load-bench")
    parser.add_argument(
        "--out", type=Path, default=None, help="append this run's row to the JSON log and rewrite the section"
    )
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    log = args.data / "load_runs.json"
    runs = json.loads(log.read_text()) if log.exists() else []
    runs.append(result)
    log.write_text(json.dumps(runs, ensure_ascii=False, indent=1))
    if args.out:
        text = args.out.read_text(encoding="utf-8")
        section = markdown(runs)
        if START in text:
            before, rest = text.split(START, 1)
            text = before + section + rest.split(END, 1)[1]
        else:
            text = text.rstrip() + "\n\n" + section + "\n"
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
