"""The write rules every GraphStore backend applies, in one place, so both refuse the same input
with the same error type and Chinese message (the contract suite checks both, type for type).

Two steps per write batch, in this order:

1. ``*_batch(items)``: the stateless checks (types, ids, stage, numbers, self-loops), the batch
   keyed by id (a later duplicate replaces an earlier one) and normalised. Bad input raises
   `InvalidGraphData` (an `InvalidInput`) before the store is touched.
2. ``check_*_refs(batch, missing)``: which referenced ids must exist and what to say when one does
   not (`UnknownReference`, a `NotFound`). The store answers only "which of these ids of this
   label do you lack" through ``missing(label, ids)``; it is called inside the store's write
   transaction, so the answer is never stale. The smallest missing id is reported, and the first
   batch item naming it, so both backends word the error identically.

Local output is summed as integer micro-万元 by both backends (`micro`): no float drift.

>>> sorted(supplies_batch([Supply("a", "b", None, 2.0)]))
[('a', 'b', '')]
>>> nodes_batch([ChainNode("n", "c", "环节", "左游")])
Traceback (most recent call last):
    ...
graph.store.InvalidGraphData: 环节「环节」的阶段「左游」无效，应为上游、中游或下游
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

from .model import STAGES, Chain, ChainNode, Company, CompanyAlias, Flow, Sector, Supply, Zone
from .pinyin import name_initials
from .store import InvalidGraphData, UnknownReference

MICRO = 1_000_000  # local output is summed as integer micro-万元: no float drift between backends
# Labels `missing` is asked about (the Neo4j labels; the embedded store maps them to its dicts).
SECTOR, CHAIN, NODE, ZONE, COMPANY = "Sector", "Chain", "ChainNode", "Zone", "Company"
# Joins tuple fields in the embedded store's file: never allowed inside a value of one.
SEPARATOR = "\x1f"

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
Missing = Callable[[str, list[str]], list[str]]  # (label, sorted ids) -> the sorted ids not stored


def micro(revenue: float | None) -> int:
    """Revenue in 万元 as integer micro-万元 (None and 0 count as nothing).

    >>> micro(1.5), micro(None)
    (1500000, 0)
    """
    return round(revenue * MICRO) if revenue else 0


def output_micro(c: Company) -> int:
    """A firm's revenue share on each of its nodes, in micro-万元: revenue split evenly over the nodes
    it operates in, so a node sum counts every firm's revenue once (graph.gaps.OUTPUT_RULE).

    >>> output_micro(Company("a", "甲", revenue=3.0, node_ids=("x", "y", "z")))
    1000000
    """
    return micro(c.revenue) // max(len(c.node_ids), 1)


def is_active(c: Company) -> bool:
    """A dead firm (注销/吊销/迁出) counts nowhere. The model may not carry `active` yet: then all are."""
    return bool(getattr(c, "active", True))


def quals_key(qualifications: Iterable[str]) -> str:
    """A firm's qualification set as one key (sorted, SEPARATOR-joined; "" for none)."""
    return SEPARATOR.join(sorted(set(qualifications)))


