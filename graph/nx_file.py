"""The embedded store's file: a SQLite 3 database (schema, migration, row codecs, firm queries, counters).

Only `NetworkxStore` (graph/nx_store.py) calls this; it owns the connection and the transactions.
Table and column names here are constants of this module or come from the `Company` dataclass,
never from data (DDL and IN-lists cannot take every name as a parameter).

* One column per `Company` field, so the file can be inspected with any SQLite tool; tuples are
  joined by U+001F (backend_checks.SEPARATOR, refused inside values), booleans are 0/1, plus the
  normalised name for matching without re-normalising. Structure rows are compact JSON.
* A field added to the `Company` model becomes a new column (with its default) of old files.
* Firms stay in the file: reads of firms are indexed queries (by id, credit code, normalised name,
  node membership), so opening the store reads only the structure and the counters. At 1M firms
  an object per firm cost 2.4 GB and 16 s to load, which every CLI command and server paid.
* Derived tables written in the same transaction as the firms they derive from: `memberships`
  (OPERATES_IN, with is_local so "local firms of a node" never touches the outside majority) and
  `node_counts`, the per-node counters gap analysis reads (local firms, local output, outside
  firms, local firms per qualification set), plus the firm totals in `meta`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any, TypeVar

from .backend_checks import SEPARATOR, NodeCounts
from .identity import company_search_text, normalize_name
from .model import Chain, ChainNode, Company, Sector, Supply, Zone
from .pinyin import name_initials
from .store import GraphStoreUnavailable

SCHEMA_VERSION = 2  # 2: memberships, node_counts and totals; no change log (firms are read from here);
# aliases and the initials column were added within 2 (an older schema-2 file gains them on open)
SEP = SEPARATOR
CHUNK = 20_000  # rows per executemany / fetchmany
IN_CHUNK = 500  # ids per "WHERE id IN (...)" query
TABLES = (
    "meta",
    "sectors",
    "chains",
    "nodes",
    "zones",
    "flows",
    "companies",
    "supplies",
    "memberships",
    "node_counts",
    "aliases",
)
DATA_TABLES = (
    "sectors",
    "chains",
    "nodes",
    "zones",
    "flows",
    "companies",
    "supplies",
    "memberships",
    "node_counts",
    "aliases",
)
_TUPLE_FIELDS: dict[type, tuple[str, ...]] = {
    Chain: ("sources",),
    ChainNode: ("keywords", "negative_keywords", "industry_codes", "sources", "tags"),
    Zone: ("focus_sectors", "focus", "focus_chains"),
    Sector: (),
}
COMPANY_FIELDS = tuple(f.name for f in fields(Company))
C_TUPLES = tuple(i for i, f in enumerate(fields(Company)) if str(f.type).startswith("tuple"))
C_BOOLS = tuple(i for i, f in enumerate(fields(Company)) if f.type in ("bool", bool))
C_COLUMNS = COMPANY_FIELDS + ("norm_name",)
C_SELECT = ", ".join(C_COLUMNS)
# Stored, not read back into Company: directory search text (identity.company_search_text), so the
# search index is rebuilt from one column instead of folding 1M names again after every write.
STORED_COLUMNS = C_COLUMNS + ("search_text",)
TOTALS = ("firms", "local_firms")  # meta keys: every firm; local firms, dead ones included (company_count)

E = TypeVar("E", Sector, Chain, ChainNode, Zone)


def _sql_literal(value: object) -> str:
    """SQL literal for a dataclass default (trusted constants only: DDL takes no parameters)."""
    if value is None or isinstance(value, (bool, int, float)):
        return "NULL" if value is None else str(int(value) if isinstance(value, bool) else value)
    if isinstance(value, tuple):
        value = SEP.join(value)
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
CREATE TABLE IF NOT EXISTS companies (id TEXT PRIMARY KEY, {", ".join(STORED_COLUMNS[1:])});
CREATE TABLE IF NOT EXISTS supplies (supplier TEXT NOT NULL, buyer TEXT NOT NULL,
    product TEXT NOT NULL, amount REAL, PRIMARY KEY (supplier, buyer, product)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memberships (node_id TEXT NOT NULL, is_local INTEGER NOT NULL,
    company_id TEXT NOT NULL, PRIMARY KEY (node_id, is_local, company_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS node_counts (node_id TEXT NOT NULL, quals TEXT NOT NULL,
    local INTEGER NOT NULL, output INTEGER NOT NULL, outside INTEGER NOT NULL,
    PRIMARY KEY (node_id, quals)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (id TEXT PRIMARY KEY, company_id TEXT NOT NULL, uscc TEXT,
    norm_name TEXT NOT NULL) WITHOUT ROWID;
DROP TABLE IF EXISTS changes;
"""
# Created after the columns of old files are added (an index needs its column).
_INDEXES = """
CREATE INDEX IF NOT EXISTS companies_uscc ON companies (uscc);
CREATE INDEX IF NOT EXISTS companies_norm ON companies (norm_name);
CREATE INDEX IF NOT EXISTS supplies_buyer ON supplies (buyer);
CREATE INDEX IF NOT EXISTS companies_search ON companies (id, search_text, active);
CREATE INDEX IF NOT EXISTS aliases_company ON aliases (company_id);
CREATE INDEX IF NOT EXISTS aliases_uscc ON aliases (uscc);
CREATE INDEX IF NOT EXISTS aliases_norm ON aliases (norm_name);
"""
# companies_search covers search_rows: building the directory index then scans ~60 bytes a firm
# instead of the whole wide row (measured at 1M firms: 6 s of CPU on the table itself).
INDEX_NAMES = (
    "companies_uscc",
    "companies_norm",
    "supplies_buyer",
    "companies_search",
    "aliases_company",
    "aliases_uscc",
    "aliases_norm",
)


