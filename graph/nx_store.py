"""The embedded GraphStore: the chain graph in memory (networkx), made durable by a SQLite file.

Three modules, one job each:

* graph/nx_memory.py: what reads are answered from (the networkx structure graph, the company
  layer as adjacency dicts, match indexes, per-node aggregates). Derived data only.
* graph/nx_file.py: the SQLite file (schema and migration, row codecs, change log).
* this module: `NetworkxStore`, the GraphStore contract on top of both: validation through
  graph/backend_checks.py, one transaction per write, catching up with other processes, reads.

Why ~500 lines: the 25 methods of the GraphStore contract plus the write/catch-up protocol that
ties memory to the file; the data layouts live in nx_memory.py and nx_file.py.

Durability: every write call is one SQLite transaction (WAL, synchronous=FULL). Memory is changed
only after the commit succeeds, so a failed or killed write leaves both the file and the graph at
the last committed state. Another process writing the same file is noticed via
``PRAGMA data_version``; memory then replays the change log, or reloads when it cannot.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import backend_checks as checks
from . import nx_file as file
from .backend_checks import MICRO
from .identity import company_search_text, fold_search, normalize_name
from .model import Chain, ChainNode, Company, CompanyAlias, Flow, NodeStats, Sector, Supply, Tie, Zone
from .nx_memory import GraphMemory
from .store import GraphStore, GraphStoreUnavailable

log = logging.getLogger(__name__)

SCHEMA_VERSION = file.SCHEMA_VERSION
# After a full load, move every live object to the GC's permanent generation: otherwise the
# first full collection after loading 1M firms rescans them all (measured 3.7 s CPU, a pause
# that would land on some later web request) and every later full collection does again.
# Process-wide, like any gc setting; garbage cycles alive at that moment are never collected.
FREEZE_AFTER_LOAD = True


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC during bulk work: it otherwise rescans millions of fresh objects
    (measured: loading 100k firms 2x faster). Our objects hold no reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class NetworkxStore(GraphStore):
    """GraphStore on networkx; durable in a SQLite file when `path` is given, else memory only."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._search_cache: tuple | None = None  # (data version, directory search index)
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._store_id = uuid.uuid4().hex
        self._version = 0
        self._db_seen: int | None = None  # PRAGMA data_version at our last sync
        self._mem = GraphMemory()
        if self.path is not None:
            self._conn = file.connect(self.path, self._store_id)
            try:
                self._load()
            except BaseException:
                self._conn.close()
                self._conn = None
                raise

    # ---- loading and catching up ----------------------------------------------------------
    def _load(self, seen: int | None = None) -> None:
        """(Re)build memory from the file. Runs inside one read transaction: a consistent snapshot.

        `seen` is PRAGMA data_version read before that snapshot began (read here when None):
        taken before, it can only be older than the data, which costs at most one extra catch-up.
        """
        conn = self._connection()
        self._mem = mem = GraphMemory()
        own = not conn.in_transaction
        if seen is None:
            seen = file.data_version(conn)
        if own:
            conn.execute("BEGIN")
        try:
            with _no_gc():
                self._store_id, self._version = file.meta(conn)
                mem.apply_sectors(file.entities(conn, "sectors", Sector))
                mem.apply_chains(file.entities(conn, "chains", Chain))
                mem.apply_nodes(file.entities(conn, "nodes", ChainNode))
                mem.apply_flows(set(conn.execute("SELECT source, target FROM flows")))
                mem.apply_zones(file.entities(conn, "zones", Zone))
                mem.load_companies(file.chunks(file.select_companies(conn)))
                mem.load_supplies(
                    file.chunks(conn.execute("SELECT supplier, buyer, product, amount FROM supplies"))
                )
                mem.apply_aliases(file.select_aliases(conn))
            self._db_seen = seen
        except BaseException as exc:
            # Half-loaded memory must never be taken for current: force a full load next call.
            self._mem = GraphMemory()
            self._store_id, self._db_seen = "", None
            if isinstance(exc, sqlite3.Error):
                raise GraphStoreUnavailable(f"图存储文件读取失败：{exc}") from exc
            raise
        finally:
            if own and conn.in_transaction:
                conn.execute("COMMIT")
        if FREEZE_AFTER_LOAD:
            gc.freeze()
        log.info("图存储已载入：%s 家企业，版本 %s", len(mem.companies), self._version)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise GraphStoreUnavailable("图存储文件未打开")
        return self._conn

    def _sync(self) -> None:
        """Catch up when another connection (process) committed since we last looked."""
        if self._closed:
            raise GraphStoreUnavailable("图存储已关闭")
        if self._conn is None:
            return
        try:
            seen = file.data_version(self._conn)
        except sqlite3.Error as exc:
            raise GraphStoreUnavailable(f"图存储文件读取失败：{exc}") from exc
        if seen != self._db_seen:
            self._refresh()

    def _refresh(self) -> None:
        """Catch up with other connections' commits: replay the change log, else reload all."""
        conn = self._connection()
        own = not conn.in_transaction
        seen = file.data_version(conn)  # before the snapshot: see _load
        if own:
            conn.execute("BEGIN")  # one snapshot for the log and the rows it points to
        try:
            store_id, target = file.meta(conn)
            replayed = False
            if store_id == self._store_id:
                try:
                    with _no_gc():
                        replayed = self._replay(conn, target)
                except Exception:  # memory may be half-updated: rebuild it below
                    log.exception("重放图存储变更日志失败，改为完整重新载入")
            if replayed:
                self._version = target
                self._db_seen = seen
            else:
                log.info("图存储文件已被其他进程修改，重新载入")
                self._load(seen)
        finally:
            if own and conn.in_transaction:
                conn.execute("COMMIT")

    def _replay(self, conn: sqlite3.Connection, target: int) -> bool:
        """Apply versions (ours, target] from the change log; False when it cannot (gap, clear,
        big write), and then nothing has been touched.

        Keys of all versions are merged and their rows read at their latest state: structure
        first, then firms (which may name nodes added later), then supplies. Upserts are
        idempotent, so the result equals the file's state at `target`.
        """
        if target == self._version:
            return True
        pending = file.pending_changes(conn, self._version, target)
        if pending is None:
            return False
        mem = self._mem
        mem.apply_sectors(file.entities(conn, "sectors", Sector, pending["sectors"]))
        mem.apply_chains(file.entities(conn, "chains", Chain, pending["chains"]))
        mem.apply_nodes(file.entities(conn, "nodes", ChainNode, pending["nodes"]))
        mem.apply_zones(file.entities(conn, "zones", Zone, pending["zones"]))
        mem.apply_flows(set(pending["flows"]))
        firms = {}
        for row in file.rows_by_id(conn, "companies", ", ".join(file.C_COLUMNS), pending["companies"]):
            c, norm = file.company_from_row(row)
            firms[c.id] = (c, norm if norm is not None else normalize_name(c.name))
        mem.apply_companies(firms)
        mem.apply_supplies(
            {key: Supply(key[0], key[1], key[2], amount) for key, amount in pending["supplies"].items()}
        )
        return True

    # ---- one atomic write -----------------------------------------------------------------
    def _write(
        self,
        validate: Callable[[], None],
        sql: Callable[[sqlite3.Connection], object],
        apply: Callable[[], None],
        change: Callable[[], tuple[str, list[Any]]],
    ) -> None:
        """Validate against current state, commit to the file, then to memory.

        `validate()` raises UnknownReference for ids the store lacks (the stateless checks ran
        before); `sql(conn)` writes rows; `change()` gives (kind, keys) for the change log;
        `apply()` updates memory and must not fail. Nothing changes anywhere unless all of them
        succeed in order.
        """
        with self._lock, _no_gc():
            if self._closed:
                raise GraphStoreUnavailable("图存储已关闭")
            conn = self._conn
            if conn is None:
                validate()
                apply()
                self._version += 1
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise GraphStoreUnavailable(f"图存储文件正被占用，写入失败：{exc}") from exc
            try:
                if file.data_version(conn) != self._db_seen:
                    self._refresh()
                validate()
                sql(conn)
                kind, keys = change()
                file.log_change(conn, self._version + 1, kind, keys)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise GraphStoreUnavailable(f"图存储写入失败，未做任何修改：{exc}") from exc
                raise
            self._version += 1
            try:
                apply()
            except BaseException:
                self._load()  # memory is derived data: rebuild it from the committed file
                raise

    def _missing(self, label: str, ids: list[str]) -> list[str]:
        return self._mem.missing(label, ids)

    # ---- writes ---------------------------------------------------------------------------
    def _upsert_entities(
        self,
        batch: dict[str, Any],
        table: str,
        apply: Callable[[GraphMemory, dict[str, Any]], None],
        refs: Callable[[dict[str, Any], checks.Missing], None] | None = None,
    ) -> None:
        """Sectors, chains, nodes, zones (checked batch): JSON rows, then memory.

        `table` is one of nx_file's fixed table names, never data."""
        self._write(
            (lambda: refs(batch, self._missing)) if refs else (lambda: None),
            lambda conn: conn.executemany(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",
                [(x.id, file.to_json(x)) for x in batch.values()],
            ),
            lambda: apply(self._mem, batch),
            lambda: (table, list(batch)),
        )

    def upsert_sectors(self, sectors: Iterable[Sector]) -> None:
        self._upsert_entities(checks.sectors_batch(sectors), "sectors", GraphMemory.apply_sectors)

    def upsert_chains(self, chains: Iterable[Chain]) -> None:
        batch = checks.chains_batch(chains)
        self._upsert_entities(batch, "chains", GraphMemory.apply_chains, checks.check_chain_refs)

    def upsert_nodes(self, nodes: Iterable[ChainNode]) -> None:
        batch = checks.nodes_batch(nodes)
        self._upsert_entities(batch, "nodes", GraphMemory.apply_nodes, checks.check_node_refs)

    def upsert_flows(self, flows: Iterable[Flow]) -> None:
        pairs = checks.flows_batch(flows)
        self._write(
            lambda: checks.check_flow_refs(pairs, self._missing),
            lambda conn: conn.executemany("INSERT OR IGNORE INTO flows VALUES (?, ?)", pairs),
            lambda: self._mem.apply_flows(pairs),
            lambda: ("flows", [list(p) for p in pairs]),
        )

    def upsert_zones(self, zones: Iterable[Zone]) -> None:
        self._upsert_entities(checks.zones_batch(zones), "zones", GraphMemory.apply_zones)

    def upsert_companies(self, companies: Iterable[Company]) -> int:
        firms = checks.companies_batch(companies)
        batch: dict[str, tuple[Company, str]] = {}

        def validate() -> None:
            checks.check_company_refs(firms, self._missing)
            norm = normalize_name
            for cid, c in firms.items():
                batch[cid] = (c, norm(c.name))

        self._write(
            validate,
            lambda conn: file.insert_companies(conn, batch.values()),
            lambda: self._mem.apply_companies(batch),
            lambda: ("companies", list(batch)),
        )
        return len(batch)

    def upsert_supplies(self, supplies: Iterable[Supply]) -> int:
        batch = checks.supplies_batch(supplies)
        self._write(
            lambda: checks.check_supply_refs(batch, self._missing),
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO supplies VALUES (?, ?, ?, ?)",
                [(k[0], k[1], k[2], s.amount) for k, s in batch.items()],
            ),
            lambda: self._mem.apply_supplies(batch),
            lambda: ("supplies", [[*key, s.amount] for key, s in batch.items()]),
        )
        return len(batch)

    def merge_companies(self, kept: Company, merged_id: str, supplies: Iterable[Supply]) -> None:
        """Logged as kind "merge": another process holding the file reloads (merges are rare)."""
        kept, ties = checks.merge_batch(kept, merged_id, supplies)
        state: dict[str, tuple[Company, str]] = {}

        def validate() -> None:
            checks.check_merge_refs(kept, merged_id, ties, self._missing)
            state["kept"] = (kept, normalize_name(kept.name))
            state["merged"] = (self._mem.companies[merged_id], self._mem.norm[merged_id])

        def sql(conn: sqlite3.Connection) -> None:
            rows = [(k[0], k[1], k[2], s.amount) for k, s in ties.items()]
            file.merge_rows(conn, state["kept"], state["merged"], rows)

        def apply() -> None:
            mem = self._mem
            merged, norm = state["merged"]
            mem.remove_company(merged_id)
            mem.apply_companies({kept.id: state["kept"]})
            mem.apply_supplies(ties)
            mem.apply_aliases([(merged_id, kept.id, merged.uscc, norm)])

        self._write(validate, sql, apply, lambda: ("merge", [kept.id, merged_id]))

    def upsert_aliases(self, aliases: Iterable[CompanyAlias]) -> int:
        batch = checks.aliases_batch(aliases)
        rows = [(a.id, a.company_id, a.uscc, a.norm_name) for a in batch.values()]
        self._write(
            lambda: checks.check_alias_refs(batch, self._missing),
            lambda conn: conn.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)", rows),
            lambda: self._mem.apply_aliases(rows),
            lambda: ("merge", sorted(batch)),
        )
        return len(rows)

    def company_aliases(self) -> list[CompanyAlias]:
        with self._lock:
            self._sync()
            rows = self._mem.alias_rows
            return [CompanyAlias(k, *rows[k]) for k in sorted(rows)]

    def clear(self) -> None:
        def sql(conn: sqlite3.Connection) -> None:
            for table in (*file.DATA_TABLES, "changes"):
                conn.execute(f"DELETE FROM {table}")  # fixed table names, no user input

        def reset() -> None:
            self._mem = GraphMemory()  # aliases too: `clear` forgets merges

        self._write(lambda: None, sql, reset, lambda: ("clear", []))

    # ---- structure reads ----------------------------------------------------------------
    def sectors(self) -> list[Sector]:
        with self._lock:
            self._sync()
            return [self._mem.sectors[k] for k in sorted(self._mem.sectors)]

    def chains(self, sector_id: str | None = None) -> list[Chain]:
        with self._lock:
            self._sync()
            return [
                c
                for k, c in sorted(self._mem.chains.items())
                if sector_id is None or c.sector_id == sector_id
            ]

    def chain(self, chain_id: str) -> Chain | None:
        with self._lock:
            self._sync()
            return self._mem.chains.get(chain_id)

    def nodes(self, chain_id: str | None = None) -> list[ChainNode]:
        with self._lock:
            self._sync()
            ids = self._mem.nodes if chain_id is None else self._mem.chain_nodes.get(chain_id, ())
            return [self._mem.nodes[k] for k in sorted(ids)]

    def flows(self, chain_id: str | None = None) -> list[Flow]:
        with self._lock:
            self._sync()
            return [
                Flow(s, t)
                for s, t in sorted(self._mem.flows)
                if chain_id is None or self._mem.nodes[s].chain_id == chain_id
            ]

    def zones(self) -> list[Zone]:
        with self._lock:
            self._sync()
            return [self._mem.zones[k] for k in sorted(self._mem.zones)]

    # ---- company reads ------------------------------------------------------------------
    def company(self, company_id: str) -> Company | None:
        with self._lock:
            self._sync()
            found = self._mem.companies.get(company_id)
            if found is None and company_id in self._mem.aliases:
                found = self._mem.companies.get(self._mem.aliases[company_id])
            return found

    def companies(self, ids: Sequence[str]) -> list[Company]:
        with self._lock:
            self._sync()
            found = self._mem.companies
            return [found[i] for i in sorted(set(ids)) if i in found]

    def match_companies(self, usccs: Iterable[str], norm_names: Iterable[str]) -> dict[str, str]:
        with self._lock:
            self._sync()
            out: dict[str, str] = {}
            mem = self._mem
            for keys, index, aliases in (
                (usccs, mem.by_uscc, mem.alias_uscc),
                (norm_names, mem.by_name, mem.alias_name),
            ):
                for key in keys:
                    hit = index.get(key) if key else None
                    if hit is not None:  # several firms on one key: the smallest id, like Neo4j
                        out[key] = hit if isinstance(hit, str) else min(hit)
                    elif key and key in aliases:  # a firm merged away: the kept firm
                        out[key] = aliases[key]
            return out

    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        with self._lock:
            self._sync()
            members, companies = self._mem.members, self._mem.companies
            found: set[str] = set()
            for nid in node_ids:
                found.update(members.get(nid, ()))
            if local is not None:  # filter before sorting: most firms on a node are outside
                found = {c for c in found if companies[c].is_local == local}
            return [companies[c] for c in sorted(found)]

    def find_companies(self, text: str, limit: int = 50, include_inactive: bool = False) -> list[Company]:
        """One C-speed scan (str.find) of every firm's search text joined into one string, rebuilt
        when the data changed: no n-gram index to keep, and 1- and 2-character needles work too."""
        needle = fold_search(text).replace("\t", "").replace("\n", "")
        with self._lock:
            self._sync()
            ids, haystack, starts = self._search_index()
            companies = self._mem.companies
            out: list[Company] = []
            seen: set[int] = set()
            for prefix, probe in ((1, "\n" + needle), (0, needle)):
                pos = haystack.find(probe)
                while pos >= 0 and len(out) < limit:
                    line = bisect.bisect_right(starts, pos + prefix) - 1
                    if line not in seen:
                        seen.add(line)
                        company = companies[ids[line]]
                        if include_inactive or company.active:
                            out.append(company)
                    following = starts[line + 1] - prefix if line + 1 < len(starts) else len(haystack)
                    pos = haystack.find(probe, following)
                if len(out) >= limit:
                    break
            return out

    def _search_index(self) -> tuple[list[str], str, list[int]]:
        """(ids by id, "\n"-joined search texts, start offset of each line), cached per data version."""
        key = (self._store_id, self._version, id(self._mem))
        cached = self._search_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        companies = self._mem.companies
        ids = sorted(companies)
        texts = [
            company_search_text(c.name, c.former_names, c.uscc, c.initials)
            for c in (companies[i] for i in ids)
        ]
        starts, offset = [], 1
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        built = (ids, "\n" + "\n".join(texts), starts)
        self._search_cache = (key, built)
        return built

    def company_count(self, local: bool | None = None) -> int:
        with self._lock:
            self._sync()
            total = len(self._mem.companies)
            if local is None:
                return total
            return self._mem.local_count if local else total - self._mem.local_count

    def supplies_of(self, company_id: str) -> list[Supply]:
        with self._lock:
            self._sync()
            out = list(self._mem.sells.get(company_id, {}).values())
            out += self._mem.buys.get(company_id, {}).values()
            return sorted(out, key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def company_ids(self) -> list[str]:
        """Every company id, sorted (bulk export, e.g. graph/sync.py copying to Neo4j)."""
        with self._lock:
            self._sync()
            return sorted(self._mem.companies)

    def supplies_from(self, company_ids: Iterable[str]) -> list[Supply]:
        """SUPPLIES edges whose supplier is one of `company_ids`, each once, sorted."""
        with self._lock:
            self._sync()
            out = [s for cid in set(company_ids) for s in self._mem.sells.get(cid, {}).values()]
            return sorted(out, key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def local_ties(self, company_ids: Iterable[str]) -> list[Tie]:
        with self._lock:
            self._sync()
            companies = self._mem.companies
            ties: list[Tie] = []
            for cid in set(company_ids):
                for direction, deals in (
                    ("supplies", self._mem.sells.get(cid)),
                    ("buys", self._mem.buys.get(cid)),
                ):
                    for (other_id, product), s in (deals or {}).items():
                        other = companies[other_id]
                        if other.is_local:
                            ties.append(
                                Tie(
                                    cid,
                                    other_id,
                                    other.name,
                                    direction,
                                    product,
                                    s.amount,
                                    other.qualifications,
                                )
                            )
            ties.sort(key=lambda t: (t.company_id, t.direction, t.local_id, t.product))
            return ties

    # ---- aggregation --------------------------------------------------------------------
    def node_stats(self, qualified: Iterable[str], chain_id: str | None = None) -> dict[str, NodeStats]:
        wanted = frozenset([qualified] if isinstance(qualified, str) else qualified)
        with self._lock:
            self._sync()
            out: dict[str, NodeStats] = {}
            ids = self._mem.nodes if chain_id is None else self._mem.chain_nodes.get(chain_id, ())
            for nid in sorted(ids):
                agg = self._mem.agg[nid]
                out[nid] = NodeStats(
                    node_id=nid,
                    local_firms=agg.local,
                    local_output=agg.output / MICRO,
                    qualified_firms=sum(n for sig, n in agg.quals.items() if sig & wanted),
                    outside_firms=agg.outside,
                )
            return out

    # ---- versioning and lifecycle -------------------------------------------------------
    @property
    def version(self) -> int:
        """Counts committed writes; persisted in the file, so it survives a restart."""
        with self._lock:
            self._sync()
            return self._version

    def data_version(self) -> str:
        """Cache key for analysis results: changes whenever the data may have changed.

        The store id (random per file, or per in-memory store) keeps a recreated file's version 1
        distinct from the old file's version 1.
        """
        with self._lock:
            self._sync()
            return f"{self._store_id}:{self._version}"

    def health(self) -> tuple[bool, str]:
        try:
            with self._lock:
                self._sync()
                where = f"文件 {self.path}" if self.path is not None else "内存"
                return True, (
                    f"嵌入式图存储（{where}）正常：{len(self._mem.chains)} 条产业链，"
                    f"{len(self._mem.nodes)} 个环节，{len(self._mem.companies)} 家企业"
                )
        except Exception as exc:  # health must never raise
            return False, f"嵌入式图存储不可用：{exc}"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._closed = True
            self._mem = GraphMemory()
