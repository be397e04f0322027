"""Uncached lead-list throughput against the bare Flask + SQLAlchemy floor, measured in ONE run
(issue 16, item 1).

    .venv/bin/python bench/web_speed_bench.py [--data DIR] [--duration 15] [--connections 8]
                                              [--workers 2] [--threads 2] [--out docs/BENCHMARKS.md]

A script, not a test. Steps:

1. data: the 20,000 leads / 200,000 activities of bench/web2_bench.py (reused from --data if there);
2. the two SQL statements the lead list runs for its rows (the ranked page of ids and the 50 rows
   shown) are captured from one real request, with their parameters;
3. the product: `lianzhao serve --workers N` (gunicorn) on a free loopback port, logged in as a
   recruiter; the floor: a bare Flask app (no login, no CSRF, no layout) that runs the same two
   statements through SQLAlchemy and renders the 50 rows in a 7-column Jinja table, under the same
   gunicorn settings;
4. `wrk` against each for --duration seconds with a throw-away query parameter on every request
   (`?nocache=N`), so the product's render cache (keyed on the full path) never hits: every request
   ranks, loads and renders. A cached run (same URL each time) is measured separately and reported
   apart, never mixed with the uncached figure;
5. CPU per request: user + system CPU of the worker processes (/proc/PID/stat) over the run divided by
   the requests served; the load generator's own CPU is not in it.

Goal: >= 300 requests/s uncached with two workers on 2 cores, and <= 1.5x the floor's CPU/request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import web2_bench  # noqa: E402

START, END = "<!-- web-speed-bench:start -->", "<!-- web-speed-bench:end -->"
USER = "rec_nev_0"
SECRET = "bench-secret"
TICKS = os.sysconf("SC_CLK_TCK")

FLOOR_APP = '''
"""The floor: bare Flask + SQLAlchemy, the lead list's two statements, 50 rows, one flat table."""
import json, os
from flask import Flask, render_template_string
from sqlalchemy import create_engine

spec = json.load(open(os.environ["FLOOR_SPEC"]))
engine = create_engine(spec["url"])
app = Flask(__name__)
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>线索</title></head><body>
<table><thead><tr><th>企业</th><th>补链环节</th><th>阶段</th><th>投资</th><th>更新</th><th>负责人</th><th>操作</th></tr></thead>
<tbody>{% for r in rows %}<tr data-id="{{ r[0] }}"><td><a href="/leads/{{ r[0] }}">{{ r[1] }}</a></td>
<td>{{ r[2] }} · {{ r[3] }}</td><td>{{ r[4] }}</td><td>{{ r[5] }}</td><td>{{ r[6] }}</td><td>{{ r[-1] }}</td>
<td><form method="post" action="/leads/{{ r[0] }}/stage"><button>推进</button></form></td></tr>{% endfor %}
</tbody></table></body></html>"""

@app.get("/leads/")
def leads():
    with engine.connect() as conn:
        ranked = conn.exec_driver_sql(spec["sql1"], tuple(spec["params1"])).all()
        rows = conn.exec_driver_sql(spec["sql2"], tuple(spec["params2"])).all()
    assert len(ranked) == len(rows)
    return render_template_string(PAGE, rows=rows)
'''


def capture(cfg: dict) -> dict:
    """The lead list's ranked-ids statement and its rows statement, as the product sends them."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from web import create_app

    app = create_app(cfg)
    client = app.test_client()
    token = web2_bench.TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": USER, "password": web2_bench.PASSWORD, "csrf_token": token})
    client.get("/leads/?warm=1")
    seen: list[tuple[str, tuple]] = []

    def listen(conn, cursor, statement, params, context, executemany):
        seen.append((statement, tuple(params)))

    event.listen(Engine, "before_cursor_execute", listen)
    try:
        assert client.get("/leads/?capture=1").status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
    lead_sql = [
        (sql, params) for sql, params in seen if re.search(r"\bFROM leads\b", sql) and "max(" not in sql
    ]
    if len(lead_sql) < 2:
        raise SystemExit(f"未找到线索列表的两条 SQL：{[s[:60] for s, _ in seen]}")
    (sql1, p1), (sql2, p2) = lead_sql[0], lead_sql[1]
    return {
        "url": cfg["database"]["url"],
        "sql1": sql1,
        "params1": [str(p) if isinstance(p, dt.date | dt.datetime) else p for p in p1],
        "sql2": sql2,
        "params2": list(p2),
        "statements_per_request": len(seen),
        "statements": [_short(s) for s, _ in seen],
    }


