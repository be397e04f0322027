"""The stage workflow and the "四个一" gate, as pure functions: every pair of stages is checked."""

from __future__ import annotations

import itertools

import pytest

from crm.errors import GateNotSatisfied, WorkflowError
from crm.key_projects import four_ones_missing, is_key_project
from crm.settings import FourOnes
from crm.workflow import Workflow, check_gate

WF = Workflow()
STAGES = list(WF.stages)
ALL = STAGES + [WF.paused, WF.lost]

# (from, to) -> reason required?  Everything not listed must be refused.
ALLOWED = {}
for i, stage in enumerate(STAGES[:-1]):
    ALLOWED[(stage, STAGES[i + 1])] = False
    if i > 0:
        ALLOWED[(stage, STAGES[i - 1])] = True
    ALLOWED[(stage, "搁置")] = True
    ALLOWED[(stage, "流失")] = True
ALLOWED[("搁置", "流失")] = True
ALLOWED[("流失", "线索")] = True


@pytest.mark.parametrize("current,target", list(itertools.product(ALL, ALL)))
def test_every_transition(current, target):
    paused_from = "在谈" if current == "搁置" else None
    if current == "搁置" and target == "在谈":
        WF.check_transition(current, target, None, paused_from)  # resume, no reason needed
        return
    if (current, target) not in ALLOWED:
        with pytest.raises(WorkflowError):
            WF.check_transition(current, target, "原因", paused_from)
        return
    needs_reason = ALLOWED[(current, target)]
    if needs_reason:
        with pytest.raises(WorkflowError, match="原因"):
            WF.check_transition(current, target, "  ", paused_from)
    WF.check_transition(current, target, "企业决策层变动", paused_from)


def test_resume_goes_back_to_the_paused_stage_only():
    assert WF.allowed_targets("搁置", "签约") == ["签约", "流失"]
    with pytest.raises(WorkflowError, match="可选：签约、流失"):
        WF.check_transition("搁置", "线索", "x", "签约")
    assert WF.allowed_targets("搁置", None) == ["线索", "流失"]


def test_final_stage_and_unknown_stage():
    assert WF.allowed_targets("投产") == []
    with pytest.raises(WorkflowError, match="最终阶段"):
        WF.check_transition("投产", "流失", "x")
    with pytest.raises(WorkflowError, match="未知阶段"):
        WF.check_transition("线索", "洽谈中")


def test_custom_stages_from_config():
    wf = Workflow(("初筛", "拜访", "签约"), "暂停", "放弃")
    assert wf.allowed_targets("初筛") == ["拜访", "暂停", "放弃"]
    assert wf.is_active("拜访") and not wf.is_active("签约")


COMPLETE = {
    "sponsor_user_id": 7,
    "task_force_department": "区投资促进局",
    "task_force_members": ["区发改委", "区规自分局"],
    "case_officer_name": "张三",
    "service_plan": {
        "needs": "用地 50 亩",
        "policy_support": "固定资产投资补贴",
        "milestones": ["2027-03 签约", "2027-09 开工"],
    },
}


def test_four_ones_missing_lists_each_item_with_configured_labels():
    fo = FourOnes()
    assert four_ones_missing(COMPLETE, fo) == []
    assert four_ones_missing({}, fo) == ["牵头区领导", "工作专班", "项目服务专员", "服务方案"]
    partial = dict(COMPLETE, task_force_members=[], service_plan={"needs": "x", "milestones": []})
    assert four_ones_missing(partial, fo) == [
        "工作专班（成员）",
        "服务方案（政策支持）",
        "服务方案（推进节点）",
    ]
    renamed = FourOnes(
        labels={"sponsor": "包联领导", "task_force": "专班", "case_officer": "专员", "service_plan": "方案"}
    )
    assert four_ones_missing({}, renamed) == ["包联领导", "专班", "专员", "方案"]


def test_key_project_rule():
    fo = FourOnes(key_investment_min=10000)
    assert is_key_project(10000, False, fo)
    assert not is_key_project(9999.9, False, fo)
    assert is_key_project(None, True, fo)
    assert not is_key_project(None, False, fo)


def test_gate_applies_to_key_projects_at_and_after_the_gate_stage():
    fo = FourOnes()
    check_gate(WF, "接洽", {}, 50000, False, fo)  # before the gate: fine
    check_gate(WF, "在谈", {}, 500, False, fo)  # not key: fine
    with pytest.raises(GateNotSatisfied) as info:
        check_gate(WF, "在谈", {}, 50000, False, fo)
    assert info.value.missing == ["牵头区领导", "工作专班", "项目服务专员", "服务方案"]
    assert "牵头区领导" in str(info.value)
    with pytest.raises(GateNotSatisfied):
        check_gate(WF, "签约", {"sponsor_name": "王"}, None, True, fo)
    check_gate(WF, "在谈", COMPLETE, 50000, True, fo)
    moved = FourOnes(gate_stage="签约")
    check_gate(WF, "在谈", {}, 50000, True, moved)
    with pytest.raises(GateNotSatisfied):
        check_gate(WF, "签约", {}, 50000, True, moved)
