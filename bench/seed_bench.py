"""Benchmark of the synthetic firm generator (seed/synthetic.py): CPU time and memory per size.

    .venv/bin/python bench/seed_bench.py [--sizes 10000 100000 1000000] [--out docs/BENCHMARKS.md]

Target (issue 2, item 3): a million firms generated as a stream in well under a minute of CPU,
without holding them in memory. Timings depend on the machine and its load, so they are recorded,
never asserted. Per size: CPU seconds to stream the firms (consumed, not kept), CPU seconds of the
supply sampler fed by the same stream plus drawing the ties, and the growth of peak RSS across the
whole run (streaming means it must stay flat as the size grows). Each size runs in a fresh child
process so its peak RSS is its own. With --out only the section between the seed-bench markers of
the Markdown file is replaced.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
START, END = "<!-- seed-bench:start -->", "<!-- seed-bench:end -->"


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_size(n: int) -> dict:
    from seed.loader import load_structure
    from seed.synthetic import SupplySampler, generate_companies

    structure = load_structure()
    base = _rss_mb()
    t0 = time.process_time()
    count = sum(1 for _ in generate_companies(structure, n))
    firms_cpu = time.process_time() - t0
    firms_rss = _rss_mb() - base
    sampler = SupplySampler(structure)
    t1 = time.process_time()
    for company in generate_companies(structure, n):
        sampler.add(company)
    supplies = sum(1 for _ in sampler.supplies())
    supplies_cpu = time.process_time() - t1 - firms_cpu  # sampler + drawing, generation subtracted
    return {
        "n": count,
        "firms_cpu": round(firms_cpu, 2),
        "us_per_firm": round(firms_cpu / max(n, 1) * 1e6, 1),
        "supplies": supplies,
        "supplies_cpu": round(max(supplies_cpu, 0.0), 2),
        "firms_rss_mb": round(firms_rss, 1),
        "rss_growth_mb": round(_rss_mb() - base, 1),
    }


def render(results: list[dict]) -> str:
    rows = [
        f"| {r['n']:,} | {r['firms_cpu']} | {r['us_per_firm']} | {r['supplies']:,} | {r['supplies_cpu']} "
        f"| {r['firms_rss_mb']} | {r['rss_growth_mb']} |"
        for r in results
    ]
    return "\n".join(
        [
            START,
            "## Synthetic firm generator (issue 2, item 3)",
            "",
            f"`.venv/bin/python bench/seed_bench.py` on {platform.python_implementation()} "
            f"{platform.python_version()}, {platform.machine()}, "
            f"{time.strftime('%Y-%m-%d', time.gmtime())}. CPU seconds (process time). Peak-RSS "
            "growth while streaming firms shows the stream holds nothing; the supply sampler keeps at most 512 "
            "firm ids per node pool plus one node's dedupe keys.",
            "",
            "| firms | generate CPU s | µs / firm | supply ties | supply sampling CPU s | peak RSS growth: firms MB "
            "| … with supplies MB |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            END,
        ]
    )


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="示例企业生成器基准测试")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="企业数量")
    parser.add_argument("--out", type=Path, help="写入结果的 Markdown 文件（只替换本节）")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_size(args.child)))
        return 0
    if any(n <= 0 for n in args.sizes):
        parser.error("企业数量必须为正整数")
    results = []
    try:
        for n in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(n)], check=True, capture_output=True, text=True
            ).stdout
            results.append(json.loads(out))
            print(
                f"{n:>10,} 家：生成 {results[-1]['firms_cpu']} 秒 CPU，供应关系 {results[-1]['supplies']:,} 条",
                flush=True,
            )
    except KeyboardInterrupt:
        print("已中断，未写入结果。", file=sys.stderr)
        return 130
    section = render(results)
    if args.out:
        write_section(args.out, section)
    else:
        print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
