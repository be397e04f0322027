"""Read the human-editable seed files (sectors, chains, zones, anchor firms) into graph.model objects,
and write them plus synthetic demo firms into any GraphStore.

Adding a chain is adding a file under seed/chains/: nothing here names a chain. Every mistake in a
file becomes a SeedError whose Chinese message names the file, so an editor can fix it alone.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from graph.errors import ConfigError
from graph.identity import InvalidCreditCode, clean_uscc, company_id_for
from graph.model import QUALIFICATIONS, SECTOR_KINDS, STAGES, Chain, ChainNode, Company, Flow, Sector, Zone

from . import synthetic

SEED_DIR = Path(__file__).resolve().parent
ZONE_KINDS = ("一极", "服务型智造基地", "产业城镇", "北三县", "协作园区")
ASCII_ID = re.compile(r"^[a-z][a-z0-9_]*$")
LIST_SEPARATORS = re.compile(r"[；;/、，,|]")
DEFAULT_N_SYNTHETIC = 3000
DEFAULT_BATCH = 5000

FORMAT_VERSION = 2
_CHAIN_FIELDS = {"id", "name", "sector", "description", "sources", "firm_words", "thresholds"}
# Fields a node and a shared segment (segments.toml) may carry; a node adds key, parent, segment.
_CONTENT_FIELDS = {
    "name",
    "stage",
    "importance",
    "keywords",
    "negative_keywords",
    "industry_codes",
    "policy",
    "sources",
    "tags",
    "thresholds",
    "description",
}
_NODE_FIELDS = _CONTENT_FIELDS | {"key", "parent", "segment"}
_SEGMENT_FIELDS = _CONTENT_FIELDS | {"id"}
_THRESHOLD_TYPES = {
    "weak_firms_below": int,
    "weak_output_below": (int, float),
    "weak_without_qualified": bool,
}
_ZONE_FIELDS = {
    "id",
    "name",
    "kind",
    "district",
    "focus_sectors",
    "focus_chains",
    "focus",
    "is_local",
    "description",
}
_SECTOR_FIELDS = {"id", "name", "kind", "description"}


class SeedError(ConfigError):
    """A seed file is missing or wrong. The message is Chinese and names the file.

    Subclass of ConfigError so the CLI reports it as one line, like a config mistake.
    """


@dataclass(frozen=True)
class Home:
    """The district the bureau serves: where "local" firms are registered."""

    province: str = "北京市"
    city: str = "北京市"
    district: str = "通州区"


@dataclass(frozen=True)
class Structure:
    """Everything the seed files describe except firms: plain model objects, sorted by id."""

    sectors: tuple[Sector, ...]
    chains: tuple[Chain, ...]
    nodes: tuple[ChainNode, ...]
    flows: tuple[Flow, ...]
    zones: tuple[Zone, ...]
    home: Home = Home()
    # Folder the files came from (anchors.csv is looked up there).
    source_dir: Path = field(default=SEED_DIR, compare=False)
    # chain id -> words the synthetic generator uses in firm names (optional `firm_words`).
    firm_words: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    # Shared segments of segments.toml, by id (the raw tables; nodes that use one carry its id).
    segments: dict[str, dict] = field(default_factory=dict, compare=False, hash=False)
    # node id -> the chain file it was declared in (cross-chain flows belong to the declaring file).
    files: dict[str, Path] = field(default_factory=dict, compare=False, hash=False)

    @cached_property
    def node_by_id(self) -> dict[str, ChainNode]:
        return {n.id: n for n in self.nodes}

    @cached_property
    def chain_by_id(self) -> dict[str, Chain]:
        return {c.id: c for c in self.chains}

    def chain_nodes(self, chain_id: str) -> list[ChainNode]:
        return [n for n in self.nodes if n.chain_id == chain_id]

    def chain_flows(self, chain_id: str) -> list[Flow]:
        """Flows out of the chain's nodes (a cross-chain flow is listed with its source's chain)."""
        return [f for f in self.flows if self.node_by_id[f.source_id].chain_id == chain_id]

    def flows_touching(self, chain_id: str) -> list[Flow]:
        """Flows with either end in the chain: what a reviewer of that chain must see."""
        by_id = self.node_by_id
        return [
            f for f in self.flows if chain_id in (by_id[f.source_id].chain_id, by_id[f.target_id].chain_id)
        ]


# ---- reading files ---------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SeedError(f"找不到种子文件：{path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"种子文件格式错误（{path}）：{exc}") from exc


def _text(table: dict, key: str, path: Path, where: str, required: bool = True) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise SeedError(f"{path}：{where}的 {key} 应为文本")
    value = value.strip()
    if required and not value:
        raise SeedError(f"{path}：{where}缺少 {key}")
    return value


def _texts(table: dict, key: str, path: Path, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(f'{path}：{where}的 {key} 应为文本列表，例如 ["甲", "乙"]')
    return tuple(v.strip() for v in value if v.strip())


def _ascii_id(value: str, path: Path, where: str) -> str:
    if not ASCII_ID.match(value):
        raise SeedError(
            f"{path}：{where}的标识「{value}」不合规，只能用小写英文字母、数字和下划线，且以字母开头"
        )
    return value


def _unknown_fields(table: dict, allowed: set[str], path: Path, where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        hint = "（flows 必须写在文件开头、[chain] 之前）" if "flows" in extra else ""
        raise SeedError(f"{path}：{where}含有不支持的字段 {', '.join(extra)}{hint}")


def load_sectors(path: Path) -> list[Sector]:
    data = _read_toml(path)
    rows = data.get("sectors")
    if not isinstance(rows, list) or not rows:
        raise SeedError(f"{path}：没有 [[sectors]] 产业定义")
    sectors, seen = [], set()
    for i, row in enumerate(rows, 1):
        where = f"第{i}个产业"
        _unknown_fields(row, _SECTOR_FIELDS, path, where)
        sid = _ascii_id(_text(row, "id", path, where), path, where)
        if sid in seen:
            raise SeedError(f"{path}：产业标识「{sid}」重复")
        seen.add(sid)
        kind = _text(row, "kind", path, where)
        if kind not in SECTOR_KINDS:
            raise SeedError(f"{path}：产业「{sid}」的类型「{kind}」未知，应为 {'/'.join(SECTOR_KINDS)}")
        sectors.append(
            Sector(
                id=sid,
                name=_text(row, "name", path, where),
                kind=kind,
                description=_text(row, "description", path, where, required=False),
            )
        )
    return sorted(sectors, key=lambda s: s.id)


def load_segments(path: Path) -> dict[str, dict]:
    """segments.toml: segments defined once and used by several chains (absent file: none)."""
    if not path.exists():
        return {}
    data = _read_toml(path)
    unknown_top = sorted(set(data) - {"segments"})
    if unknown_top:
        raise SeedError(f"{path}：含有不支持的顶层字段 {', '.join(unknown_top)}")
    out: dict[str, dict] = {}
    for i, row in enumerate(data.get("segments", []), 1):
        where = f"第{i}个共享环节"
        _unknown_fields(row, _SEGMENT_FIELDS, path, where)
        sid = _ascii_id(_text(row, "id", path, where), path, where)
        if sid in out:
            raise SeedError(f"{path}：共享环节标识「{sid}」重复")
        _text(row, "name", path, where)
        out[sid] = {k: v for k, v in row.items() if k != "id"}
    return out


def _thresholds(row: dict, path: Path, key: str) -> dict[str, Any]:
    table = row.get("thresholds", {})
    if not isinstance(table, dict):
        raise SeedError(f"{path}：环节「{key}」的 thresholds 应为表，例如 {{ weak_firms_below = 1 }}")
    out = {}
    for name, value in table.items():
        kind = _THRESHOLD_TYPES.get(name)
        if kind is None:
            raise SeedError(
                f"{path}：环节「{key}」的 thresholds 含未知项「{name}」，可用 {'、'.join(_THRESHOLD_TYPES)}"
            )
        if (
            not isinstance(value, kind)
            or (kind is not bool and isinstance(value, bool))
            or (kind is not bool and value < 0)
        ):
            raise SeedError(f"{path}：环节「{key}」的 thresholds.{name} 取值无效：{value!r}")
        out[name] = float(value) if name == "weak_output_below" else value
    return out


@dataclass(frozen=True)
class ChainFile:
    """One chain file read and checked on its own; flows may still name other chains' nodes."""

    chain: Chain
    nodes: list[ChainNode]
    flows: list[tuple[str, str]]  # node ids; a "chain.key" end may lie in another file
    firm_words: tuple[str, ...]
    path: Path