# ---- row codecs -----------------------------------------------------------------------------
def new_company(values: Iterable[Any]) -> Company:
    """Build a frozen Company without the dataclass __init__ (3x faster when loading 1M rows)."""
    obj = object.__new__(Company)
    obj.__dict__.update(zip(COMPANY_FIELDS, values, strict=False))
    return obj


def company_row(c: Company, norm: str) -> list[Any]:
    row = [getattr(c, name) for name in COMPANY_FIELDS]
    for i in C_TUPLES:
        row[i] = SEP.join(row[i])
    for i in C_BOOLS:
        row[i] = int(row[i])
    row.append(norm)
    row.append(company_search_text(c.name, c.former_names, c.uscc, c.initials))
    return row


def company_from_row(row: tuple) -> tuple[Company, str]:
    """A stored row -> (Company, normalised name); the name may be None in rows of old files."""
    values = list(row)
    for i in C_TUPLES:
        values[i] = tuple(values[i].split(SEP)) if values[i] else ()
    for i in C_BOOLS:
        values[i] = bool(values[i])
    return new_company(values), values[-1]


def to_json(obj: Sector | Chain | ChainNode | Zone) -> str:
    return json.dumps(asdict(obj), ensure_ascii=False, separators=(",", ":"))


def from_json(cls: type[E], text: str) -> E:
    data = json.loads(text)
    for name in _TUPLE_FIELDS[cls]:
        if name in data:  # rows written before a field existed take its default
            data[name] = tuple(data[name])
    return cls(**data)


def chunks(cur: sqlite3.Cursor) -> Iterator[list[tuple]]:
    while rows := cur.fetchmany(CHUNK):
        yield rows


def rows_by_id(conn: sqlite3.Connection, table: str, columns: str, ids: Iterable[str]) -> Iterator[tuple]:
    """Rows of `table` whose id is in `ids`, read in chunks (table/columns are constants)."""
    ids = list(ids)
    for i in range(0, len(ids), IN_CHUNK):
        chunk = ids[i : i + IN_CHUNK]
        yield from conn.execute(
            f"SELECT {columns} FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk
        )


