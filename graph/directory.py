"""The company directory's rules: find a firm by what a user types, filter, describe, confirm placements.

Views and the CLI call these and render; nothing here knows about click or Flask. A name search goes
through the store's index (GraphStore.find_companies, fast at 1M on both backends); browsing without a
name or node walks every firm.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import InvalidInput, NotFound
from .identity import InvalidCreditCode, clean_uscc, normalize_name
from .model import CANDIDATE, CONFIRMED, Company, Placement
from .store import GraphStore


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").lower().replace(" ", "")


def resolve_company(store: GraphStore, ref: str) -> Company:
    """A firm by id, credit code or name (曾用名 too); NotFound in Chinese when none matches."""
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput("请给出企业 id、统一社会信用代码或企业名称")
    company = store.company(ref)
    if company is not None:
        return company
    usccs: list[str] = []
    try:
        code = clean_uscc(ref)
    except InvalidCreditCode:
        code = None
    if code:
        usccs.append(code)
    matched = store.match_companies(usccs, [normalize_name(ref)])
    company_id = matched.get(code or "") or matched.get(normalize_name(ref))
    if company_id is not None:
        found = store.company(company_id)
        if found is not None:
            return found
    key = normalize_name(ref)
    for company in all_companies(store):
        if any(normalize_name(name) == key for name in company.former_names):
            return company
    raise NotFound(f"找不到企业「{ref}」（可用企业 id、统一社会信用代码、企业名称或曾用名）")


def all_companies(store: GraphStore) -> list[Company]:
    return store.companies(store.company_ids())


@dataclass(frozen=True)
class CompanyQuery:
    text: str = ""  # name, 曾用名 or credit code: answered by the store's index (GraphStore.find_companies)
    product: str = ""  # words of 主营产品 / 经营范围 (a scan)
    local: bool | None = None
    node_id: str | None = None
    pending: bool | None = None
    include_inactive: bool = False  # 注销/吊销 firms are left out unless asked for
    qualification: str = ""
    zone_id: str = ""
    province: str = ""

    def matches(self, c: Company) -> bool:
        if not self.include_inactive and not c.active:
            return False
        if self.qualification and self.qualification not in c.qualifications:
            return False
        if self.zone_id and c.zone_id != self.zone_id:
            return False
        if self.province and c.province != self.province:
            return False
        if self.local is not None and c.is_local != self.local:
            return False
        if self.pending is not None and c.pending != self.pending:
            return False
        if self.node_id and self.node_id not in c.node_ids:
            return False
        if self.text:
            needle = _fold(self.text)
            haystack = (c.name, *c.former_names, c.uscc or "", c.id, *c.initials.split())
            if not any(needle in _fold(h) for h in haystack):
                return False
        if self.product:
            needle = _fold(self.product)
            if needle not in _fold(c.products) and needle not in _fold(c.scope):
                return False
        return True


SEARCH_POOL = 5000  # most hits of a name search a page sorts and filters; a shorter needle finds more
SORTS = {
    "name": lambda c: (c.name, c.id),
    "capital": lambda c: (-(c.registered_capital or 0), c.id),
    "revenue": lambda c: (-(c.revenue or 0), c.id),
    "founded": lambda c: (c.founded or 9999, c.id),
}


def search_companies(
    store: GraphStore, query: CompanyQuery, limit: int | None = None, sort: str = ""
) -> list[Company]:
    """Firms matching `query`: by `sort` (SORTS), else names starting with the text first, then by name."""
    if query.text:  # the store's index narrows first; the other filters apply to its hits
        pool = store.find_companies(query.text, limit=SEARCH_POOL, include_inactive=query.include_inactive)
    elif query.node_id:
        pool = store.companies_on_nodes([query.node_id])
    else:
        pool = all_companies(store)
    found = [c for c in pool if query.matches(c)]
    if sort in SORTS:
        found.sort(key=SORTS[sort])
    else:
        found.sort(key=lambda c: (not _fold(c.name).startswith(_fold(query.text)), c.name, c.id))
    return found[:limit] if limit else found


def company_record(c: Company) -> dict:
    """One firm as the CLI's JSON prints it (`companies show --format json`): stable ids, 万元."""
    record = dataclasses.asdict(c)
    record.pop("placements")
    record["display_name"] = c.display_name
    record["placements"] = [
        {"node_id": p.node_id, "source": p.source, "confidence": p.confidence, "evidence": list(p.evidence)}
        for p in c.placement_list()
    ]
    for key, value in list(record.items()):
        if isinstance(value, tuple):
            record[key] = list(value)
    return record


@dataclass(frozen=True)
class Confirmation:
    company_ref: str
    node_ids: tuple[str, ...]
    row: int  # as the file shows it


def confirm_placements(
    store: GraphStore, confirmations: Sequence[Confirmation], known_nodes: Iterable[str]
) -> list[Company]:
    """Put each firm on the given nodes as confirmed by a user (待确认 -> placed), all or nothing.

    The firm's id never changes; its old candidates are replaced by confirmed links.
    """
    known = set(known_nodes)
    errors: list[str] = []
    updated: dict[str, Company] = {}
    for item in confirmations:
        try:
            company = resolve_company(store, item.company_ref)
        except (NotFound, InvalidInput) as exc:
            errors.append(f"第 {item.row} 行：{exc}")
            continue
        unknown = [n for n in item.node_ids if n not in known]
        if unknown or not item.node_ids:
            errors.append(f"第 {item.row} 行：未知产业链环节「{'、'.join(unknown) or '（空）'}」")
            continue
        evidence = {p.node_id: p.evidence for p in company.placement_list() if p.source == CANDIDATE}
        links = tuple(
            Placement(n, CONFIRMED, 1.0, evidence.get(n, ())).encode() for n in sorted(item.node_ids)
        )
        updated[company.id] = dataclasses.replace(
            company, node_ids=tuple(sorted(set(item.node_ids))), placements=links, pending=False
        )
    if errors:
        raise InvalidInput("未确认任何企业：" + "；".join(errors))
    if updated:
        store.upsert_companies(list(updated.values()))
    return list(updated.values())
