"""The embedded GraphStore: the chain graph in memory (networkx), made durable by a SQLite file.

Why this shape:

* Reads are served from memory. The graph is a ``networkx.DiGraph`` whose vertices are
  ``(kind, id)`` tuples (kinds: Sector, Chain, ChainNode, Company, Zone; the model object sits in
  the vertex attribute ``obj``). Each edge's data dict is keyed by relationship type
  (IN_SECTOR, IN_CHAIN, PART_OF, FEEDS, OPERATES_IN, SUPPLIES, LOCATED_IN), so two chain nodes
  may be joined by both PART_OF and FEEDS, and the SUPPLIES payload is a dict product -> Supply
  keeping (supplier, buyer, product) unique. That is a multigraph keyed by type at the cost of
  one dict per edge; a MultiDiGraph would need two, and memory and load time at 1M firms matter.
* Per chain node, aggregates (local firms, local output, outside firms, local firms per
  qualification set) are kept up to date on every company upsert (old contribution subtracted,
  new added), so ``node_stats`` never walks the companies. Output is summed as integer
  micro-万元 so repeated subtract/add never drifts.
* Durability: every write call is one SQLite transaction (WAL, synchronous=FULL). Memory is
  changed only after the commit succeeds, so a failed or killed write leaves both the file and
  the graph at the last committed state. Another process writing the same file is noticed via
  ``PRAGMA data_version`` and the graph is reloaded.
"""
from __future__ import annotations

import logging
import math
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from pathlib import Path
import json

import networkx as nx

from .identity import normalize_name
from .model import STAGES, Chain, ChainNode, Company, Flow, NodeStats, Sector, Supply, Tie, Zone
from .store import GraphStore, GraphStoreError, GraphStoreUnavailable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SECTOR, CHAIN, NODE, COMPANY, ZONE = "Sector", "Chain", "ChainNode", "Company", "Zone"
IN_SECTOR, IN_CHAIN, PART_OF, FEEDS = "IN_SECTOR", "IN_CHAIN", "PART_OF", "FEEDS"
OPERATES_IN, SUPPLIES, LOCATED_IN = "OPERATES_IN", "SUPPLIES", "LOCATED_IN"

_SEP = "\x1f"  # joins tuple fields of a company row (unit separator; rejected inside values)
_MICRO = 1_000_000  # output sums are kept as integer micro-万元
_COMPANY_FIELDS = tuple(f.name for f in fields(Company))
_TUPLE_FIELDS = {Chain: ("sources",), ChainNode: ("keywords",), Zone: ("focus_sectors", "focus"),
                 Sector: ()}
