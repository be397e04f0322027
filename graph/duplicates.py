"""疑似重复: firms that are probably the same — one credit code, one normalised name, or one firm's
name being another's 曾用名. Found at import (a warning) and listed by `lianzhao companies duplicates`.

Pure functions over plain data; merging (which also moves CRM leads) is not done here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from .identity import normalize_name
from .model import Company


@dataclass(frozen=True)
class DuplicateGroup:
    reason: str  # Chinese: 同一统一社会信用代码 / 同名 / 曾用名相同
    key: str
    company_ids: tuple[str, ...]  # sorted


def find_duplicates(companies: Iterable[Company]) -> list[DuplicateGroup]:
    """Groups of two or more firms sharing a credit code, a normalised name, or a name with a 曾用名.

    >>> a = Company("A", "北京康汇医疗器械有限公司")
    >>> b = Company("B", "北京新康汇医疗科技有限公司", former_names=("北京康汇医疗器械股份有限公司",))
    >>> [(g.reason, g.company_ids) for g in find_duplicates([a, b])]
    [('曾用名相同', ('A', 'B'))]
    """
    by_code: dict[str, set[str]] = defaultdict(set)
    by_name: dict[str, set[str]] = defaultdict(set)
    by_former: dict[str, set[str]] = defaultdict(set)
    for c in companies:
        if c.uscc:
            by_code[c.uscc].add(c.id)
        by_name[normalize_name(c.name)].add(c.id)
        for former in c.former_names:
            by_former[normalize_name(former)].add(c.id)
    groups: list[DuplicateGroup] = []
    seen: set[tuple[str, ...]] = set()
    for reason, index in (("同一统一社会信用代码", by_code), ("同名", by_name)):
        for key, ids in sorted(index.items()):
            if len(ids) > 1:
                group = tuple(sorted(ids))
                seen.add(group)
                groups.append(DuplicateGroup(reason, key, group))
    for key, ids in sorted(by_former.items()):
        group = tuple(sorted(ids | by_name.get(key, set())))
        if len(group) > 1 and group not in seen:
            seen.add(group)
            groups.append(DuplicateGroup("曾用名相同", key, group))
    return groups
