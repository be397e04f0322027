"""Ranked targets (补链目标) into CRM rows: the one mapping to a lead and to a 名录 row.

Why here: the graph ranks firms; the CRM decides what of a ranked target it keeps. The target
page (转为线索), the 名录 editor (add rows, "top N"), bulk lead generation and the demo data all
go through `target_row` and `lead_data`, so a field added to one reaches all of them.

The chain service is passed in (anything with `chains()`, `sectors()`, `targets()` and
`node_detail()`, i.e. graph.service.ChainService); nothing here opens a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..errors import DuplicateLead, NotFound, PermissionDenied, ValidationError
from ..models import MANAGER, Lead
from ..settings import CrmSettings
from ._common import Actor, current_actor
from .leads import create_lead

PREFERRED_CHANNEL = "精准补链"  # the 引凤工程 channel a gap-filling target comes through


@dataclass(frozen=True)
class RankingNames:
    """Chain and sector names of the ranking, to label rows (a Target carries only ids)."""

    chains: Mapping[str, tuple[str, str]]  # chain id -> (chain name, sector id)
    sectors: Mapping[str, str]  # sector id -> sector name

    @classmethod
    def of(cls, chain_service: Any) -> RankingNames:
        return cls(
            {c.id: (c.name, c.sector_id) for c in chain_service.chains()},
            {s.id: s.name for s in chain_service.sectors()},
        )


def target_row(target: Any, names: RankingNames) -> dict[str, Any]:
    """A ranked target (graph.targets.Target) as the plain row a 名录 stores and a lead is made
    from: the firm, the node it fills, its score with the factor breakdown and the reason."""
    chain_name, sector_id = names.chains.get(target.chain_id, (target.chain_id, None))
    return {
        "company_id": target.company_id,
        "company_name": target.company_name,
        "uscc": target.uscc,
        "sector_id": sector_id,
        "sector_name": names.sectors.get(sector_id) if sector_id else None,
        "chain_id": target.chain_id,
        "chain_name": chain_name,
        "node_id": target.node_id,
        "node_name": target.node_name,
        "status": target.status,
        "score": round(target.score, 2),
        "factors": {k: round(v, 4) for k, v in target.factors.items()},
        "reason": target.reason,
    }


def default_channel(settings: CrmSettings) -> str:
    """精准补链 when the district uses that channel, else its first channel."""
    return PREFERRED_CHANNEL if PREFERRED_CHANNEL in settings.channels else settings.channels[0]


def lead_data(row: Mapping[str, Any], channel: str = PREFERRED_CHANNEL) -> dict[str, Any]:
    """Lead fields from a target row (`target_row`, a 名录 row or a demo row); empty fields
    are left out so the lead's defaults apply."""
    data = {
        "company_id": row.get("company_id"),
        "company_name": row.get("company_name"),
        "uscc": row.get("uscc"),
        "sector_id": row.get("sector_id"),
        "sector_name": row.get("sector_name"),
        "chain_id": row.get("chain_id"),
        "chain_name": row.get("chain_name"),
        "node_id": row.get("node_id"),
        "node_name": row.get("node_name"),
        "gap_status": row.get("status") or row.get("gap_status"),
        "gap_reason": row.get("reason"),
        "gap_score": row.get("score"),
        "channel": row.get("channel") or channel,
    }
    return {k: v for k, v in data.items() if v is not None}


# ----------------------------------------------------------------------------- reading the ranking


def find_target(chain_service: Any, company_id: str, node_id: str) -> Any:
    """The current ranked target of this firm on this node; NotFound when the ranking moved on."""
    detail = chain_service.node_detail(node_id, top=None)
    target = next((t for t in detail.targets if t.company_id == company_id), None)
    if target is None:
        raise NotFound("该企业不在此环节的补链目标中，可能数据已更新，请刷新页面")
    return target


def ranked_rows(chain_service: Any, company_node_pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Rows for (company_id, node_id) pairs looked up in the current ranking; unknown pairs are refused."""
    names = RankingNames.of(chain_service)
    return [target_row(find_target(chain_service, c, n), names) for c, n in company_node_pairs]


def top_rows(
    chain_service: Any, chain_id: str | None, sector_id: str | None, count: int
) -> list[dict[str, Any]]:
    """The best `count` ranked targets of a chain (or a whole sector) as rows."""
    names = RankingNames.of(chain_service)
    targets = chain_service.targets(chain_id, sector_id=None if chain_id else sector_id, top=count)
    return [target_row(t, names) for t in targets]


# ----------------------------------------------------------------------------- leads from targets


def create_lead_from_target(
    session: Session,
    actor: Actor,
    chain_service: Any,
    company_id: str,
    node_id: str,
    *,
    settings: CrmSettings,
    ip: str | None = None,
    now: datetime | None = None,
) -> Lead:
    """Register a ranked target as a lead carrying its gap reason and score. DuplicateLead
    (首报首谈) and PermissionDenied come from create_lead."""
    row = target_row(find_target(chain_service, company_id, node_id), RankingNames.of(chain_service))
    return create_lead(
        session, actor, lead_data(row, default_channel(settings)), settings=settings, ip=ip, now=now
    )


@dataclass
class BulkResult:
    created: list[Lead] = field(default_factory=list)
    duplicates: list[DuplicateLead] = field(default_factory=list)  # held by someone (首报首谈)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (company name, Chinese reason)

    def summary(self) -> str:
        """One Chinese sentence for a flash message or the CLI."""
        text = f"已生成 {len(self.created)} 条线索"
        if self.duplicates:
            text += f"；{len(self.duplicates)} 家企业已被他人首报登记，未重复生成"
        if self.invalid:
            text += f"；{len(self.invalid)} 行数据有误被跳过"
        return text


def create_leads_from_targets(
    session: Session,
    actor: Actor,
    rows: Sequence[Mapping[str, Any]],
    *,
    settings: CrmSettings,
    channel: str = PREFERRED_CHANNEL,
    ip: str | None = None,
    now: datetime | None = None,
) -> BulkResult:
    """Turn target rows into leads in one go (a manager; they go to the team's pool, or are
    assigned automatically when configured). A firm held under 首报首谈 or an invalid row is
    reported in the result and does not stop the others; each row is its own savepoint."""
    checked = current_actor(session, actor)
    if checked.role != MANAGER:
        raise PermissionDenied("只有招商经理可以批量生成线索")
    result = BulkResult()
    for row in rows:
        name = str(row.get("company_name") or "（无名称）")
        try:
            with session.begin_nested():
                lead = create_lead(
                    session, checked, lead_data(row, channel), settings=settings, ip=ip, now=now
                )
            result.created.append(lead)
        except DuplicateLead as exc:
            result.duplicates.append(exc)
        except ValidationError as exc:
            result.invalid.append((name, str(exc)))
    return result
