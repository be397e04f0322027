"""Backups that restore: one archive with the graph store, the CRM database and the instance files,
and a manifest of what they hold, checked again when the archive is restored.

Why each part is taken the way it is:

- the embedded graph store and a SQLite CRM are copied with SQLite's online backup API
  (`sqlite3.Connection.backup`), a consistent snapshot even while the server writes (WAL);
- a PostgreSQL CRM is dumped by `pg_dump --format=custom` inside a REPEATABLE READ transaction
  whose snapshot it shares (`pg_export_snapshot` / `--snapshot`), so the counts and checksums in
  the manifest describe exactly the rows in the dump;
- a Neo4j graph is exported logically through the GraphStore contract (sectors, chains, nodes,
  flows, zones, companies, supplies as JSON), which works on the running Community server and
  restores into either backend; an offline `neo4j-admin database dump` stays the operator's choice
  for a byte-level copy (docs/DEPLOYMENT.md);
- every other file of the instance folder (settings.json, …) is copied as is, except the
  session secret (a restored instance makes a new one: everyone signs in again), uploads in
  flight and earlier backups.

The manifest records, per CRM table and per kind of graph entity, the row count and a SHA-256
over the rows in key order, and per archive member its SHA-256. `restore_backup` refuses an
instance that already holds data, verifies every member, installs the parts, recomputes the
digests and fails unless every count and checksum matches; then it upgrades the CRM schema to the
newest migration.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.engine import make_url

import crm.models_security  # noqa: F401  (its tables join Base.metadata)
from crm.db import current_revision, make_engine, upgrade
from crm.models import Base
from graph.model import Chain, ChainNode, Company, Flow, Sector, Supply, Zone
from graph.nx_store import NetworkxStore

from .config import ConfigError, instance_path
from .stores import open_graph_store

FORMAT = 1
MANIFEST = "manifest.json"
GRAPH_FILE, GRAPH_JSON = "graph.sqlite3", "graph.json"
CRM_SQLITE, CRM_PGDUMP = "crm.sqlite3", "crm.pgdump"
# Instance entries that are not copied as files (taken as snapshots above, secret, or transient).
SKIP = {"crm.sqlite3", "graph.sqlite3", "secret_key", "uploads", "backups"}
KINDS = {
    "sectors": Sector,
    "chains": Chain,
    "nodes": ChainNode,
    "flows": Flow,
    "zones": Zone,
    "companies": Company,
    "supplies": Supply,
}


class BackupError(ConfigError):
    """A backup or restore that cannot go on; the message is Chinese, for the operator."""


# ----------------------------------------------------------------------------- digests


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(rows: list) -> bytes:
    return json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":")).encode()


def crm_digest(conn) -> dict[str, dict[str, Any]]:
    """Per table of the CRM schema: row count and SHA-256 over the rows in primary-key order."""
    out = {}
    present = set(inspect(conn).get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in present:
            continue
        order = list(table.primary_key.columns) or list(table.columns)
        rows = [list(r) for r in conn.execute(select(*table.columns).order_by(*order))]
        out[table.name] = {"rows": len(rows), "sha256": _sha(_canonical(rows))}
    return out


def graph_entities(store) -> dict[str, list]:
    """Every entity of a graph store as plain lists, sorted (the logical export)."""
    ids = sorted(store.company_ids())
    companies = []
    for start in range(0, len(ids), 5000):
        companies += store.companies(ids[start : start + 5000])
    data = {
        "sectors": store.sectors(),
        "chains": store.chains(),
        "nodes": store.nodes(),
        "flows": store.flows(),
        "zones": store.zones(),
        "companies": companies,
        "supplies": store.supplies_from(ids) if ids else [],
    }
    return {
        kind: sorted((_plain(asdict(item)) for item in items), key=_sort_key) for kind, items in data.items()
    }


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _sort_key(item: dict) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True, default=str)


def graph_digest(entities: dict[str, list]) -> dict[str, dict[str, Any]]:
    return {kind: {"rows": len(items), "sha256": _sha(_canonical(items))} for kind, items in entities.items()}


# ----------------------------------------------------------------------------- backup


def create_backup(cfg: dict[str, Any], dest: str | os.PathLike | None = None) -> tuple[Path, dict]:
    """Write a backup archive (.tar.gz); returns its path and the manifest."""
    folder = instance_path(cfg)
    now = datetime.now(UTC)
    if dest is None:
        dest = folder / "backups" / f"lianzhao-{now:%Y%m%d-%H%M%S}.tar.gz"
    dest = Path(dest)
    if dest.is_dir():
        dest = dest / f"lianzhao-{now:%Y%m%d-%H%M%S}.tar.gz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(cfg)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": now.isoformat(timespec="seconds"),
        "crm_dialect": engine.dialect.name,
        "crm_revision": current_revision(engine),
        "graph_backend": _graph_backend(cfg),
        "members": {},
    }
    with tempfile.TemporaryDirectory(prefix="lianzhao-backup-") as tmp:
        staging = Path(tmp)
        _backup_graph(cfg, folder, staging, manifest)
        _backup_crm(engine, staging, manifest)
        engine.dispose()
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if rel.parts[0] in SKIP or rel.name.startswith(("crm.sqlite3-", "graph.sqlite3-")):
                continue
            if path.is_file():
                target = staging / "files" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = path.relative_to(staging).as_posix()
            manifest["members"][rel] = {"sha256": _file_sha(path), "bytes": path.stat().st_size}
        (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        partial = dest.with_name(dest.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            for path in sorted(staging.rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=path.relative_to(staging).as_posix())
        os.chmod(partial, 0o600)  # it holds personal data and password hashes
        os.replace(partial, dest)
    return dest, manifest


def _graph_backend(cfg: dict[str, Any]) -> str:
    return str(cfg.get("graph", {}).get("backend", "networkx")).strip().lower()


def _backup_graph(cfg, folder: Path, staging: Path, manifest: dict) -> None:
    if _graph_backend(cfg) == "networkx":
        source = folder / GRAPH_FILE
        target = staging / GRAPH_FILE
        if source.exists():
            _sqlite_copy(source, target)
            with NetworkxStore(target) as copy:
                manifest["graph"] = graph_digest(graph_entities(copy))
        else:
            manifest["graph"] = graph_digest({kind: [] for kind in KINDS})
        return
    with open_graph_store(cfg) as store:
        entities = graph_entities(store)
    (staging / GRAPH_JSON).write_bytes(_canonical(entities))
    manifest["graph"] = graph_digest(entities)


def _backup_crm(engine: Engine, staging: Path, manifest: dict) -> None:
    if engine.dialect.name == "sqlite":
        source = Path(engine.url.database or "")
        target = staging / CRM_SQLITE
        if source.exists():
            _sqlite_copy(source, target)
            copy = make_engine(url=f"sqlite:///{target}")
            with copy.connect() as conn:
                manifest["crm"] = crm_digest(conn)
            copy.dispose()
        else:
            manifest["crm"] = {}
        return
    if engine.dialect.name != "postgresql":
        raise BackupError(f"不支持备份 {engine.dialect.name} 数据库（仅 SQLite 与 PostgreSQL）")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            manifest["crm"] = crm_digest(conn)
            _run_pg(
                "pg_dump",
                engine,
                ["--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}"],
                ["--file", str(staging / CRM_PGDUMP)],
            )


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: one consistent snapshot, writers carry on (WAL)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).exists():
            return str(folder / name)
    raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端工具（Debian 软件包 postgresql-client）")


def _run_pg(tool: str, engine: Engine, options: list[str], tail: list[str]) -> None:
    """Run pg_dump / pg_restore against the engine's database; the password travels in the
    environment (PGPASSWORD), never on the command line."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    proc = subprocess.run(
        [_pg_bin(tool), *options, "--dbname", libpq, *tail], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BackupError(f"{tool} 失败：{proc.stderr.strip()[-500:]}")


