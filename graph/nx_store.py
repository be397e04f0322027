"""The embedded GraphStore: the chain graph in memory (networkx), firms and counters in a SQLite file.

Three modules, one job each:

* graph/nx_memory.py: the structure graph (networkx) and the per-node counters. Derived data only.
* graph/nx_file.py: the SQLite file (schema and migration, row codecs, firm queries, counters).
* this module: `NetworkxStore`, the GraphStore contract on top of both: validation through
  graph/backend_checks.py, one transaction per write, catching up with other processes, reads.

Scale (issue 16): a process holds the structure and the counters, never an object per firm. Opening
reads a few hundred structure rows and the counters, so `lianzhao chains`/`gaps` and a starting
server cost the same at 1M firms as at 1,000; firm reads are indexed queries on the file, which
SQLite's page cache keeps warm. Without a path the same schema lives in a private in-memory database.

Durability: every write call is one SQLite transaction (WAL, synchronous=FULL) that writes the
firms together with their memberships and counters. Memory is changed only after the commit
succeeds, so a failed or killed write leaves both the file and the graph at the last committed
state. Another process's commit is noticed via ``PRAGMA data_version``; memory then reloads the
structure and counters (milliseconds at any number of firms).
"""

from __future__ import annotations

import bisect
import logging
import sqlite3
import threading
import uuid
from array import array
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from . import backend_checks as checks
from . import nx_file as file
from .backend_checks import COMPANY, MICRO
from .identity import fold_search, normalize_name
from .model import Chain, ChainNode, Company, CompanyAlias, Flow, NodeStats, Sector, Supply, Tie, Zone
from .nx_memory import GraphMemory
from .store import GraphStore, GraphStoreUnavailable

log = logging.getLogger(__name__)

SCHEMA_VERSION = file.SCHEMA_VERSION