class NodeCounts:
    """The counters one write changes, kept by both stores beside the firms (issue 16): per
    (chain node, qualification-set key) [local firms, local output in micro-万元, outside firms],
    plus the totals (every firm; local firms). A replaced firm's old contribution is added with
    sign -1 and its new one with +1, so a write costs O(its firms), never a scan of all firms.

    The one counting rule of GraphStore.node_stats: dead firms count on no node; a local firm adds
    itself, its revenue share (output_micro) and its qualification set to each of its nodes; an
    outside firm adds itself to each node's outside count (under the key "").
    """

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = {}
        self.firms = 0
        self.local_firms = 0

    def add(self, c: Company, sign: int, only: set[str] | None = None) -> None:
        """Count `c` with `sign`; `only` restricts it to these nodes (a recount of some nodes,
        which leaves the totals alone)."""
        nodes = c.node_ids if only is None else [n for n in c.node_ids if n in only]
        self.add_parts(nodes, c.is_local, is_active(c), c.qualifications, output_micro(c), sign, only is None)

    def add_parts(
        self,
        nodes: Iterable[str],
        is_local: bool,
        active: bool,
        qualifications: Iterable[str],
        output: int,
        sign: int,
        totals: bool = True,
    ) -> None:
        """`add` for a firm known by its stored parts (`output`: its output_micro as stored)."""
        if totals:
            self.firms += sign
            self.local_firms += sign if is_local else 0
        if not active:
            return
        if is_local:
            self.add_group(nodes, quals_key(qualifications), sign, output * sign, 0)
        else:
            self.add_group(nodes, "", 0, 0, sign)

    def add_group(self, nodes: Iterable[str], key: str, local: int, output: int, outside: int) -> None:
        """Add already-counted figures (one firm's, or a database's GROUP BY of live firms)."""
        rows = self.rows
        for nid in nodes:
            row = rows.get((nid, key))
            if row is None:
                row = rows[nid, key] = [0, 0, 0]
            row[0] += local
            row[1] += output
            row[2] += outside

    def changed(self) -> list[tuple[str, str, int, int, int]]:
        """(node, key, local, output, outside) of every row that changes."""
        return [(n, q, *v) for (n, q), v in self.rows.items() if any(v)]  # type: ignore[misc]


def last_wins(items: Iterable[T], key: Callable[[T], K]) -> dict[K, T]:
    """Batch as an ordered dict keyed by id: a later duplicate replaces an earlier one."""
    out: dict[K, T] = {}
    for item in items:
        out[key(item)] = item
    return out


def check_type(item: object, cls: type, what: str) -> None:
    if not isinstance(item, cls):
        raise InvalidGraphData(f"{what}数据类型错误：应为 {cls.__name__}，实际为 {type(item).__name__}")


def check_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidGraphData(f"{what}的编号不能为空")


def checked_batch(items: Iterable[Any], cls: type[T], what: str) -> dict[str, T]:
    """A write batch keyed by id (last duplicate wins), every item of `cls` with a non-empty id."""
    batch = last_wins(items, lambda x: getattr(x, "id", None))
    for item in batch.values():
        check_type(item, cls, what)
        check_id(item.id, what)
    return batch  # type: ignore[return-value]  # every key is now a str


# ---- stateless checks, one per kind -------------------------------------------------------
def sectors_batch(items: Iterable[Sector]) -> dict[str, Sector]:
    return checked_batch(items, Sector, "产业")


def chains_batch(items: Iterable[Chain]) -> dict[str, Chain]:
    return checked_batch(items, Chain, "产业链")


def zones_batch(items: Iterable[Zone]) -> dict[str, Zone]:
    return checked_batch(items, Zone, "园区")


def nodes_batch(items: Iterable[ChainNode]) -> dict[str, ChainNode]:
    batch = checked_batch(items, ChainNode, "产业链环节")
    for n in batch.values():
        if n.stage not in STAGES:
            raise InvalidGraphData(f"环节「{n.name}」的阶段「{n.stage}」无效，应为上游、中游或下游")
        if n.parent_id == n.id:
            raise InvalidGraphData(f"环节「{n.name}」不能以自身为上级环节")
    return batch


def flows_batch(items: Iterable[Flow]) -> list[tuple[str, str]]:
    """FEEDS edges as sorted unique (source, target) pairs."""
    pairs = set()
    for f in items:
        check_type(f, Flow, "产业链流向")
        check_id(f.source_id, "产业链流向的上游环节")
        check_id(f.target_id, "产业链流向的下游环节")
        if f.source_id == f.target_id:
            raise InvalidGraphData(f"环节 {f.source_id} 不能流向自身")
        pairs.add((f.source_id, f.target_id))
    return sorted(pairs)


