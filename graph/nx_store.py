"""The embedded GraphStore: the chain graph in memory (networkx), made durable by a SQLite file.

Why this shape:

* Reads are served from memory. The chain structure (Sector, Chain, ChainNode, Zone with
  IN_SECTOR, IN_CHAIN, PART_OF, FEEDS) is a ``networkx.DiGraph`` whose vertices are
  ``(kind, id)`` tuples carrying the model object in ``obj``; an edge's data dict is keyed by
  relationship type, so two chain nodes may be joined by both PART_OF and FEEDS.
* The company layer (Company with OPERATES_IN, SUPPLIES, LOCATED_IN) is held as adjacency
  dicts beside the graph: node -> member firms, firm -> its sales and purchases keyed by
  (partner, product). A networkx vertex per firm costs three dicts plus a dict per edge:
  measured at 100k firms it made opening the file 2x slower and memory 2x larger, and the
  target is 1M firms. Company.node_ids and zone_id are the forward OPERATES_IN / LOCATED_IN links.
* Per chain node, aggregates (local firms, local output, outside firms, local firms per
  qualification set) are kept up to date on every company upsert (old contribution subtracted,
  new added), so ``node_stats`` never walks the companies. Output is summed as integer
  micro-万元 so repeated subtract/add never drifts.
* Durability: every write call is one SQLite transaction (WAL, synchronous=FULL). Memory is
  changed only after the commit succeeds, so a failed or killed write leaves both the file and
  the graph at the last committed state. Another process writing the same file is noticed via
  ``PRAGMA data_version`` and memory is reloaded.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import math
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, asdict, fields
from pathlib import Path

import networkx as nx

from .backend_checks import MICRO, check_id, check_type, checked_batch, last_wins, micro
from .identity import normalize_name
from .model import STAGES, Chain, ChainNode, Company, Flow, NodeStats, Sector, Supply, Tie, Zone
from .store import GraphStore, GraphStoreError, GraphStoreUnavailable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SECTOR, CHAIN, NODE, ZONE = "Sector", "Chain", "ChainNode", "Zone"
IN_SECTOR, IN_CHAIN, PART_OF, FEEDS = "IN_SECTOR", "IN_CHAIN", "PART_OF", "FEEDS"

_SEP = "\x1f"  # joins tuple fields of a company row (unit separator; rejected inside values)
_CHUNK = 20_000
_TUPLE_FIELDS = {
    Chain: ("sources",),
    ChainNode: ("keywords", "negative_keywords", "industry_codes", "sources", "tags"),
    Zone: ("focus_sectors", "focus", "focus_chains"),
    Sector: (),
}
# Company rows: one column per model field (so the file can be inspected with any SQLite tool),
# tuples joined by _SEP, plus the normalised name for matching.
_COMPANY_FIELDS = tuple(f.name for f in fields(Company))
_C_TUPLES = tuple(i for i, f in enumerate(fields(Company)) if str(f.type).startswith("tuple"))
_C_BOOLS = tuple(i for i, f in enumerate(fields(Company)) if f.type in ("bool", bool))
_C_COLUMNS = _COMPANY_FIELDS + ("norm_name",)


def _sql_literal(value) -> str:
    """SQL literal for a dataclass default (trusted constants only: DDL takes no parameters)."""
    if value is None or isinstance(value, (bool, int, float)):
        return "NULL" if value is None else str(int(value) if isinstance(value, bool) else value)
    if isinstance(value, tuple):
        value = _SEP.join(value)
    return "'" + str(value).replace("'", "''") + "'"


# What rows written before a field existed hold for it: the field's default, encoded.
_COLUMN_DEFAULTS = {f.name: _sql_literal(f.default) for f in fields(Company) if f.default is not MISSING}

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sectors (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chains (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS zones (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flows (source TEXT NOT NULL, target TEXT NOT NULL,
    PRIMARY KEY (source, target)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS companies (id TEXT PRIMARY KEY, {", ".join(_C_COLUMNS[1:])});
CREATE TABLE IF NOT EXISTS supplies (supplier TEXT NOT NULL, buyer TEXT NOT NULL,
    product TEXT NOT NULL, amount REAL, PRIMARY KEY (supplier, buyer, product)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (version INTEGER PRIMARY KEY, kind TEXT NOT NULL,
    keys TEXT NOT NULL);
"""
# The change log lets another process holding the file catch up by replaying what changed
# instead of reloading everything. Old entries are pruned; a reader too far behind reloads.
_LOG_KEEP = 1000  # versions kept at most
_LOG_BYTES = 16 * 2**20  # and at most this much key text (older entries are pruned first)
_LOG_MAX_KEYS = 50_000  # a bigger write logs "reload" (replaying it would cost about the same)
_LOG_KINDS = ("sectors", "chains", "nodes", "zones", "flows", "companies", "supplies")
# After a full load, move every live object to the GC's permanent generation: otherwise the
# first full collection after loading 1M firms rescans them all (measured 3.7 s CPU, a pause
# that would land on some later web request) and every later full collection does again.
# Process-wide, like any gc setting; garbage cycles alive at that moment are never collected.
FREEZE_AFTER_LOAD = True
_IN_CHUNK = 500  # ids per "WHERE id IN (...)" query


