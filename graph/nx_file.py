"""The embedded store's file: a SQLite 3 database (schema, migration, row codecs, change log).

Only `NetworkxStore` (graph/nx_store.py) calls this; it owns the connection and the transactions.
Table and column names here are constants of this module or come from the `Company` dataclass,
never from data (DDL and IN-lists cannot take every name as a parameter).

* One column per `Company` field, so the file can be inspected with any SQLite tool; tuples are
  joined by U+001F (backend_checks.SEPARATOR, refused inside values), booleans are 0/1, plus the
  normalised name for matching without re-normalising at load. Structure rows are compact JSON.
* A field added to the `Company` model becomes a new column (with its default) of old files.
* The change log (`changes`) lets another process holding the file catch up by replaying what
  changed instead of reloading everything; old entries are pruned, a reader too far behind reloads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Any, TypeVar

from .backend_checks import SEPARATOR
from .model import Chain, ChainNode, Company, Sector, Zone
from .pinyin import name_initials
from .store import GraphStoreUnavailable

SCHEMA_VERSION = 1
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
    "changes",
    "aliases",
)
DATA_TABLES = ("sectors", "chains", "nodes", "zones", "flows", "companies", "supplies", "aliases")
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

LOG_KEEP = 1000  # versions kept at most
LOG_BYTES = 16 * 2**20  # and at most this much key text (older entries are pruned first)
LOG_MAX_KEYS = 50_000  # a bigger write logs "reload" (replaying it would cost about the same)
# Kinds a reader replays; any other kind ("merge", "clear", "reload") makes it reload everything.
LOG_KINDS = ("sectors", "chains", "nodes", "zones", "flows", "companies", "supplies")

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
CREATE TABLE IF NOT EXISTS companies (id TEXT PRIMARY KEY, {", ".join(C_COLUMNS[1:])});
CREATE TABLE IF NOT EXISTS supplies (supplier TEXT NOT NULL, buyer TEXT NOT NULL,
    product TEXT NOT NULL, amount REAL, PRIMARY KEY (supplier, buyer, product)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (version INTEGER PRIMARY KEY, kind TEXT NOT NULL,
    keys TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (id TEXT PRIMARY KEY, company_id TEXT NOT NULL, uscc TEXT,
    norm_name TEXT NOT NULL) WITHOUT ROWID;
"""


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


def select_companies(conn: sqlite3.Connection) -> sqlite3.Cursor:
    return conn.execute(f"SELECT {', '.join(C_COLUMNS)} FROM companies")


def insert_companies(conn: sqlite3.Connection, batch: Iterable[tuple[Company, str]]) -> None:
    insert = f"INSERT OR REPLACE INTO companies ({', '.join(C_COLUMNS)}) VALUES ({', '.join('?' * len(C_COLUMNS))})"
    rows = iter(batch)
    while chunk := [company_row(c, norm) for _, (c, norm) in zip(range(CHUNK), rows, strict=False)]:
        conn.executemany(insert, chunk)


def select_aliases(conn: sqlite3.Connection) -> list[tuple[str, str, str | None, str]]:
    """(merged id, kept id, merged firm's credit code, its normalised name) per merged-away firm."""
    return conn.execute("SELECT id, company_id, uscc, norm_name FROM aliases").fetchall()


def merge_rows(
    conn: sqlite3.Connection, kept: tuple[Company, str], merged: tuple[Company, str], supplies: list[tuple]
) -> None:
    """merge_companies in the file (inside the caller's transaction): the kept row replaced, the
    moved ties added, the merged firm and its ties deleted, its id recorded as an alias."""
    insert_companies(conn, [kept])
    conn.executemany("INSERT OR REPLACE INTO supplies VALUES (?, ?, ?, ?)", supplies)
    mid, kid = merged[0].id, kept[0].id
    conn.execute("DELETE FROM supplies WHERE supplier = ? OR buyer = ?", (mid, mid))
    conn.execute("DELETE FROM companies WHERE id = ?", (mid,))
    conn.execute("UPDATE aliases SET company_id = ? WHERE company_id = ?", (kid, mid))
    conn.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)", (mid, kid, merged[0].uscc, merged[1]))