def _valid_qualification(q: object) -> bool:
    return isinstance(q, str) and bool(q) and SEPARATOR not in q


def companies_batch(items: Iterable[Company]) -> dict[str, Company]:
    """Firms keyed by id, each with `node_ids` as a sorted tuple of unique ids (OPERATES_IN is a set)
    and `initials` derived from its name (graph/pinyin.py; ~15 µs a firm).

    Written for a million firms per call: the common case (a well-formed firm) costs a few type
    tests; a firm whose `node_ids` is not already sorted and unique is copied with them fixed.
    """
    batch: dict[str, Company] = last_wins(items, lambda c: getattr(c, "id", ""))
    for cid, c in batch.items():
        if type(c) is not Company:
            check_type(c, Company, "企业")
        if type(cid) is not str or not cid.strip():
            check_id(cid, "企业")
        node_ids = c.node_ids
        if type(node_ids) is not tuple or (
            len(node_ids) > 1 and any(a >= b for a, b in zip(node_ids, node_ids[1:], strict=False))
        ):
            if any(not isinstance(n, str) for n in node_ids):
                raise InvalidGraphData(f"企业「{c.name}」的产业链环节编号无效：{node_ids!r}")
            fixed = object.__new__(Company)  # frozen: copy without re-running __init__
            fixed.__dict__.update(c.__dict__, node_ids=tuple(sorted(set(node_ids))))
            batch[cid] = c = fixed
        initials = name_initials(c.name)  # derived here so every backend stores the same
        if c.initials != initials:
            fixed = object.__new__(Company)
            fixed.__dict__.update(c.__dict__, initials=initials)
            batch[cid] = c = fixed
        for q in c.qualifications:
            if not _valid_qualification(q):
                raise InvalidGraphData(f"企业「{c.name}」的资质名称无效：{q!r}")
        for label, value in (
            ("营业收入", c.revenue),
            ("注册资本", c.registered_capital),
            ("研发投入占比", c.rd_ratio),
        ):
            if value is not None and not math.isfinite(value):
                raise InvalidGraphData(f"企业「{c.name}」的{label}不是有效数字：{value}")
    return batch


def supplies_batch(items: Iterable[Supply]) -> dict[tuple[str, str, str], Supply]:
    """SUPPLIES edges keyed by (supplier, buyer, product); no product (None) is stored as ""."""
    batch: dict[tuple[str, str, str], Supply] = {}
    for s in items:
        check_type(s, Supply, "供货关系")
        check_id(s.supplier_id, "供货关系的供应方")
        check_id(s.buyer_id, "供货关系的采购方")
        if s.supplier_id == s.buyer_id:
            raise InvalidGraphData(f"企业 {s.supplier_id} 不能向自身供货")
        if s.amount is not None and not math.isfinite(s.amount):
            raise InvalidGraphData(f"供货金额不是有效数字：{s.amount}")
        if s.product is None:  # "" and None both mean "unspecified product"
            s = Supply(s.supplier_id, s.buyer_id, "", s.amount)
        batch[s.supplier_id, s.buyer_id, s.product] = s
    return batch


# ---- references: the store only says which ids it lacks -----------------------------------
def _first_missing(missing: Missing, label: str, ids: Iterable[str]) -> str | None:
    absent = missing(label, sorted(set(ids)))
    return absent[0] if absent else None


def check_chain_refs(batch: dict[str, Chain], missing: Missing) -> None:
    gone = _first_missing(missing, SECTOR, (c.sector_id for c in batch.values()))
    if gone is not None:
        bad = next(c for c in batch.values() if c.sector_id == gone)
        raise UnknownReference(f"产业链「{bad.name}」引用了不存在的产业：{gone}")