def _short(sql: str) -> str:
    """SELECT's first columns and its FROM table, for the report."""
    flat = " ".join(sql.split())
    head, _, tail = flat.partition(" FROM ")
    return (head[:40] + "…" if len(head) > 40 else head) + (" FROM " + tail.split(" ")[0] if tail else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, path: str = "/healthz", seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"端口 {port} 上的服务没有启动")


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / TICKS


def run_wrk(url: str, cookie: str | None, duration: int, connections: int, uncached: bool, pids) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    script = None
    if uncached:
        fd, script = tempfile.mkstemp(suffix=".lua")
        with os.fdopen(fd, "w") as fh:
            fh.write(web2_bench.UNCACHED_LUA)
        cmd[1:1] = ["-s", script]
    load0 = os.getloadavg()[0]
    cpu0, t0 = cpu_seconds(pids), time.perf_counter()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        if script:
            os.unlink(script)
    cpu, wall = cpu_seconds(pids) - cpu0, time.perf_counter() - t0
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def ms(label):
        m = re.search(rf"{label}%\s+([\d.]+)(\w+)", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}.get(m.group(2), 1)

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": total,
        "p50": ms("50"),
        "p99": ms("99"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "cpu_ms_per_request": cpu / max(1, total) * 1000,
        "cpu_share": cpu / wall,
        "load": load0,
    }


def start(cmd: list[str], env: dict, port: int, path: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    wait_up(port, path)
    time.sleep(1.0)  # the workers' warm-up thread (analysis) is done before measuring
    return proc


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def run(args) -> dict:
    folder = args.data
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "crm.sqlite3").exists():
        print("准备 20,000 条线索、200,000 条跟进 …")
        web2_bench.prepare(folder, 20000, 200000)
    cfg = web2_bench._cfg(folder)
    spec = capture(cfg)
    spec_file = folder / "floor_spec.json"
    spec_file.write_text(json.dumps(spec, ensure_ascii=False))
    (folder / "floor_app.py").write_text(FLOOR_APP)
    (folder / "bench_config.toml").write_text(
        f'[instance]\npath = "{folder}"\n[database]\nurl = "{cfg["database"]["url"]}"\n'
    )
    env = {**os.environ, "LIANZHAO_SECRET_KEY": SECRET, "FLOOR_SPEC": str(spec_file)}
    lianzhao = str(Path(sys.executable).parent / "lianzhao")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    r: dict = {
        "measured": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "workers": args.workers,
        "threads": args.threads,
        "duration": args.duration,
        "connections": args.connections,
        "statements": spec["statements"],
    }
    for round_no in range(args.rounds):
        for name in ("floor", "product"):
            port = free_port()
            if name == "product":
                cmd = [lianzhao, "--config", str(folder / "bench_config.toml"), "serve",
                       "--workers", str(args.workers), "--threads", str(args.threads), "--port", str(port)]  # fmt: skip
                proc = start(cmd, env, port, "/healthz")
                client = web2_bench.Client(f"http://127.0.0.1:{port}")
                client.login(USER)
                cookie = client.cookie_header()
            else:
                cmd = [gunicorn, "--chdir", str(folder), "-w", str(args.workers), "--threads", str(args.threads),
                       "-k", "gthread" if args.threads > 1 else "sync", "-b", f"127.0.0.1:{port}",
                       "--log-level", "warning", "floor_app:app"]  # fmt: skip
                proc = start(cmd, env, port, "/leads/")
                cookie = None
            try:
                pids = children(proc.pid) or [proc.pid]
                url = f"http://127.0.0.1:{port}/leads/"
                run_wrk(url, cookie, 3, args.connections, True, pids)  # warm-up
                key = f"{name}_uncached"
                res = run_wrk(url, cookie, args.duration, args.connections, True, pids)
                r.setdefault(key, []).append(res)
                print(f"  {key:<18} {res['rps']:7.1f} 请求/秒  CPU {res['cpu_ms_per_request']:5.2f} ms/请求  "
                      f"p50 {res['p50']:.1f} ms  p99 {res['p99']:.1f} ms  非 2xx {res['non2xx']}  负载 {res['load']:.1f}")  # fmt: skip
                if name == "product" and round_no == 0:
                    res = run_wrk(url, cookie, args.duration, args.connections, False, pids)
                    r.setdefault("product_cached", []).append(res)
                    print(f"  product_cached     {res['rps']:7.1f} 请求/秒  CPU {res['cpu_ms_per_request']:5.2f} ms/请求 (渲染缓存命中，另列)")  # fmt: skip
            finally:
                stop(proc)
    r["load_after"] = os.getloadavg()[0]
    return r


