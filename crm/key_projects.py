"""Key projects (重点项目) and their "四个一": the rule in Python and its SQL form, side by side.

Why one module: the lead page, the stage gate (crm.workflow.check_gate), the lead list's
"重点项目" filter and the dashboard's ready count all ask the same two questions. Each rule
has its Python form (for one object) right next to its SQL form (for a list or a count), and
tests/crm/test_rule_agreement.py checks that both pick the same rows.

- key project: flagged by a manager, or investment (万元) at or above
  `[four_ones] key_investment_min`;
- "四个一" complete: a sponsor (user or name), a task force (department and members), a case
  officer (user or name) and a service plan (needs, policy support, milestones).

The JSON parts (task-force members, service plan) are checked in Python only: SQL narrows the
rows with `four_ones_prefilter` (a necessary condition) and `count_ready` finishes in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from .models import Lead
from .settings import FourOnes

# Parts of a service plan; each must be filled.
SERVICE_PLAN_PARTS = {"needs": "需求清单", "policy_support": "政策支持", "milestones": "推进节点"}

# The columns `four_ones_missing` reads, for queries that load only these.
FOUR_ONES_COLUMNS = (
    Lead.sponsor_user_id,
    Lead.sponsor_name,
    Lead.task_force_department,
    Lead.task_force_members,
    Lead.case_officer_user_id,
    Lead.case_officer_name,
    Lead.service_plan,
)


# ----------------------------------------------------------------------------- key project


def is_key_project(investment: float | None, key_flag: bool | None, four_ones: FourOnes) -> bool:
    """Key project (重点项目): flagged by a manager, or investment (万元) at/above the threshold.

    >>> fo = FourOnes(key_investment_min=10000)
    >>> is_key_project(10000, False, fo), is_key_project(None, True, fo), is_key_project(9999, None, fo)
    (True, True, False)
    """
    return bool(key_flag) or (investment is not None and investment >= four_ones.key_investment_min)


def key_clause(four_ones: FourOnes) -> ColumnElement[bool]:
    """`is_key_project` as SQL (a NULL flag or investment counts as not set, as in Python)."""
    return or_(Lead.key_flag.is_(True), Lead.investment >= four_ones.key_investment_min)


# ----------------------------------------------------------------------------- "四个一"


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


def _filled_sql(column: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """`_filled` of a text column as SQL (text fields are stored stripped, empty as NULL)."""
    return and_(column.is_not(None), column != "")


def four_ones_prefilter() -> ColumnElement[bool]:
    """SQL for the scalar parts of "四个一": every ready project passes it (a necessary
    condition, not a sufficient one: members and service plan are JSON, checked in Python)."""
    return and_(
        or_(Lead.sponsor_user_id.is_not(None), _filled_sql(Lead.sponsor_name)),
        _filled_sql(Lead.task_force_department),
        or_(Lead.case_officer_user_id.is_not(None), _filled_sql(Lead.case_officer_name)),
    )


def count_ready(session: Session, query: Select[Any], four_ones: FourOnes) -> int:
    """How many leads of `query` have all "四个一" in place: SQL narrows, Python decides."""
    rows = session.execute(query.where(four_ones_prefilter()).with_only_columns(*FOUR_ONES_COLUMNS))
    return sum(1 for row in rows.mappings() if not four_ones_missing(row, four_ones))


# ----------------------------------------------------------------------------- one lead


@dataclass
class KeyProjectStatus:
    is_key: bool
    missing: list[str]  # "四个一" items still lacking, Chinese

    @property
    def ready(self) -> bool:
        return not self.missing


def key_project_status(lead: Any, four_ones: FourOnes) -> KeyProjectStatus:
    """Whether the lead is a key project and, if so, what of the "四个一" it still lacks."""
    key = is_key_project(lead.investment, lead.key_flag, four_ones)
    return KeyProjectStatus(key, four_ones_missing(lead, four_ones) if key else [])
