"""Structure lookups for import: zones and chain nodes by what users write (placement by evidence
is in placement.py)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from ..model import Chain, ChainNode, Zone
from .columns import fold

_NODE_SPLIT = re.compile(r"[；;、\n]+")


class ZoneResolver:
    """Zone by id or name (folded); a unique name prefix also counts (「漷县」 -> 「漷县镇」)."""

    def __init__(self, zones: Iterable[Zone]):
        self.zones: dict[str, Zone] = {}
        self.names: list[tuple[str, Zone]] = []
        for zone in zones:
            self.zones.setdefault(fold(zone.id), zone)
            self.zones.setdefault(fold(zone.name), zone)
            self.names.append((fold(zone.name), zone))

    def resolve(self, text: str) -> Zone:
        key = fold(text)
        zone = self.zones.get(key)
        if zone is not None:
            return zone
        candidates = sorted(
            {z.id: z for name, z in self.names if len(key) >= 2 and name.startswith(key)}.values(),
            key=lambda z: z.id,
        )
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise ValueError(
                f"园区「{text}」不明确（{'、'.join(z.name for z in candidates)}），请写全称或 id"
            )
        raise ValueError(f"未知园区「{text}」")


class NodeResolver:
    """Chain node by id, by name (unique across chains) or as 「链名/环节名」."""

    def __init__(self, chains: Iterable[Chain], nodes: Iterable[ChainNode]):
        self.chains = {c.id: c for c in chains}
        self.chain_keys: dict[str, str] = {}
        for chain in self.chains.values():
            self.chain_keys.setdefault(fold(chain.id), chain.id)
            self.chain_keys.setdefault(fold(chain.name), chain.id)
        self.by_id: dict[str, ChainNode] = {}
        self.by_name: dict[str, list[ChainNode]] = defaultdict(list)
        for node in nodes:
            self.by_id[node.id] = node
            self.by_name[fold(node.name)].append(node)

    def resolve_cell(self, text: str) -> tuple[str, ...]:
        ids: list[str] = []
        errors: list[str] = []
        for token in _NODE_SPLIT.split(text):
            token = token.strip()
            if not token:
                continue
            try:
                node_id = self.resolve(token)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if node_id not in ids:
                ids.append(node_id)
        if errors:
            raise ValueError("；".join(errors))
        return tuple(sorted(ids))  # stores keep node links as a set

    def resolve(self, token: str) -> str:
        if token in self.by_id:
            return token
        folded = fold(token)
        matches = self.by_name.get(folded, [])
        if len(matches) == 1:
            return matches[0].id
        if len(matches) > 1:
            names = "、".join(sorted(self._chain_name(n.chain_id) for n in matches))
            raise ValueError(f"环节「{token}」在多条产业链中都有（{names}），请写成「链名/环节名」")
        # 「链名/环节名」: try every slash, since node names may contain one (AR/VR/XR 可穿戴)
        for position in [i for i, ch in enumerate(folded) if ch == "/"]:
            chain_id = self.chain_keys.get(folded[:position])
            if chain_id is None:
                continue
            for node in self.by_name.get(folded[position + 1 :], []):
                if node.chain_id == chain_id:
                    return node.id
        raise ValueError(f"未知产业链环节「{token}」")

    def _chain_name(self, chain_id: str) -> str:
        chain = self.chains.get(chain_id)
        return chain.name if chain else chain_id
