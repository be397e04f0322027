"""Input checks and units shared by every GraphStore backend, so that both refuse the same input
with the same Chinese message and sum output the same way (parity is row for row)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .store import GraphStoreError

MICRO = 1_000_000  # local output is summed as integer micro-万元: no float drift between backends


def micro(revenue: float | None) -> int:
    return round(revenue * MICRO) if revenue else 0


def last_wins(items: Iterable, key) -> dict:
    """Batch as an ordered dict keyed by id: a later duplicate replaces an earlier one."""
    out: dict = {}
    for item in items:
        out[key(item)] = item
    return out


def check_type(item, cls, what: str) -> None:
    if not isinstance(item, cls):
        raise GraphStoreError(f"{what}数据类型错误：应为 {cls.__name__}，实际为 {type(item).__name__}")


def check_id(value, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise GraphStoreError(f"{what}的编号不能为空")


def check_finite(name: str, label: str, value) -> None:
    if value is not None and not math.isfinite(value):
        raise GraphStoreError(f"企业「{name}」的{label}不是有效数字：{value}")


def checked_batch(items: Iterable, cls: type, what: str) -> dict:
    """A write batch keyed by id (last duplicate wins), every item of `cls` with a non-empty id."""
    batch = last_wins(items, lambda x: getattr(x, "id", None))
    for item in batch.values():
        check_type(item, cls, what)
        check_id(item.id, what)
    return batch