# ---- opening and schema ---------------------------------------------------------------------
def connect(path: Path, store_id: str) -> sqlite3.Connection:
    """Open (creating or upgrading when needed) the file; GraphStoreUnavailable when it cannot be."""
    conn = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if not _schema_ready(conn, path):
            _prepare_schema(conn, path, store_id)
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise GraphStoreUnavailable(f"无法打开图存储文件 {path}：{exc}") from exc
        if isinstance(exc, OSError):
            raise GraphStoreUnavailable(f"无法创建图存储目录 {path.parent}：{exc}") from exc
        raise
    return conn


def _check_schema(meta: dict[str, str], path: Path) -> None:
    schema = int(meta.get("schema", SCHEMA_VERSION))
    if schema > SCHEMA_VERSION:
        raise GraphStoreUnavailable(
            f"图存储文件 {path} 的格式版本为 {schema}，高于本程序支持的 {SCHEMA_VERSION}，请升级程序"
        )


def _schema_ready(conn: sqlite3.Connection, path: Path) -> bool:
    """Read-only check, so opening never waits for the write lock another process holds
    (a long import) unless the file really needs creating or upgrading."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not set(TABLES) <= tables:
        return False
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    _check_schema(meta, path)
    have = {r[1] for r in conn.execute("PRAGMA table_info(companies)")}
    return "store_id" in meta and set(C_COLUMNS) <= have


def _prepare_schema(conn: sqlite3.Connection, path: Path, store_id: str) -> None:
    """Create the tables of a new file, or add what an older file lacks, in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, _SCHEMA.split(";")):
            conn.execute(statement)
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        _check_schema(meta, path)
        if "store_id" not in meta:
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("schema", str(SCHEMA_VERSION)), ("store_id", store_id), ("version", "0")],
            )
        # A field added to the Company model becomes a new column (its default) of old files.
        have = {r[1] for r in conn.execute("PRAGMA table_info(companies)")}
        for column in C_COLUMNS:
            if column not in have:  # names come from the dataclass, not from input
                conn.execute(
                    f"ALTER TABLE companies ADD COLUMN {column} DEFAULT {_COLUMN_DEFAULTS.get(column, 'NULL')}"
                )
        if "initials" not in have:  # firms written before pinyin search: derive theirs once, here
            conn.create_function("lz_initials", 1, name_initials, deterministic=True)
            conn.execute("UPDATE companies SET initials = lz_initials(name)")
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


# ---- change log -----------------------------------------------------------------------------
def log_change(conn: sqlite3.Connection, version: int, kind: str, keys: list[Any]) -> None:
    """Record write `version` (kind, ids written), prune the log, bump meta.version."""
    if len(keys) > LOG_MAX_KEYS:
        kind, keys = "reload", []
    conn.execute(
        "INSERT OR REPLACE INTO changes VALUES (?, ?, ?)",
        (version, kind, json.dumps(keys, ensure_ascii=False)),
    )
    conn.execute("DELETE FROM changes WHERE version <= ?", (version - LOG_KEEP,))
    conn.execute(
        "DELETE FROM changes WHERE version < coalesce((SELECT min(version) FROM "
        "(SELECT version, sum(length(keys)) OVER (ORDER BY version DESC) AS total "
        "FROM changes) WHERE total <= ?), ?)",
        (LOG_BYTES, version),
    )
    conn.execute("UPDATE meta SET value = ? WHERE key = 'version'", (str(version),))


def pending_changes(conn: sqlite3.Connection, since: int, target: int) -> dict[str, dict] | None:
    """The keys written by versions (since, target], merged per kind; None when the log cannot be
    replayed (a gap: pruned or another file; a clear; a logged reload).

    Supplies map (supplier, buyer, product) -> amount; flows (source, target) -> None; others id -> None.
    """
    rows = conn.execute(
        "SELECT version, kind, keys FROM changes WHERE version > ? ORDER BY version", (since,)
    ).fetchall()
    if [r[0] for r in rows] != list(range(since + 1, target + 1)):
        return None
    pending: dict[str, dict] = {kind: {} for kind in LOG_KINDS}
    for _, kind, keys in rows:
        if kind not in pending:
            return None
        for key in json.loads(keys):
            if kind == "supplies":
                pending[kind][tuple(key[:3])] = key[3]
            elif kind == "flows":
                pending[kind][tuple(key)] = None
            else:
                pending[kind][key] = None
    return pending
