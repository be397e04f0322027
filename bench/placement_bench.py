"""Placement benchmark (issue 10): how often evidence placement puts a firm on the right node.

    .venv/bin/python bench/placement_bench.py [--show-wrong] [--json]

Reads bench/placement/labelled_firms.txt (label|name|主营产品|经营范围; written before tuning) and places
every firm with the importer's EvidencePlacer on the seed chains. A firm is

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


def read_labels(path: Path = LABELS) -> list[tuple[set[str], str, str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, name, products, scope = line.split("|")
        out.append((set(label.split(",")) if label != "none" else set(), name, products, scope))
    return out


def evaluate(placer: EvidencePlacer, firms, segment: dict[str, str]) -> dict:
    counts: Counter[str] = Counter()
    wrong, pending_list = [], []
    for labels, name, products, scope in firms:
        result = placer.place(products, scope, "", name)
        accept = set(labels) | {n for n, s in segment.items() if any(segment.get(lab) == s for lab in labels)}
        if result.placed:
            top = result.placed[0].node_id
            if labels and top in accept:
                counts["right"] += 1
            else:
                counts["wrong"] += 1
                wrong.append((name, sorted(labels) or ["none"], top, result.confidence))
        elif not labels:
            counts["right"] += 1
            counts["none_right"] += 1
        else:
            counts["pending"] += 1
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
        "wrong_list": wrong,
        "pending_list": pending_list,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-wrong", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--set", default="labelled", choices=["labelled", "heldout"], help="which labelled file"
    )
    parser.add_argument("--no-names", action="store_true", help="place without the firm names")
    args = parser.parse_args()
    structure = load_structure()
    known = {n.id for n in structure.nodes}
    firms = read_labels(LABELS if args.set == "labelled" else LABELS.with_name("heldout_firms.txt"))
    if args.no_names:
        firms = [(labels, "", products, scope) for labels, _name, products, scope in firms]
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
    if args.show_wrong:
        for name, labels, top, conf in result["wrong_list"]:
            print(f"  WRONG {name}: label {labels} got {top} ({conf})")
        for name, labels, top, conf in result["pending_list"]:
            print(f"  PENDING {name}: label {labels} top {top} ({conf})")


if __name__ == "__main__":
    main()
