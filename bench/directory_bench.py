"""Directory search at scale (issue 10): GraphStore.find_companies for 1- to 4-character needles.

    .venv/bin/python bench/directory_bench.py --size 1000000 [--neo4j]   # Neo4j: NEO4J_URI etc. set

Writes N firms with generated Chinese names (city + brand + trade + legal form, about 1 in 5 with a
曾用名) into an in-memory embedded store (and, with --neo4j, into the Neo4j server, cleared first),
then times find_companies(limit=50) per needle: median of 5 calls after one warm-up call (the
embedded store builds its joined index on the first search after a write; that build is reported
separately). Server time = the call's wall time on this machine (no network hop but Bolt on
localhost). CPU seconds of this process are shown beside wall. Figures are recorded, not asserted.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.model import Company  # noqa: E402
from graph.neo4j_store import Neo4jStore  # noqa: E402
from graph.nx_store import NetworkxStore  # noqa: E402

CITIES = ["北京", "上海", "天津", "深圳", "苏州", "杭州", "武汉", "成都", "西安", "廊坊", "南京", "合肥"]
BRAND = "康汇华瑞德源泰宏达信恒盛安嘉兴隆博远诚创新科联智通达金鼎晟昊宇航天海润星辰"
TRADES = [
    "医疗器械",
    "生物科技",
    "智能装备",
    "新材料",
    "电子科技",
    "食品",
    "家居",
    "储能技术",
    "半导体",
    "机器人",
]
FORMS = ["有限公司", "股份有限公司", "科技有限公司"]
# bjkh, bj: pinyin initials (graph/pinyin.py)
NEEDLES = ["康", "康汇", "北京康汇", "汇瑞", "瑞德源", "生物科技", "9111", "bjkh", "bj"]


def firms(n: int, seed: int = 7) -> list[Company]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        brand = "".join(rnd.choice(BRAND) for _ in range(2))
        name = f"{rnd.choice(CITIES)}{brand}{rnd.choice(TRADES)}{rnd.choice(FORMS)}"
        former = (f"{rnd.choice(CITIES)}{brand}实业有限公司",) if rnd.random() < 0.2 else ()
        out.append(
            Company(
                f"B{i:07d}",
                f"{name[:-4]}{i}{name[-4:]}",  # unique names
                former_names=former,
                active=rnd.random() > 0.1,
                synthetic=True,
            )
        )
    return out


def time_calls(store, needle: str, runs: int = 5) -> tuple[float, float, int]:
    store.find_companies(needle)  # warm-up
    walls, cpus, hits = [], [], 0
    for _ in range(runs):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        hits = len(store.find_companies(needle))
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, hits


def neo4j_server_ms(store, needle: str) -> float:
    """The server's own time for the CONTAINS query (result_available_after + consumed_after, median of 5)."""
    times = []
    with store._driver.session(database=store.database) as session:
        for _ in range(5):
            summary = session.run(
                "MATCH (n:Company) WHERE n.search_text CONTAINS $needle AND coalesce(n.active, true) "
                "RETURN n LIMIT 50",
                needle=needle,
            ).consume()
            times.append(summary.result_available_after + summary.result_consumed_after)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--neo4j", action="store_true")
    parser.add_argument("--neo4j-only", action="store_true", help="time the Neo4j data already written")
    args = parser.parse_args()
    data = firms(args.size)
    stores = [] if args.neo4j_only else [("embedded", NetworkxStore(None))]
    if args.neo4j or args.neo4j_only:
        neo = Neo4jStore(
            os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"]
        )
        if not args.neo4j_only:
            neo.clear()
        stores.append(("neo4j", neo))
    print(f"{args.size:,} firms, load {os.getloadavg()[0]:.1f}")
    for label, store in stores:
        wall0 = time.perf_counter()
        for start in range(0, len(data) if not (args.neo4j_only and label == "neo4j") else 0, 5000):
            store.upsert_companies(data[start : start + 5000])
        print(f"[{label}] write {time.perf_counter() - wall0:.1f} s")
        wall0, cpu0 = time.perf_counter(), time.process_time()
        store.find_companies("康汇")
        print(
            f"[{label}] first search (index build) {time.perf_counter() - wall0:.2f} s "
            f"({time.process_time() - cpu0:.2f} s CPU)"
        )
        for needle in NEEDLES:
            wall, cpu, hits = time_calls(store, needle)
            server = f", server {neo4j_server_ms(store, needle):.1f} ms" if label == "neo4j" else ""
            print(f"[{label}] {needle!r:10} {wall:8.1f} ms ({cpu:.1f} ms CPU){server}, {hits} hits")
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
