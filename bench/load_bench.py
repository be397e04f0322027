"""A bounded mixed load that must hold (issue 16, item 4).

    .venv/bin/python bench/load_bench.py [--firms 100000 | --store PATH] [--clients 50] [--duration 60]
                                         [--import-firms 50000] [--database sqlite|postgresql]
                                         [--pg-port 54xx] [--graph embedded|neo4j] [--neo4j-port 77xx]
                                         [--data DIR] [--log FILE] [--out docs/BENCHMARKS.md]

A script, not a test; loopback only; it stops by itself after --duration seconds. Steps:

1. an instance: the embedded graph store with --firms synthetic firms (seed.loader), or a copy of
   the prebuilt store --store PATH (copied once into --data, so the source is never opened, changed
   or locked); and a CRM (bench/crm_bench.py's generator: 8 teams × 5 recruiters, managers, a
   leader; --leads leads). The CRM is SQLite in --data, or with --database postgresql this
   checkout's throw-away server started on --pg-port (scripts/postgres.sh, stopped and removed at
   the end; without --pg-port the server named by PGPORT). With --graph neo4j the bench starts its
   own Neo4j on --neo4j-port (scripts/neo4j.sh: its data is wiped; refused if the port answers) and
   loads the run's embedded store into it with `lianzhao graph bulk-load --from-embedded`
   (neo4j-admin's offline import, docs/NEO4J.md); the server, the import and the checks then use
   Neo4j, and the server is stopped at the end;
2. `lianzhao serve --workers 2 --threads 4` (gunicorn) on --port or a free loopback port;
3. --clients logged-in users (recruiters, managers, the leader), each in its own thread, loop:
   think 1–3 s, then one action — page views (我的线索, a lead page, the team board, 驾驶舱, a
   chain-gap graph, a target list) or a write (a lead edit: notes on the lead page's form with its
   version; an activity: 记跟进 on one of the client's own leads);
4. at a third of the run, `lianzhao import companies` of --import-firms new firms runs as another
   process (as an administrator would), so every worker has to catch up with a large write;
5. at the end: errors (exceptions, 5xx, 4xx other than expected), page latency p50/p95 overall,
   during and after the import, writes acknowledged vs found in the CRM database, and the firms
   the graph store holds against the import file's rows (every row is a new credit code).

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
import shutil
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


def prepare_graph(folder: Path, firms: int, source: Path | None) -> int:
    """graph.base.sqlite3 in `folder`: a copy of --store `source` (never opened in place, so it is
    never changed or locked), or `firms` synthetic firms built by seed.loader. Done once per folder
    (graph.json says what it holds); returns the number of firms in it."""
    from graph.nx_store import NetworkxStore
    from seed.loader import seed_store

    base, marker = folder / "graph.base.sqlite3", folder / "graph.json"
    want = store_identity(source) if source is not None else {"firms": firms}
    if base.exists() and marker.exists() and json.loads(marker.read_text()).get("source") == want:
        return int(json.loads(marker.read_text())["count"])
    older = folder / "prepared.json"  # a folder of the bench before graph.json: its firms are reused
    if source is None and base.exists() and not marker.exists() and older.exists():
        if json.loads(older.read_text()).get("firms") == firms:
            store = NetworkxStore(base)
            count = store.company_count()
            store.close()
            marker.write_text(json.dumps({"source": want, "count": count}))
            return count
    for suffix in ("", "-wal", "-shm"):
        Path(f"{base}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    if source is not None:
        wal = Path(f"{source}-wal")
        if wal.exists() and wal.stat().st_size:
            raise SystemExit(f"{source} 正被写入（有未合并的 {wal.name}）：等写入结束后再复制")
        shutil.copyfile(source, base)
    store = NetworkxStore(base)
    if source is None:
        seed_store(store, n_synthetic=firms)
    count = store.company_count()
    store.close()
    print(
        f"  图存储：{count:,} 家企业（{'复制自 ' + str(source) if source else '新建'}），{time.perf_counter() - t0:.0f} 秒"
    )
    marker.write_text(json.dumps({"source": want, "count": count}))
    return count


def store_identity(path: Path) -> dict:
    """What a prebuilt store file is, for reusing its copy: path, size and modification time."""
    st = path.stat()
    return {"store": str(path.resolve()), "size": st.st_size, "mtime": st.st_mtime_ns}


def prepare_crm(folder: Path, leads: int, activities: int, db_url: str, fresh: bool) -> None:
    """The CRM (bench/crm_bench.py's generator): kept between runs unless `fresh` or it changed."""
    import crm_bench

    from crm.db import make_engine, make_session_factory, upgrade
    from lianzhao.config import load_config

    marker = folder / "prepared.json"
    want = {"leads": leads, "db": db_url}
    if not fresh and marker.exists() and json.loads(marker.read_text()) == want:
        return
    if db_url.startswith("sqlite:"):
        (folder / "crm.sqlite3").unlink(missing_ok=True)
    t0 = time.perf_counter()
    cfg = load_config(env={})
    cfg["database"]["url"] = db_url
    engine = make_engine(cfg)
    upgrade(engine)
    crm_bench.generate(make_session_factory(engine), leads, activities)
    engine.dispose()
    print(f"  业务库：{leads:,} 条线索，{time.perf_counter() - t0:.0f} 秒")
    marker.write_text(json.dumps(want))


# ----------------------------------------------------------------------------- own servers


def parse_exports(text: str) -> dict[str, str]:
    """`export A=1; export B=2` lines (what scripts/neo4j.sh and postgres.sh print) as a dict."""
    found = {}
    for m in re.finditer(r"export\s+([A-Z_][A-Z0-9_]*)=([^;\s]*)", text):
        found[m.group(1)] = m.group(2)
    return found


def _port_answers(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _script(name: str, action: str, env: dict) -> str:
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / name), action],
        env={**os.environ, **env}, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"scripts/{name} {action} 失败：{done.stderr[-2000:]}")
    return done.stdout