def read_chain_file(
    path: Path, sector_ids: Iterable[str], segments: dict[str, dict] | None = None
) -> ChainFile:
    """One chain file -> its chain, nodes (shared segments resolved) and flows, validated."""
    segments = segments or {}
    data = _read_toml(path)
    unknown_top = sorted(set(data) - {"format", "chain", "nodes", "flows"})
    if unknown_top:
        raise SeedError(f"{path}：含有不支持的顶层字段 {', '.join(unknown_top)}")
    version = data.get("format", 1)
    if version not in (1, FORMAT_VERSION):
        raise SeedError(f"{path}：format = {version!r} 不受支持，应为 {FORMAT_VERSION}")
    head = data.get("chain")
    if not isinstance(head, dict):
        raise SeedError(f"{path}：缺少 [chain] 表")
    _unknown_fields(head, _CHAIN_FIELDS, path, "[chain] ")
    chain_id = _ascii_id(_text(head, "id", path, "[chain] "), path, "[chain] ")
    if chain_id != path.stem:
        raise SeedError(f"{path}：产业链标识「{chain_id}」应与文件名「{path.stem}」一致")
    sector = _text(head, "sector", path, "[chain] ")
    if sector not in set(sector_ids):
        raise SeedError(f"{path}：产业「{sector}」未在 sectors.toml 中定义")
    chain = Chain(
        id=chain_id,
        name=_text(head, "name", path, "[chain] "),
        sector_id=sector,
        description=_text(head, "description", path, "[chain] ", required=False),
        sources=_texts(head, "sources", path, "[chain] "),
    )
    if not chain.sources:
        raise SeedError(f"{path}：[chain] 缺少 sources（请注明结构的来源）")
    # Chain-wide status thresholds: every node of the file takes them unless it sets its own.
    chain_thresholds = _thresholds(head, path, "[chain]")

    rows = data.get("nodes")
    if not isinstance(rows, list) or not rows:
        raise SeedError(f"{path}：没有 [[nodes]] 环节定义")
    raw: dict[str, dict] = {}
    names: dict[str, str] = {}
    for i, row in enumerate(rows, 1):
        where = f"第{i}个环节"
        _unknown_fields(row, _NODE_FIELDS, path, where)
        segment = _text(row, "segment", path, where, required=False)
        if segment:
            if segment not in segments:
                raise SeedError(f"{path}：{where}引用的共享环节「{segment}」未在 segments.toml 中定义")
            row = {**segments[segment], "key": segment, **row}  # the node's own fields win
        key = _ascii_id(_text(row, "key", path, where), path, where)
        if key in raw:
            raise SeedError(f"{path}：环节 key「{key}」重复")
        stage = _text(row, "stage", path, where)
        if stage not in STAGES:
            raise SeedError(f"{path}：环节「{key}」的阶段「{stage}」未知，应为 {'/'.join(STAGES)}")
        importance = row.get("importance", 3)
        if not isinstance(importance, int) or isinstance(importance, bool) or not 1 <= importance <= 5:
            raise SeedError(f"{path}：环节「{key}」的重要度应为 1 到 5 的整数，实际为 {importance!r}")
        name = _text(row, "name", path, where)
        if name in names:
            raise SeedError(f"{path}：环节名称「{name}」重复（{names[name]} 与 {key}），同一条链内名称须唯一")
        names[name] = key
        raw[key] = dict(row, stage=stage, importance=importance, where=where, segment=segment)

    nodes = []
    for key, row in raw.items():
        where = row["where"]
        parent = _text(row, "parent", path, where, required=False) or None
        if parent is not None and parent not in raw:
            raise SeedError(f"{path}：环节「{key}」的上级环节「{parent}」不存在")
        if parent == key:
            raise SeedError(f"{path}：环节「{key}」不能以自己为上级环节")
        nodes.append(
            ChainNode(
                id=f"{chain_id}.{key}",
                chain_id=chain_id,
                name=_text(row, "name", path, where),
                stage=row["stage"],
                importance=row["importance"],
                keywords=_texts(row, "keywords", path, where),
                parent_id=f"{chain_id}.{parent}" if parent else None,
                description=_text(row, "description", path, where, required=False),
                negative_keywords=_texts(row, "negative_keywords", path, where),
                industry_codes=_texts(row, "industry_codes", path, where),
                policy=_text(row, "policy", path, where, required=False),
                sources=_texts(row, "sources", path, where),
                segment=row["segment"],
                tags=_texts(row, "tags", path, where),
                **{**chain_thresholds, **_thresholds(row, path, key)},
            )
        )
    _check_hierarchy(path, {n.id: n.parent_id for n in nodes})

    flows = []
    for i, pair in enumerate(data.get("flows", []), 1):
        if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(k, str) for k in pair):
            raise SeedError(f'{path}：flows 第{i}项应为 ["上游环节key", "下游环节key"]')
        ends = []
        for key in pair:
            if "." in key:  # another chain's node, checked once every file is read
                ends.append(key)
            elif key in raw:
                ends.append(f"{chain_id}.{key}")
            else:
                raise SeedError(f"{path}：flows 第{i}项引用了不存在的环节「{key}」")
        if ends[0] == ends[1]:
            raise SeedError(f"{path}：flows 第{i}项的环节「{pair[0]}」指向了自己")
        flows.append((ends[0], ends[1]))
    return ChainFile(
        chain=chain,
        nodes=sorted(nodes, key=lambda n: n.id),
        flows=sorted(set(flows)),
        firm_words=_texts(head, "firm_words", path, "[chain] "),
        path=path,
    )