def check_node_refs(batch: dict[str, ChainNode], missing: Missing) -> None:
    """Its chain must exist; its parent must exist or come in the same batch."""
    gone = _first_missing(missing, CHAIN, (n.chain_id for n in batch.values()))
    if gone is not None:
        bad = next(n for n in batch.values() if n.chain_id == gone)
        raise UnknownReference(f"环节「{bad.name}」引用了不存在的产业链：{gone}")
    parents = {n.parent_id for n in batch.values() if n.parent_id} - set(batch)
    gone = _first_missing(missing, NODE, parents)
    if gone is not None:
        bad = next(n for n in batch.values() if n.parent_id == gone)
        raise UnknownReference(f"环节「{bad.name}」的上级环节不存在：{gone}")


def check_flow_refs(pairs: list[tuple[str, str]], missing: Missing) -> None:
    gone = _first_missing(missing, NODE, (x for pair in pairs for x in pair))
    if gone is not None:
        raise UnknownReference(f"产业链流向引用了不存在的环节：{gone}")


def check_company_refs(batch: dict[str, Company], missing: Missing) -> None:
    gone = _first_missing(missing, NODE, (n for c in batch.values() for n in c.node_ids))
    if gone is not None:
        bad = next(c for c in batch.values() if gone in c.node_ids)
        raise UnknownReference(f"企业「{bad.name}」引用了不存在的产业链环节：{gone}")
    gone = _first_missing(missing, ZONE, (c.zone_id for c in batch.values() if c.zone_id))
    if gone is not None:
        bad = next(c for c in batch.values() if c.zone_id == gone)
        raise UnknownReference(f"企业「{bad.name}」引用了不存在的园区：{gone}")


def check_supply_refs(batch: dict[tuple[str, str, str], Supply], missing: Missing) -> None:
    gone = _first_missing(missing, COMPANY, (cid for key in batch for cid in key[:2]))
    if gone is not None:
        raise UnknownReference(f"供货关系引用了不存在的企业：{gone}，未写入任何供货关系")


def merge_batch(
    kept: Company, merged_id: str, supplies: Iterable[Supply]
) -> tuple[Company, dict[tuple[str, str, str], Supply]]:
    """GraphStore.merge_companies' stateless checks: the kept record and the ties it takes over."""
    firm = companies_batch([kept])
    kept = next(iter(firm.values()))
    if not isinstance(merged_id, str) or not merged_id.strip():
        check_id(merged_id, "被合并企业")
    if merged_id == kept.id:
        raise InvalidGraphData(f"不能把企业「{kept.name}」并入它自己")
    ties = supplies_batch(supplies)
    if any(merged_id in key[:2] for key in ties):
        raise InvalidGraphData("并入后的供货关系不能再指向被合并的企业")
    return kept, ties


def check_merge_refs(
    kept: Company, merged_id: str, ties: dict[tuple[str, str, str], Supply], missing: Missing
) -> None:
    """Both firms, the kept firm's nodes and zone, and every partner of a moved tie must exist."""
    gone = missing(COMPANY, sorted({kept.id, merged_id}))
    if gone:
        raise UnknownReference(f"图中没有企业：{'、'.join(gone)}，未合并")
    check_company_refs({kept.id: kept}, missing)
    check_supply_refs(ties, missing)


def aliases_batch(items: Iterable[CompanyAlias]) -> dict[str, CompanyAlias]:
    batch: dict[str, CompanyAlias] = last_wins(items, lambda a: getattr(a, "id", ""))
    for aid, a in batch.items():
        check_type(a, CompanyAlias, "企业别名")
        check_id(aid, "企业别名")
        check_id(a.company_id, "企业别名所指企业")
        if aid == a.company_id:
            raise InvalidGraphData(f"企业别名 {aid} 不能指向自身")
    return batch


def check_alias_refs(batch: dict[str, CompanyAlias], missing: Missing) -> None:
    gone = _first_missing(missing, COMPANY, (a.company_id for a in batch.values()))
    if gone is not None:
        raise UnknownReference(f"企业别名指向不存在的企业：{gone}，未写入任何别名")
