"""Lead stages and the "四个一" gate, as pure functions (no database, no I/O).

Transitions (stages from config, by default 线索 → 接洽 → 在谈 → 签约 → 落地 → 投产):

- forward one stage;
- back one stage (a correction), reason required;
- from any stage before the last to 搁置 (paused) or 流失 (lost), reason required;
- from 搁置: resume to the stage it was paused from, or 流失 (reason required);
- from 流失: reopen at the first stage, reason required;
- the last stage (投产) is final.

A key project may not enter the gate stage (在谈) or any later stage until its "四个一" are in place
(what a key project is and what "四个一" asks: crm.key_projects).

>>> wf = Workflow()
>>> wf.allowed_targets("线索")
['接洽', '搁置', '流失']
>>> wf.check_transition("线索", "签约")
Traceback (most recent call last):
...
crm.errors.WorkflowError: 不能从「线索」直接变更为「签约」，可选：接洽、搁置、流失
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import GateNotSatisfied, WorkflowError
from .key_projects import four_ones_missing, is_key_project
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
