"""Target ranking speed beside a bare numpy floor (issue 11, item 10).

Builds the biggest seed chain's gap report on an in-memory store holding the chain structure and
its local firms, then N outside candidates on its gap nodes (about 4.7 % of all firms are outside
candidates of the biggest chain: 4,754 at 100k firms, 47,708 at 1M in docs/BENCHMARKS.md), with a
supply tie for a tenth of them, and times:

* `rank_targets` (the whole ranking with factor breakdown, reasons and Target rows), median of runs;
* the floor: a bare numpy weighted sum over a precomputed factor matrix of the same candidates plus
  the argsort, i.e. what any scoring must at least do.

Usage: .venv/bin/python bench/ranking_bench.py [--firms 100000 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import time

import numpy as np

from graph.model import Company, Tie
from graph.nx_store import NetworkxStore
from graph.service import ChainService
from graph.targets import FACTORS, rank_targets
from lianzhao.config import load_config
from seed.loader import load_structure, seed_store

CANDIDATE_SHARE = 47708 / 1_000_000
QUALS = ("专精特新", "小巨人", "高新技术企业", "上市", "单项冠军")
PLACES = [
    ("北京市", "北京市", "海淀区"),
    ("北京市", "北京市", "大兴区"),
    ("河北省", "廊坊市", "三河市"),
    ("天津市", "天津市", "滨海新区"),
    ("江苏省", "苏州市", "工业园区"),
    ("广东省", "深圳市", "南山区"),
]


def candidates(gap_ids, n, seed=7):
    rnd = random.Random(seed)
    out, ties = [], []
    for i in range(n):
        prov, city, dist = rnd.choice(PLACES)
        nodes = tuple(sorted(set(rnd.sample(gap_ids, k=min(len(gap_ids), rnd.choice((1, 1, 2)))))))
        quals = tuple(q for q in QUALS if rnd.random() < 0.15)
        cid = f"B{i:07d}"
        out.append(
            Company(
                cid,
                f"企业{i}",
                province=prov,
                city=city,
                district=dist,
                revenue=rnd.lognormvariate(8, 1.5),
                qualifications=quals,
                products="示例产品、示例部件",
                node_ids=nodes,
                synthetic=True,
            )
        )
        if rnd.random() < 0.1:
            ties.append(
                Tie(cid, "L1", "本地企业", rnd.choice(("supplies", "buys")), "产品", rnd.uniform(1, 5000), ())
            )
    return out, ties


def floor(values, weights):
    t = time.perf_counter()
    scores = values @ weights
    order = np.argsort(-scores, kind="stable")
    return time.perf_counter() - t, order


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--firms", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    store = NetworkxStore(None)
    seed_store(store, load_structure(), n_synthetic=3000)
    svc = ChainService(store, load_config())
    chain = "device"
    report = svc.gap_report(chain)
    gap_ids = [g.node_id for g in report.nodes if g.status in ("缺链", "弱链") and not g.is_group]
    zones, sector = svc.zones(), report.chain.sector_id
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {platform.python_implementation()} "
        f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}, chain {chain}, gap nodes {len(gap_ids)}"
    )
    for firms in args.firms:
        n = round(firms * CANDIDATE_SHARE)
        cands, ties = candidates(gap_ids, n)
        walls, cpus = [], []
        for _ in range(args.runs):
            w, c = time.perf_counter(), time.process_time()
            rows = rank_targets(report.nodes, cands, ties, zones, sector, svc.district, svc.weights)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        values = np.array([[r.factors[k] for k in FACTORS] for r in rows])
        weights = np.array([svc.weights.as_dict()[k] for k in FACTORS])
        floors = [floor(values, weights)[0] for _ in range(args.runs)]
        wall, cpu, fl = statistics.median(walls), statistics.median(cpus), statistics.median(floors)
        print(
            f"firms {firms:>9,} candidates {n:>7,} rows {len(rows):>7,}  rank_targets {wall:.3f} s wall "
            f"({cpu:.3f} s CPU)  numpy floor {fl * 1000:.2f} ms  ratio {wall / fl:.0f}x"
        )


if __name__ == "__main__":
    main()
