"""The production GraphStore on a Neo4j 5 server, through the official `neo4j` driver.

Why one module of ~700 lines: it is one class, the GraphStore contract (25 methods) written as
parametrised Cypher, and most of its length is query text; the write rules it shares with the
embedded store are in graph/backend_checks.py. Splitting the class would scatter each query from
the method it answers.

Why this shape:

* One managed transaction per write call (``session.execute_write``): validation queries and
  writes run in the same transaction, so a bad row or a lost connection leaves nothing behind,
  and the driver's automatic retry is safe because every write is an idempotent ``MERGE``/``SET``.
* Rows go in with ``UNWIND $rows`` in chunks, all Cypher is parametrised; labels and relationship
  types are constants of this module (``_LABELS``), never taken from data.
* Reads use ``execute_read`` so a ``neo4j://`` cluster URI routes them to readers.
* ``node_stats`` reads counters, not firms: ``(:NodeCount {key, node_id, quals, local, output,
  outside})`` per chain node and qualification set, changed in the same write transaction as the
  firms by the shared rule (backend_checks.NodeCounts), so gaps cost the same at 5M firms as at 5k.
  Local output is summed as integer micro-万元 stored on each firm (``output_micro``: its revenue
  split over its nodes), exactly as the embedded store sums it, so both backends agree to the
  last digit. Result lists are sorted in Python: Java compares strings by UTF-16 unit, Python by
  code point, and the contract promises Python's order.
* A ``(:Meta {key: 'meta'})`` node holds a random store id and a version counter bumped by every
  write transaction: ``data_version()`` is the cache key for analysis results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from typing import Any, TypeVar

import neo4j
from neo4j import exceptions as nx_exc

from . import backend_checks as checks
from .backend_checks import MICRO, SEPARATOR, NodeCounts, micro, output_micro, quals_key
from .identity import company_search_text, fold_search, normalize_name
from .model import Chain, ChainNode, Company, CompanyAlias, Flow, NodeStats, Sector, Supply, Tie, Zone
from .pinyin import name_initials
from .store import GraphStore, GraphStoreConflict, GraphStoreError, GraphStoreUnavailable

log = logging.getLogger(__name__)
M = TypeVar("M", Sector, Chain, ChainNode, Zone, Company)
R = TypeVar("R")

_CHUNK = 5_000  # rows per UNWIND statement inside one transaction
_CLEAR_CHUNK = 50_000
# Every label this store writes. Schema statements cannot take parameters, so the names that go
# into them are checked against this fixed set.
_LABELS = frozenset(
    {"Sector", "Chain", "ChainNode", "Company", "Zone", "Meta", "Local", "NodeCount", "CompanyAlias"}
)
_CONSTRAINTS = [
    ("Sector", "id"),
    ("Chain", "id"),
    ("ChainNode", "id"),
    ("Company", "id"),
    ("Zone", "id"),
    ("Meta", "key"),
    ("NodeCount", "key"),
    ("CompanyAlias", "id"),  # a firm merged away (merge_companies): old id -> kept firm
]
_INDEXES = [
    ("Company", "uscc"),
    ("Company", "norm_name"),
    ("ChainNode", "chain_id"),
    ("Chain", "sector_id"),
    ("NodeCount", "node_id"),
    ("CompanyAlias", "company_id"),
    ("CompanyAlias", "uscc"),
    ("CompanyAlias", "norm_name"),
]
# Bolt only: bolt:// for one server, neo4j:// for routing to a cluster; +s / +ssc add TLS.
_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
# Version of the layout below, kept on the Meta node. 2: local firms also carry the :Local label,
# so counting them reads node labels, not properties.
# 3: firms carry `search_text` (name, 曾用名, credit code) under a TEXT index for directory search.
# 4: per-node counters (:NodeCount) maintained by every firm write; derived once from the firms.
# 5: firms carry `initials` (pinyin, graph/pinyin.py), also inside `search_text`.
_SCHEMA = 5
_TUPLE_FIELDS = {
    "sources",
    "keywords",
    "negative_keywords",
    "industry_codes",
    "tags",
    "focus_sectors",
    "focus",
    "focus_chains",
    "qualifications",
    "node_ids",
    "former_names",
    "placements",
}
_COMPANY_EXTRA = ("norm_name", "revenue_micro", "output_micro", "search_text")  # for queries, not in Company

_BUMP = """
MERGE (m:Meta {key: 'meta'})
  ON CREATE SET m.store_id = randomUUID(), m.version = 0
SET m.version = m.version + 1
"""


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _props(obj: object) -> dict[str, Any]:
    """A dataclass as Neo4j properties: tuples become lists, None is left out (Neo4j has no null)."""
    out = {}
    for name in _field_names(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _from_props(cls: type[M], props: dict[str, Any]) -> M:
    """Rebuild a model object; absent properties take the dataclass default."""
    kwargs: dict[str, Any] = {}
    for name in _field_names(cls):
        if name in props:
            value = props[name]
            kwargs[name] = tuple(value) if name in _TUPLE_FIELDS else value
    return cls(**kwargs)


def _chunks(rows: list[dict[str, Any]], size: int = _CHUNK) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _missing_in(tx: neo4j.ManagedTransaction) -> checks.Missing:
    """backend_checks' one question to this store, answered inside the write transaction `tx`."""

    def missing(label: str, ids: list[str]) -> list[str]:
        """The ids among `ids` with no node of `label` (label from _LABELS only)."""
        if label not in _LABELS:
            raise ValueError(label)
        if not ids:
            return []
        query = (
            f"UNWIND $ids AS id OPTIONAL MATCH (n:{label} {{id: id}}) WITH id, n WHERE n IS NULL RETURN id"
        )
        return sorted(r["id"] for r in tx.run(query, ids=ids))

    return missing