def load_chain(
    path: Path, sector_ids: Iterable[str], segments: dict[str, dict] | None = None
) -> tuple[Chain, list[ChainNode], list[Flow], tuple[str, ...]]:
    """One chain file on its own -> (chain, nodes, flows, firm_words); flows must stay in the file."""
    cf = read_chain_file(path, sector_ids, segments)
    own = {n.id for n in cf.nodes}
    for src, dst in cf.flows:
        for end in (src, dst):
            if end not in own:
                raise SeedError(f"{path}：flows 引用了不存在的环节「{end}」")
    flows = [Flow(s, t) for s, t in cf.flows]
    _check_acyclic(path, cf.nodes, flows)
    return cf.chain, cf.nodes, flows, cf.firm_words


def _check_hierarchy(path: Path, parents: dict[str, str | None]) -> None:
    for start in parents:
        seen, node = {start}, parents[start]
        while node is not None:
            if node in seen:
                raise SeedError(f"{path}：环节的上级关系出现循环（涉及「{start.split('.', 1)[1]}」）")
            seen.add(node)
            node = parents[node]


def _check_acyclic(path: Path | str, nodes: list[ChainNode], flows: list[Flow]) -> None:
    graph = nx.DiGraph((f.source_id, f.target_id) for f in flows)
    if nx.is_directed_acyclic_graph(graph):
        return
    names = {n.id: n.name for n in nodes}
    cycle = [names.get(u, u) for u, _ in nx.find_cycle(graph)]
    raise SeedError(f"{path}：上下游关系（flows）出现循环：{' → '.join(cycle + cycle[:1])}")