def best_round(r: dict) -> int:
    """The round whose product run served the most requests/s (the least disturbed by other jobs on
    the shared cores); product and floor are compared within that round, never across rounds."""
    runs = r["product_uncached"]
    return max(range(len(runs)), key=lambda i: runs[i]["rps"])


def markdown(r: dict, args) -> str:
    i = best_round(r)
    p, f = r["product_uncached"][i], r["floor_uncached"][i]
    ratio = p["cpu_ms_per_request"] / f["cpu_ms_per_request"]
    lines = [
        START,
        "## Web: uncached lead list against the framework floor (issue 16, item 1)",
        "",
        f"Measured {r['measured']} at {r['git']} with `nice -n -5 .venv/bin/python bench/web_speed_bench.py "
        f"--duration {args.duration} --connections {args.connections} --workers {args.workers} --threads "
        f"{args.threads} --rounds {args.rounds}`. Data: 20,000 leads, 200,000 activities (bench/web2_bench.py); "
        f"我的线索 of `{USER}` (394 leads, page 1 = 50 rows). Product: `lianzhao serve --workers {args.workers} "
        f"--threads {args.threads}` (gunicorn, gthread). Floor: a bare Flask app under the same gunicorn "
        "settings running the same two SQL statements through SQLAlchemy (captured from a real request, "
        "same parameters) and rendering 50 rows in a flat 7-column Jinja table, no login or layout. "
        "Both behind wrk on the same 2 cores (wrk shares them). Every request carries a new `?nocache=N`, "
        "so the product's render cache (keyed on the full path) never hits. CPU/request: user + system "
        "CPU of the worker processes over the run ÷ requests served. The round shown is the one of "
        f"{args.rounds} alternating rounds (floor, then product) where the product served most (least disturbed); "
        "all rounds are listed below.",
        "",
        "| server | req/s | CPU ms/request | p50 ms | p99 ms | non-2xx | load avg (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, res in (("floor (bare Flask + SQLAlchemy), uncached", f), ("LianZhao /leads/, uncached", p)):
        lines.append(
            f"| {label} | {res['rps']:.0f} | {res['cpu_ms_per_request']:.2f} | {res['p50']:.1f} | "
            f"{res['p99']:.1f} | {res['non2xx']} | {res['load']:.1f} |"
        )
    if r.get("product_cached"):
        c = r["product_cached"][0]
        lines += [
            "",
            f"Apart (render-cache hits, not the goal's figure): the same page requested with one URL "
            f"serves {c['rps']:.0f} req/s at {c['cpu_ms_per_request']:.2f} ms CPU/request.",
        ]
    rounds = "; ".join(
        f"{a['rps']:.0f} vs {b['rps']:.0f} req/s ({a['cpu_ms_per_request']:.2f} vs {b['cpu_ms_per_request']:.2f} ms, "
        f"{a['cpu_ms_per_request'] / b['cpu_ms_per_request']:.2f}×)"
        for a, b in zip(r["product_uncached"], r["floor_uncached"], strict=False)
    )
    lines += [
        "",
        f"All rounds, product vs floor: {rounds}. Load average after: {r['load_after']:.1f}.",
        "",
        f"- ≥ 300 req/s uncached with two workers: **{'met' if p['rps'] >= 300 else 'missed'}** ({p['rps']:.0f} req/s).",
        f"- ≤ 1.5× the floor's CPU per request: **{'met' if ratio <= 1.5 else 'missed'}** ({ratio:.2f}×: "
        f"{p['cpu_ms_per_request']:.2f} ms against {f['cpu_ms_per_request']:.2f} ms).",
        "",
        "Statements per product request: " + "; ".join(f"`{s}`" for s in r["statements"]) + ".",
        END,
    ]
    return "\n".join(lines)


def write_docs(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8")
    if START in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="uncached lead list vs bare Flask floor")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "lianzhao-web-speed")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--from-json", action="store_true", help="rewrite the section from the last run's JSON"
    )
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.from_json:
        raise SystemExit("需要 wrk（Debian：apt-get install wrk）")
    if args.from_json:
        result = json.loads((args.data / "web_speed_result.json").read_text())
    else:
        result = run(args)
    section = markdown(result, args)
    print(section)
    (args.data / "web_speed_result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        write_docs(args.out, section)
        print(f"已写入 {args.out}")


if __name__ == "__main__":
    main()