# A firm's links, after `c` (the firm) and `row` (its properties): its zone (LOCATED_IN, when the
# row names one) and its chain nodes (OPERATES_IN), in the statement that writes the firm, so the
# firm is not looked up again. An unknown zone or node creates nothing: the caller compares the
# relationships created with the number expected (_expected_links) and names what is missing.
_LINKS = """
WITH c, row
OPTIONAL MATCH (z:Zone {id: row.zone_id})
FOREACH (_ IN CASE WHEN z IS NULL THEN [] ELSE [1] END | CREATE (c)-[:LOCATED_IN]->(z))
WITH c, row
UNWIND row.node_ids AS nid
MATCH (n:ChainNode {id: nid})
CREATE (c)-[:OPERATES_IN]->(n)"""
# New firms: local and outside ones in two fixed statements (the labels written in CREATE),
# cheaper per row than a conditional SET c:Local.
_CREATE_LOCAL = "UNWIND $rows AS row CREATE (c:Company:Local) SET c = row" + _LINKS
_CREATE_OUTSIDE = "UNWIND $rows AS row CREATE (c:Company) SET c = row" + _LINKS
# Stored firms (locked by _OLD_PARTS): old links dropped, properties and label replaced, new links.
_REPLACE_FIRMS = (
    """
UNWIND $rows AS row
MATCH (c:Company {id: row.id})
OPTIONAL MATCH (c)-[old:OPERATES_IN|LOCATED_IN]->()
DELETE old
WITH DISTINCT c, row
SET c = row
REMOVE c:Local
FOREACH (_ IN CASE WHEN row.is_local THEN [1] ELSE [] END | SET c:Local)"""
    + _LINKS
)

_STORED = "UNWIND $ids AS id MATCH (c:Company {id: id}) RETURN c.id AS id"
# A stored firm's parts the counters need (backend_checks.NodeCounts.add_parts); SET locks it first.
_OLD_PARTS = """
UNWIND $ids AS id MATCH (c:Company {id: id})
SET c.id = c.id
RETURN c.id AS id, coalesce(c.node_ids, []) AS n, coalesce(c.is_local, false) AS l,
  coalesce(c.active, true) AS a, coalesce(c.qualifications, []) AS q, coalesce(c.output_micro, 0) AS o"""

# Live firms per (node, local, qualification list): NodeCounts' rule, grouped on the server.
_GROUP_LIVE = """
MATCH (c:Company)-[:OPERATES_IN]->(n:ChainNode)
WHERE ($all OR n.id IN $nodes) AND coalesce(c.active, true)
WITH n.id AS node, c:Local AS loc, c
RETURN node, loc, CASE WHEN loc THEN coalesce(c.qualifications, []) ELSE [] END AS quals,
  count(*) AS firms, sum(CASE WHEN loc THEN coalesce(c.output_micro, 0) ELSE 0 END) AS output"""

# Counter rows are locked (SET k._lock) before they are read and incremented: concurrent writers
# then queue on the row instead of losing one another's increments.
_ADD_COUNTS = """
UNWIND $rows AS r
MERGE (k:NodeCount {key: r.key})
  ON CREATE SET k.node_id = r.node, k.quals = r.quals, k.local = 0, k.output = 0, k.outside = 0
SET k._lock = true
WITH k, r
SET k.local = k.local + r.local, k.output = k.output + r.output, k.outside = k.outside + r.outside
REMOVE k._lock
WITH k WHERE k.local = 0 AND k.output = 0 AND k.outside = 0
DELETE k"""


def _await_indexes(session: neo4j.Session, poll_seconds: float = 2.0) -> None:
    """Wait until every index is online. The first connect after a bulk load of millions of firms
    builds the TEXT and full-text indexes for many minutes (about 18 at 5M firms on 2 cores), past
    any fixed `db.awaitIndexes` timeout, so poll and log progress instead; a FAILED index stops."""
    said = 0.0
    while True:
        pending = session.run(
            "SHOW INDEXES YIELD name, state, populationPercent WHERE state <> 'ONLINE' "
            "RETURN name, state, populationPercent AS percent"
        ).data()
        if not pending:
            return
        failed = [r["name"] for r in pending if r["state"] == "FAILED"]
        if failed:
            raise GraphStoreError(
                f"Neo4j 索引创建失败：{'、'.join(failed)}；请查看 Neo4j 的 debug.log 后重建索引"
            )
        if time.monotonic() - said > 30:
            said = time.monotonic()
            log.info(
                "waiting for Neo4j indexes: %s",
                ", ".join(f"{r['name']} {r['percent'] or 0:.0f}%" for r in pending),
            )
        time.sleep(poll_seconds)


def _write_counts(tx: neo4j.ManagedTransaction, counts: NodeCounts) -> None:
    """Apply a write's counter changes (firm totals come from Neo4j's count store instead)."""
    rows = [
        {
            "key": f"{node}{SEPARATOR}{key}",
            "node": node,
            "quals": key.split(SEPARATOR) if key else [],
            "local": local,
            "output": output,
            "outside": outside,
        }
        for node, key, local, output, outside in counts.changed()
    ]
    for chunk in _chunks(rows):
        tx.run(_ADD_COUNTS, rows=chunk).consume()


def _company_row(c: Company) -> dict[str, Any]:
    """A firm as the properties of its node, with the derived ones queries use (_COMPANY_EXTRA)."""
    # Empty strings and lists are left out (read back as the dataclass defaults): fewer
    # property records per firm is the cheapest speed-up of a bulk import. The fields are read
    # from the instance dict in one pass (not _props' getattr per field and a second filtering
    # pass): this runs for every firm of every import.
    values = getattr(c, "__dict__", None)
    if values is None:  # a subclass with __slots__
        props = {k: v for k, v in _props(c).items() if v != "" and v != []}
    else:
        props = {}
        for name in _field_names(Company):
            v = values[name]
            if v is None or v == "" or v == () or v == []:
                continue
            props[name] = list(v) if isinstance(v, tuple) else v
    props["node_ids"] = list(c.node_ids)  # sorted and unique (companies_batch)
    props["norm_name"] = normalize_name(c.name)
    props["revenue_micro"] = micro(c.revenue)
    props["output_micro"] = output_micro(c)  # revenue share per node (graph.gaps.OUTPUT_RULE)
    props["search_text"] = company_search_text(c.name, c.former_names, c.uscc, c.initials)
    return props