def load_zones(path: Path, sector_ids: Iterable[str]) -> tuple[list[Zone], Home]:
    data = _read_toml(path)
    sector_ids = set(sector_ids)
    home_table = data.get("home", {})
    home = (
        Home(**{k: _text(home_table, k, path, "[home] ") for k in ("province", "city", "district")})
        if home_table
        else Home()
    )
    zones, seen = [], set()
    for i, row in enumerate(data.get("zones", []), 1):
        where = f"第{i}个园区"
        _unknown_fields(row, _ZONE_FIELDS, path, where)
        zid = _ascii_id(_text(row, "id", path, where), path, where)
        if zid in seen:
            raise SeedError(f"{path}：园区标识「{zid}」重复")
        seen.add(zid)
        kind = _text(row, "kind", path, where)
        if kind not in ZONE_KINDS:
            raise SeedError(f"{path}：园区「{zid}」的类型「{kind}」未知，应为 {'/'.join(ZONE_KINDS)}")
        focus_sectors = _texts(row, "focus_sectors", path, where)
        for sid in focus_sectors:
            if sid not in sector_ids:
                raise SeedError(f"{path}：园区「{zid}」的重点产业「{sid}」未在 sectors.toml 中定义")
        focus_chains = _texts(row, "focus_chains", path, where)
        is_local = row.get("is_local", True)
        if not isinstance(is_local, bool):
            raise SeedError(f"{path}：园区「{zid}」的 is_local 应为 true 或 false")
        zones.append(
            Zone(
                id=zid,
                name=_text(row, "name", path, where),
                kind=kind,
                district=_text(row, "district", path, where, required=False),
                focus_sectors=focus_sectors,
                focus=_texts(row, "focus", path, where),
                focus_chains=focus_chains,
                is_local=is_local,
                description=_text(row, "description", path, where, required=False),
            )
        )
    return sorted(zones, key=lambda z: z.id), home