def entities(
    conn: sqlite3.Connection, table: str, cls: type[E], ids: Iterable[str] | None = None
) -> dict[str, E]:
    """Structure rows (sectors, chains, nodes, zones) as model objects by id: all, or these ids."""
    rows = (
        conn.execute(f"SELECT id, data FROM {table}")
        if ids is None
        else rows_by_id(conn, table, "id, data", ids)
    )
    return {r[0]: from_json(cls, r[1]) for r in rows}


def insert_companies(conn: sqlite3.Connection, batch: Iterable[tuple[Company, str]]) -> None:
    insert = (
        f"INSERT OR REPLACE INTO companies ({', '.join(STORED_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(STORED_COLUMNS))})"
    )
    rows = iter(batch)
    while chunk := [company_row(c, norm) for _, (c, norm) in zip(range(CHUNK), rows, strict=False)]:
        conn.executemany(insert, chunk)


def select_aliases(conn: sqlite3.Connection) -> list[tuple[str, str, str | None, str]]:
    """(merged id, kept id, merged firm's credit code, its normalised name) per merged-away firm, by id."""
    return conn.execute("SELECT id, company_id, uscc, norm_name FROM aliases ORDER BY id").fetchall()


def alias_target(conn: sqlite3.Connection, company_id: str) -> str | None:
    """The firm a merged-away id now leads to, or None."""
    row = conn.execute("SELECT company_id FROM aliases WHERE id = ?", (company_id,)).fetchone()
    return None if row is None else row[0]


def match_alias_keys(conn: sqlite3.Connection, column: str, keys: Iterable[str]) -> dict[str, str]:
    """key -> smallest kept id among the merged-away firms whose `column` ("uscc" or "norm_name") equals it."""
    return _match(conn, "aliases", "company_id", column, keys)


def merge_rows(
    conn: sqlite3.Connection, kept: tuple[Company, str], merged_id: str, supplies: list[tuple]
) -> list[str]:
    """merge_companies in the file (inside the caller's transaction): the kept row and its
    memberships replaced, the moved ties added, the merged firm with its memberships and ties
    deleted, its id recorded as an alias (aliases that led to it follow). Counters are not touched:
    returns every node both firms were on, for recount_nodes."""
    kid = kept[0].id
    old = {c.id: (c, norm) for c, norm in companies_by_id(conn, [kid, merged_id])}
    merged, merged_norm = old[merged_id]
    conn.executemany(
        "DELETE FROM memberships WHERE node_id = ? AND is_local = ? AND company_id = ?",
        _membership_rows(c for c, _ in old.values()),
    )
    insert_companies(conn, [kept])
    conn.executemany("INSERT INTO memberships VALUES (?, ?, ?)", _membership_rows([kept[0]]))
    conn.executemany("INSERT OR REPLACE INTO supplies VALUES (?, ?, ?, ?)", supplies)
    conn.execute("DELETE FROM supplies WHERE supplier = ? OR buyer = ?", (merged_id, merged_id))
    conn.execute("DELETE FROM companies WHERE id = ?", (merged_id,))
    conn.execute("UPDATE aliases SET company_id = ? WHERE company_id = ?", (kid, merged_id))
    conn.execute(
        "INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)",
        (merged_id, kid, merged.uscc, merged_norm or normalize_name(merged.name)),
    )
    return [nid for c, _ in old.values() for nid in c.node_ids]