def _lock_stored(tx: neo4j.ManagedTransaction, ids: list[str], counts: NodeCounts) -> set[str]:
    """The ids among `ids` of stored firms, locked, their old contribution subtracted from `counts`.

    Stored firms are locked (SET) before their old parts are read, so two writers replacing the
    same firm cannot both subtract it. The check runs in the write transaction, so a retry repeats
    it, and the uniqueness constraint still guards against a concurrent writer creating the same id."""
    # A read-only probe first: an import of new firms (the common case) then takes no locks and
    # plans no write (about 40 % cheaper on the server than locking every id); only the firms
    # found are locked, and only the ones still there when locked count as stored.
    found = []
    for start in range(0, len(ids), _CHUNK):
        found += [r["id"] for r in tx.run(_STORED, ids=ids[start : start + _CHUNK])]
    existing = set()
    for start in range(0, len(found), _CHUNK):
        for r in tx.run(_OLD_PARTS, ids=found[start : start + _CHUNK]):
            existing.add(r["id"])
            counts.add_parts(r["n"], r["l"], r["a"], r["q"], r["o"], -1)
    return existing


def _expected_links(rows: list[dict[str, Any]]) -> int:
    """OPERATES_IN and LOCATED_IN relationships _write_companies creates when every node and zone exists."""
    return sum(len(r["node_ids"]) + (1 if r.get("zone_id") else 0) for r in rows)


def _write_companies(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]], existing: set[str]) -> int:
    """Insert firms (rows of _company_row) or replace the stored ones (`existing`, from
    _lock_stored) with their OPERATES_IN and LOCATED_IN links, one statement per kind and chunk.
    Returns the relationships created: fewer than _expected_links(rows) means a node or zone is
    missing (the caller names it; its exception rolls the transaction back)."""
    created = 0
    for chunk in _chunks(rows):
        old = [r for r in chunk if r["id"] in existing] if existing else []
        parts = (
            (_REPLACE_FIRMS, old),
            (_CREATE_LOCAL, [r for r in chunk if r["id"] not in existing and r.get("is_local")]),
            (_CREATE_OUTSIDE, [r for r in chunk if r["id"] not in existing and not r.get("is_local")]),
        )
        for query, part in parts:
            if part:
                created += tx.run(query, rows=part).consume().counters.relationships_created
    return created


def _supply_rows(batch: dict[tuple[str, str, str], Supply]) -> list[dict[str, Any]]:
    rows = []
    for (sup, buy, product), s in batch.items():
        row: dict[str, Any] = {"s": sup, "b": buy, "product": product}
        if s.amount is not None:
            row["amount"] = s.amount
        rows.append(row)
    return rows