def load_structure(seed_dir: str | Path | None = None) -> Structure:
    """Read sectors.toml, segments.toml, chains/*.toml and zones.toml from `seed_dir` (default: this package)."""
    root = Path(seed_dir) if seed_dir else SEED_DIR
    sectors = load_sectors(root / "sectors.toml")
    sector_ids = [s.id for s in sectors]
    segments = load_segments(root / "segments.toml")
    chain_files = sorted((root / "chains").glob("*.toml"))
    if not chain_files:
        raise SeedError(f"{root / 'chains'}：没有任何产业链文件（*.toml）")
    files = [read_chain_file(path, sector_ids, segments) for path in chain_files]
    nodes = [n for cf in files for n in cf.nodes]
    node_ids = {n.id for n in nodes}
    where = {n.id: cf.path for cf in files for n in cf.nodes}
    flows = []
    for cf in files:
        for src, dst in cf.flows:
            for end in (src, dst):
                if end not in node_ids:
                    raise SeedError(
                        f"{cf.path}：flows 引用了不存在的环节「{end}」（跨链流向请写 链标识.环节key）"
                    )
            flows.append(Flow(src, dst))
    flows = sorted(set(flows), key=lambda f: (f.source_id, f.target_id))
    for cf in files:  # a cycle inside one file names that file
        own = {n.id for n in cf.nodes}
        _check_acyclic(cf.path, cf.nodes, [f for f in flows if f.source_id in own and f.target_id in own])
    graph = nx.DiGraph((f.source_id, f.target_id) for f in flows)
    if not nx.is_directed_acyclic_graph(graph):  # a cycle through cross-chain flows
        cycle = [u for u, _ in nx.find_cycle(graph)]
        involved = "、".join(sorted({where[u].name for u in cycle}))
        names = {n.id: n.name for n in nodes}
        raise SeedError(
            f"{involved}：跨链上下游关系（flows）出现循环：{' → '.join(names[u] for u in cycle + cycle[:1])}"
        )
    zones, home = load_zones(root / "zones.toml", sector_ids)
    chain_ids = {cf.chain.id for cf in files}
    for zone in zones:
        for ref in zone.focus_chains:
            if ref not in chain_ids and ref not in node_ids:
                raise SeedError(
                    f"{root / 'zones.toml'}：园区「{zone.id}」的 focus_chains「{ref}」不是已知的产业链或环节"
                )
    return Structure(
        sectors=tuple(sectors),
        chains=tuple(cf.chain for cf in files),
        nodes=tuple(nodes),
        flows=tuple(flows),
        zones=tuple(zones),
        home=home,
        source_dir=root,
        firm_words={cf.chain.id: cf.firm_words for cf in files if cf.firm_words},
        segments=segments,
        files=where,
    )