class _NodeAgg:
    """Running totals of one chain node; see node_stats."""

    __slots__ = ("local", "output", "outside", "quals")

    def __init__(self) -> None:
        self.local = 0
        self.output = 0  # micro-万元
        self.outside = 0
        self.quals: Counter = Counter()  # frozenset(qualifications) of local firms -> count


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic GC during bulk work: it otherwise rescans millions of fresh objects
    (measured: loading 100k firms 2x faster). Our objects hold no reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _new_company(values) -> Company:
    """Build a frozen Company without the dataclass __init__ (3x faster when loading 1M rows)."""
    obj = object.__new__(Company)
    obj.__dict__.update(zip(_COMPANY_FIELDS, values))
    return obj


def _company_row(c: Company, norm: str) -> list:
    row = [getattr(c, name) for name in _COMPANY_FIELDS]
    for i in _C_TUPLES:
        row[i] = _SEP.join(row[i])
    for i in _C_BOOLS:
        row[i] = int(row[i])
    row.append(norm)
    return row


def _company_from_row(row: tuple) -> tuple[Company, str]:
    values = list(row)
    for i in _C_TUPLES:
        values[i] = tuple(values[i].split(_SEP)) if values[i] else ()
    for i in _C_BOOLS:
        values[i] = bool(values[i])
    return _new_company(values), values[-1]