def _write_supplies(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        tx.run(
            """
            UNWIND $rows AS row
            MATCH (a:Company {id: row.s}), (b:Company {id: row.b})
            MERGE (a)-[r:SUPPLIES {product: row.product}]->(b)
            SET r.amount = row.amount""",
            rows=chunk,
        ).consume()


class Neo4jStore(GraphStore):
    """GraphStore on a Neo4j 5 server (bolt:// for one server, neo4j:// for a cluster)."""

    def __init__(
        self,
        uri: str,
        user: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        *,
        connect_timeout: float = 5.0,
        retry_seconds: float = 10.0,
    ):
        self.uri = uri
        self.database = database or "neo4j"
        self._closed = False
        auth = (user or "neo4j", password) if password else None
        if uri.split("://", 1)[0].lower() not in _SCHEMES:
            raise GraphStoreUnavailable(
                f"Neo4j 地址「{uri}」无效：应形如 bolt://主机:7687 或 neo4j://主机:7687（集群）"
            )
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri,
                auth=auth,
                connection_timeout=connect_timeout,
                max_transaction_retry_time=retry_seconds,
                connection_acquisition_timeout=connect_timeout * 2,
            )
        except (ValueError, nx_exc.ConfigurationError) as exc:
            raise GraphStoreUnavailable(
                f"Neo4j 地址「{uri}」无效：应形如 bolt://主机:7687 或 neo4j://主机:7687（{exc}）"
            ) from exc
        try:
            self._driver.verify_connectivity()
            self._ensure_schema()
        except BaseException as exc:
            self._driver.close()
            raise self._translate(exc, starting=True) from exc

    @classmethod
    def from_config(cls, cfg: dict) -> Neo4jStore:
        """Open from cfg["neo4j"] (uri, user, password, database; NEO4J_* already applied)."""
        section = cfg.get("neo4j", {})
        uri = str(section.get("uri") or "").strip()
        if not uri:
            raise GraphStoreUnavailable(
                "未配置 Neo4j 地址：请在 config.toml 的 [neo4j] uri 或环境变量 NEO4J_URI 中设置"
            )
        return cls(
            uri,
            str(section.get("user") or "neo4j"),
            str(section.get("password") or ""),
            str(section.get("database") or "neo4j"),
            connect_timeout=float(section.get("connect_timeout", 5)),
            retry_seconds=float(section.get("retry_seconds", 10)),
        )

    # ---- plumbing -------------------------------------------------------------------------
    def _translate(self, exc: BaseException, starting: bool = False) -> BaseException:
        """Driver errors as GraphStoreError with a Chinese sentence naming the server."""
        where = f"Neo4j（{self.uri}，数据库 {self.database}）"
        if isinstance(exc, GraphStoreError):
            return exc
        if isinstance(exc, nx_exc.AuthError):
            return GraphStoreUnavailable(
                f"{where}拒绝登录：用户名或密码错误。请检查环境变量 NEO4J_USER / NEO4J_PASSWORD"
                f"（或 config.toml 的 [neo4j] user / password）"
            )
        if isinstance(exc, (nx_exc.ServiceUnavailable, nx_exc.SessionExpired, OSError)):
            if starting:
                return GraphStoreUnavailable(
                    f"无法连接 {where}：请检查服务器是否已启动、地址和端口是否正确、网络或防火墙是否放行"
                    f'（开发环境可运行 eval "$(bash scripts/neo4j.sh start)"）'
                )
            return GraphStoreUnavailable(
                f"与 {where}的连接中断，本次操作已取消，未写入任何数据；请检查服务器状态后重试"
            )
        if isinstance(exc, nx_exc.ClientError) and "DatabaseNotFound" in (exc.code or ""):
            return GraphStoreUnavailable(f"{where}不存在：请检查 [neo4j] database 或 NEO4J_DATABASE")
        code = getattr(exc, "code", None) or ""
        if "ConstraintValidationFailed" in code:
            return GraphStoreConflict(
                f"{where}写入冲突：另一个进程同时写入了相同编号的数据，本次未写入任何数据，请重试"
            )
        if "MemoryPoolOutOfMemoryError" in code or "TransactionMemoryLimit" in code:
            return GraphStoreUnavailable(
                f"{where}单次写入的数据超过了事务内存上限，未写入任何数据：请分批写入，"
                f"或增大服务器堆内存 / dbms.memory.transaction.total.max"
            )
        if isinstance(exc, nx_exc.Neo4jError):
            return GraphStoreUnavailable(f"{where}执行失败，未写入任何数据：{exc.message or exc}")
        if isinstance(exc, nx_exc.DriverError):
            return GraphStoreUnavailable(f"{where}访问失败：{exc}")
        return exc

    def _session(self, mode: str) -> neo4j.Session:
        if self._closed:
            raise GraphStoreUnavailable("图存储已关闭")
        return self._driver.session(database=self.database, default_access_mode=mode)

    def _read(self, work: Callable[[neo4j.ManagedTransaction], R]) -> R:
        try:
            with self._session(neo4j.READ_ACCESS) as session:
                return session.execute_read(work)
        except BaseException as exc:
            raise self._translate(exc) from exc

    def _write(self, work: Callable[[neo4j.ManagedTransaction], R]) -> R:
        """Run `work(tx)` plus the version bump in one managed (retried, atomic) transaction."""

        def unit(tx):
            result = work(tx)
            tx.run(_BUMP).consume()
            return result

        try:
            with self._session(neo4j.WRITE_ACCESS) as session:
                return session.execute_write(unit)
        except BaseException as exc:
            raise self._translate(exc) from exc

    def _ensure_schema(self) -> None:
        """Uniqueness constraints and lookup indexes, created idempotently."""
        statements = []
        for label, prop in _CONSTRAINTS:
            assert label in _LABELS and prop.isidentifier()
            statements.append(
                f"CREATE CONSTRAINT {label.lower()}_{prop}_unique IF NOT EXISTS "
                f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
            )
        for label, prop in _INDEXES:
            assert label in _LABELS and prop.isidentifier()
            statements.append(
                f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
            )
        # Directory search: CONTAINS on a TEXT index (trigram-backed, answers needles of any length).
        statements.append(
            "CREATE TEXT INDEX company_search_text IF NOT EXISTS FOR (n:Company) ON (n.search_text)"
        )
        # Ranked full-text search (db.index.fulltext.queryNodes) over names and 主营产品: the CJK
        # analyser indexes Chinese by character bigrams; the standard one would not split them.
        statements.append(
            "CREATE FULLTEXT INDEX company_fulltext IF NOT EXISTS FOR (n:Company) "
            "ON EACH [n.name, n.products, n.search_text] OPTIONS {indexConfig: {`fulltext.analyzer`: 'cjk'}}"
        )
        with self._session(neo4j.WRITE_ACCESS) as session:
            for statement in statements:
                session.run(statement).consume()
            _await_indexes(session)
            schema = session.execute_write(
                lambda tx: tx.run(
                    "MERGE (m:Meta {key: 'meta'}) ON CREATE SET m.store_id = randomUUID(), m.version = 0, "
                    "m.schema = $schema RETURN coalesce(m.schema, 1) AS schema",
                    schema=_SCHEMA,
                ).single(strict=True)["schema"]
            )
            if schema < 2:  # schema 1 had no :Local label; local firms are counted by it now
                session.execute_write(
                    lambda tx: tx.run(
                        "MATCH (c:Company {is_local: true}) SET c:Local WITH count(*) AS n "
                        "MATCH (m:Meta {key: 'meta'}) SET m.schema = 2, m.version = m.version + 1"
                    ).consume()
                )
            if schema < 4:  # counters derived once from the firms; kept up to date from then on
                session.execute_write(lambda tx: self._recount(tx, None))
                session.execute_write(
                    lambda tx: tx.run(
                        "MATCH (m:Meta {key: 'meta'}) SET m.schema = 4, m.version = m.version + 1"
                    ).consume()
                )
            if schema < 5:  # firms written before get their pinyin initials and search text
                self._backfill_search_text(session)  # sets the schema to _SCHEMA when done

    def _backfill_search_text(self, session: neo4j.Session) -> None:
        # Only firms without it: a bulk load (graph/neo4j_bulk.py) writes the search text already.
        ids = [
            r["id"] for r in session.run("MATCH (c:Company) WHERE c.search_text IS NULL RETURN c.id AS id")
        ]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]

            def work(tx, chunk=chunk):
                rows = [
                    {
                        "id": r["id"],
                        "initials": name_initials(r["name"]),
                        "text": company_search_text(
                            r["name"], tuple(r["f"] or ()), r["u"], name_initials(r["name"])
                        ),
                    }
                    for r in tx.run(
                        "UNWIND $ids AS id MATCH (c:Company {id: id}) "
                        "RETURN c.id AS id, c.name AS name, c.former_names AS f, c.uscc AS u",
                        ids=chunk,
                    )
                ]
                tx.run(
                    "UNWIND $rows AS row MATCH (c:Company {id: row.id}) "
                    "SET c.search_text = row.text, c.initials = row.initials",
                    rows=rows,
                ).consume()

            session.execute_write(work)
        session.execute_write(
            lambda tx: tx.run(
                "MATCH (m:Meta {key: 'meta'}) SET m.schema = $schema, m.version = m.version + 1",
                schema=_SCHEMA,
            ).consume()
        )

    # ---- writes ---------------------------------------------------------------------------
    def upsert_sectors(self, sectors: Iterable[Sector]) -> None:
        batch = checks.sectors_batch(sectors)
        rows = [_props(s) for s in batch.values()]

        def work(tx):
            for chunk in _chunks(rows):
                tx.run("UNWIND $rows AS row MERGE (s:Sector {id: row.id}) SET s = row", rows=chunk).consume()

        self._write(work)

    def upsert_chains(self, chains: Iterable[Chain]) -> None:
        batch = checks.chains_batch(chains)
        rows = [_props(c) for c in batch.values()]

        def work(tx):
            checks.check_chain_refs(batch, _missing_in(tx))
            for chunk in _chunks(rows):
                tx.run(
                    """
                    UNWIND $rows AS row
                    MERGE (c:Chain {id: row.id}) SET c = row
                    WITH c, row
                    OPTIONAL MATCH (c)-[old:IN_SECTOR]->() DELETE old
                    WITH DISTINCT c, row
                    MATCH (s:Sector {id: row.sector_id})
                    MERGE (c)-[:IN_SECTOR]->(s)""",
                    rows=chunk,
                ).consume()

        self._write(work)

    def upsert_nodes(self, nodes: Iterable[ChainNode]) -> None:
        batch = checks.nodes_batch(nodes)
        rows = [_props(n) for n in batch.values()]

        def work(tx):
            checks.check_node_refs(batch, _missing_in(tx))
            for chunk in _chunks(rows):
                tx.run(
                    """
                    UNWIND $rows AS row
                    MERGE (n:ChainNode {id: row.id}) SET n = row
                    WITH n, row
                    OPTIONAL MATCH (n)-[old:IN_CHAIN|PART_OF]->() DELETE old
                    WITH DISTINCT n, row
                    MATCH (c:Chain {id: row.chain_id})
                    MERGE (n)-[:IN_CHAIN]->(c)""",
                    rows=chunk,
                ).consume()
            for chunk in _chunks([r for r in rows if r.get("parent_id")]):
                tx.run(
                    """
                    UNWIND $rows AS row
                    MATCH (n:ChainNode {id: row.id}), (p:ChainNode {id: row.parent_id})
                    MERGE (n)-[:PART_OF]->(p)""",
                    rows=chunk,
                ).consume()

        self._write(work)

    def upsert_flows(self, flows: Iterable[Flow]) -> None:
        pairs = checks.flows_batch(flows)
        rows = [{"s": s, "t": t} for s, t in pairs]

        def work(tx):
            checks.check_flow_refs(pairs, _missing_in(tx))
            for chunk in _chunks(rows):
                tx.run(
                    """
                    UNWIND $rows AS row
                    MATCH (a:ChainNode {id: row.s}), (b:ChainNode {id: row.t})
                    MERGE (a)-[:FEEDS]->(b)""",
                    rows=chunk,
                ).consume()

        self._write(work)

    def upsert_zones(self, zones: Iterable[Zone]) -> None:
        batch = checks.zones_batch(zones)
        rows = [_props(z) for z in batch.values()]

        def work(tx):
            for chunk in _chunks(rows):
                tx.run("UNWIND $rows AS row MERGE (z:Zone {id: row.id}) SET z = row", rows=chunk).consume()

        self._write(work)

    def upsert_companies(self, companies: Iterable[Company]) -> int:
        batch = checks.companies_batch(companies)
        rows = [_company_row(c) for c in batch.values()]

        expected = _expected_links(rows)

        def work(tx):
            counts = NodeCounts()
            for c in batch.values():
                counts.add(c, 1)
            existing = _lock_stored(tx, list(batch), counts)
            if _write_companies(tx, rows, existing) != expected:
                # The reference rule names the missing node or zone and raises: nothing is kept.
                # (Asked only then: on the common path it would cost two lookups per batch.)
                checks.check_company_refs(batch, _missing_in(tx))
                raise GraphStoreError("企业写入的关联数与预期不符，未写入任何数据")
            _write_counts(tx, counts)

        self._write(work)
        return len(rows)

    def _recount(self, tx: neo4j.ManagedTransaction, node_ids: Iterable[str] | None) -> None:
        """Recompute the counters of these chain nodes (all when None) from their live firms, in
        the caller's transaction: one GROUP BY on the server (a few thousand rows back at 5M firms).
        For writes that change firms other than through upsert_companies (merging or deleting
        firms, bulk import): call it with every node the touched firms were or are on."""
        nodes = None if node_ids is None else sorted(set(node_ids))
        params: dict[str, Any] = {"all": nodes is None, "nodes": nodes or []}
        tx.run("MATCH (k:NodeCount) WHERE $all OR k.node_id IN $nodes DELETE k", **params).consume()
        counts = NodeCounts()
        for r in tx.run(_GROUP_LIVE, **params):
            if r["loc"]:
                counts.add_group([r["node"]], quals_key(r["quals"]), r["firms"], r["output"], 0)
            else:
                counts.add_group([r["node"]], "", 0, 0, r["firms"])
        _write_counts(tx, counts)

    def recount_nodes(
        self, node_ids: Iterable[str], work: Callable[[neo4j.ManagedTransaction], object]
    ) -> None:
        """One write transaction: `work(tx)` changes firms (e.g. a merge), then the counters of
        `node_ids` are recomputed in the same transaction (see _recount). When `work` returns a
        list, it names more nodes to recount (ones only known inside the transaction: the old
        links of the firms it rewrote)."""
        nodes = list(node_ids)

        def unit(tx):
            more = work(tx)
            self._recount(tx, [*nodes, *(more if isinstance(more, list) else ())])

        self._write(unit)

    def merge_companies(self, kept: Company, merged_id: str, supplies: Iterable[Supply]) -> None:
        """Through recount_nodes: the counters of every node either firm was or is on are
        recomputed in the merge's transaction."""
        kept, ties = checks.merge_batch(kept, merged_id, supplies)
        row = _company_row(kept)

        def work(tx: neo4j.ManagedTransaction) -> list[str]:
            checks.check_merge_refs(kept, merged_id, ties, _missing_in(tx))
            # Both firms' nodes as stored (locked first): their counters are recounted below.
            touched = [
                n
                for r in tx.run(
                    "UNWIND [$kid, $mid] AS id MATCH (c:Company {id: id}) SET c.id = c.id "
                    "RETURN coalesce(c.node_ids, []) AS n",
                    kid=kept.id,
                    mid=merged_id,
                )
                for n in r["n"]
            ]
            merged = tx.run(
                "MATCH (c:Company {id: $id}) RETURN c.uscc AS uscc, c.norm_name AS norm", id=merged_id
            ).single(strict=True)
            # counters: recounted below, not incremented
            _write_companies(tx, [row], _lock_stored(tx, [kept.id], NodeCounts()))
            _write_supplies(tx, _supply_rows(ties))
            tx.run("MATCH (c:Company {id: $id}) DETACH DELETE c", id=merged_id).consume()
            tx.run(
                """
                OPTIONAL MATCH (old:CompanyAlias {company_id: $mid}) SET old.company_id = $kid
                WITH count(*) AS n
                MERGE (a:CompanyAlias {id: $mid})
                SET a.company_id = $kid, a.uscc = $uscc, a.norm_name = $norm""",
                mid=merged_id,
                kid=kept.id,
                uscc=merged["uscc"],
                norm=merged["norm"] or "",
            ).consume()
            return touched

        self.recount_nodes(kept.node_ids, work)

    def upsert_aliases(self, aliases: Iterable[CompanyAlias]) -> int:
        batch = checks.aliases_batch(aliases)
        rows = [
            {"id": a.id, "company_id": a.company_id, "uscc": a.uscc, "norm_name": a.norm_name}
            for a in batch.values()
        ]

        def work(tx):
            checks.check_alias_refs(batch, _missing_in(tx))
            for chunk in _chunks(rows):
                tx.run(
                    "UNWIND $rows AS row MERGE (a:CompanyAlias {id: row.id}) "
                    "SET a.company_id = row.company_id, a.uscc = row.uscc, a.norm_name = row.norm_name",
                    rows=chunk,
                ).consume()

        self._write(work)
        return len(rows)

    def company_aliases(self) -> list[CompanyAlias]:
        def work(tx):
            return [
                CompanyAlias(r["id"], r["c"], r["u"], r["n"] or "")
                for r in tx.run(
                    "MATCH (a:CompanyAlias) RETURN a.id AS id, a.company_id AS c, a.uscc AS u, a.norm_name AS n"
                )
            ]

        return sorted(self._read(work), key=lambda a: a.id)

    def upsert_supplies(self, supplies: Iterable[Supply]) -> int:
        batch = checks.supplies_batch(supplies)
        rows = _supply_rows(batch)

        def work(tx):
            checks.check_supply_refs(batch, _missing_in(tx))
            _write_supplies(tx, rows)

        self._write(work)
        return len(rows)

    def clear(self) -> None:
        """Remove everything but the Meta node. A small graph goes in one transaction; a big one
        in bounded chunks, relationships first (a chain node of a big graph has hundreds of
        thousands), so no transaction outgrows the server's memory. Each chunk is atomic and the
        whole is idempotent: after an interruption, clear() again finishes it."""

        def size(tx):
            return (
                tx.run("MATCH (n) WHERE NOT n:Meta RETURN count(n) AS n").single()["n"]
                + tx.run("MATCH ()-[r]->() RETURN count(r) AS n").single()["n"]
            )

        def delete_all(tx):
            tx.run("MATCH (n) WHERE NOT n:Meta DETACH DELETE n").consume()

        def delete_relationships(tx):
            return tx.run(
                "MATCH ()-[r]->() WITH r LIMIT $limit DELETE r RETURN count(*) AS n", limit=_CLEAR_CHUNK
            ).single()["n"]

        def delete_nodes(tx):
            return tx.run(
                "MATCH (n) WHERE NOT n:Meta WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS n",
                limit=_CLEAR_CHUNK,
            ).single()["n"]

        if self._read(size) <= _CLEAR_CHUNK:
            self._write(delete_all)
            return
        while self._write(delete_relationships):
            pass
        while self._write(delete_nodes):
            pass
        self._write(lambda tx: None)  # bump the version even when already empty

    # ---- structure reads ----------------------------------------------------------------
    def _objects(self, cls: type[M], match: str, **params: Any) -> list[M]:
        """Structure objects matched as `n` by `match`. Sent back as ONE record holding a list of
        property maps: the Python driver spends ~40 µs per record, so 402 chain nodes as 402
        records cost 6× the client CPU of one (the structure is read after every write)."""

        def work(tx):
            query = match + " RETURN collect(properties(n)) AS rows"
            return [_from_props(cls, props) for props in tx.run(query, **params).single(strict=True)["rows"]]

        return sorted(self._read(work), key=lambda o: o.id)

    def sectors(self) -> list[Sector]:
        return self._objects(Sector, "MATCH (n:Sector)")

    def chains(self, sector_id: str | None = None) -> list[Chain]:
        if sector_id is None:
            return self._objects(Chain, "MATCH (n:Chain)")
        return self._objects(Chain, "MATCH (n:Chain {sector_id: $sector})", sector=sector_id)

    def chain(self, chain_id: str) -> Chain | None:
        found = self._objects(Chain, "MATCH (n:Chain {id: $id})", id=chain_id)
        return found[0] if found else None

    def nodes(self, chain_id: str | None = None) -> list[ChainNode]:
        if chain_id is None:
            return self._objects(ChainNode, "MATCH (n:ChainNode)")
        return self._objects(ChainNode, "MATCH (n:ChainNode {chain_id: $chain})", chain=chain_id)

    def flows(self, chain_id: str | None = None) -> list[Flow]:
        def work(tx):  # one record of pairs (see _objects)
            where = "" if chain_id is None else "{chain_id: $chain}"
            query = (
                f"MATCH (a:ChainNode {where})-[:FEEDS]->(b:ChainNode) RETURN collect([a.id, b.id]) AS pairs"
            )
            return [Flow(s, t) for s, t in tx.run(query, chain=chain_id).single(strict=True)["pairs"]]

        return sorted(self._read(work), key=lambda f: (f.source_id, f.target_id))

    def zones(self) -> list[Zone]:
        return self._objects(Zone, "MATCH (n:Zone)")

    # ---- company reads ------------------------------------------------------------------
    def _companies(self, query: str, **params: Any) -> list[Company]:
        def work(tx):
            out = []
            for r in tx.run(query, **params):
                props = dict(r["n"])
                for extra in _COMPANY_EXTRA:
                    props.pop(extra, None)
                out.append(_from_props(Company, props))
            return out

        return sorted(self._read(work), key=lambda c: c.id)

    def company(self, company_id: str) -> Company | None:
        found = self._companies("MATCH (n:Company {id: $id}) RETURN n", id=company_id)
        if not found:  # merged away: the kept firm
            found = self._companies(
                "MATCH (a:CompanyAlias {id: $id}) MATCH (n:Company {id: a.company_id}) RETURN n",
                id=company_id,
            )
        return found[0] if found else None

    def companies(self, ids: Sequence[str]) -> list[Company]:
        return self._companies("UNWIND $ids AS id MATCH (n:Company {id: id}) RETURN n", ids=sorted(set(ids)))

    def match_companies(self, usccs: Iterable[str], norm_names: Iterable[str]) -> dict[str, str]:
        codes = sorted({u for u in usccs if u})
        names = sorted({n for n in norm_names if n})

        def work(tx):
            out: dict[str, str] = {}
            for r in tx.run(
                "UNWIND $keys AS k MATCH (c:Company {uscc: k}) RETURN k, min(c.id) AS id", keys=codes
            ):
                out[r["k"]] = r["id"]
            for r in tx.run(
                "UNWIND $keys AS k MATCH (c:Company {norm_name: k}) RETURN k, min(c.id) AS id", keys=names
            ):
                out[r["k"]] = r["id"]
            for prop, keys in (("uscc", codes), ("norm_name", names)):  # firms merged away
                rest = [k for k in keys if k not in out]
                if rest:  # prop is one of two constants
                    for r in tx.run(
                        f"UNWIND $keys AS k MATCH (a:CompanyAlias {{{prop}: k}}) RETURN k, min(a.company_id) AS id",
                        keys=rest,
                    ):
                        out[r["k"]] = r["id"]
            return out

        return self._read(work)

    def companies_on_nodes(self, node_ids: Iterable[str], local: bool | None = None) -> list[Company]:
        ids = sorted(set(node_ids))
        if not ids:
            return []
        return self._companies(
            """
            UNWIND $ids AS nid
            MATCH (n:Company)-[:OPERATES_IN]->(:ChainNode {id: nid})
            WHERE $local IS NULL OR n:Local = $local
            RETURN DISTINCT n""",
            ids=ids,
            local=local,
        )

    def find_companies(self, text: str, limit: int = 50, include_inactive: bool = False) -> list[Company]:
        needle = fold_search(text).replace("\t", "").replace("\n", "")
        # Two fixed query texts (prefix first, then anywhere); the needle is a parameter. No ORDER BY:
        # sorting every hit of a common word (生物科技: a tenth of all firms) is what would cost.
        alive = "" if include_inactive else " AND coalesce(n.active, true)"
        prefix = self._companies(
            "MATCH (n:Company) WHERE n.search_text STARTS WITH $needle" + alive + " RETURN n LIMIT $limit",
            needle=needle,
            limit=limit,
        )
        if len(prefix) >= limit:
            return prefix[:limit]
        seen = [c.id for c in prefix]
        rest = self._companies(
            "MATCH (n:Company) WHERE n.search_text CONTAINS $needle AND NOT n.id IN $seen"
            + alive
            + " RETURN n LIMIT $limit",
            needle=needle,
            seen=seen,
            limit=limit - len(prefix),
        )
        return prefix + rest

    def company_count(self, local: bool | None = None) -> int:
        def work(tx):
            if local is None:  # both answered from the count store
                return tx.run("MATCH (c:Company) RETURN count(c) AS n").single()["n"]
            r = tx.run(
                "MATCH (c:Company) WITH count(c) AS total MATCH (l:Local) RETURN total, count(l) AS local"
            ).single()
            return r["local"] if local else r["total"] - r["local"]

        return self._read(work)

    def supplies_of(self, company_id: str) -> list[Supply]:
        def work(tx):
            return [
                Supply(r["s"], r["b"], r["p"], r["a"])
                for r in tx.run(
                    """
                MATCH (a:Company)-[r:SUPPLIES]-(b:Company) WHERE a.id = $id
                WITH startNode(r) AS s, endNode(r) AS b, r
                RETURN s.id AS s, b.id AS b, r.product AS p, r.amount AS a""",
                    id=company_id,
                )
            ]

        return sorted(self._read(work), key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def local_ties(self, company_ids: Iterable[str]) -> list[Tie]:
        ids = sorted(set(company_ids))

        def work(tx):
            return [
                Tie(r["cid"], r["lid"], r["name"], r["dir"], r["p"], r["a"], tuple(r["q"] or ()))
                for r in tx.run(
                    """
                UNWIND $ids AS cid
                MATCH (c:Company {id: cid})-[r:SUPPLIES]->(l:Local)
                RETURN cid, l.id AS lid, l.name AS name, 'supplies' AS dir, r.product AS p,
                       r.amount AS a, l.qualifications AS q
                UNION ALL
                UNWIND $ids AS cid
                MATCH (c:Company {id: cid})<-[r:SUPPLIES]-(l:Local)
                RETURN cid, l.id AS lid, l.name AS name, 'buys' AS dir, r.product AS p,
                       r.amount AS a, l.qualifications AS q""",
                    ids=ids,
                )
            ]

        return sorted(self._read(work), key=lambda t: (t.company_id, t.direction, t.local_id, t.product))

    # ---- bulk reads for graph sync (beyond the contract) -----------------------------------
    def company_ids(self) -> list[str]:
        """Every company id, sorted (graph sync pages through them)."""
        return sorted(self._read(lambda tx: [r["id"] for r in tx.run("MATCH (c:Company) RETURN c.id AS id")]))

    def supplies_from(self, supplier_ids: Iterable[str]) -> list[Supply]:
        """SUPPLIES edges whose supplier is one of these firms, sorted (graph sync)."""
        ids = sorted(set(supplier_ids))

        def work(tx):
            return [
                Supply(r["s"], r["b"], r["p"], r["a"])
                for r in tx.run(
                    """
                UNWIND $ids AS id
                MATCH (a:Company {id: id})-[r:SUPPLIES]->(b:Company)
                RETURN a.id AS s, b.id AS b, r.product AS p, r.amount AS a""",
                    ids=ids,
                )
            ]

        return sorted(self._read(work), key=lambda s: (s.supplier_id, s.buyer_id, s.product))

    def supply_count(self) -> int:
        return self._read(
            lambda tx: tx.run("MATCH ()-[r:SUPPLIES]->() RETURN count(r) AS n").single(strict=True)["n"]
        )

    # ---- aggregation --------------------------------------------------------------------
    def node_stats(self, qualified: Iterable[str], chain_id: str | None = None) -> dict[str, NodeStats]:
        """The chain nodes and their raw :NodeCount rows in one record, summed here: the server
        then only scans ~3,000 rows at 100k firms (a third of the server CPU of grouping them in
        Cypher, which also looked each node's rows up by index), and Python adds them up in ~2 ms."""
        wanted = frozenset(qualified)
        # Two fixed query texts (all nodes / one chain's, by index); no data goes into the text.
        if chain_id is None:
            query = "MATCH (n:ChainNode) WITH collect(n.id) AS ids OPTIONAL MATCH (k:NodeCount)"
        else:
            query = (
                "MATCH (n:ChainNode {chain_id: $chain}) WITH collect(n.id) AS ids "
                "OPTIONAL MATCH (k:NodeCount) WHERE k.node_id IN ids"
            )
        query += " RETURN ids, collect([k.node_id, k.quals, k.local, k.output, k.outside]) AS rows"

        def work(tx):
            r = tx.run(query, chain=chain_id).single(strict=True)
            return r["ids"], r["rows"]

        ids, rows = self._read(work)
        sums = {nid: [0, 0, 0, 0] for nid in ids}  # local, output (micro), qualified, outside
        for nid, quals, local, output, outside in rows:
            acc = sums.get(nid)  # None: no counters at all (OPTIONAL MATCH), or a removed node's
            if acc is None:
                continue
            acc[0] += local
            acc[1] += output
            acc[3] += outside
            if local and not wanted.isdisjoint(quals):  # GraphStore.node_stats: any of `qualified`
                acc[2] += local
        return {
            nid: NodeStats(nid, loc, out / MICRO, qual, outside)
            for nid, (loc, out, qual, outside) in sorted(sums.items())
        }

    # ---- versioning and lifecycle -------------------------------------------------------
    def _meta(self) -> tuple[str, int]:
        def work(tx):
            r = tx.run("MATCH (m:Meta {key: 'meta'}) RETURN m.store_id AS id, m.version AS v").single()
            return (r["id"], r["v"]) if r else ("", 0)

        return self._read(work)

    @property
    def version(self) -> int:
        """Counts committed write transactions on this database."""
        return self._meta()[1]

    def data_version(self) -> str:
        """Cache key for analysis results: changes with every committed write."""
        store_id, version = self._meta()
        return f"{store_id}:{version}"

    def health(self) -> tuple[bool, str]:
        try:
            # An auto-commit query, not execute_read: a health check must answer now, not retry.
            with self._session(neo4j.READ_ACCESS) as session:
                r = session.run(
                    "RETURN COUNT { (:Chain) } AS chains, COUNT { (:ChainNode) } AS nodes, "
                    "COUNT { (:Company) } AS firms"
                ).single(strict=True)
            return True, (
                f"Neo4j 图存储（{self.uri}）正常：{r['chains']} 条产业链，"
                f"{r['nodes']} 个环节，{r['firms']} 家企业"
            )
        except Exception as exc:  # health must never raise
            return False, f"Neo4j 图存储（{self.uri}）不可用：{self._translate(exc)}"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._driver.close()