def start_neo4j(port: int, heap: str, pagecache: str) -> dict[str, str]:
    """A Neo4j of this bench's own on `port` (scripts/neo4j.sh; data wiped at start and stop)."""
    if _port_answers(port):
        raise SystemExit(
            f"端口 {port} 已有服务在监听：请用 --neo4j-port 换一个空闲端口（本脚本会清空它的数据）"
        )
    env = {"NEO4J_PORT": str(port), "NEO4J_HEAP": heap, "NEO4J_PAGECACHE": pagecache}
    exports = parse_exports(_script("neo4j.sh", "start", env))
    if "NEO4J_PASSWORD" not in exports:
        raise SystemExit("scripts/neo4j.sh start 没有给出 NEO4J_PASSWORD")
    return exports


def stop_neo4j(port: int) -> None:
    _script("neo4j.sh", "stop", {"NEO4J_PORT": str(port)})


def neo4j_pid(port: int) -> int | None:
    pid_file = ROOT / ".neo4j" / f"server-{port}" / "neo4j.pid"
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def start_postgres(port: int) -> str:
    """This checkout's throw-away PostgreSQL (scripts/postgres.sh) on `port`; its URL for the
    database lianzhao_load (created here)."""
    from sqlalchemy import create_engine, text

    if (ROOT / ".pgdata").exists():
        raise SystemExit(
            f"{ROOT / '.pgdata'} 已存在（本检出的 PostgreSQL 正在运行或未清理）：先 PGPORT=… bash scripts/postgres.sh stop"
        )
    if _port_answers(port):
        raise SystemExit(f"端口 {port} 已有服务在监听：请用 --pg-port 换一个空闲端口")
    test_url = parse_exports(_script("postgres.sh", "start", {"PGPORT": str(port)}))["LIANZHAO_TEST_PG_URL"]
    url = test_url.rsplit("/", 1)[0] + "/lianzhao_load"
    try:
        engine = create_engine(test_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE lianzhao_load"))
        engine.dispose()
    except BaseException:
        stop_postgres(port)  # started here: not left running when the run cannot go on
        raise
    return url


def stop_postgres(port: int) -> None:
    _script("postgres.sh", "stop", {"PGPORT": str(port)})


def postgres_pid() -> int | None:
    try:
        data = (ROOT / ".pgdata" / "location").read_text().strip()
        return int(Path(data, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


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


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of a process and its live children (a PostgreSQL postmaster and its backends;
    exited backends are in the postmaster's children's time)."""
    if pid is None:
        return 0.0
    kids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == pid]
    return proc_cpu(pid) + sum(proc_cpu(k) for k in kids)


def graph_count(cfg_file: Path, env: dict) -> int:
    """Firms in the run's graph store (the configured backend), read by the ordinary store."""
    from graph.backends import open_graph_store
    from lianzhao.config import load_config

    with open_graph_store(load_config(cfg_file, env=env)) as store:
        return store.company_count()


def csv_rows(path: Path) -> int:
    """Data rows of a CSV file (header excluded)."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def run(args) -> dict:
    folder = args.data
    folder.mkdir(parents=True, exist_ok=True)
    stack: list = []  # servers of our own, stopped in reverse order whatever happens
    try:
        return _run(args, folder, stack)
    finally:
        for stop in reversed(stack):
            try:
                stop()
            except BaseException as exc:  # noqa: BLE001 — the next server must still be stopped
                print(f"  停止服务失败：{exc}", file=sys.stderr)


def _run(args, folder: Path, stack: list) -> dict:
    from sqlalchemy import create_engine, text

    fresh_crm = False
    if args.graph == "neo4j" and _port_answers(args.neo4j_port):  # before minutes of preparation
        raise SystemExit(f"端口 {args.neo4j_port} 已有服务在监听：请用 --neo4j-port 换一个空闲端口")
    if args.database == "postgresql" and args.pg_port:
        db_url = start_postgres(args.pg_port)
        stack.append(lambda: stop_postgres(args.pg_port))
        fresh_crm = True  # a new server each run (scripts/postgres.sh stop removes its data)
    elif args.database == "postgresql":
        port = os.environ.get("PGPORT")
        if not port:
            raise SystemExit(
                '--pg-port 54xx（本脚本启动自己的 PostgreSQL），或先 eval "$(PGPORT=54xx bash scripts/postgres.sh start)"'
            )
        db_url = (
            os.environ.get("LIANZHAO_DATABASE_URL")
            or f"postgresql+psycopg://postgres@127.0.0.1:{port}/lianzhao_load"
        )
    else:
        db_url = f"sqlite:///{folder / 'crm.sqlite3'}"
    print(f"准备数据（{folder}）…")
    firms = prepare_graph(folder, args.firms, args.store)
    prepare_crm(folder, args.leads, args.leads * 10, db_url, fresh_crm)
    csv_file = import_file(folder, args.import_firms) if args.import_firms else None

    for suffix in ("-wal", "-shm"):
        Path(f"{folder / 'graph.sqlite3'}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(folder / "graph.base.sqlite3", folder / "graph.sqlite3")  # every run: the same firms
    cfg_text = (
        f'[instance]\npath = "{folder}"\n[database]\nurl = "{db_url}"\n'
        f"[web]\nstale_analysis = {'false' if args.strict_analysis else 'true'}\n"
    )
    env = {**os.environ, "LIANZHAO_SECRET_KEY": SECRET}
    for key in ("LIANZHAO_GRAPH_BACKEND", "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"):
        env.pop(key, None)  # the run's config file alone names its graph store
    lianzhao = str(Path(sys.executable).parent / "lianzhao")
    cfg_file = folder / "load_config.toml"
    bulk: dict = {}
    if args.graph == "neo4j":
        exports = start_neo4j(args.neo4j_port, args.neo4j_heap, args.neo4j_pagecache)
        stack.append(lambda: stop_neo4j(args.neo4j_port))
        env["NEO4J_USER"], env["NEO4J_PASSWORD"] = exports["NEO4J_USER"], exports["NEO4J_PASSWORD"]
        # bulk-load stops and starts the server: with the same memory
        env["NEO4J_HEAP"], env["NEO4J_PAGECACHE"] = args.neo4j_heap, args.neo4j_pagecache
        cfg_text += f'[graph]\nbackend = "neo4j"\n[neo4j]\nuri = "bolt://127.0.0.1:{args.neo4j_port}"\n'
        cfg_file.write_text(cfg_text)
        # the firms into Neo4j: neo4j-admin's offline import of the run's embedded store (docs/NEO4J.md)
        t = time.perf_counter()
        p = subprocess.run(
            [lianzhao, "--config", str(cfg_file), "graph", "bulk-load", "--from-embedded", "--yes"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if p.returncode != 0:
            raise SystemExit("装载 Neo4j 失败：" + (p.stdout + p.stderr)[-3000:])
        bulk = {"s": time.perf_counter() - t, "tail": p.stdout.strip().splitlines()[-1:]}
        shutil.rmtree(folder / "neo4j-import", ignore_errors=True)  # its CSV files: ~1 GB per 1M firms
        print(f"  Neo4j 装载用时 {bulk['s']:.0f} 秒：{bulk['tail'][0] if bulk['tail'] else ''}")
    else:
        cfg_file.write_text(cfg_text + '[graph]\nbackend = "networkx"\n')
    graph_before = graph_count(cfg_file, env)
    if graph_before != firms:
        raise SystemExit(f"图存储中有 {graph_before:,} 家企业，应为 {firms:,}")

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

    port = args.port or _free_port()
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
        db_pids = [neo4j_pid(args.neo4j_port)] if args.graph == "neo4j" else []
        db_pids += [postgres_pid()] if args.database == "postgresql" and args.pg_port else []
        db_cpu0 = sum(tree_cpu(p) for p in db_pids)
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
        db_cpu = sum(tree_cpu(p) for p in db_pids) - db_cpu0
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
    # the import's firms: all of them in the graph afterwards (new credit codes: each one a new firm)
    graph_after = graph_count(cfg_file, env)
    import_rows = csv_rows(csv_file) if csv_file is not None else 0
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
        "graph": args.graph,
        "store": str(args.store) if args.store else None,
        "bulk_load": bulk,
        "stale_analysis": not args.strict_analysis,
        "firms": firms,
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
        "graph_before": graph_before,
        "graph_after": graph_after,
        "import_rows": import_rows,
        "import_missing": max(0, import_rows - (graph_after - graph_before)),
        "server_cpu_s": cpu,
        "db_cpu_s": db_cpu if db_pids else None,
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


HEADER = (
    "| run | graph | CRM | server | firms | import | import in graph | clients × s | requests | errors "
    "| page p50 / p95 ms (wall) | page p50 / p95 ms (server) | wall p95 before / during / after import "
    "| writes ok / stored | lost | server CPU s | graph + CRM server CPU s | load avg |"
)


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
        "client's wall time (transfer included). Graph `neo4j`: the bench's own Neo4j, loaded by "
        "`lianzhao graph bulk-load --from-embedded` before the run; 'import in graph' counts the firms "
        "the graph store holds afterwards against the import file's rows. 'lost': acknowledged CRM "
        "writes not found in the CRM database afterwards.",
        "",
        HEADER,
        "| --- | --- | --- | --- | ---: | --- | --- | --- | ---: | ---: | --- | --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    lines += [markdown_row(r) for r in runs]
    lines.append(END)
    return "\n".join(lines)


def markdown_row(r: dict) -> str:
    """One run as a row of HEADER (runs logged before the graph column count as embedded)."""
    imp = r.get("import") or {}
    span = (
        f"{r['import_firms']:,} firms, {imp.get('start', 0):.0f}–{imp.get('end', 0):.0f} s (rc {imp.get('rc')})"
        if imp
        else "—"
    )
    in_graph = (
        f"{r['graph_after'] - r['graph_before']:,} of {r['import_rows']:,}"
        if imp and "import_rows" in r
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
    db_cpu = f"{r['db_cpu_s']:.0f}" if r.get("db_cpu_s") is not None else "—"
    lost = r["edits_lost"] + max(0, r["acts_sent_ok"] - r["acts_stored"])
    return (
        f"| {r['measured']} at {r['git']} | {r.get('graph', 'embedded')} | {r['database']} | {mode} | "
        f"{r['firms']:,} | {span} | {in_graph} | {r['clients']} × {r['duration']} | {r['requests']:,} | "
        f"{r['errors']} | {r['page_p50']:.0f} / {r['page_p95']:.0f} | {server_ms} | {pha} | {writes} | "
        f"{lost} | {r['server_cpu_s']:.0f} of {r['wall_s']:.0f} wall | {db_cpu} | "
        f"{r['load_before']:.1f} → {r['load_after']:.1f} |"
    )


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
    parser.add_argument(
        "--pg-port", type=int, default=None,
        help="start this checkout's PostgreSQL (scripts/postgres.sh) on this port and stop it at the end; "
        "without it --database postgresql uses the server named by PGPORT",
    )  # fmt: skip
    parser.add_argument("--graph", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument(
        "--neo4j-port", type=int, default=7688,
        help="--graph neo4j: the bench's own Neo4j (scripts/neo4j.sh) on this port, wiped, stopped at the end",
    )  # fmt: skip
    parser.add_argument(
        "--neo4j-heap", default="2g", help="NEO4J_HEAP (the mid-run import is one transaction)"
    )
    parser.add_argument(
        "--neo4j-pagecache", default="1g", help="NEO4J_PAGECACHE (≈ 1 GB of store per 1M firms)"
    )
    parser.add_argument(
        "--store", type=Path, default=None,
        help="a prebuilt embedded store (graph.sqlite3) to copy instead of building --firms firms",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=0, help="web port (default: a free one)")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "lianzhao-load-bench")
    parser.add_argument(
        "--log", type=Path, default=None, help="JSON log of runs (default: <data>/load_runs.json)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="append this run's row to the JSON log and rewrite the section"
    )
    args = parser.parse_args()
    if args.store is not None and not args.store.is_file():
        parser.error(f"--store {args.store}：文件不存在")
    result = run(args)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    log = args.log or args.data / "load_runs.json"
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