def _rows_by_id(conn: sqlite3.Connection, table: str, columns: str, ids) -> Iterable[tuple]:
    """Rows of `table` whose id is in `ids`, read in chunks (table/columns are constants)."""
    ids = list(ids)
    for i in range(0, len(ids), _IN_CHUNK):
        chunk = ids[i : i + _IN_CHUNK]
        yield from conn.execute(
            f"SELECT {columns} FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        )


def _to_json(obj) -> str:
    return json.dumps(asdict(obj), ensure_ascii=False, separators=(",", ":"))


def _from_json(cls, text: str):
    data = json.loads(text)
    for name in _TUPLE_FIELDS[cls]:
        if name in data:  # rows written before a field existed take its default
            data[name] = tuple(data[name])
    return cls(**data)


class NetworkxStore(GraphStore):
    """GraphStore on networkx; durable in a SQLite file when `path` is given, else memory only."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._store_id = uuid.uuid4().hex
        self._version = 0
        self._db_seen = None  # PRAGMA data_version at our last sync
        self._reset_memory()
        if self.path is not None:
            self._open_file()

    # ---- memory ---------------------------------------------------------------------------
    def _reset_memory(self) -> None:
        self._g = nx.DiGraph()
        self._sectors: dict[str, Sector] = {}
        self._chains: dict[str, Chain] = {}
        self._nodes: dict[str, ChainNode] = {}
        self._chain_nodes: dict[str, set[str]] = {}  # chain id -> its node ids
        self._zones: dict[str, Zone] = {}
        self._flows: set[tuple[str, str]] = set()
        self._companies: dict[str, Company] = {}
        self._norm: dict[str, str] = {}  # company id -> normalised name
        self._members: dict[str, set[str]] = {}  # chain node id -> firms OPERATES_IN it
        self._sells: dict[str, dict[tuple[str, str], Supply]] = {}  # supplier -> (buyer, product)
        self._buys: dict[str, dict[tuple[str, str], Supply]] = {}  # buyer -> (supplier, product)
        self._by_uscc: dict[str, str | set[str]] = {}
        self._by_name: dict[str, str | set[str]] = {}
        self._agg: dict[str, _NodeAgg] = {}
        self._local_count = 0

    def _vertex(self, kind: str, obj) -> None:
        self._g.add_node((kind, obj.id), obj=obj)

    def _set_edge(self, u, v, kind: str) -> None:
        data = self._g.get_edge_data(u, v)
        if data is None:
            self._g.add_edge(u, v, **{kind: True})
        else:
            data[kind] = True

    def _drop_edge(self, u, v, kind: str) -> None:
        data = self._g.get_edge_data(u, v)
        if data is not None:
            data.pop(kind, None)
            if not data:
                self._g.remove_edge(u, v)

    def _apply_sectors(self, batch: dict[str, Sector]) -> None:
        for sid, s in batch.items():
            self._sectors[sid] = s
            self._vertex(SECTOR, s)

    def _apply_chains(self, batch: dict[str, Chain]) -> None:
        for cid, c in batch.items():
            old = self._chains.get(cid)
            if old is not None and old.sector_id != c.sector_id:
                self._drop_edge((CHAIN, cid), (SECTOR, old.sector_id), IN_SECTOR)
            self._chains[cid] = c
            self._vertex(CHAIN, c)
            self._set_edge((CHAIN, cid), (SECTOR, c.sector_id), IN_SECTOR)

    def _apply_nodes(self, batch: dict[str, ChainNode]) -> None:
        for nid, n in batch.items():
            old = self._nodes.get(nid)
            me = (NODE, nid)
            if old is not None:
                if old.chain_id != n.chain_id:
                    self._drop_edge(me, (CHAIN, old.chain_id), IN_CHAIN)
                    self._chain_nodes[old.chain_id].discard(nid)
                if old.parent_id and old.parent_id != n.parent_id:
                    self._drop_edge(me, (NODE, old.parent_id), PART_OF)
            self._nodes[nid] = n
            self._chain_nodes.setdefault(n.chain_id, set()).add(nid)
            self._agg.setdefault(nid, _NodeAgg())
            self._members.setdefault(nid, set())
            self._vertex(NODE, n)
            self._set_edge(me, (CHAIN, n.chain_id), IN_CHAIN)
            if n.parent_id:
                self._set_edge(me, (NODE, n.parent_id), PART_OF)

    def _apply_flows(self, batch: set[tuple[str, str]]) -> None:
        for src, dst in batch:
            self._flows.add((src, dst))
            self._set_edge((NODE, src), (NODE, dst), FEEDS)

    def _apply_zones(self, batch: dict[str, Zone]) -> None:
        for zid, z in batch.items():
            self._zones[zid] = z
            self._vertex(ZONE, z)

    @staticmethod
    def _index(index: dict, key: str, cid: str) -> None:
        """Add to a key -> id index; a key shared by several firms maps to a set of ids."""
        cur = index.get(key)
        if cur is None:
            index[key] = cid
        elif isinstance(cur, set):
            cur.add(cid)
        elif cur != cid:
            index[key] = {cur, cid}

    @staticmethod
    def _unindex(index: dict, key: str, cid: str) -> None:
        cur = index.get(key)
        if cur == cid:
            del index[key]
        elif isinstance(cur, set):
            cur.discard(cid)
            if len(cur) == 1:
                index[key] = next(iter(cur))

    def _link(self, c: Company, norm: str, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) a firm's links, indexes and share of node aggregates."""
        cid = c.id
        members, aggs = self._members, self._agg
        if sign > 0:
            self._companies[cid] = c
            self._norm[cid] = norm
            for nid in c.node_ids:
                members[nid].add(cid)
            if c.uscc:
                self._index(self._by_uscc, c.uscc, cid)
            self._index(self._by_name, norm, cid)
        else:
            for nid in c.node_ids:
                members[nid].discard(cid)
            if c.uscc:
                self._unindex(self._by_uscc, c.uscc, cid)
            self._unindex(self._by_name, norm, cid)
        if c.is_local:
            self._local_count += sign
            out = micro(c.revenue) * sign
            sig = frozenset(c.qualifications)
            for nid in c.node_ids:
                agg = aggs[nid]
                agg.local += sign
                agg.output += out
                agg.quals[sig] += sign
                if not agg.quals[sig]:
                    del agg.quals[sig]
        else:
            for nid in c.node_ids:
                aggs[nid].outside += sign

    def _apply_companies(self, batch: dict[str, tuple[Company, str]]) -> None:
        for cid, (c, norm) in batch.items():
            old = self._companies.get(cid)
            if old is not None:
                self._link(old, self._norm[cid], -1)
            self._link(c, norm, 1)

    def _apply_supplies(self, batch: dict[tuple[str, str, str], Supply]) -> None:
        sells, buys = self._sells, self._buys
        for (sup, buy, product), s in batch.items():
            out = sells.get(sup)
            if out is None:
                out = sells[sup] = {}
            out[buy, product] = s
            into = buys.get(buy)
            if into is None:
                into = buys[buy] = {}
            into[sup, product] = s

    # ---- file -----------------------------------------------------------------------------
    def _open_file(self) -> None:
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            if not self._schema_ready(conn):
                self._prepare_schema(conn)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise GraphStoreUnavailable(f"无法打开图存储文件 {self.path}：{exc}") from exc
            if isinstance(exc, OSError):
                raise GraphStoreUnavailable(f"无法创建图存储目录 {self.path.parent}：{exc}") from exc
            raise
        self._conn = conn
        try:
            self._load()
        except BaseException:
            conn.close()
            self._conn = None
            raise

    def _check_schema(self, meta: dict) -> None:
        schema = int(meta.get("schema", SCHEMA_VERSION))
        if schema > SCHEMA_VERSION:
            raise GraphStoreUnavailable(
                f"图存储文件 {self.path} 的格式版本为 {schema}，高于本程序支持的 {SCHEMA_VERSION}，请升级程序"
            )

    def _schema_ready(self, conn: sqlite3.Connection) -> bool:
        """Read-only check, so opening never waits for the write lock another process holds
        (a long import) unless the file really needs creating or upgrading."""
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if (
            not {"meta", "sectors", "chains", "nodes", "zones", "flows", "companies", "supplies", "changes"}
            <= tables
        ):
            return False
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        self._check_schema(meta)
        have = {r[1] for r in conn.execute("PRAGMA table_info(companies)")}
        return "store_id" in meta and set(_C_COLUMNS) <= have

    def _prepare_schema(self, conn: sqlite3.Connection) -> None:
        """Create the tables of a new file, or add what an older file lacks, in one transaction."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            self._check_schema(meta)
            if "store_id" not in meta:
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema", str(SCHEMA_VERSION)), ("store_id", self._store_id), ("version", "0")],
                )
            # A field added to the Company model becomes a new column (its default) of old files.
            have = {r[1] for r in conn.execute("PRAGMA table_info(companies)")}
            for column in _C_COLUMNS:
                if column not in have:  # names come from the dataclass, not from input
                    conn.execute(
                        f"ALTER TABLE companies ADD COLUMN {column} "
                        f"DEFAULT {_COLUMN_DEFAULTS.get(column, 'NULL')}"
                    )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _load(self, seen: int | None = None) -> None:
        """(Re)build memory from the file. Runs inside one read transaction: a consistent snapshot.

        `seen` is PRAGMA data_version read before that snapshot began (read here when None):
        taken before, it can only be older than the data, which costs at most one extra catch-up.
        """
        conn = self._conn
        self._reset_memory()
        own = not conn.in_transaction
        if seen is None:
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
        if own:
            conn.execute("BEGIN")
        try:
            with _no_gc():
                meta = dict(conn.execute("SELECT key, value FROM meta"))
                self._store_id = meta["store_id"]
                self._version = int(meta["version"])
                self._apply_sectors(
                    {r[0]: _from_json(Sector, r[1]) for r in conn.execute("SELECT id, data FROM sectors")}
                )
                self._apply_chains(
                    {r[0]: _from_json(Chain, r[1]) for r in conn.execute("SELECT id, data FROM chains")}
                )
                self._apply_nodes(
                    {r[0]: _from_json(ChainNode, r[1]) for r in conn.execute("SELECT id, data FROM nodes")}
                )
                self._apply_flows(set(conn.execute("SELECT source, target FROM flows")))
                self._apply_zones(
                    {r[0]: _from_json(Zone, r[1]) for r in conn.execute("SELECT id, data FROM zones")}
                )
                cur = conn.execute(f"SELECT {', '.join(_C_COLUMNS)} FROM companies")
                self._load_companies(cur)
                self._load_supplies(conn.execute("SELECT supplier, buyer, product, amount FROM supplies"))
            self._db_seen = seen
        except BaseException as exc:
            # Half-loaded memory must never be taken for current: force a full load next call.
            self._reset_memory()
            self._store_id, self._db_seen = "", None
            if isinstance(exc, sqlite3.Error):
                raise GraphStoreUnavailable(f"图存储文件读取失败：{exc}") from exc
            raise
        finally:
            if own and conn.in_transaction:
                conn.execute("COMMIT")
        if FREEZE_AFTER_LOAD:
            gc.freeze()
        log.info("图存储已载入：%s 家企业，版本 %s", len(self._companies), self._version)

    def _load_companies(self, cur: sqlite3.Cursor) -> None:
        """_company_from_row + _link for every row, inlined: this loop runs a million times."""
        new, cls, names, tuples, bools, sep = (
            object.__new__,
            Company,
            _COMPANY_FIELDS,
            _C_TUPLES,
            _C_BOOLS,
            _SEP,
        )
        companies, norms, members, aggs = self._companies, self._norm, self._members, self._agg
        by_uscc, by_name, index = self._by_uscc, self._by_name, self._index
        local_count = 0
        while rows := cur.fetchmany(_CHUNK):
            for row in rows:
                v = list(row)
                for i in tuples:
                    v[i] = tuple(v[i].split(sep)) if v[i] else ()
                for i in bools:
                    v[i] = bool(v[i])
                c = new(cls)
                c.__dict__.update(zip(names, v))
                cid, norm = v[0], v[-1]
                if norm is None:
                    norm = normalize_name(c.name)
                companies[cid] = c
                norms[cid] = norm
                if c.uscc:
                    index(by_uscc, c.uscc, cid)
                index(by_name, norm, cid)
                if c.is_local:
                    local_count += 1
                    out, sig = micro(c.revenue), frozenset(c.qualifications)
                    for nid in c.node_ids:
                        members[nid].add(cid)
                        agg = aggs[nid]
                        agg.local += 1
                        agg.output += out
                        agg.quals[sig] += 1
                else:
                    for nid in c.node_ids:
                        members[nid].add(cid)
                        aggs[nid].outside += 1
        self._local_count += local_count

    def _load_supplies(self, cur: sqlite3.Cursor) -> None:
        """_apply_supplies for rows read at open, inlined (rows are unique by primary key)."""
        new, cls, names = object.__new__, Supply, ("supplier_id", "buyer_id", "product", "amount")
        sells, buys = self._sells, self._buys
        while rows := cur.fetchmany(_CHUNK):
            for row in rows:
                s = new(cls)
                s.__dict__.update(zip(names, row))
                sup, buy, product = row[0], row[1], row[2]
                out = sells.get(sup)
                if out is None:
                    out = sells[sup] = {}
                out[buy, product] = s
                into = buys.get(buy)
                if into is None:
                    into = buys[buy] = {}
                into[sup, product] = s

    def _sync(self) -> None:
        """Reload when another connection (process) committed since we last looked."""
        if self._closed:
            raise GraphStoreError("图存储已关闭")
        if self._conn is None:
            return
        try:
            seen = self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise GraphStoreUnavailable(f"图存储文件读取失败：{exc}") from exc
        if seen != self._db_seen:
            self._refresh()

    def _refresh(self) -> None:
        """Catch up with other connections' commits: replay the change log, else reload all."""
        conn = self._conn
        own = not conn.in_transaction
        seen = conn.execute("PRAGMA data_version").fetchone()[0]  # before the snapshot: see _load
        if own:
            conn.execute("BEGIN")  # one snapshot for the log and the rows it points to
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('store_id', 'version')"))
            target = int(meta["version"])
            replayed = False
            if meta["store_id"] == self._store_id:
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
        rows = conn.execute(
            "SELECT version, kind, keys FROM changes WHERE version > ? ORDER BY version", (self._version,)
        ).fetchall()
        if [r[0] for r in rows] != list(range(self._version + 1, target + 1)):
            return False
        pending: dict[str, dict] = {kind: {} for kind in _LOG_KINDS}
        for _, kind, keys in rows:
            if kind not in pending:
                return False
            for key in json.loads(keys):
                if kind == "supplies":
                    pending[kind][tuple(key[:3])] = key[3]
                elif kind == "flows":
                    pending[kind][tuple(key)] = None
                else:
                    pending[kind][key] = None
        for table, cls, apply in (
            ("sectors", Sector, self._apply_sectors),
            ("chains", Chain, self._apply_chains),
            ("nodes", ChainNode, self._apply_nodes),
            ("zones", Zone, self._apply_zones),
        ):
            apply({r[0]: _from_json(cls, r[1]) for r in _rows_by_id(conn, table, "id, data", pending[table])})
        self._apply_flows(set(pending["flows"]))
        firms = {}
        for row in _rows_by_id(conn, "companies", ", ".join(_C_COLUMNS), pending["companies"]):
            c, norm = _company_from_row(row)
            firms[c.id] = (c, norm if norm is not None else normalize_name(c.name))
        self._apply_companies(firms)
        self._apply_supplies({key: Supply(*key, amount) for key, amount in pending["supplies"].items()})
        return True

    def _write(self, validate, sql, apply, change) -> None:
        """One atomic write: validate against current state, commit to the file, then to memory.

        `validate()` raises GraphStoreError on bad input; `sql(conn)` writes rows; `change()` gives
        (kind, keys) for the change log; `apply()` updates memory and must not fail. Nothing
        changes anywhere unless all of them succeed in order.
        """
        with self._lock, _no_gc():
            if self._closed:
                raise GraphStoreError("图存储已关闭")
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
                if conn.execute("PRAGMA data_version").fetchone()[0] != self._db_seen:
                    self._refresh()
                validate()
                sql(conn)
                kind, keys = change()
                if len(keys) > _LOG_MAX_KEYS:
                    kind, keys = "reload", []
                conn.execute(
                    "INSERT OR REPLACE INTO changes VALUES (?, ?, ?)",
                    (self._version + 1, kind, json.dumps(keys, ensure_ascii=False)),
                )
                conn.execute("DELETE FROM changes WHERE version <= ?", (self._version + 1 - _LOG_KEEP,))
                conn.execute(
                    "DELETE FROM changes WHERE version < coalesce((SELECT min(version) FROM "
                    "(SELECT version, sum(length(keys)) OVER (ORDER BY version DESC) AS total "
                    "FROM changes) WHERE total <= ?), ?)",
                    (_LOG_BYTES, self._version + 1),
                )
                conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(self._version + 1),))
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise GraphStoreError(f"图存储写入失败，未做任何修改：{exc}") from exc
                raise
            self._version += 1
            try:
                apply()
            except BaseException:
                self._load()  # memory is derived data: rebuild it from the committed file
                raise

    # ---- writes ---------------------------------------------------------------------------
    def _upsert_entities(self, items: Iterable, cls: type, what: str, table: str, apply, check=None) -> None:
        """Sectors, chains, nodes, zones: validate the batch, write JSON rows, then apply in memory.

        `table` is one of this module's fixed table names, never data."""
        batch = last_wins(items, lambda x: getattr(x, "id", None))

        def validate():
            checked_batch(batch.values(), cls, what)
            if check:
                for item in batch.values():
                    check(item, batch)

        self._write(
            validate,
            lambda conn: conn.executemany(
                f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", [(x.id, _to_json(x)) for x in batch.values()]
            ),
            lambda: apply(batch),
            lambda: (table, list(batch)),
        )

    def upsert_sectors(self, sectors: Iterable[Sector]) -> None:
        self._upsert_entities(sectors, Sector, "产业", "sectors", self._apply_sectors)

    def upsert_chains(self, chains: Iterable[Chain]) -> None:
        def check(c: Chain, _batch) -> None:
            if c.sector_id not in self._sectors:
                raise GraphStoreError(f"产业链「{c.name}」引用了不存在的产业：{c.sector_id}")

        self._upsert_entities(chains, Chain, "产业链", "chains", self._apply_chains, check)

    def upsert_nodes(self, nodes: Iterable[ChainNode]) -> None:
        def check(n: ChainNode, batch) -> None:
            if n.chain_id not in self._chains:
                raise GraphStoreError(f"环节「{n.name}」引用了不存在的产业链：{n.chain_id}")
            if n.stage not in STAGES:
                raise GraphStoreError(f"环节「{n.name}」的阶段「{n.stage}」无效，应为上游、中游或下游")
            if n.parent_id and n.parent_id not in self._nodes and n.parent_id not in batch:
                raise GraphStoreError(f"环节「{n.name}」的上级环节不存在：{n.parent_id}")
            if n.parent_id == n.id:
                raise GraphStoreError(f"环节「{n.name}」不能以自身为上级环节")

        self._upsert_entities(nodes, ChainNode, "产业链环节", "nodes", self._apply_nodes, check)

    def upsert_flows(self, flows: Iterable[Flow]) -> None:
        batch = {(f.source_id, f.target_id) for f in flows}

        def validate():
            for src, dst in batch:
                for nid in (src, dst):
                    if nid not in self._nodes:
                        raise GraphStoreError(f"产业链流向引用了不存在的环节：{nid}")
                if src == dst:
                    raise GraphStoreError(f"环节 {src} 不能流向自身")

        self._write(
            validate,
            lambda conn: conn.executemany("INSERT OR IGNORE INTO flows VALUES (?, ?)", sorted(batch)),
            lambda: self._apply_flows(batch),
            lambda: ("flows", sorted(batch)),
        )

    def upsert_zones(self, zones: Iterable[Zone]) -> None:
        self._upsert_entities(zones, Zone, "园区", "zones", self._apply_zones)

    def upsert_companies(self, companies: Iterable[Company]) -> int:
        raw = last_wins(companies, lambda c: c.id)
        batch: dict[str, tuple[Company, str]] = {}

        def validate():
            nodes, zones, norm = self._nodes, self._zones, normalize_name
            for cid, c in raw.items():
                if type(c) is not Company:
                    check_type(c, Company, "企业")
                if type(cid) is not str or not cid.strip():
                    check_id(cid, "企业")
                node_ids = c.node_ids
                if type(node_ids) is not tuple or (
                    len(node_ids) > 1 and any(a >= b for a, b in zip(node_ids, node_ids[1:]))
                ):
                    node_ids = tuple(sorted(set(node_ids)))  # OPERATES_IN is a set: store it sorted
                    fixed = dict(c.__dict__, node_ids=node_ids)
                    c = _new_company(fixed[k] for k in _COMPANY_FIELDS)
                for nid in node_ids:
                    if nid not in nodes:
                        raise GraphStoreError(f"企业「{c.name}」引用了不存在的产业链环节：{nid}")
                if c.zone_id and c.zone_id not in zones:
                    raise GraphStoreError(f"企业「{c.name}」引用了不存在的园区：{c.zone_id}")
                for q in c.qualifications:
                    if not q or _SEP in q:
                        raise GraphStoreError(f"企业「{c.name}」的资质名称无效：{q!r}")
                for label, value in (
                    ("营业收入", c.revenue),
                    ("注册资本", c.registered_capital),
                    ("研发投入占比", c.rd_ratio),
                ):
                    if value is not None and not math.isfinite(value):
                        raise GraphStoreError(f"企业「{c.name}」的{label}不是有效数字：{value}")
                batch[cid] = (c, norm(c.name))

        def sql(conn):
            insert = (
                f"INSERT OR REPLACE INTO companies ({', '.join(_C_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_C_COLUMNS))})"
            )
            rows = iter(batch.values())
            while chunk := [_company_row(c, norm) for _, (c, norm) in zip(range(_CHUNK), rows)]:
                conn.executemany(insert, chunk)

        self._write(validate, sql, lambda: self._apply_companies(batch), lambda: ("companies", list(batch)))
        return len(batch)

    def upsert_supplies(self, supplies: Iterable[Supply]) -> int:
        batch = {(s.supplier_id, s.buyer_id, s.product or ""): s for s in supplies}
        for key, s in batch.items():
            if s.product is None:  # "" and None both mean "unspecified product"
                batch[key] = Supply(s.supplier_id, s.buyer_id, "", s.amount)

        def validate():
            for s in batch.values():
                check_type(s, Supply, "供货关系")
                for cid in (s.supplier_id, s.buyer_id):
                    if cid not in self._companies:
                        raise GraphStoreError(f"供货关系引用了不存在的企业：{cid}，未写入任何供货关系")
                if s.supplier_id == s.buyer_id:
                    raise GraphStoreError(f"企业 {s.supplier_id} 不能向自身供货")
                if s.amount is not None and not math.isfinite(s.amount):
                    raise GraphStoreError(f"供货金额不是有效数字：{s.amount}")

        self._write(
            validate,
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO supplies VALUES (?, ?, ?, ?)",
                [(k[0], k[1], k[2], s.amount) for k, s in batch.items()],
            ),
            lambda: self._apply_supplies(batch),
            lambda: ("supplies", [[*key, s.amount] for key, s in batch.items()]),
        )
        return len(batch)

    def clear(self) -> None:
        def sql(conn):
            for table in ("sectors", "chains", "nodes", "zones", "flows", "companies", "supplies", "changes"):
                conn.execute(f"DELETE FROM {table}")  # fixed table names, no user input

        self._write(lambda: None, sql, self._reset_memory, lambda: ("clear", []))

    # ---- structure reads ----------------------------------------------------------------
    def sectors(self) -> list[Sector]:
        with self._lock:
            self._sync()
            return [self._sectors[k] for k in sorted(self._sectors)]

    def chains(self, sector_id: str | None = None) -> list[Chain]:
        with self._lock:
            self._sync()
            return [
                c for k, c in sorted(self._chains.items()) if sector_id is None or c.sector_id == sector_id
            ]

    def chain(self, chain_id: str) -> Chain | None:
        with self._lock:
            self._sync()
            return self._chains.get(chain_id)

    def nodes(self, chain_id: str | None = None) -> list[ChainNode]:
        with self._lock:
            self._sync()
            ids = self._nodes if chain_id is None else self._chain_nodes.get(chain_id, ())
            return [self._nodes[k] for k in sorted(ids)]

    def flows(self, chain_id: str | None = None) -> list[Flow]:
        with self._lock:
            self._sync()
            return [
                Flow(s, t)
                for s, t in sorted(self._flows)
                if chain_id is None or self._nodes[s].chain_id == chain_id
            ]

    def zones(self) -> list[Zone]:
        with self._lock:
            self._sync()
            return [self._zones[k] for k in sorted(self._zones)]

    # ---- company reads ------------------------------------------------------------------
    def company(self, company_id: str) -> Company | None:
        with self._lock:
            self._sync()
            return self._companies.get(company_id)

    def companies(self, ids: Sequence[str]) -> list[Company]:
        with self._lock:
            self._sync()
            found = self._companies
            return [found[i] for i in sorted(set(ids)) if i in found]

    def match_companies(self, usccs: Iterable[str], norm_names: Iterable[str]) -> dict[str, str]:
        with self._lock:
            self._sync()
            out: dict[str, str] = {}
            for keys, index in ((usccs, self._by_uscc), (norm_names, self._by_name)):
                for key in keys:
                    hit = index.get(key) if key else None
                    if hit is not None:  # several firms on one key: the smallest id, like Neo4j
                        out[key] = hit if isinstance(hit, str) else min(hit)
            return out

    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        with self._lock:
            self._sync()
            members, companies = self._members, self._companies
            found: set[str] = set()
            for nid in node_ids:
                found.update(members.get(nid, ()))
            if local is not None:  # filter before sorting: most firms on a node are outside
                found = {c for c in found if companies[c].is_local == local}
            return [companies[c] for c in sorted(found)]

    def company_count(self, local: bool | None = None) -> int:
        with self._lock:
            self._sync()
            total = len(self._companies)
            if local is None:
                return total
            return self._local_count if local else total - self._local_count

    def supplies_of(self, company_id: str) -> list[Supply]:
        with self._lock:
            self._sync()
            out = list(self._sells.get(company_id, {}).values())
            out += self._buys.get(company_id, {}).values()
            return sorted(out, key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def company_ids(self) -> list[str]:
        """Every company id, sorted (bulk export, e.g. graph/sync.py copying to Neo4j)."""
        with self._lock:
            self._sync()
            return sorted(self._companies)

    def supplies_from(self, company_ids: Iterable[str]) -> list[Supply]:
        """SUPPLIES edges whose supplier is one of `company_ids`, each once, sorted."""
        with self._lock:
            self._sync()
            out = [s for cid in set(company_ids) for s in self._sells.get(cid, {}).values()]
            return sorted(out, key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def local_ties(self, company_ids: Iterable[str]) -> list[Tie]:
        with self._lock:
            self._sync()
            companies = self._companies
            ties: list[Tie] = []
            for cid in set(company_ids):
                for direction, deals in (("supplies", self._sells.get(cid)), ("buys", self._buys.get(cid))):
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
            ids = self._nodes if chain_id is None else self._chain_nodes.get(chain_id, ())
            for nid in sorted(ids):
                agg = self._agg[nid]
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
                    f"嵌入式图存储（{where}）正常：{len(self._chains)} 条产业链，"
                    f"{len(self._nodes)} 个环节，{len(self._companies)} 家企业"
                )
        except Exception as exc:  # health must never raise
            return False, f"嵌入式图存储不可用：{exc}"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._closed = True
            self._reset_memory()