class NetworkxStore(GraphStore):
    """GraphStore on networkx; durable in a SQLite file when `path` is given, else memory only."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._search_cache: tuple | None = None  # (data version, directory search index)
        self._closed = False
        self._store_id = uuid.uuid4().hex
        self._version = 0
        self._db_seen: int | None = None  # PRAGMA data_version at our last sync
        self._mem = GraphMemory()
        self._conn: sqlite3.Connection | None = file.connect(self.path, self._store_id)
        try:
            self._load()
        except BaseException:
            self._conn.close()
            self._conn = None
            raise

    # ---- loading and catching up ----------------------------------------------------------
    def _load(self, seen: int | None = None) -> None:
        """(Re)build memory (structure and counters) from the file in one read transaction.

        `seen` is PRAGMA data_version read before that snapshot began (read here when None):
        taken before, it can only be older than the data, which costs at most one extra catch-up.
        """
        conn = self._connection()
        mem = GraphMemory()
        own = not conn.in_transaction
        if seen is None:
            seen = file.data_version(conn)
        if own:
            conn.execute("BEGIN")
        try:
            store_id, version = file.meta(conn)
            mem.apply_sectors(file.entities(conn, "sectors", Sector))
            mem.apply_chains(file.entities(conn, "chains", Chain))
            mem.apply_nodes(file.entities(conn, "nodes", ChainNode))
            mem.apply_flows(set(conn.execute("SELECT source, target FROM flows")))
            mem.apply_zones(file.entities(conn, "zones", Zone))
            mem.load_counters(*file.counters(conn))
        except sqlite3.Error as exc:
            raise GraphStoreUnavailable(f"图存储文件读取失败：{exc}") from exc
        finally:
            if own and conn.in_transaction:
                conn.execute("COMMIT")
        # Swapped in only when complete: an interrupted load leaves the previous state and the
        # old data_version, so the next call loads again.
        self._mem, self._store_id, self._version, self._db_seen = mem, store_id, version, seen
        log.debug("图存储已载入：%s 家企业，版本 %s", mem.firms, version)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise GraphStoreUnavailable("图存储文件未打开")
        return self._conn

    def _sync(self) -> sqlite3.Connection:
        """Catch up when another connection (process) committed since we last looked; the connection."""
        if self._closed:
            raise GraphStoreUnavailable("图存储已关闭")
        conn = self._connection()
        try:
            if file.data_version(conn) != self._db_seen:
                self._load()
        except sqlite3.Error as exc:
            raise GraphStoreUnavailable(f"图存储文件读取失败：{exc}") from exc
        return conn

    # ---- one atomic write -----------------------------------------------------------------
    def _write(
        self,
        validate: Callable[[sqlite3.Connection], None],
        sql: Callable[[sqlite3.Connection], object],
        apply: Callable[[sqlite3.Connection], None],
    ) -> None:
        """Validate against current state, commit to the file, then to memory.

        `validate(conn)` raises UnknownReference for ids the store lacks (the stateless checks ran
        before); `sql(conn)` writes rows (firms with their memberships and counters); `apply(conn)`
        updates memory after the commit and must not fail. Nothing changes anywhere unless all of
        them succeed in order.
        """
        with self._lock:
            if self._closed:
                raise GraphStoreUnavailable("图存储已关闭")
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise GraphStoreUnavailable(f"图存储文件正被占用，写入失败：{exc}") from exc
            try:
                if file.data_version(conn) != self._db_seen:
                    self._load()
                validate(conn)
                sql(conn)
                file.bump_version(conn, self._version + 1)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise GraphStoreUnavailable(f"图存储写入失败，未做任何修改：{exc}") from exc
                raise
            self._version += 1
            try:
                apply(conn)
            except BaseException:
                self._load()  # memory is derived data: rebuild it from the committed file
                raise

    def _missing_in(self, conn: sqlite3.Connection) -> checks.Missing:
        """The reference check backend_checks calls: structure from memory, firms from the file."""

        def missing(label: str, ids: list[str]) -> list[str]:
            if label == COMPANY:
                held = file.existing_ids(conn, ids)
                return [i for i in ids if i not in held]
            return self._mem.missing(label, ids)

        return missing

    def _reload_counters(self, conn: sqlite3.Connection) -> None:
        self._mem.load_counters(*file.counters(conn))

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
            (lambda conn: refs(batch, self._missing_in(conn))) if refs else (lambda conn: None),
            lambda conn: conn.executemany(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",
                [(x.id, file.to_json(x)) for x in batch.values()],
            ),
            lambda conn: apply(self._mem, batch),
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
            lambda conn: checks.check_flow_refs(pairs, self._missing_in(conn)),
            lambda conn: conn.executemany("INSERT OR IGNORE INTO flows VALUES (?, ?)", pairs),
            lambda conn: self._mem.apply_flows(pairs),
        )

    def upsert_zones(self, zones: Iterable[Zone]) -> None:
        self._upsert_entities(checks.zones_batch(zones), "zones", GraphMemory.apply_zones)

    def upsert_companies(self, companies: Iterable[Company]) -> int:
        firms = checks.companies_batch(companies)
        batch: dict[str, tuple[Company, str]] = {}

        def validate(conn: sqlite3.Connection) -> None:
            checks.check_company_refs(firms, self._missing_in(conn))
            norm = normalize_name
            for cid, c in firms.items():
                batch[cid] = (c, norm(c.name))

        self._write(validate, lambda conn: file.write_companies(conn, batch), self._reload_counters)
        return len(batch)

    def recount_nodes(self, node_ids: Iterable[str], sql: Callable[[sqlite3.Connection], object]) -> None:
        """One write that changes firms other than by upsert (merging or deleting firms, issue 16
        item D): `sql(conn)` writes the firm rows and their `memberships` rows, then the counters of
        `node_ids` (every node the touched firms were or are on) and the totals are recomputed in
        the same transaction (nx_file.recount_nodes), and memory takes the new counters. When
        `sql` returns a list, it names more nodes to recount (ones only known inside the
        transaction: the old links of the firms it rewrote)."""
        nodes = list(node_ids)

        def write(conn: sqlite3.Connection) -> None:
            more = sql(conn)
            file.recount_nodes(conn, [*nodes, *(more if isinstance(more, list) else ())])

        self._write(lambda conn: None, write, self._reload_counters)

    def upsert_supplies(self, supplies: Iterable[Supply]) -> int:
        batch = checks.supplies_batch(supplies)
        self._write(
            lambda conn: checks.check_supply_refs(batch, self._missing_in(conn)),
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO supplies VALUES (?, ?, ?, ?)",
                [(k[0], k[1], k[2], s.amount) for k, s in batch.items()],
            ),
            lambda conn: None,
        )
        return len(batch)

    def merge_companies(self, kept: Company, merged_id: str, supplies: Iterable[Supply]) -> None:
        """SQL on companies, memberships, supplies and aliases through recount_nodes: the counters
        of every node either firm was or is on are recomputed in the merge's transaction."""
        kept, ties = checks.merge_batch(kept, merged_id, supplies)
        row = (kept, normalize_name(kept.name))
        rows = [(k[0], k[1], k[2], s.amount) for k, s in ties.items()]

        def sql(conn: sqlite3.Connection) -> list[str]:
            checks.check_merge_refs(kept, merged_id, ties, self._missing_in(conn))
            return file.merge_rows(conn, row, merged_id, rows)

        self.recount_nodes(kept.node_ids, sql)

    def upsert_aliases(self, aliases: Iterable[CompanyAlias]) -> int:
        batch = checks.aliases_batch(aliases)
        rows = [(a.id, a.company_id, a.uscc, a.norm_name) for a in batch.values()]
        self._write(
            lambda conn: checks.check_alias_refs(batch, self._missing_in(conn)),
            lambda conn: conn.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)", rows),
            lambda conn: None,
        )
        return len(rows)

    def company_aliases(self) -> list[CompanyAlias]:
        with self._lock:
            conn = self._sync()
            return [CompanyAlias(*r) for r in file.select_aliases(conn)]

    def clear(self) -> None:
        def sql(conn: sqlite3.Connection) -> None:
            for table in file.DATA_TABLES:
                conn.execute(f"DELETE FROM {table}")  # fixed table names, no user input
            conn.executemany("UPDATE meta SET value = '0' WHERE key = ?", [(k,) for k in file.TOTALS])

        def reset(conn: sqlite3.Connection) -> None:
            self._mem = GraphMemory()

        self._write(lambda conn: None, sql, reset)

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

    # ---- company reads (indexed queries on the file) ------------------------------------
    def company(self, company_id: str) -> Company | None:
        with self._lock:
            conn = self._sync()
            found = next((c for c, _ in file.companies_by_id(conn, [company_id])), None)
            if found is None:  # a firm merged away: the kept firm
                target = file.alias_target(conn, company_id)
                if target is not None:
                    found = next((c for c, _ in file.companies_by_id(conn, [target])), None)
            return found

    def companies(self, ids: Sequence[str]) -> list[Company]:
        with self._lock:
            conn = self._sync()
            return sorted((c for c, _ in file.companies_by_id(conn, set(ids))), key=_by_id)

    def match_companies(self, usccs: Iterable[str], norm_names: Iterable[str]) -> dict[str, str]:
        """Several firms on one key: the smallest id, like Neo4j. A key no stored firm has but a
        merged-away one had leads to the kept firm."""
        with self._lock:
            conn = self._sync()
            out: dict[str, str] = {}
            for column, keys in (("uscc", list(usccs)), ("norm_name", list(norm_names))):
                found = file.match_keys(conn, column, keys)
                rest = [k for k in keys if k and k not in found]
                out.update({**file.match_alias_keys(conn, column, rest), **found})
            return out

    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        with self._lock:
            conn = self._sync()
            ids = file.ids_on_nodes(conn, node_ids, local)
            return sorted((c for c, _ in file.companies_by_id(conn, ids)), key=_by_id)

    def find_companies(self, text: str, limit: int = 50, include_inactive: bool = False) -> list[Company]:
        """One C-speed scan (str.find) of every firm's search text joined into one string, rebuilt
        when the data changed: no n-gram index to keep, and 1- and 2-character needles work too."""
        needle = fold_search(text).replace("\t", "").replace("\n", "")
        with self._lock:
            conn = self._sync()
            ids, haystack, starts, active = self._search_index(conn)
            hits: list[str] = []
            seen: set[int] = set()
            for prefix, probe in ((1, "\n" + needle), (0, needle)):
                pos = haystack.find(probe)
                while pos >= 0 and len(hits) < limit:
                    line = bisect.bisect_right(starts, pos + prefix) - 1
                    if line not in seen:
                        seen.add(line)
                        if include_inactive or active[line]:
                            hits.append(ids[line])
                    following = starts[line + 1] - prefix if line + 1 < len(starts) else len(haystack)
                    pos = haystack.find(probe, following)
                if len(hits) >= limit:
                    break
            found = {c.id: c for c, _ in file.companies_by_id(conn, hits)}
            return [found[i] for i in hits]

    def _search_index(self, conn: sqlite3.Connection) -> tuple[list[str], str, array, bytearray]:
        """(ids by id, "\n"-joined search texts, start offset of each line, active flag of each line),
        cached per data version. Compact on purpose (one string, an int array, a byte array): at 1M
        firms it is the largest thing the store holds."""
        key = (self._store_id, self._version)
        cached = self._search_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        self._search_cache = None  # let the old index go before building the new one
        ids: list[str] = []
        texts: list[str] = []
        starts, active = array("q"), bytearray()
        offset = 1
        for rows in file.chunks(file.search_rows(conn)):
            for cid, text, alive in rows:
                ids.append(cid)
                texts.append(text)
                starts.append(offset)
                active.append(1 if alive else 0)
                offset += len(text) + 1
        built = (ids, "\n" + "\n".join(texts), starts, active)
        self._search_cache = (key, built)
        return built

    def company_count(self, local: bool | None = None) -> int:
        with self._lock:
            self._sync()
            mem = self._mem
            if local is None:
                return mem.firms
            return mem.local_firms if local else mem.firms - mem.local_firms

    def supplies_of(self, company_id: str) -> list[Supply]:
        with self._lock:
            conn = self._sync()
            out = file.supplies_where(conn, "supplier", [company_id])
            out += file.supplies_where(conn, "buyer", [company_id])
            return sorted(out, key=_supply_key)

    def company_ids(self) -> list[str]:
        """Every company id, sorted (bulk export, e.g. graph/sync.py copying to Neo4j)."""
        with self._lock:
            conn = self._sync()
            return [r[0] for r in conn.execute("SELECT id FROM companies ORDER BY id")]

    def supplies_from(self, company_ids: Iterable[str]) -> list[Supply]:
        """SUPPLIES edges whose supplier is one of `company_ids`, each once, sorted."""
        with self._lock:
            conn = self._sync()
            return sorted(file.supplies_where(conn, "supplier", company_ids), key=_supply_key)

    def local_ties(self, company_ids: Iterable[str]) -> list[Tie]:
        with self._lock:
            conn = self._sync()
            ties = [
                Tie(
                    cid,
                    other,
                    name,
                    direction,
                    product,
                    amount,
                    tuple(quals.split(file.SEP)) if quals else (),
                )
                for cid, direction, other, name, product, amount, quals in file.local_partners(
                    conn, company_ids
                )
            ]
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
                    f"{len(self._mem.nodes)} 个环节，{self._mem.firms} 家企业"
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
            self._search_cache = None


def _by_id(c: Company) -> str:
    return c.id


def _supply_key(s: Supply) -> tuple[str, str, str]:
    return (s.supplier_id, s.buyer_id, s.product)
