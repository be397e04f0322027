"""筑巢 matching: rank 10 000 resources for one lead; target ≤ 50 ms (issue 14).

Calls the pure function crm.services.spaces_match.match on generated plain data (no database),
as the service does after one query. Prints wall and CPU time (median and p95 of --runs) and
the load average, and with --write appends a section to docs/BENCHMARKS.md.

    .venv/bin/python bench/spaces_bench.py --resources 10000 --runs 50 --write
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import time
from datetime import date, datetime
from pathlib import Path

from crm.services.spaces_match import MatchRules, Need, Resource, ZoneFocus, match
from crm.services.spaces_settings import SpacesSettings
from lianzhao.config import load_config
from seed.loader import load_structure

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 50.0


def generate(n: int, zones: list[str], seed: int = 14) -> list[Resource]:
    rnd = random.Random(seed)
    uses = ["工业/M1", "工业/M2", "研发/M4", "集体经营性建设用地"]
    out = []
    for i in range(n):
        kind = rnd.choices(["land", "factory", "office"], [5, 4, 1])[0]
        status = rnd.choices(["可招商", "意向锁定", "已签约", "已入驻", "暂不可用"], [6, 1, 1, 1, 1])[0]
        if kind == "land":
            mu = round(rnd.uniform(5, 200), 1)
            extra = dict(area_mu=mu, area_m2=mu * 666.7, land_use=rnd.choice(uses), price_wan_per_mu=rnd.uniform(30, 160),
                         readiness=rnd.choice(["七通一平", "五通一平", "三通一平", None]))  # fmt: skip
        else:
            extra = dict(area_m2=round(rnd.uniform(300, 20000)), power_kva=rnd.choice([None, 500, 1000, 2000, 4000]),
                         floor_load_kn=rnd.choice([None, 3, 5, 8, 12]), floor_height_m=rnd.choice([None, 4.2, 6, 8, 10]),
                         rent_yuan=round(rnd.uniform(0.6, 5), 2))  # fmt: skip
        out.append(
            Resource(
                id=i + 1,
                code=f"R{i + 1:05d}",
                name=f"示例载体{i + 1}",
                kind=kind,
                zone_id=rnd.choice(zones),
                available_from=date(2026, rnd.randint(1, 12), 1),
                status=status,
                **extra,
            )
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--write", action="store_true", help="append the result to docs/BENCHMARKS.md")
    args = ap.parse_args()

    structure = load_structure()
    focus = {z.id: ZoneFocus(z.id, z.name, tuple(z.focus_sectors), tuple(z.focus)) for z in structure.zones}
    sp = SpacesSettings.from_config(load_config(env={}))
    rules = MatchRules(sp.area_tolerance, sp.purpose_land_uses, sp.weights)
    resources = generate(args.resources, list(focus))
    needs = {
        "60 亩生产用地（医药）": Need(
            lead_id=1,
            kind="land",
            purpose="生产",
            land_mu_min=60,
            sector_id="medical",
            sector_name="医药健康",
            node_name="高端医疗器械",
            budget_wan_per_mu=100,
            planned_start=date(2026, 12, 31),
        ),  # fmt: skip
        "任意类型（面积 + 用电）": Need(
            lead_id=2, land_mu_min=30, floor_m2_min=3000, power_kva=1000, sector_id="equipment"
        ),
    }
    load_before = os.getloadavg()[0]
    now = datetime(2026, 6, 1)
    rows = []
    for label, need in needs.items():
        match(need, resources, focus, rules, limit=sp.match_limit, now=now)  # warm-up
        walls, cpus = [], []
        for _ in range(args.runs):
            w0, c0 = time.perf_counter(), time.process_time()
            found = match(need, resources, focus, rules, limit=sp.match_limit, now=now)
            cpus.append((time.process_time() - c0) * 1000)
            walls.append((time.perf_counter() - w0) * 1000)
        walls.sort()
        cpus.sort()
        fitting = len(match(need, resources, focus, rules, limit=None, now=now))
        rows.append((label, fitting, len(found), statistics.median(walls), walls[int(len(walls) * 0.95) - 1],
                     statistics.median(cpus), cpus[int(len(cpus) * 0.95) - 1]))  # fmt: skip
    load_after = os.getloadavg()[0]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    lines = [
        "<!-- spaces-bench:start -->",
        "## 筑巢: matching resources to a lead",
        "",
        f"Measured {datetime.now():%Y-%m-%d} at commit {commit} with "
        f"`.venv/bin/python bench/spaces_bench.py --resources {args.resources} --runs {args.runs}` "
        f"(Python {platform.python_version()}, 2 shared cores; 1-minute load average {load_before:.1f} before, "
        f"{load_after:.1f} after). The pure function `crm.services.spaces_match.match` over {args.resources:,} "
        "generated resources (50 % land, 40 % factories, 10 % office; 60 % 可招商) and the 11 zones of seed/zones.toml; "
        "the service adds one `SELECT` of the 19 columns matched on. Floor compared with: the issue's ≤ 50 ms.",
        "",
        "| need | fitting | returned | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms | target |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, fitting, returned, p50, p95, cpu, cpu95 in rows:
        lines.append(
            f"| {label} | {fitting} | {returned} | {p50:.1f} | {p95:.1f} | {cpu:.1f} | {cpu95:.1f} "
            f"| ≤ {TARGET_MS:.0f} ms |"
        )
    cpu_ok = all(r[6] <= TARGET_MS for r in rows)
    wall_ok = all(r[4] <= TARGET_MS for r in rows)
    lines += [
        "",
        f"- Target {'met' if cpu_ok else 'NOT met'} on CPU time (p95 ≤ {TARGET_MS:.0f} ms for {args.resources:,} "
        f"resources); wall p95 {'also within' if wall_ok else 'above'} it at this load average (wall time "
        "includes waiting for a core other jobs hold; on an idle machine wall ≈ CPU).",
        "- Why it is fast: hard filters return at the first failure; reasons are built only for the returned top "
        "`match_limit`, not for every fitting resource.",
        "<!-- spaces-bench:end -->",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        path = ROOT / "docs" / "BENCHMARKS.md"
        doc = path.read_text(encoding="utf-8")
        if "<!-- spaces-bench:start -->" in doc:
            head, rest = doc.split("<!-- spaces-bench:start -->", 1)
            doc = head + text + rest.split("<!-- spaces-bench:end -->", 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n" + text + "\n"
        path.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