# ----------------------------------------------------------------------------- restore


def read_manifest(archive: str | os.PathLike) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return json.loads(member.read().decode("utf-8"))
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"不是有效的链招备份文件：{archive}（{exc}）") from exc


def restore_backup(cfg: dict[str, Any], archive: str | os.PathLike) -> dict:
    """Bring a backup back into an empty instance; returns the manifest it was checked against."""
    manifest = read_manifest(archive)
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式版本 {manifest.get('format')} 不受支持（本程序为 {FORMAT}）")
    folder = instance_path(cfg)
    engine = make_engine(cfg)
    _require_empty(cfg, folder, engine)
    with tempfile.TemporaryDirectory(prefix="lianzhao-restore-") as tmp:
        staging = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")  # no absolute paths, links or devices
        for rel, meta in manifest["members"].items():
            path = staging / rel
            if not path.is_file() or _file_sha(path) != meta["sha256"]:
                raise BackupError(f"备份文件已损坏：{rel} 的校验和不符")
        _restore_graph(cfg, folder, staging, manifest)
        _restore_crm(engine, staging, manifest)
        files = staging / "files"
        if files.is_dir():
            for path in sorted(files.rglob("*")):
                if path.is_file():
                    target = folder / path.relative_to(files)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
    upgrade(engine)  # a backup from an older release gets the newest schema
    engine.dispose()
    return manifest