_CHUNK = 20_000

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sectors (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chains (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS zones (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flows (source TEXT NOT NULL, target TEXT NOT NULL,
    PRIMARY KEY (source, target)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS companies (id TEXT PRIMARY KEY, {", ".join(_COMPANY_FIELDS[1:])});
CREATE TABLE IF NOT EXISTS supplies (supplier TEXT NOT NULL, buyer TEXT NOT NULL,
    product TEXT NOT NULL, amount REAL, PRIMARY KEY (supplier, buyer, product)) WITHOUT ROWID;
"""


class _NodeAgg:
    """Running totals of one chain node; see node_stats."""

    __slots__ = ("local", "output", "outside", "quals")

    def __init__(self) -> None:
        self.local = 0
        self.output = 0  # micro-万元
        self.outside = 0
        self.quals: Counter = Counter()  # frozenset(qualifications) of local firms -> count


def _micro(revenue: float | None) -> int:
    return round(revenue * _MICRO) if revenue else 0


def _new_company(values) -> Company:
    """Build a frozen Company without the dataclass __init__ (3x faster when loading 1M rows)."""
    obj = object.__new__(Company)
    obj.__dict__.update(zip(_COMPANY_FIELDS, values))
    return obj


def _company_row(c: Company) -> tuple:
    return (c.id, c.name, c.uscc, c.province, c.city, c.district, int(c.is_local), c.zone_id,
            c.revenue, c.registered_capital, c.employees, c.founded, _SEP.join(c.qualifications),
            c.products, c.scope, c.rd_ratio, int(c.synthetic), _SEP.join(c.node_ids))


def _company_from_row(r: tuple) -> Company:
    return _new_company((r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], r[9], r[10],
                         r[11], tuple(r[12].split(_SEP)) if r[12] else (), r[13], r[14], r[15],
                         bool(r[16]), tuple(r[17].split(_SEP)) if r[17] else ()))


def _to_json(obj) -> str:
    return json.dumps(asdict(obj), ensure_ascii=False, separators=(",", ":"))


def _from_json(cls, text: str):
    data = json.loads(text)
    for name in _TUPLE_FIELDS[cls]:
        data[name] = tuple(data[name])
    return cls(**data)


def _last_wins(items: Iterable, key) -> dict:
    """Batch as an ordered dict keyed by id: a later duplicate replaces an earlier one."""
    out: dict = {}
    for item in items:
        out[key(item)] = item
    return out


def _check_type(item, cls, what: str) -> None:
    if not isinstance(item, cls):
        raise GraphStoreError(f"{what}数据类型错误：应为 {cls.__name__}，实际为 {type(item).__name__}")


def _check_id(value, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise GraphStoreError(f"{what}的编号不能为空")


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
        self._zones: dict[str, Zone] = {}
        self._flows: set[tuple[str, str]] = set()
        self._companies: dict[str, Company] = {}
        self._by_uscc: dict[str, str] = {}
        self._by_name: dict[str, str | set[str]] = {}
        self._agg: dict[str, _NodeAgg] = {}
        self._local_count = 0

    def _vertex(self, kind: str, obj) -> None:
        self._g.add_node((kind, obj.id), obj=obj)

    def _set_edge(self, u, v, kind: str, payload=True) -> None:
        data = self._g.get_edge_data(u, v)
        if data is None:
            self._g.add_edge(u, v, **{kind: payload})
        else:
            data[kind] = payload

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
                if old.parent_id and old.parent_id != n.parent_id:
                    self._drop_edge(me, (NODE, old.parent_id), PART_OF)
            self._nodes[nid] = n
            self._agg.setdefault(nid, _NodeAgg())
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

    def _index_name(self, norm: str, cid: str) -> None:
        cur = self._by_name.get(norm)
        if cur is None:
            self._by_name[norm] = cid
        elif isinstance(cur, set):
            cur.add(cid)
        elif cur != cid:
            self._by_name[norm] = {cur, cid}

    def _unindex_name(self, norm: str, cid: str) -> None:
        cur = self._by_name.get(norm)
        if cur == cid:
            del self._by_name[norm]
        elif isinstance(cur, set):
            cur.discard(cid)
            if len(cur) == 1:
                self._by_name[norm] = next(iter(cur))

    def _count(self, c: Company, sign: int) -> None:
        """Add (sign=1) or subtract (sign=-1) a firm's share of its nodes' aggregates."""
        if c.is_local:
            self._local_count += sign
            out = _micro(c.revenue) * sign
            sig = frozenset(c.qualifications)
            for nid in c.node_ids:
                agg = self._agg[nid]
                agg.local += sign
                agg.output += out
                agg.quals[sig] += sign
                if not agg.quals[sig]:
                    del agg.quals[sig]
        else:
            for nid in c.node_ids:
                self._agg[nid].outside += sign

    def _apply_companies(self, batch: dict[str, Company]) -> None:
        g = self._g
        for cid, c in batch.items():
            me = (COMPANY, cid)
            old = self._companies.get(cid)
            if old is not None:
                self._count(old, -1)
                if old.uscc and self._by_uscc.get(old.uscc) == cid:
                    del self._by_uscc[old.uscc]
                self._unindex_name(normalize_name(old.name), cid)
                for nid in old.node_ids:
                    self._drop_edge(me, (NODE, nid), OPERATES_IN)
                if old.zone_id:
                    self._drop_edge(me, (ZONE, old.zone_id), LOCATED_IN)
                g.nodes[me]["obj"] = c
            else:
                g.add_node(me, obj=c)
            self._companies[cid] = c
            self._count(c, 1)
            if c.uscc:
                self._by_uscc[c.uscc] = cid
            self._index_name(normalize_name(c.name), cid)
            g.add_edges_from((me, (NODE, nid), {OPERATES_IN: True}) for nid in c.node_ids)
            if c.zone_id:
                self._set_edge(me, (ZONE, c.zone_id), LOCATED_IN)

    def _apply_supplies(self, batch: dict[tuple[str, str, str], Supply]) -> None:
        for (sup, buy, product), s in batch.items():
            u, v = (COMPANY, sup), (COMPANY, buy)
            data = self._g.get_edge_data(u, v)
            if data is None:
                self._g.add_edge(u, v, **{SUPPLIES: {product: s}})
            else:
                data.setdefault(SUPPLIES, {})[product] = s

    # ---- file -----------------------------------------------------------------------------
    def _open_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                meta = dict(conn.execute("SELECT key, value FROM meta"))
                schema = int(meta.get("schema", SCHEMA_VERSION))
                if schema > SCHEMA_VERSION:
                    raise GraphStoreUnavailable(
                        f"图存储文件 {self.path} 的格式版本为 {schema}，高于本程序支持的 "
                        f"{SCHEMA_VERSION}，请升级程序")
                if "store_id" not in meta:
                    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                     [("schema", str(SCHEMA_VERSION)), ("store_id", self._store_id),
                                      ("version", "0")])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise GraphStoreUnavailable(f"无法打开图存储文件 {self.path}：{exc}") from exc
        except OSError as exc:
            raise GraphStoreUnavailable(f"无法创建图存储目录 {self.path.parent}：{exc}") from exc
        self._conn = conn
        self._load()

    def _load(self) -> None:
        """(Re)build memory from the file. Runs inside one read transaction: a consistent snapshot."""
        conn = self._conn
        self._reset_memory()
        own = not conn.in_transaction
        if own:
            conn.execute("BEGIN")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            self._store_id = meta["store_id"]
            self._version = int(meta["version"])
            self._apply_sectors({r[0]: _from_json(Sector, r[1])
                                 for r in conn.execute("SELECT id, data FROM sectors")})
            self._apply_chains({r[0]: _from_json(Chain, r[1])
                                for r in conn.execute("SELECT id, data FROM chains")})
            self._apply_nodes({r[0]: _from_json(ChainNode, r[1])
                               for r in conn.execute("SELECT id, data FROM nodes")})
            self._apply_flows(set(conn.execute("SELECT source, target FROM flows")))
            self._apply_zones({r[0]: _from_json(Zone, r[1])
                               for r in conn.execute("SELECT id, data FROM zones")})
            self._load_companies(conn)
            cur = conn.execute("SELECT supplier, buyer, product, amount FROM supplies")
            while rows := cur.fetchmany(_CHUNK):
                self._apply_supplies({(r[0], r[1], r[2]): Supply(*r) for r in rows})
            self._db_seen = conn.execute("PRAGMA data_version").fetchone()[0]
        finally:
            if own:
                conn.execute("COMMIT")
        log.info("图存储已载入：%s 家企业，版本 %s", len(self._companies), self._version)

    def _load_companies(self, conn: sqlite3.Connection) -> None:
        """Bulk path for opening a big file: build all vertices/edges, then aggregates once."""
        g, companies = self._g, self._companies
        cur = conn.execute(f"SELECT {', '.join(_COMPANY_FIELDS)} FROM companies")
        while rows := cur.fetchmany(_CHUNK):
            batch = [_company_from_row(r) for r in rows]
            g.add_nodes_from(((COMPANY, c.id), {"obj": c}) for c in batch)
            g.add_edges_from(((COMPANY, c.id), (NODE, nid), {OPERATES_IN: True})
                             for c in batch for nid in c.node_ids)
            g.add_edges_from(((COMPANY, c.id), (ZONE, c.zone_id), {LOCATED_IN: True})
                             for c in batch if c.zone_id)
            for c in batch:
                companies[c.id] = c
                if c.uscc:
                    self._by_uscc[c.uscc] = c.id
                self._index_name(normalize_name(c.name), c.id)
                self._count(c, 1)

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
            log.info("图存储文件已被其他进程修改，重新载入")
            self._load()

    def _write(self, validate, sql, apply) -> None:
        """One atomic write: validate against current state, commit to the file, then to memory.

        `validate()` raises GraphStoreError on bad input; `sql(conn)` writes rows; `apply()` updates
        memory and must not fail. Nothing changes anywhere unless all three succeed in order.
        """
        with self._lock:
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
                    self._load()
                validate()
                sql(conn)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'version'",
                             (str(self._version + 1),))
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
    def upsert_sectors(self, sectors: Iterable[Sector]) -> None:
        batch = _last_wins(sectors, lambda s: s.id)

        def validate():
            for s in batch.values():
                _check_type(s, Sector, "产业")
                _check_id(s.id, "产业")

        self._write(validate,
                    lambda conn: conn.executemany("INSERT OR REPLACE INTO sectors VALUES (?, ?)",
                                                  [(s.id, _to_json(s)) for s in batch.values()]),
                    lambda: self._apply_sectors(batch))

    def upsert_chains(self, chains: Iterable[Chain]) -> None:
        batch = _last_wins(chains, lambda c: c.id)

        def validate():
            for c in batch.values():
                _check_type(c, Chain, "产业链")
                _check_id(c.id, "产业链")
                if c.sector_id not in self._sectors:
                    raise GraphStoreError(f"产业链「{c.name}」引用了不存在的产业：{c.sector_id}")

        self._write(validate,
                    lambda conn: conn.executemany("INSERT OR REPLACE INTO chains VALUES (?, ?)",
                                                  [(c.id, _to_json(c)) for c in batch.values()]),
                    lambda: self._apply_chains(batch))

    def upsert_nodes(self, nodes: Iterable[ChainNode]) -> None:
        batch = _last_wins(nodes, lambda n: n.id)

        def validate():
            for n in batch.values():
                _check_type(n, ChainNode, "产业链环节")
                _check_id(n.id, "产业链环节")
                if n.chain_id not in self._chains:
                    raise GraphStoreError(f"环节「{n.name}」引用了不存在的产业链：{n.chain_id}")
                if n.stage not in STAGES:
                    raise GraphStoreError(f"环节「{n.name}」的阶段「{n.stage}」无效，应为上游、中游或下游")
                if n.parent_id and n.parent_id not in self._nodes and n.parent_id not in batch:
                    raise GraphStoreError(f"环节「{n.name}」的上级环节不存在：{n.parent_id}")
                if n.parent_id == n.id:
                    raise GraphStoreError(f"环节「{n.name}」不能以自身为上级环节")

        self._write(validate,
                    lambda conn: conn.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?)",
                                                  [(n.id, _to_json(n)) for n in batch.values()]),
                    lambda: self._apply_nodes(batch))

    def upsert_flows(self, flows: Iterable[Flow]) -> None:
        batch = {(f.source_id, f.target_id) for f in flows}

        def validate():
            for src, dst in batch:
                for nid in (src, dst):
                    if nid not in self._nodes:
                        raise GraphStoreError(f"产业链流向引用了不存在的环节：{nid}")
                if src == dst:
                    raise GraphStoreError(f"环节 {src} 不能流向自身")

        self._write(validate,
                    lambda conn: conn.executemany("INSERT OR IGNORE INTO flows VALUES (?, ?)",
                                                  sorted(batch)),
                    lambda: self._apply_flows(batch))

    def upsert_zones(self, zones: Iterable[Zone]) -> None:
        batch = _last_wins(zones, lambda z: z.id)

        def validate():
            for z in batch.values():
                _check_type(z, Zone, "园区")
                _check_id(z.id, "园区")

        self._write(validate,
                    lambda conn: conn.executemany("INSERT OR REPLACE INTO zones VALUES (?, ?)",
                                                  [(z.id, _to_json(z)) for z in batch.values()]),
                    lambda: self._apply_zones(batch))

    def upsert_companies(self, companies: Iterable[Company]) -> int:
        raw = _last_wins(companies, lambda c: c.id)
        batch: dict[str, Company] = {}

        def validate():
            nodes, zones = self._nodes, self._zones
            for cid, c in raw.items():
                _check_type(c, Company, "企业")
                _check_id(cid, "企业")
                node_ids = tuple(sorted(set(c.node_ids)))
                for nid in node_ids:
                    if nid not in nodes:
                        raise GraphStoreError(f"企业「{c.name}」引用了不存在的产业链环节：{nid}")
                if c.zone_id and c.zone_id not in zones:
                    raise GraphStoreError(f"企业「{c.name}」引用了不存在的园区：{c.zone_id}")
                for q in c.qualifications:
                    if not q or _SEP in q:
                        raise GraphStoreError(f"企业「{c.name}」的资质名称无效：{q!r}")
                for label, value in (("营业收入", c.revenue), ("注册资本", c.registered_capital),
                                     ("研发投入占比", c.rd_ratio)):
                    if value is not None and not math.isfinite(value):
                        raise GraphStoreError(f"企业「{c.name}」的{label}不是有效数字：{value}")
                if node_ids != c.node_ids:
                    c = _new_company(node_ids if k == "node_ids" else getattr(c, k)
                                     for k in _COMPANY_FIELDS)
                batch[cid] = c

        def sql(conn):
            rows = iter(batch.values())
            while chunk := [_company_row(c) for _, c in zip(range(_CHUNK), rows)]:
                conn.executemany(
                    f"INSERT OR REPLACE INTO companies VALUES ({', '.join('?' * len(_COMPANY_FIELDS))})",
                    chunk)

        self._write(validate, sql, lambda: self._apply_companies(batch))
        return len(batch)

    def upsert_supplies(self, supplies: Iterable[Supply]) -> int:
        batch = _last_wins(supplies, lambda s: (s.supplier_id, s.buyer_id, s.product or ""))

        def validate():
            for s in batch.values():
                _check_type(s, Supply, "供货关系")
                for cid in (s.supplier_id, s.buyer_id):
                    if cid not in self._companies:
                        raise GraphStoreError(f"供货关系引用了不存在的企业：{cid}，未写入任何供货关系")
                if s.supplier_id == s.buyer_id:
                    raise GraphStoreError(f"企业 {s.supplier_id} 不能向自身供货")
                if s.amount is not None and not math.isfinite(s.amount):
                    raise GraphStoreError(f"供货金额不是有效数字：{s.amount}")

        self._write(validate,
                    lambda conn: conn.executemany(
                        "INSERT OR REPLACE INTO supplies VALUES (?, ?, ?, ?)",
                        [(k[0], k[1], k[2], s.amount) for k, s in batch.items()]),
                    lambda: self._apply_supplies(batch))
        return len(batch)

    def clear(self) -> None:
        def sql(conn):
            for table in ("sectors", "chains", "nodes", "zones", "flows", "companies", "supplies"):
                conn.execute(f"DELETE FROM {table}")  # fixed table names, no user input

        self._write(lambda: None, sql, self._reset_memory)

    # ---- structure reads ----------------------------------------------------------------
    def sectors(self) -> list[Sector]:
        with self._lock:
            self._sync()
            return [self._sectors[k] for k in sorted(self._sectors)]

    def chains(self, sector_id: str | None = None) -> list[Chain]:
        with self._lock:
            self._sync()
            return [c for k, c in sorted(self._chains.items())
                    if sector_id is None or c.sector_id == sector_id]

    def chain(self, chain_id: str) -> Chain | None:
        with self._lock:
            self._sync()
            return self._chains.get(chain_id)

    def nodes(self, chain_id: str | None = None) -> list[ChainNode]:
        with self._lock:
            self._sync()
            return [n for k, n in sorted(self._nodes.items())
                    if chain_id is None or n.chain_id == chain_id]

    def flows(self, chain_id: str | None = None) -> list[Flow]:
        with self._lock:
            self._sync()
            return [Flow(s, t) for s, t in sorted(self._flows)
                    if chain_id is None or self._nodes[s].chain_id == chain_id]

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
            for code in usccs:
                if code and code in self._by_uscc:
                    out[code] = self._by_uscc[code]
            for name in norm_names:
                hit = self._by_name.get(name) if name else None
                if hit is not None:
                    out[name] = hit if isinstance(hit, str) else min(hit)
            return out

    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        with self._lock:
            self._sync()
            pred, companies = self._g._pred, self._companies
            found: set[str] = set()
            for nid in node_ids:
                for kind, cid in pred.get((NODE, nid), ()):
                    if kind == COMPANY and (local is None or companies[cid].is_local == local):
                        found.add(cid)
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
            me = (COMPANY, company_id)
            if me not in self._g:
                return []
            out = [s for _, _, d in self._g.out_edges(me, data=SUPPLIES) if d
                   for s in d.values()]
            out += [s for _, _, d in self._g.in_edges(me, data=SUPPLIES) if d for s in d.values()]
            return sorted(out, key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def local_ties(self, company_ids: Iterable[str]) -> list[Tie]:
        with self._lock:
            self._sync()
            g, companies = self._g, self._companies
            ties: list[Tie] = []
            for cid in set(company_ids):
                me = (COMPANY, cid)
                if me not in g:
                    continue
                for direction, edges in (("supplies", g._succ[me].items()),
                                         ("buys", g._pred[me].items())):
                    for (kind, other_id), data in edges:
                        deals = data.get(SUPPLIES) if kind == COMPANY else None
                        other = companies.get(other_id) if deals else None
                        if other is None or not other.is_local:
                            continue
                        ties.extend(Tie(cid, other_id, other.name, direction, s.product, s.amount,
                                        other.qualifications) for s in deals.values())
            ties.sort(key=lambda t: (t.company_id, t.direction, t.local_id, t.product))
            return ties

    # ---- aggregation --------------------------------------------------------------------
    def node_stats(self, qualified: Iterable[str], chain_id: str | None = None) -> dict[str, NodeStats]:
        wanted = frozenset(qualified)
        with self._lock:
            self._sync()
            out: dict[str, NodeStats] = {}
            for nid, node in sorted(self._nodes.items()):
                if chain_id is not None and node.chain_id != chain_id:
                    continue
                agg = self._agg[nid]
                out[nid] = NodeStats(
                    node_id=nid,
                    local_firms=agg.local,
                    local_output=agg.output / _MICRO,
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
                return True, (f"嵌入式图存储（{where}）正常：{len(self._chains)} 条产业链，"
                              f"{len(self._nodes)} 个环节，{len(self._companies)} 家企业")
        except Exception as exc:  # health must never raise
            return False, f"嵌入式图存储不可用：{exc}"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._closed = True
            self._reset_memory()
