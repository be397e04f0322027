"""Lead stages and the "四个一" gate, as pure functions (no database, no I/O).

Transitions (stages from config, by default 线索 → 接洽 → 在谈 → 签约 → 落地 → 投产):

- forward one stage;
- back one stage (a correction), reason required;
- from any stage before the last to 搁置 (paused) or 流失 (lost), reason required;
- from 搁置: resume to the stage it was paused from, or 流失 (reason required);
- from 流失: reopen at the first stage, reason required;
- the last stage (投产) is final.

A key project may not enter the gate stage (在谈) or any later stage until its "四个一" are in place.

>>> wf = Workflow()
>>> wf.allowed_targets("线索")
['接洽', '搁置', '流失']
>>> wf.check_transition("线索", "签约")
Traceback (most recent call last):
...
crm.errors.WorkflowError: 不能从「线索」直接变更为「签约」，可选：接洽、搁置、流失
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import GateNotSatisfied, WorkflowError
from .settings import DEFAULT_STAGES, CrmSettings, FourOnes


@dataclass(frozen=True)
class Workflow:
    stages: tuple[str, ...] = DEFAULT_STAGES
    paused: str = "搁置"
    lost: str = "流失"

    @classmethod
    def from_settings(cls, settings: CrmSettings) -> Workflow:
        return cls(settings.stages, settings.paused_stage, settings.lost_stage)

    @property
    def first(self) -> str:
        return self.stages[0]

    def is_active(self, stage: str) -> bool:
        """Active stages are worked and watched for response time: all but the last."""
        return stage in self.stages[:-1]

    def allowed_targets(self, current: str, paused_from: str | None = None) -> list[str]:
        """Stages reachable from `current`, forward first."""
        if current == self.paused:
            resume = paused_from if paused_from in self.stages[:-1] else self.first
            return [resume, self.lost]
        if current == self.lost:
            return [self.first]
        if current not in self.stages:
            raise WorkflowError(f"未知阶段「{current}」")
        i = self.stages.index(current)
        if i == len(self.stages) - 1:
            return []
        targets = [self.stages[i + 1]]
        if i > 0:
            targets.append(self.stages[i - 1])
        return targets + [self.paused, self.lost]

    def needs_reason(self, current: str, target: str) -> bool:
        """搁置, 流失, going back and reopening need a reason; forward moves and resuming do not."""
        if target in (self.paused, self.lost) or current == self.lost:
            return True
        if current in self.stages and target in self.stages:
            return self.stages.index(target) < self.stages.index(current)
        return False

    def check_transition(
        self, current: str, target: str, reason: str | None = None, paused_from: str | None = None
    ) -> None:
        """Raise WorkflowError (Chinese) unless `current` → `target` is allowed with this reason."""
        if target not in (*self.stages, self.paused, self.lost):
            raise WorkflowError(f"未知阶段「{target}」")
        if target == current:
            raise WorkflowError(f"线索已处于「{current}」阶段")
        allowed = self.allowed_targets(current, paused_from)
        if target not in allowed:
            if not allowed:
                raise WorkflowError(f"「{current}」是最终阶段，不能再变更")
            raise WorkflowError(f"不能从「{current}」直接变更为「{target}」，可选：{'、'.join(allowed)}")
        if self.needs_reason(current, target) and not (reason or "").strip():
            raise WorkflowError(f"从「{current}」变更为「{target}」须填写原因")

    def gate_applies(self, target: str, gate_stage: str) -> bool:
        """The gate guards its stage and every later one in the sequence."""
        if target not in self.stages or gate_stage not in self.stages:
            return False
        return self.stages.index(target) >= self.stages.index(gate_stage)


def is_key_project(investment: float | None, key_flag: bool, four_ones: FourOnes) -> bool:
    """Key project (重点项目): flagged by a manager, or investment (万元) at/above the threshold."""
    return bool(key_flag) or (investment is not None and investment >= four_ones.key_investment_min)


# Parts of a service plan; each must be filled.
SERVICE_PLAN_PARTS = {"needs": "需求清单", "policy_support": "政策支持", "milestones": "推进节点"}


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict, set)):
        return any(_filled(v) for v in (value.values() if isinstance(value, dict) else value))
    return True


def four_ones_missing(project: Any, four_ones: FourOnes) -> list[str]:
    """What a project lacks of the "四个一", in Chinese, using the configured labels (empty: ready).

    `project` is a mapping or object with sponsor_user_id/sponsor_name, task_force_department,
    task_force_members, case_officer_user_id/case_officer_name and service_plan (a mapping with
    needs, policy_support, milestones).

    >>> four_ones_missing({"sponsor_name": "王区长", "task_force_department": "区投促局",
    ...                    "task_force_members": ["李四"], "case_officer_name": "张三",
    ...                    "service_plan": {"needs": "用地 50 亩", "policy_support": "",
    ...                                     "milestones": ["2027-03 签约"]}}, FourOnes())
    ['服务方案（政策支持）']
    """
    labels = four_ones.labels
    missing = []
    if not (_filled(_get(project, "sponsor_user_id")) or _filled(_get(project, "sponsor_name"))):
        missing.append(labels["sponsor"])
    dept = _filled(_get(project, "task_force_department"))
    members = _filled(_get(project, "task_force_members"))
    if not dept and not members:
        missing.append(labels["task_force"])
    elif not dept:
        missing.append(f"{labels['task_force']}（牵头部门）")
    elif not members:
        missing.append(f"{labels['task_force']}（成员）")
    if not (_filled(_get(project, "case_officer_user_id")) or _filled(_get(project, "case_officer_name"))):
        missing.append(labels["case_officer"])
    plan = _get(project, "service_plan") or {}
    lacking = [label for key, label in SERVICE_PLAN_PARTS.items() if not _filled(plan.get(key))]
    if len(lacking) == len(SERVICE_PLAN_PARTS):
        missing.append(labels["service_plan"])
    else:
        missing.extend(f"{labels['service_plan']}（{label}）" for label in lacking)
    return missing


def check_gate(
    workflow: Workflow,
    target: str,
    project: Any,
    investment: float | None,
    key_flag: bool,
    four_ones: FourOnes,
) -> None:
    """Raise GateNotSatisfied when a key project would enter the gate stage (or later) unready."""
    if not workflow.gate_applies(target, four_ones.gate_stage):
        return
    if not is_key_project(investment, key_flag, four_ones):
        return
    missing = four_ones_missing(project, four_ones)
    if missing:
        raise GateNotSatisfied(target, missing)
