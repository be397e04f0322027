"""First load of millions of firms into Neo4j through `neo4j-admin database import full` (issue 16).

A transactional import runs at ~5,000 firms/s on Neo4j (one core per transaction, every index
updated per row); the offline importer writes the store files directly, at hundreds of thousands
of rows a second, but only into a stopped, empty database. So a first load goes:

1. the firms are parsed, validated and placed by the ordinary importer (graph/importer) into an
   embedded store, or taken from the embedded store `lianzhao import` already filled;
2. `write_csv` writes that store as neo4j-admin CSV files: firms (local ones with the :Local label),
   chain nodes and zones as bare id nodes, OPERATES_IN, LOCATED_IN, SUPPLIES, and a Meta node saying
   schema 3 (see graph/neo4j_store.py), with the same properties `Neo4jStore.upsert_companies` writes;
3. the caller stops the server, runs `admin_args(...)`, starts it again;
4. opening a Neo4jStore creates the constraints and indexes and, seeing schema 3, derives the
   per-node counters once from the firms; `finish` then writes the structure (sectors, chains,
   nodes with their properties, flows, zones) through the store's ordinary upserts.

No I/O beyond the files named; the server control is the command's (lianzhao/commands/neo4j.py).
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .backend_checks import SEPARATOR, micro, output_micro
from .identity import company_search_text, normalize_name
from .model import Company
from .store import GraphStore

CHUNK = 20_000
# neo4j-admin splits array fields on this character: the one backend_checks refuses inside values.
ARRAY_DELIMITER = SEPARATOR
_SCHEMA_BEFORE_COUNTERS = 3  # graph/neo4j_store._SCHEMA before counters: opening derives them

_TYPES = {"str": "", "bool": ":boolean", "float": ":double", "int": ":long"}


def _column_type(annotation: str) -> str:
    base = annotation.replace(" | None", "").replace("None | ", "")
    if base.startswith("tuple"):
        return ":string[]"
    return _TYPES.get(base, "")


_FIELDS = [f for f in fields(Company) if f.name != "id"]
_HEADER = ["id:ID(Company)"] + [f"{f.name}{_column_type(str(f.type))}" for f in _FIELDS]
_HEADER += ["norm_name", "revenue_micro:long", "output_micro:long", "search_text"]


@dataclass
class BulkFiles:
    """The CSV files written, by neo4j-admin option, and what they hold."""

    nodes: list[tuple[str, Path]]  # (labels, file)
    relationships: list[tuple[str, Path]]  # (type, file)
    firms: int = 0
    links: int = 0
    supplies: int = 0


def _cell(value: Any) -> str:
    """One CSV field: None and empty values are left empty (no property, as upsert_companies does)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ARRAY_DELIMITER.join(value)
    return str(value)


def company_row(c: Company) -> list[str]:
    row = [c.id] + [_cell(getattr(c, f.name)) for f in _FIELDS]
    row += [
        normalize_name(c.name),
        str(micro(c.revenue)),
        str(output_micro(c)),
        company_search_text(c.name, c.former_names, c.uscc, c.initials),
    ]
    return row


def _batches(store: GraphStore, ids: list[str]) -> Iterator[list[Company]]:
    for i in range(0, len(ids), CHUNK):
        yield store.companies(ids[i : i + CHUNK])


def write_csv(
    store: GraphStore, folder: Path, progress: Callable[[int, int], None] | None = None
) -> BulkFiles:
    """Write every firm, link and supply of `store` as neo4j-admin CSV files into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        name: folder / f"{name}.csv"
        for name in ("local", "outside", "nodes", "zones", "meta", "operates", "located", "supplies")
    }
    out = BulkFiles(
        nodes=[
            ("Company:Local", paths["local"]),
            ("Company", paths["outside"]),
            ("ChainNode", paths["nodes"]),
            ("Zone", paths["zones"]),
            ("Meta", paths["meta"]),
        ],
        relationships=[
            ("OPERATES_IN", paths["operates"]),
            ("LOCATED_IN", paths["located"]),
            ("SUPPLIES", paths["supplies"]),
        ],
    )
    files = {name: path.open("w", encoding="utf-8", newline="") for name, path in paths.items()}
    try:
        w = {name: csv.writer(f) for name, f in files.items()}
        w["local"].writerow(_HEADER)
        w["outside"].writerow(_HEADER)
        w["nodes"].writerow(["id:ID(ChainNode)"])
        w["nodes"].writerows([n.id] for n in store.nodes())
        w["zones"].writerow(["id:ID(Zone)"])
        w["zones"].writerows([z.id] for z in store.zones())
        w["meta"].writerow(["key:ID(Meta)", "store_id", "version:long", "schema:long"])
        w["meta"].writerow(["meta", str(uuid.uuid4()), "1", str(_SCHEMA_BEFORE_COUNTERS)])
        w["operates"].writerow([":START_ID(Company)", ":END_ID(ChainNode)"])
        w["located"].writerow([":START_ID(Company)", ":END_ID(Zone)"])
        w["supplies"].writerow([":START_ID(Company)", ":END_ID(Company)", "product", "amount:double"])
        ids = store.company_ids()
        for batch in _batches(store, ids):
            for c in batch:
                w["local" if c.is_local else "outside"].writerow(company_row(c))
                w["operates"].writerows([c.id, n] for n in c.node_ids)
                out.links += len(c.node_ids)
                if c.zone_id:
                    w["located"].writerow([c.id, c.zone_id])
            out.firms += len(batch)
            for s in store.supplies_from([c.id for c in batch]):
                w["supplies"].writerow([s.supplier_id, s.buyer_id, s.product, _cell(s.amount)])
                out.supplies += 1
            if progress:
                progress(out.firms, len(ids))
    finally:
        for f in files.values():
            f.close()
    return out


def admin_args(files: BulkFiles, database: str = "neo4j") -> list[str]:
    """Arguments after `neo4j-admin` for a full import of `files` into `database` (which it replaces)."""
    # The database name comes first: --nodes/--relationships take several values and would
    # swallow a trailing positional argument as one more file.
    args = [
        "database",
        "import",
        "full",
        database,
        "--overwrite-destination=true",
        f"--array-delimiter={ARRAY_DELIMITER}",
        "--multiline-fields=true",
        "--threads=2",
        # beside the CSV files: the default is import.report in the current directory
        f"--report-file={files.nodes[0][1].parent / 'import.report'}",
    ]
    args += [f"--nodes={labels}={path}" for labels, path in files.nodes]
    args += [f"--relationships={kind}={path}" for kind, path in files.relationships]
    return args


def finish(source: GraphStore, target: GraphStore) -> None:
    """After the import: the structure written through the target's ordinary upserts (it MERGEs
    onto the imported chain-node and zone ids, adding their properties and the structure edges)."""
    target.upsert_sectors(source.sectors())
    target.upsert_chains(source.chains())
    target.upsert_nodes(source.nodes())
    target.upsert_flows(source.flows())
    target.upsert_zones(source.zones())
    aliases = source.company_aliases()  # merged-away ids keep resolving (as graph/sync.py does)
    if aliases:
        target.upsert_aliases(aliases)