# ---- anchor firms (real firms named in the policy) ---------------------------------------------

ANCHOR_COLUMNS = (
    "统一社会信用代码",
    "企业名称",
    "省份",
    "城市",
    "区县",
    "是否本地",
    "所属园区",
    "注册资本(万元)",
    "营业收入(万元)",
    "员工人数",
    "成立年份",
    "资质",
    "主营产品",
    "经营范围",
    "产业链环节",
)
_TRUE = {"是", "本地", "true", "1", "y", "yes"}
_FALSE = {"否", "外地", "false", "0", "n", "no", ""}


def read_csv_text(path: Path) -> str:
    """Decode a Chinese CSV: UTF-16 with BOM, else UTF-8 (with or without BOM), else GB18030."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SeedError(f"{path}：无法识别文件编码，请另存为 UTF-8")


def _number(cell: str, path: Path, line: int, column: str, integer: bool = False):
    cell = cell.strip().replace(",", "")
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError as exc:
        raise SeedError(f"{path} 第{line}行：「{column}」应为数字，实际为「{cell}」") from exc
    if value < 0:
        raise SeedError(f"{path} 第{line}行：「{column}」不能为负数")
    return int(value) if integer else value


def resolve_nodes(cell: str, structure: Structure) -> tuple[str, ...]:
    """Node ids for a cell listing node ids or names (separated by ；/; /、). Raises KeyError(part)."""
    by_name: dict[str, list[str]] = {}
    for n in structure.nodes:
        by_name.setdefault(n.name, []).append(n.id)
    ids = []
    for part in (p.strip() for p in LIST_SEPARATORS.split(cell)):
        if not part:
            continue
        if part in structure.node_by_id:
            ids.append(part)
        elif len(by_name.get(part, ())) == 1:
            ids.append(by_name[part][0])
        else:
            raise KeyError(part)
    return tuple(dict.fromkeys(ids))


def load_anchors(structure: Structure, path: str | Path | None = None) -> list[Company]:
    """The real anchor firms of anchors.csv (not synthetic), validated, in file order.

    Default file: anchors.csv beside the structure's other seed files.
    """
    path = Path(path) if path else structure.source_dir / "anchors.csv"
    try:
        text = read_csv_text(path)
    except FileNotFoundError as exc:
        raise SeedError(f"找不到种子文件：{path}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ANCHOR_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise SeedError(f"{path}：缺少列 {', '.join(missing)}")
    zone_ids = {z.id: z.id for z in structure.zones} | {z.name: z.id for z in structure.zones}
    companies, seen = [], set()
    for line, row in enumerate(reader, 2):
        row = {k: (v or "").strip() for k, v in row.items() if k}
        name = row["企业名称"]
        if not name:
            raise SeedError(f"{path} 第{line}行：缺少企业名称")
        try:
            uscc = clean_uscc(row["统一社会信用代码"])
        except InvalidCreditCode as exc:
            raise SeedError(f"{path} 第{line}行：{exc}") from exc
        local_cell = row["是否本地"].lower()
        if local_cell not in _TRUE | _FALSE:
            raise SeedError(f"{path} 第{line}行：「是否本地」应为 是 或 否，实际为「{row['是否本地']}」")
        zone_cell = row["所属园区"]
        if zone_cell and zone_cell not in zone_ids:
            raise SeedError(f"{path} 第{line}行：所属园区「{zone_cell}」未在 zones.toml 中定义")
        quals = tuple(q.strip() for q in LIST_SEPARATORS.split(row["资质"]) if q.strip())
        for q in quals:
            if q not in QUALIFICATIONS:
                raise SeedError(f"{path} 第{line}行：资质「{q}」未知，可选 {'、'.join(QUALIFICATIONS)}")
        try:
            node_ids = resolve_nodes(row["产业链环节"], structure)
        except KeyError as exc:
            raise SeedError(
                f"{path} 第{line}行：产业链环节「{exc.args[0]}」不存在或名称不唯一，请写环节标识"
            ) from exc
        company = Company(
            id=company_id_for(name, uscc),
            name=name,
            uscc=uscc,
            province=row["省份"],
            city=row["城市"],
            district=row["区县"],
            is_local=local_cell in _TRUE,
            zone_id=zone_ids.get(zone_cell),
            registered_capital=_number(row["注册资本(万元)"], path, line, "注册资本(万元)"),
            revenue=_number(row["营业收入(万元)"], path, line, "营业收入(万元)"),
            employees=_number(row["员工人数"], path, line, "员工人数", integer=True),
            founded=_number(row["成立年份"], path, line, "成立年份", integer=True),
            qualifications=quals,
            products=row["主营产品"],
            scope=row["经营范围"],
            synthetic=False,
            node_ids=node_ids,
        )
        if company.id in seen:
            raise SeedError(f"{path} 第{line}行：企业「{name}」重复")
        seen.add(company.id)
        companies.append(company)
    return companies


# ---- writing into a store ----------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSummary:
    sectors: int
    chains: int
    nodes: int
    flows: int
    zones: int
    anchors: int
    synthetic: int
    supplies: int


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_store(
    store,
    structure: Structure | None = None,
    n_synthetic: int = DEFAULT_N_SYNTHETIC,
    progress: Callable[[int, int], None] | None = None,
    seed: int | None = None,
    anchors: bool = True,
    batch_size: int = DEFAULT_BATCH,
) -> SeedSummary:
    """Write structure, anchor firms, `n_synthetic` synthetic firms and their supplies into `store`.

    Writes go in batches (one store transaction each), so an interrupted run leaves only whole
    batches; every id is deterministic, so running again with the same arguments completes it.
    `progress(done, total)` counts firms and supply edges written.
    """
    structure = structure or load_structure()
    seed = synthetic.DEFAULT_SEED if seed is None else seed
    anchor_firms = load_anchors(structure) if anchors else []
    sampler = synthetic.SupplySampler(structure, seed)
    planned_supplies = sampler.planned_total(n_synthetic)
    total = len(anchor_firms) + n_synthetic + planned_supplies
    done = 0

    def report(count: int) -> None:
        nonlocal done
        done += count
        if progress:
            progress(min(done, total), total)

    store.upsert_sectors(structure.sectors)
    store.upsert_chains(structure.chains)
    store.upsert_nodes(structure.nodes)
    store.upsert_flows(structure.flows)
    store.upsert_zones(structure.zones)
    if anchor_firms:
        store.upsert_companies(anchor_firms)
        report(len(anchor_firms))

    favoured = {nid for c in anchor_firms if c.is_local for nid in c.node_ids}
    firms = synthetic.generate_companies(structure, n_synthetic, seed=seed, favoured=favoured)
    written = 0
    for batch in _batches(firms, batch_size):
        for company in batch:
            sampler.add(company)
        written += store.upsert_companies(batch)
        report(len(batch))

    supplies = 0
    for batch in _batches(sampler.supplies(), batch_size):
        supplies += store.upsert_supplies(batch)
        report(len(batch))
    if progress and done < total:
        progress(total, total)
    return SeedSummary(
        sectors=len(structure.sectors),
        chains=len(structure.chains),
        nodes=len(structure.nodes),
        flows=len(structure.flows),
        zones=len(structure.zones),
        anchors=len(anchor_firms),
        synthetic=written,
        supplies=supplies,
    )
