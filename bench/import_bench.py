"""Speed of `import companies` at district scale and beyond.

    .venv/bin/python bench/import_bench.py 100000 1000000 [--xlsx]

For each row count: writes a GB18030 CSV of synthetic firms over the seed chains (half with
产业链环节 given as 「链名/环节名」, half placed by keyword from 主营产品 + 经营范围), then times
read + validate + place + one upsert into the embedded store (file-backed), a re-import (every row an
update), and reports peak resident memory. With --xlsx also a workbook of the first count.
CPU seconds are printed beside wall time because the shared 2-core machine is often busy.
Results go to docs/BENCHMARKS.md by hand (the machine's numbers vary).
"""

from __future__ import annotations

import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.identity import uscc_check_char  # noqa: E402
from graph.importer import import_companies  # noqa: E402
from graph.nx_store import NetworkxStore  # noqa: E402
from seed.loader import load_structure  # noqa: E402

HEADER = [
    "统一社会信用代码",
    "企业名称",
    "省份",
    "城市",
    "区县",
    "营业收入(万元)",
    "员工人数",
    "成立年份",
    "资质",
    "主营产品",
    "经营范围",
    "产业链环节",
]
SCOPE = "技术开发、技术咨询、技术服务；销售{kw}、机械设备、电子产品；货物进出口、技术进出口；{kw}的生产与研发"
PLACES = [
    ("北京市", "北京市", "通州区"),
    ("北京市", "北京市", "朝阳区"),
    ("天津市", "天津市", "滨海新区"),
    ("河北省", "廊坊市", "三河市"),
    ("江苏省", "苏州市", "工业园区"),
    ("广东省", "深圳市", "南山区"),
]


def rows(structure, n: int, rng: random.Random):
    chains = {c.id: c.name for c in structure.chains}
    nodes = [node for node in structure.nodes if node.keywords]
    for i in range(n):
        node = rng.choice(nodes)
        keyword = rng.choice(node.keywords)
        first = f"9111{i:013d}"
        province, city, district = rng.choice(PLACES)
        explicit = f"{chains[node.chain_id]}/{node.name}" if i % 2 else ""
        yield [
            first + uscc_check_char(first),
            f"示例{i}号{keyword}科技有限公司",
            province,
            city,
            district,
            f"{rng.randint(100, 500000):,}",
            str(rng.randint(5, 8000)),
            str(rng.randint(1990, 2024)),
            rng.choice(["", "", "高新技术企业", "专精特新；高新技术企业"]),
            f"{keyword}及配套产品",
            SCOPE.format(kw=keyword),
            explicit,
        ]


def write_csv(path: Path, structure, n: int) -> None:
    with open(path, "w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows(structure, n, random.Random(20221028)))


def write_xlsx(path: Path, structure, n: int) -> None:
    from openpyxl import Workbook

    workbook = Workbook()  # not write_only: like Excel, it records the sheet dimension
    sheet = workbook.active
    sheet.title = "企业"
    sheet.append(HEADER)
    for row in rows(structure, n, random.Random(20221028)):
        sheet.append(row)
    workbook.save(path)


def timed_import(store, path: Path, district: dict, label: str) -> float:
    def progress(done: int, total: int) -> None:
        if done % 100000 == 0 or done == total:
            print(f"\r  {label}: {done}/{total}", end="", file=sys.stderr, flush=True)

    start, cpu = time.perf_counter(), time.process_time()
    report = import_companies(store, path, district_cfg=district, progress=progress)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(file=sys.stderr)
    assert report.ok, report.errors[:5]
    print(
        f"  {label}: {elapsed:.1f} s wall, {cpu:.1f} s CPU ({report.total / cpu:,.0f} rows per CPU s)"
        f" — {report.summary()}"
    )
    return elapsed


def main(argv: list[str]) -> None:
    counts = [int(a) for a in argv if a.isdigit()] or [100000]
    structure = load_structure()
    district = {"district": "通州区"}
    print(
        f"seed structure: {len(structure.chains)} chains, {len(structure.nodes)} nodes, "
        f"{sum(len(n.keywords) for n in structure.nodes)} keywords"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            path = Path(tmp) / f"firms{n}.csv"
            write_csv(path, structure, n)
            print(f"{n:,} rows, CSV GB18030 {path.stat().st_size / 1e6:.0f} MB")
            with NetworkxStore(Path(tmp) / f"graph{n}.sqlite3") as store:
                store.upsert_sectors(structure.sectors)
                store.upsert_chains(structure.chains)
                store.upsert_nodes(structure.nodes)
                store.upsert_zones(structure.zones)
                timed_import(store, path, district, "first import (create)")
                timed_import(store, path, district, "re-import (update)")
            print(f"  peak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
        if "--xlsx" in argv:
            n = counts[0]
            path = Path(tmp) / f"firms{n}.xlsx"
            write_xlsx(path, structure, n)
            print(f"{n:,} rows, XLSX {path.stat().st_size / 1e6:.0f} MB")
            with NetworkxStore(None) as store:
                store.upsert_sectors(structure.sectors)
                store.upsert_chains(structure.chains)
                store.upsert_nodes(structure.nodes)
                timed_import(store, path, district, "XLSX import (memory store)")


if __name__ == "__main__":
    main(sys.argv[1:])
