"""准入评估: a land-using project's figures against the district's thresholds, plus 一票否决 items.

Pure function over plain numbers; the thresholds come from config [spaces.admission]. A failing
check does not block the lead: it is shown wherever the lead is, and the printed 评估表 is signed
by a meeting.

>>> from crm.services.spaces_settings import Admission
>>> rules = Admission(300, 500, 30, 1.0, 30, 50, {"energy": "能耗超标"})
>>> a = assess(Figures(land_mu=60, investment_wan=24000, output_wan=36000, tax_wan=2400,
...                    plot_ratio=1.2, building_coefficient=45, jobs=300), rules)
>>> a.verdict, a.items[0].value_text
('通过', '400 万元/亩')
>>> assess(Figures(land_mu=60, investment_wan=6000, vetoes=("energy",)), rules).verdict
'不通过'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .spaces_settings import Admission

PASS, FAIL, INCOMPLETE, EXEMPT = "通过", "不通过", "资料不全", "不涉及用地"


@dataclass(frozen=True)
class Figures:
    land_mu: float | None = None
    investment_wan: float | None = None
    output_wan: float | None = None  # 年产值
    tax_wan: float | None = None  # 年税收
    plot_ratio: float | None = None
    building_coefficient: float | None = None  # %
    jobs: int | None = None
    vetoes: Sequence[str] = ()  # keys of the 一票否决 items the project fails


@dataclass(frozen=True)
class Item:
    label: str
    value_text: str
    threshold_text: str
    passed: bool | None  # None: the figure is missing


@dataclass
class Assessment:
    verdict: str  # 通过 / 不通过 / 资料不全 / 不涉及用地
    items: list[Item] = field(default_factory=list)
    vetoed: list[str] = field(default_factory=list)  # labels of the veto items failed
    veto_items: list[tuple[str, str, bool]] = field(default_factory=list)  # (key, label, failed)

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    @property
    def summary(self) -> str:
        """One Chinese line for a badge or a list."""
        if self.verdict == FAIL:
            bad = [i.label for i in self.items if i.passed is False] + [f"一票否决：{v}" for v in self.vetoed]
            return f"准入评估不通过（{'、'.join(bad)}）"
        if self.verdict == INCOMPLETE:
            missing = [i.label for i in self.items if i.passed is None]
            return f"准入评估资料不全（缺{'、'.join(missing)}）"
        return f"准入评估{self.verdict}"


def _n(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:g}" if x == int(x) else f"{x:.2f}"


def assess(fig: Figures, rules: Admission) -> Assessment:
    """Each indicator with its value, threshold and result; the verdict fails on any indicator
    below its threshold or any veto item, and is 资料不全 while a figure is missing."""
    veto_items = [(k, label, k in fig.vetoes) for k, label in rules.vetoes.items()]
    vetoed = [label for _k, label, failed in veto_items if failed]
    if not fig.land_mu:
        return (
            Assessment(EXEMPT, [], vetoed, veto_items)
            if not vetoed
            else Assessment(FAIL, [], vetoed, veto_items)
        )
    mu = fig.land_mu

    def per_mu(value: float | None) -> float | None:
        return None if value is None else value / mu

    rows = (
        ("投资强度", per_mu(fig.investment_wan), rules.investment_intensity_min, "万元/亩"),
        ("亩均产值", per_mu(fig.output_wan), rules.output_per_mu_min, "万元/亩·年"),
        ("亩均税收", per_mu(fig.tax_wan), rules.tax_per_mu_min, "万元/亩·年"),
        ("容积率", fig.plot_ratio, rules.plot_ratio_min, ""),
        ("建筑系数", fig.building_coefficient, rules.building_coefficient_min, "%"),
        ("就业人数", None if fig.jobs is None else float(fig.jobs), float(rules.jobs_min), "人"),
    )
    items = []
    for label, value, minimum, unit in rows:
        sep = " " if unit and unit != "%" else ""
        items.append(
            Item(
                label,
                "未填写" if value is None else f"{_n(value)}{sep}{unit}",
                f"≥ {_n(minimum)}{sep}{unit}",
                None if value is None else value >= minimum,
            )
        )
    if vetoed or any(i.passed is False for i in items):
        verdict = FAIL
    elif any(i.passed is None for i in items):
        verdict = INCOMPLETE
    else:
        verdict = PASS
    return Assessment(verdict, items, vetoed, veto_items)