# ---- opening and schema ---------------------------------------------------------------------
def connect(path: Path | None, store_id: str) -> sqlite3.Connection:
    """Open (creating or upgrading when needed) the file; GraphStoreUnavailable when it cannot be.
    No path: a private in-memory database (tests, throw-away stores), same schema and code."""
    conn = None
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        where = ":memory:" if path is None else path
        conn = sqlite3.connect(where, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if not _schema_ready(conn, path):
            _prepare_schema(conn, path, store_id)
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise GraphStoreUnavailable(f"无法打开图存储文件 {path}：{exc}") from exc
        if isinstance(exc, OSError) and path is not None:
            raise GraphStoreUnavailable(f"无法创建图存储目录 {path.parent}：{exc}") from exc
        raise
    return conn


def _check_schema(meta: dict[str, str], path: Path | None) -> None:
    schema = int(meta.get("schema", SCHEMA_VERSION))
    if schema > SCHEMA_VERSION:
        raise GraphStoreUnavailable(
            f"图存储文件 {path} 的格式版本为 {schema}，高于本程序支持的 {SCHEMA_VERSION}，请升级程序"
        )


def _schema_ready(conn: sqlite3.Connection, path: Path | None) -> bool:
    """Read-only check, so opening never waits for the write lock another process holds
    (a long import) unless the file really needs creating or upgrading."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not set(TABLES) <= tables:
        return False
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    _check_schema(meta, path)
    have = {r[1] for r in conn.execute("PRAGMA table_info(companies)")}
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return (
        "store_id" in meta
        and meta.get("schema") == str(SCHEMA_VERSION)
        and set(STORED_COLUMNS) <= have
        and set(INDEX_NAMES) <= indexes
    )


def _prepare_schema(conn: sqlite3.Connection, path: Path | None, store_id: str) -> None:
    """Create the tables of a new file, or add what an older file lacks, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        had = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for statement in filter(str.strip, _SCHEMA.split(";")):
            conn.execute(statement)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        _check_schema(meta, path)
        if "store_id" not in meta:
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("store_id", store_id), ("version", "0")],
            )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        for key in TOTALS:
            conn.execute("INSERT OR IGNORE INTO meta VALUES (?, '0')", (key,))
        # A field added to the Company model becomes a new column (its default) of old files.
        have = {r[1] for r in conn.execute("PRAGMA table_info(companies)")}
        for column in STORED_COLUMNS:
            if column not in have:  # names come from the dataclass, not from input
                conn.execute(
                    f"ALTER TABLE companies ADD COLUMN {column} DEFAULT {_COLUMN_DEFAULTS.get(column, 'NULL')}"
                )
        for statement in filter(str.strip, _INDEXES.split(";")):
            conn.execute(statement)
        # Rows written before the normalised name was stored get it now (matching is a query).
        missing = conn.execute("SELECT id, name FROM companies WHERE norm_name IS NULL").fetchall()
        conn.executemany(
            "UPDATE companies SET norm_name = ? WHERE id = ?", [(normalize_name(n), i) for i, n in missing]
        )
        if "initials" not in have:  # firms written before pinyin search: initials, and search text with them
            conn.create_function("lz_initials", 1, name_initials, deterministic=True)
            conn.execute("UPDATE companies SET initials = lz_initials(name), search_text = NULL")
        unsearchable = conn.execute(
            "SELECT id, name, former_names, uscc, initials FROM companies WHERE search_text IS NULL"
        ).fetchall()
        conn.executemany(
            "UPDATE companies SET search_text = ? WHERE id = ?",
            [
                (company_search_text(n, tuple(f.split(SEP)) if f else (), u, ini or ""), i)
                for i, n, f, u, ini in unsearchable
            ],
        )
        if "node_counts" not in had:  # a schema-1 file: derive memberships and counters once
            rebuild_derived(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def meta(conn: sqlite3.Connection) -> tuple[str, int]:
    """(store_id, version) as committed."""
    row = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('store_id', 'version')"))
    return row["store_id"], int(row["version"])


def data_version(conn: sqlite3.Connection) -> int:
    """SQLite's counter of commits by other connections (PRAGMA data_version)."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


# ---- firm reads (indexed queries: the store keeps no object per firm) ---------------------------
def companies_by_id(conn: sqlite3.Connection, ids: Iterable[str]) -> Iterator[tuple[Company, str]]:
    """(Company, normalised name) of the stored firms among `ids`, in no particular order."""
    for row in rows_by_id(conn, "companies", C_SELECT, ids):
        yield company_from_row(row)


def existing_ids(conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    return {r[0] for r in rows_by_id(conn, "companies", "id", ids)}


def ids_on_nodes(conn: sqlite3.Connection, node_ids: Iterable[str], local: bool | None) -> set[str]:
    """Firms OPERATES_IN any of these nodes; the (node, is_local) key prefix keeps a local-only
    read off the outside majority."""
    flags = (0, 1) if local is None else (int(local),)
    nodes = sorted(set(node_ids))
    out: set[str] = set()
    for i in range(0, len(nodes), IN_CHUNK):
        chunk = nodes[i : i + IN_CHUNK]
        out.update(
            r[0]
            for r in conn.execute(
                f"SELECT company_id FROM memberships WHERE node_id IN ({', '.join('?' * len(chunk))}) "
                f"AND is_local IN ({', '.join('?' * len(flags))})",
                [*chunk, *flags],
            )
        )
    return out


def match_keys(conn: sqlite3.Connection, column: str, keys: Iterable[str]) -> dict[str, str]:
    """key -> smallest id of the firms whose `column` ("uscc" or "norm_name") equals it."""
    return _match(conn, "companies", "id", column, keys)


def _match(
    conn: sqlite3.Connection, table: str, id_column: str, column: str, keys: Iterable[str]
) -> dict[str, str]:
    """key -> smallest `id_column` of the rows of `table` whose `column` equals it (chunked IN lists)."""
    # table and column names are constants of this module's callers, never data
    assert (table, id_column) in (("companies", "id"), ("aliases", "company_id"))
    assert column in ("uscc", "norm_name")
    wanted = sorted({k for k in keys if k})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[i : i + IN_CHUNK]
        out.update(
            conn.execute(
                f"SELECT {column}, min({id_column}) FROM {table} WHERE {column} IN ({', '.join('?' * len(chunk))}) "
                f"GROUP BY {column}",
                chunk,
            )
        )
    return out


SUPPLY_COLUMNS = "supplier, buyer, product, amount"


def supplies_where(conn: sqlite3.Connection, column: str, ids: Iterable[str]) -> list[Supply]:
    """SUPPLIES rows whose `column` ("supplier" or "buyer") is one of `ids`, unsorted."""
    assert column in ("supplier", "buyer")
    wanted = sorted(set(ids))
    out: list[Supply] = []
    for i in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[i : i + IN_CHUNK]
        out += (
            Supply(*r)
            for r in conn.execute(
                f"SELECT {SUPPLY_COLUMNS} FROM supplies WHERE {column} IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
        )
    return out


def local_partners(
    conn: sqlite3.Connection, company_ids: Iterable[str]
) -> list[tuple[str, str, str, str, str, float | None, str]]:
    """(firm, direction, local partner, partner name, product, amount, partner qualifications as
    stored) for the supply ties between these firms and local firms, both directions."""
    wanted = sorted(set(company_ids))
    out: list[tuple[str, str, str, str, str, float | None, str]] = []
    for i in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[i : i + IN_CHUNK]
        marks = ", ".join("?" * len(chunk))
        out += conn.execute(
            f"SELECT s.supplier, 'supplies', s.buyer, c.name, s.product, s.amount, c.qualifications "
            f"FROM supplies s JOIN companies c ON c.id = s.buyer WHERE s.supplier IN ({marks}) AND c.is_local = 1 "
            f"UNION ALL "
            f"SELECT s.buyer, 'buys', s.supplier, c.name, s.product, s.amount, c.qualifications "
            f"FROM supplies s JOIN companies c ON c.id = s.supplier WHERE s.buyer IN ({marks}) AND c.is_local = 1",
            [*chunk, *chunk],
        ).fetchall()
    return out


def search_rows(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """(id, search text, active) of every firm, by id: what the directory index is built from."""
    return conn.execute("SELECT id, search_text, active FROM companies ORDER BY id")


# ---- counters: derived from the firms, written in the same transaction --------------------------
def write_counts(conn: sqlite3.Connection, counts: NodeCounts) -> None:
    """Add a write's NodeCounts to `node_counts` and the totals in `meta` (caller's transaction)."""
    conn.executemany(
        "INSERT INTO node_counts VALUES (?, ?, ?, ?, ?) ON CONFLICT (node_id, quals) DO UPDATE SET "
        "local = local + excluded.local, output = output + excluded.output, "
        "outside = outside + excluded.outside",
        counts.changed(),
    )
    conn.execute("DELETE FROM node_counts WHERE local = 0 AND outside = 0 AND output = 0")
    for key in TOTALS:
        delta = getattr(counts, key)
        if delta:
            conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = ?", (delta, key))


def _membership_rows(batch: Iterable[Company]) -> Iterator[tuple[str, int, str]]:
    for c in batch:
        for nid in c.node_ids:
            yield nid, int(c.is_local), c.id


def write_companies(conn: sqlite3.Connection, batch: dict[str, tuple[Company, str]]) -> None:
    """Insert or replace firms with their memberships and counters (inside the caller's transaction)."""
    old = [c for c, _ in companies_by_id(conn, batch)]
    counts = NodeCounts()
    for c in old:
        counts.add(c, -1)
    conn.executemany(
        "DELETE FROM memberships WHERE node_id = ? AND is_local = ? AND company_id = ?", _membership_rows(old)
    )
    insert_companies(conn, batch.values())
    conn.executemany(
        "INSERT INTO memberships VALUES (?, ?, ?)", _membership_rows(c for c, _ in batch.values())
    )
    for c, _ in batch.values():
        counts.add(c, 1)
    write_counts(conn, counts)


def recount_nodes(conn: sqlite3.Connection, node_ids: Iterable[str]) -> None:
    """Recompute the counters of these nodes from their member firms, and the firm totals from all
    firms, inside the caller's transaction. For writes that change firms other than through
    write_companies (e.g. merging or deleting firms): call it with every node the firms touched
    were or are on, after the rows and memberships are written. NetworkxStore.recount_nodes wraps it."""
    nodes = sorted(set(node_ids))
    for i in range(0, len(nodes), IN_CHUNK):
        chunk = nodes[i : i + IN_CHUNK]
        conn.execute(f"DELETE FROM node_counts WHERE node_id IN ({', '.join('?' * len(chunk))})", chunk)
    counts, only = NodeCounts(), set(nodes)
    for c, _ in companies_by_id(conn, ids_on_nodes(conn, nodes, None)):
        counts.add(c, 1, only)
    write_counts(conn, counts)
    _recount_totals(conn)


def _recount_totals(conn: sqlite3.Connection) -> None:
    firms, local = conn.execute("SELECT count(*), coalesce(sum(is_local = 1), 0) FROM companies").fetchone()
    conn.executemany(
        "UPDATE meta SET value = ? WHERE key = ?", [(str(firms), "firms"), (str(local), "local_firms")]
    )


def rebuild_derived(conn: sqlite3.Connection) -> None:
    """Memberships, counters and totals recomputed from every firm (upgrade of a schema-1 file)."""
    conn.execute("DELETE FROM memberships")
    conn.execute("DELETE FROM node_counts")
    counts = NodeCounts()
    for rows in chunks(conn.execute(f"SELECT {C_SELECT} FROM companies")):
        firms = [company_from_row(r)[0] for r in rows]
        conn.executemany("INSERT OR IGNORE INTO memberships VALUES (?, ?, ?)", _membership_rows(firms))
        for c in firms:
            counts.add(c, 1)
    write_counts(conn, counts)
    _recount_totals(conn)


def counters(conn: sqlite3.Connection) -> tuple[list[tuple[str, str, int, int, int]], dict[str, int]]:
    """All node_counts rows and the totals, as committed (what opening the store reads)."""
    rows = conn.execute("SELECT node_id, quals, local, output, outside FROM node_counts").fetchall()
    totals = {
        k: int(v)
        for k, v in conn.execute(
            f"SELECT key, value FROM meta WHERE key IN ({', '.join('?' * len(TOTALS))})", TOTALS
        )
    }
    return rows, {k: totals.get(k, 0) for k in TOTALS}


def bump_version(conn: sqlite3.Connection, version: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(version),))