def _require_empty(cfg, folder: Path, engine: Engine) -> None:
    if _graph_backend(cfg) == "networkx":
        if (folder / GRAPH_FILE).exists():
            raise BackupError(f"目标实例不是空的：{folder / GRAPH_FILE} 已存在（恢复只写入空实例）")
    else:
        with open_graph_store(cfg) as store:
            if store.sectors() or store.company_count():
                raise BackupError("目标 Neo4j 数据库不是空的（恢复只写入空实例）")
    with engine.connect() as conn:
        if inspect(conn).get_table_names():
            raise BackupError(f"目标 CRM 数据库不是空的：{engine.url.render_as_string(hide_password=True)}")


def _restore_graph(cfg, folder: Path, staging: Path, manifest: dict) -> None:
    if manifest["graph_backend"] == "networkx" and (staging / GRAPH_FILE).exists():
        if _graph_backend(cfg) == "networkx":
            _sqlite_copy(staging / GRAPH_FILE, folder / GRAPH_FILE)
            with NetworkxStore(folder / GRAPH_FILE) as store:
                _check("图存储", manifest["graph"], graph_digest(graph_entities(store)))
            return
        with NetworkxStore(staging / GRAPH_FILE) as copy:
            entities = graph_entities(copy)
    elif (staging / GRAPH_JSON).exists():
        entities = json.loads((staging / GRAPH_JSON).read_text(encoding="utf-8"))
    else:
        return
    with open_graph_store(cfg) as store:
        _load_entities(store, entities)
        _check("图存储", manifest["graph"], graph_digest(graph_entities(store)))


def _load_entities(store, entities: dict[str, list]) -> None:
    def build(kind):
        cls = KINDS[kind]
        out = []
        for item in entities[kind]:
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
            out.append(cls(**values))
        return out

    store.upsert_sectors(build("sectors"))
    store.upsert_chains(build("chains"))
    store.upsert_nodes(build("nodes"))
    store.upsert_flows(build("flows"))
    store.upsert_zones(build("zones"))
    store.upsert_companies(build("companies"))
    store.upsert_supplies(build("supplies"))


def _restore_crm(engine: Engine, staging: Path, manifest: dict) -> None:
    if manifest["crm_dialect"] != engine.dialect.name:
        raise BackupError(
            f"备份的 CRM 数据库为 {manifest['crm_dialect']}，目标为 {engine.dialect.name}：请恢复到同类数据库"
        )
    if engine.dialect.name == "sqlite":
        source = staging / CRM_SQLITE
        if not source.exists():
            return
        target = Path(engine.url.database or "")
        target.parent.mkdir(parents=True, exist_ok=True)
        engine.dispose()
        _sqlite_copy(source, target)
    else:
        _run_pg(
            "pg_restore",
            engine,
            ["--no-owner", "--no-privileges", "--exit-on-error"],
            [str(staging / CRM_PGDUMP)],
        )
    with engine.connect() as conn:
        _check("CRM 数据库", manifest["crm"], crm_digest(conn))


def _check(what: str, expected: dict, actual: dict) -> None:
    bad = [name for name in sorted(set(expected) | set(actual)) if expected.get(name) != actual.get(name)]
    if bad:
        raise BackupError(f"恢复后{what}与备份清单不一致：{'、'.join(bad)}")


def describe(manifest: dict) -> str:
    """A few lines for the operator: what the archive holds."""
    out = io.StringIO()
    crm = manifest.get("crm", {})
    graph = manifest.get("graph", {})
    out.write(
        f"备份时间：{manifest['created_at']}（CRM {manifest['crm_dialect']} 版本 {manifest['crm_revision']}，"
    )
    out.write(f"图存储 {manifest['graph_backend']}）\n")
    out.write(
        f"线索 {crm.get('leads', {}).get('rows', 0)} 条，用户 {crm.get('users', {}).get('rows', 0)} 个，"
        f"审计记录 {crm.get('audit_log', {}).get('rows', 0)} 条；"
        f"企业 {graph.get('companies', {}).get('rows', 0)} 家，环节 {graph.get('nodes', {}).get('rows', 0)} 个"
    )
    return out.getvalue()
