"""Merging two records of one firm (疑似重复): the graph merge, the leads re-pointed, the audit entry.

The one service the CLI (`lianzhao companies merge`) and the web (/companies/duplicates) call.

Rules (issue 10): merging never changes the id of a firm a lead points to, so when only one of the
two firms has leads that one is kept, whatever the caller proposed (the plan says so); two firms
that both have open leads are refused unless an administrator forces it. A lead "has" a firm when
its `company_id` names it (a lead registered by name only is not tied to a graph firm).

Order and failure (all or nothing as far as a reader can tell): the CRM checks run first (reads
only), then the graph merge (one store transaction), then the CRM writes (leads re-pointed, one
audit entry per lead and one for the merge) in the caller's unit of work. The graph step records
the merged id as an alias of the kept firm, so when the CRM step fails after it, every lead still
naming the old id resolves to the kept firm (`store.company(old_id)`): nothing is broken, and
running the same merge again finds the graph step done (`GraphMerge.already_done`) and finishes
the CRM step. The reverse order could leave leads pointing at a kept id the graph never merged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.merge import GraphMerge, merge_companies
from graph.model import Company
from graph.store import GraphStore

from .. import permissions
from ..errors import MergeRefused, NotFound, PermissionDenied, ValidationError
from ..models import Lead
from ..settings import CrmSettings
from . import audit
from ._common import Actor, current_actor, flush_or_stale

MERGE = "merge"


@dataclass(frozen=True)
class MergePlan:
    keep: Company
    merged: Company
    keep_leads: tuple[int, ...]  # ids of the leads naming each firm
    merged_leads: tuple[int, ...]
    keep_open: int  # of which open (not 流失, not at the last stage)
    merged_open: int
    swapped: bool  # the caller's pick was turned round: the merged firm had the leads
    already_done: bool = False  # merged away already; only the CRM step is left

    @property
    def both_open(self) -> bool:
        return self.keep_open > 0 and self.merged_open > 0

    @property
    def notes(self) -> list[str]:
        """Chinese sentences the confirm step shows."""
        out = []
        if self.swapped:
            out.append(f"「{self.keep.name}」有线索而另一家没有：保留它（合并不改变线索所指企业的编号）")
        if self.both_open:
            out.append(
                f"两家企业都有进行中的线索（{self.keep_open} 条、{self.merged_open} 条），须由系统管理员强制合并"
            )
        if self.merged_leads:
            out.append(f"{len(self.merged_leads)} 条线索将改为指向保留的企业")
        if self.already_done:
            out.append("图谱中已合并，将只更新线索")
        return out


def _is_open(lead: Lead, settings: CrmSettings) -> bool:
    return lead.stage not in (settings.lost_stage, settings.stages[-1])


def _leads(session: Session, company_id: str) -> list[Lead]:
    return list(session.scalars(select(Lead).where(Lead.company_id == company_id).order_by(Lead.id)))


def plan_merge(
    session: Session, store: GraphStore, keep_id: str, merged_id: str, *, settings: CrmSettings
) -> MergePlan:
    """What merging would do, for the confirm step: both firms, their leads, which one is kept."""
    keep_id, merged_id = (keep_id or "").strip(), (merged_id or "").strip()
    if not keep_id or not merged_id or keep_id == merged_id:
        raise ValidationError("请给出两家不同的企业")
    keep = store.company(keep_id)
    merged = store.company(merged_id)
    for ref, firm in ((keep_id, keep), (merged_id, merged)):
        if firm is None:
            raise NotFound(f"找不到企业「{ref}」")
    assert keep is not None and merged is not None
    already = merged.id == keep.id
    if already:  # the graph step is done: the merged firm's record is gone, show the kept one
        merged = Company(merged_id, f"（已并入）{keep.name}", keep.uscc)
    elif keep.id != keep_id or merged.id != merged_id:
        gone = keep_id if keep.id != keep_id else merged_id
        raise ValidationError(f"企业「{gone}」已并入其他企业，请使用现在的企业编号")
    keep_leads, merged_leads = _leads(session, keep_id), _leads(session, merged_id)
    swapped = not keep_leads and bool(merged_leads) and not already
    if swapped:
        keep, merged, keep_leads, merged_leads = merged, keep, merged_leads, keep_leads
    return MergePlan(
        keep,
        merged,
        tuple(ld.id for ld in keep_leads),
        tuple(ld.id for ld in merged_leads),
        sum(1 for ld in keep_leads if _is_open(ld, settings)),
        sum(1 for ld in merged_leads if _is_open(ld, settings)),
        swapped,
        already,
    )


@dataclass(frozen=True)
class MergeResult:
    plan: MergePlan
    graph: GraphMerge
    moved_leads: tuple[int, ...]

    @property
    def message(self) -> str:
        p = self.plan
        return (
            f"已将「{p.merged.name}」（{p.merged.id}）并入「{p.keep.name}」（{p.keep.id}）："
            f"{len(self.moved_leads)} 条线索改为指向保留的企业，{self.graph.moved_ties} 条供应关系已转移"
        )


def merge(
    session: Session,
    actor: Actor,
    store: GraphStore,
    keep_id: str,
    merged_id: str,
    *,
    settings: CrmSettings,
    force: bool = False,
    ip: str | None = None,
) -> MergeResult:
    """Merge the two firms (see the module docstring for the order); the caller commits."""
    actor = current_actor(session, actor)
    if not permissions.can_merge_companies(actor):
        raise PermissionDenied("只有招商经理或系统管理员可以合并企业")
    plan = plan_merge(session, store, keep_id, merged_id, settings=settings)
    if plan.both_open:
        if not force:
            raise MergeRefused(
                f"「{plan.keep.name}」与「{plan.merged.name}」都有进行中的线索"
                f"（{plan.keep_open} 条、{plan.merged_open} 条），未合并；须由系统管理员强制合并"
            )
        if not permissions.can_force_merge(actor):
            raise PermissionDenied("两家企业都有进行中的线索，只有系统管理员可以强制合并")
    graph = merge_companies(store, plan.keep.id, plan.merged.id)
    moved = []
    for lead in _leads(session, plan.merged.id):
        lead.company_id = plan.keep.id
        audit.record(
            session,
            actor,
            audit.UPDATE,
            "lead",
            lead.id,
            {"company_id": plan.merged.id},
            {"company_id": plan.keep.id},
            ip=ip,
        )
        moved.append(lead.id)
    audit.record(
        session,
        actor,
        MERGE,
        "company",
        plan.keep.id,
        {"merged_id": plan.merged.id, "merged_name": plan.merged.name, "merged_uscc": plan.merged.uscc},
        {
            "company_id": plan.keep.id,
            "company_name": plan.keep.name,
            "lead_ids": moved,
            "moved_ties": graph.moved_ties,
            "forced": bool(plan.both_open and force),
            "graph_already_merged": graph.already_done,
        },
        ip=ip,
    )
    flush_or_stale(session, "线索")
    return MergeResult(plan, graph, tuple(moved))
