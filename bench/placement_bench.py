"""Placement benchmark (issue 10): how often evidence placement puts a firm on the right node.

    .venv/bin/python bench/placement_bench.py [--set labelled|heldout|fresh] [--no-names] [--no-codes]
                                              [--per-chain] [--show-wrong] [--json]

Reads a labelled set (label|name|主营产品|经营范围[|国标行业代码]) and places every firm with the importer's
EvidencePlacer on the seed chains. Sets: `labelled` (session 1's tuning set), `heldout` (session 1's held-out
set, seen since, now tuned on too), `dev` (session 2's tuning set in the fresh set's style), `fresh` (session 2's set, written before that session's tuning and never
tuned on: the honest figure). A firm is

* right: placed, and its first node is the label (or the same shared segment in another chain); or
  labelled "none" and not placed (待确认 or nothing);
* confidently wrong: placed on another node (or placed at all when labelled "none");
* pending: a labelled firm sent to 待确认 (not placed; a user confirms it). Its top candidate is also
  scored, as what the queue would suggest.

Goal: >= 90 % right, <= 3 % confidently wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.importer.placement import EvidencePlacer  # noqa: E402
from seed.loader import load_structure  # noqa: E402

LABELS = ROOT / "bench" / "placement" / "labelled_firms.txt"


SETS = {
    "labelled": LABELS,
    "heldout": LABELS.with_name("heldout_firms.txt"),
    "dev": LABELS.with_name("dev_firms.txt"),
    "dev2": LABELS.with_name("dev2_firms.txt"),
    "fresh": LABELS.with_name("fresh_firms.txt"),
}


def read_labels(path: Path = LABELS) -> list[tuple[set[str], str, str, str, str]]:
    """(labels, name, 主营产品, 经营范围, industry code) per firm; labels empty for "none"."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, name, products, scope, *rest = line.split("|")
        code = rest[0].strip() if rest else ""
        out.append((set(label.split(",")) if label != "none" else set(), name, products, scope, code))
    return out


def chain_of(labels: set[str]) -> str:
    return min(labels).split(".")[0] if labels else "none"


def evaluate(placer: EvidencePlacer, firms, segment: dict[str, str]) -> dict:
    counts: Counter[str] = Counter()
    wrong, pending_list = [], []
    per_chain: dict[str, Counter[str]] = {}
    for labels, name, products, scope, code in firms:
        result = placer.place(products, scope, code, name)
        chain = per_chain.setdefault(chain_of(labels), Counter())
        chain["firms"] += 1
        accept = set(labels) | {n for n, s in segment.items() if any(segment.get(lab) == s for lab in labels)}
        if result.placed:
            top = result.placed[0].node_id
            if labels and top in accept:
                counts["right"] += 1
                chain["right"] += 1
            else:
                counts["wrong"] += 1
                chain["wrong"] += 1
                wrong.append((name, sorted(labels) or ["none"], top, result.confidence))
        elif not labels:
            counts["right"] += 1
            counts["none_right"] += 1
            chain["right"] += 1
        else:
            counts["pending"] += 1
            chain["pending"] += 1
            top = result.candidates[0].node_id if result.candidates else None
            counts["pending_top_right"] += top in accept
            pending_list.append((name, sorted(labels), top, result.confidence))
    n = len(firms)
    return {
        "firms": n,
        "labelled_none": sum(1 for f in firms if not f[0]),
        "right": counts["right"] / n,
        "confidently_wrong": counts["wrong"] / n,
        "pending": counts["pending"] / n,
        "pending_top_candidate_right": counts["pending_top_right"] / max(1, counts["pending"]),
        "per_chain": {
            k: {"firms": c["firms"], "right": c["right"], "wrong": c["wrong"], "pending": c["pending"]}
            for k, c in sorted(per_chain.items())
        },
        "wrong_list": wrong,
        "pending_list": pending_list,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--set", default="labelled", choices=sorted(SETS), help="which labelled file")
    parser.add_argument("--no-names", action="store_true", help="place without the firm names")
    parser.add_argument("--no-codes", action="store_true", help="place without the industry codes")
    parser.add_argument("--per-chain", action="store_true", help="a line per chain of the labels")
    args = parser.parse_args()
    structure = load_structure()
    known = {n.id for n in structure.nodes}
    firms = read_labels(SETS[args.set])
    if args.no_names:
        firms = [(labels, "", products, scope, code) for labels, _name, products, scope, code in firms]
    if args.no_codes:
        firms = [(labels, name, products, scope, "") for labels, name, products, scope, _code in firms]
    unknown = sorted({lab for labels, *_ in firms for lab in labels} - known)
    if unknown:
        sys.exit(f"labels name unknown nodes: {unknown}")
    segment = {n.id: n.segment for n in structure.nodes if n.segment}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    placer = EvidencePlacer(structure.nodes)
    build = time.perf_counter() - wall0
    result = evaluate(placer, firms, segment)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    result.update(
        {
            "build_s": round(build, 3),
            "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3),
            "load": os.getloadavg()[0],
        }
    )
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if not k.endswith("_list")}, ensure_ascii=False))
        return
    print(
        f"{result['firms']} firms ({result['labelled_none']} belong to no chain): "
        f"right {result['right']:.1%}, confidently wrong {result['confidently_wrong']:.1%}, "
        f"待确认 {result['pending']:.1%} (top candidate right in {result['pending_top_candidate_right']:.0%})"
    )
    print(
        f"wall {result['wall_s']} s (placer build {result['build_s']} s), CPU {result['cpu_s']} s, "
        f"load {result['load']:.2f}"
    )
    if args.per_chain:
        for chain, c in result["per_chain"].items():
            n = c["firms"]
            print(
                f"  {chain:<11} {n:>3} firms: right {c['right'] / n:6.1%}, wrong {c['wrong'] / n:6.1%}, "
                f"待确认 {c['pending'] / n:6.1%}"
            )
    if args.show_wrong:
        for name, labels, top, conf in result["wrong_list"]:
            print(f"  WRONG {name}: label {labels} got {top} ({conf})")
        for name, labels, top, conf in result["pending_list"]:
            print(f"  PENDING {name}: label {labels} top {top} ({conf})")


if __name__ == "__main__":
    main()
