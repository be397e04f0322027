"""Merging two records of one firm (疑似重复): what the kept record becomes, which ties move.

Pure functions over plain data plus `merge_companies`, the one graph-side entry point, which
computes the merged record and hands it to the store's atomic `GraphStore.merge_companies`. The
CRM side (leads re-pointed, audit) is crm/services/company_merge.py, which calls this.

Rules:

* the kept firm keeps its id, name and every value it has; a value it lacks is taken from the
  merged firm (a firm imported twice from two exports usually has half the fields in each);
* the merged firm's name (and its 曾用名) become 曾用名 of the kept one where they differ;
* node links and placement evidence are united (a confirmed link beats a candidate); a firm
  placed on any node is no longer 待确认; qualifications and tags are united;
* supply ties of the merged firm move to the kept one; a tie between the two disappears; where
  both have the same tie (partner, product) the kept firm's amount wins;
* the merged id becomes an alias of the kept id, so `store.company(old_id)` answers the kept firm
  and a lead or a list row still naming the old id never breaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .errors import InvalidInput, NotFound
from .identity import normalize_name
from .model import CANDIDATE, Company, Placement, Supply
from .store import GraphStore

_UNION = ("qualifications", "tags")
# Never taken from the merged firm: identity, links (united below), and what decides whether the kept
# firm counts (its 登记状态 and locality stay as they are, with their reasons).
_NOT_FILLED = {
    "id",
    "name",
    "former_names",
    "node_ids",
    "placements",
    "pending",
    "initials",
    "status",
    "active",
    "is_local",
    "local_reason",
    *_UNION,
}
# Fields that only make sense together: taken as a group, when the kept firm has none of them.
_GROUPS = (("registered_capital", "capital_text"), ("founded", "founded_date"), ("industry_code", "industry"))
_EMPTY = (None, "", ())


def merged_record(keep: Company, merged: Company) -> Company:
    """The kept firm after absorbing `merged` (see the module rules).

    >>> a = Company("A", "北京康汇医疗器械有限公司", node_ids=("n1",), qualifications=("专精特新",))
    >>> b = Company("B", "北京康汇医疗科技有限公司", "91350100M000100Y43", node_ids=("n2",))
    >>> m = merged_record(a, b)
    >>> m.id, m.uscc, m.node_ids, m.former_names
    ('A', '91350100M000100Y43', ('n1', 'n2'), ('北京康汇医疗科技有限公司',))
    """
    values: dict = {}
    grouped = {name: group for group in _GROUPS for name in group}
    for f in dataclasses.fields(Company):
        if f.name in _NOT_FILLED:
            continue
        group = grouped.get(f.name, (f.name,))
        if all(getattr(keep, n) in _EMPTY for n in group) and getattr(merged, f.name) not in _EMPTY:
            values[f.name] = getattr(merged, f.name)
    for name in _UNION:
        values[name] = tuple(dict.fromkeys((*getattr(keep, name), *getattr(merged, name))))
    own = {normalize_name(keep.name)}
    former: list[str] = []
    for name in (*keep.former_names, merged.name, *merged.former_names):
        key = normalize_name(name)
        if key not in own:
            own.add(key)
            former.append(name)
    values["former_names"] = tuple(former)
    links: dict[str, Placement] = {}
    for p in (*keep.placement_list(), *merged.placement_list()):
        have = links.get(p.node_id)
        if have is None or (have.source == CANDIDATE and p.source != CANDIDATE):
            links[p.node_id] = p
    node_ids = tuple(sorted({*keep.node_ids, *merged.node_ids}))
    values["node_ids"] = node_ids
    values["placements"] = tuple(
        links[n].encode()
        for n in sorted(links)
        if n in node_ids or links[n].source == CANDIDATE and not node_ids
    )
    values["pending"] = not node_ids and (keep.pending or merged.pending)
    return dataclasses.replace(keep, **values)


def moved_supplies(
    keep_id: str, merged_id: str, ties: Iterable[Supply], kept_ties: Iterable[Supply]
) -> list[Supply]:
    """The merged firm's ties re-pointed to the kept firm: a tie between the two is dropped, and a
    tie the kept firm already has (same partner, product, direction) keeps the kept firm's amount.

    >>> moved_supplies("A", "B", [Supply("B", "C", "x", 5.0), Supply("A", "B", "y")], [])
    [Supply(supplier_id='A', buyer_id='C', product='x', amount=5.0)]
    """
    have = {(s.supplier_id, s.buyer_id, s.product) for s in kept_ties}
    out: dict[tuple[str, str, str], Supply] = {}
    for s in ties:
        supplier = keep_id if s.supplier_id == merged_id else s.supplier_id
        buyer = keep_id if s.buyer_id == merged_id else s.buyer_id
        key = (supplier, buyer, s.product)
        if supplier == buyer or key in have:
            continue
        out[key] = Supply(supplier, buyer, s.product, s.amount)
    return [out[k] for k in sorted(out)]


@dataclasses.dataclass(frozen=True)
class GraphMerge:
    kept: Company  # the kept firm after the merge
    merged: Company  # the merged firm as it was
    moved_ties: int
    already_done: bool = False  # the merged id was an alias of the kept one already


def merge_companies(store: GraphStore, keep_id: str, merged_id: str) -> GraphMerge:
    """Merge firm `merged_id` into `keep_id` in one store transaction (see the module rules).

    Idempotent: when `merged_id` is already an alias of `keep_id` nothing is written and
    `already_done` is set (so the CRM step of an interrupted merge can simply be run again).
    """
    if not keep_id or not merged_id or keep_id == merged_id:
        raise InvalidInput("请给出两家不同的企业")
    keep = store.company(keep_id)
    if keep is None:
        raise NotFound(f"找不到企业「{keep_id}」")
    if keep.id != keep_id:
        raise InvalidInput(f"企业「{keep_id}」已并入「{keep.name}」（{keep.id}），请保留后者")
    merged = store.company(merged_id)
    if merged is None:
        raise NotFound(f"找不到企业「{merged_id}」")
    if merged.id == keep.id:  # merged_id is an alias of the kept firm already
        return GraphMerge(keep, merged, 0, already_done=True)
    if merged.id != merged_id:
        raise InvalidInput(f"企业「{merged_id}」已并入「{merged.name}」（{merged.id}）")
    ties = moved_supplies(keep.id, merged.id, store.supplies_of(merged.id), store.supplies_of(keep.id))
    kept = merged_record(keep, merged)
    store.merge_companies(kept, merged.id, ties)
    return GraphMerge(kept, merged, len(ties))
