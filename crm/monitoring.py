"""监测 rules as pure functions: the plan's indicators and tasks, periods, progress and off-track.

No database and no files: `parse_plan` takes the parsed seed files (seed/plan.py reads them), the
rest works on plain values, so the web, the command line and the reports apply the same rules.

>>> p = parse_period("2024-Q3")
>>> p.label, p.start.isoformat(), p.end.isoformat()
('2024年第3季度', '2024-07-01', '2024-09-30')
>>> year_fraction(p)
0.75
>>> parse_period("2024年1-9月").key
'2024-09'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from graph.errors import ConfigError, InvalidInput

CATEGORIES = ("产业总量", "产业结构", "产业创新", "产业质量")
PERIOD_KINDS = {"month": "月", "quarter": "季度", "year": "年"}
DESIGNATION_MODES = ("stock", "new_since")
TASK_STATUSES = ("未启动", "推进中", "已完成", "滞后")
DONE = "已完成"


class MonitoringInputError(InvalidInput):
    """A value, period or file row that breaks a 监测 rule; nothing was written."""


# ---- the plan -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    value: float
    text: str  # as the policy writes it: "27.3%", "突破3"
    strict: bool = False  # "突破": the value must exceed the target


@dataclass(frozen=True)
class Computed:
    kinds: tuple[str, ...]
    mode: str  # stock | new_since
    since: int | None = None


@dataclass(frozen=True)
class IndicatorDef:
    id: str
    no: int
    name: str
    unit: str
    category: str
    direction: str
    cumulative: bool
    targets: dict[int, Target]
    computed: Computed | None = None

    def target(self, year: int) -> Target | None:
        return self.targets.get(year)


@dataclass(frozen=True)
class TaskDef:
    id: str
    no: str
    project: str
    title: str
    lead: str
    partners: tuple[str, ...]
    deadline: date
    output: str

    @property
    def label(self) -> str:
        return f"{self.no}.{self.title}" if self.no[:1].isdigit() else f"{self.no}{self.title}"


@dataclass(frozen=True)
class Plan:
    indicators: tuple[IndicatorDef, ...]
    tasks: tuple[TaskDef, ...]

    def indicator(self, key: str) -> IndicatorDef:
        """By id, 序号 or exact name (an import file may use any of them)."""
        key = str(key).strip()
        for ind in self.indicators:
            if key in (ind.id, str(ind.no), ind.name):
                return ind
        raise MonitoringInputError(f"指标「{key}」不存在")

    def task(self, task_id: str) -> TaskDef:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise MonitoringInputError(f"任务「{task_id}」不存在")

    @property
    def designation_kinds(self) -> tuple[str, ...]:
        kinds: list[str] = []
        for ind in self.indicators:
            for kind in ind.computed.kinds if ind.computed else ():
                if kind not in kinds:
                    kinds.append(kind)
        return tuple(kinds)


def _need(row: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in row or row[key] in (None, ""):
        raise ConfigError(f"{where} 缺少「{key}」")
    return row[key]


def parse_plan(indicators: Mapping[str, Any], tasks: Mapping[str, Any]) -> Plan:
    """The plan from the parsed seed/indicators.toml and seed/tasks.toml; errors name the entry."""
    defs, ids = [], set()
    for i, row in enumerate(indicators.get("indicator", []), start=1):
        where = f"indicators.toml 第 {i} 个指标"
        ind_id = str(_need(row, "id", where))
        if ind_id in ids:
            raise ConfigError(f"{where}：指标编号「{ind_id}」重复")
        ids.add(ind_id)
        category = str(_need(row, "category", where))
        if category not in CATEGORIES:
            raise ConfigError(f"{where}：类别「{category}」应为 {'、'.join(CATEGORIES)} 之一")
        direction = str(row.get("direction", "up"))
        if direction not in ("up", "down"):
            raise ConfigError(f"{where}：direction 只能是 up 或 down")
        try:
            targets = {
                int(year): Target(
                    float(t["value"]), str(t.get("text", t["value"])), bool(t.get("strict", False))
                )
                for year, t in dict(row.get("targets", {})).items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}：targets 取值错误（{exc}）") from exc
        computed = None
        if row.get("computed"):
            c = row["computed"]
            mode = str(c.get("mode", "stock"))
            if mode not in DESIGNATION_MODES or not c.get("kinds"):
                raise ConfigError(f"{where}：computed 需要 kinds，mode 只能是 stock 或 new_since")
            computed = Computed(tuple(str(k) for k in c["kinds"]), mode, c.get("since"))
        defs.append(
            IndicatorDef(
                ind_id,
                int(row.get("no", i)),
                str(_need(row, "name", where)),
                str(_need(row, "unit", where)),
                category,
                direction,
                bool(row.get("cumulative", False)),
                targets,
                computed,
            )
        )
    task_defs, task_ids = [], set()
    for i, row in enumerate(tasks.get("task", []), start=1):
        where = f"tasks.toml 第 {i} 项任务"
        task_id = str(_need(row, "id", where))
        if task_id in task_ids:
            raise ConfigError(f"{where}：任务编号「{task_id}」重复")
        task_ids.add(task_id)
        deadline = _need(row, "deadline", where)
        if not isinstance(deadline, date):
            raise ConfigError(f"{where}：deadline 应写成日期，如 2024-12-31")
        task_defs.append(
            TaskDef(
                task_id,
                str(row.get("no", i)),
                str(_need(row, "project", where)),
                str(_need(row, "title", where)),
                str(_need(row, "lead", where)),
                tuple(str(p) for p in row.get("partners", [])),
                deadline,
                str(row.get("output", "")),
            )
        )
    return Plan(tuple(defs), tuple(task_defs))


# ---- periods ------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: month ("2024-07"), quarter ("2024-Q3"), year ("2024") or a date range."""

    start: date
    end: date  # inclusive
    kind: str = field(default="range", compare=False)

    @property
    def year(self) -> int:
        return self.end.year

    @property
    def key(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}~{self.end.isoformat()}"

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}年"
        if self.kind == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def year_ago(self) -> Period:
        """The same period a year earlier (同比); 29 February falls back to the 28th."""
        return Period(_minus_year(self.start), _minus_year(self.end), self.kind)


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _month_end(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def month(year: int, mon: int) -> Period:
    return Period(date(year, mon, 1), _month_end(year, mon), "month")


def quarter(year: int, q: int) -> Period:
    return Period(date(year, 3 * q - 2, 1), _month_end(year, 3 * q), "quarter")


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), "year")


def week_of(day: date) -> Period:
    """Monday to Sunday around `day` (the weekly report's period)."""
    start = day - timedelta(days=day.weekday())
    return Period(start, start + timedelta(days=6), "week")


def month_of(day: date) -> Period:
    return month(day.year, day.month)


def quarter_of(day: date) -> Period:
    return quarter(day.year, (day.month - 1) // 3 + 1)


_PATTERNS = [
    (re.compile(r"^(\d{4})$"), lambda m: year_period(int(m[1]))),
    (re.compile(r"^(\d{4})年(?:度|全年)?$"), lambda m: year_period(int(m[1]))),
    (re.compile(r"^(\d{4})-?Q([1-4])$", re.I), lambda m: quarter(int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})年(?:第)?([1-4一二三四])季度?$"), lambda m: quarter(int(m[1]), _cn(m[2]))),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), lambda m: month(int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})年(\d{1,2})月$"), lambda m: month(int(m[1]), int(m[2]))),
    # 统计局 cumulative notation: 2024年1-9月 is the value at the end of September.
    (re.compile(r"^(\d{4})年1[-—~至](\d{1,2})月$"), lambda m: month(int(m[1]), int(m[2]))),
]


def _cn(text: str) -> int:
    return int("一二三四".index(text) + 1) if text in "一二三四" else int(text)


def parse_period(text: Any) -> Period:
    """A period from what people write: 2024、2024年、2024-Q3、2024年三季度、2024-07、2024年7月、2024年1-9月."""
    raw = str(text or "").strip().replace(" ", "")
    for pattern, build in _PATTERNS:
        m = pattern.match(raw)
        if m:
            try:
                return build(m)
            except ValueError:
                break
    raise MonitoringInputError(f"期间「{text}」无法识别（可写作 2024、2024-Q3、2024-07 或 2024年1-9月）")


def period_for(kind: str, today: date, start: date | None = None, end: date | None = None) -> Period:
    """本月 / 本季 / 本年 / custom range, as the dashboard offers them."""
    if kind == "month":
        return month_of(today)
    if kind == "quarter":
        return quarter_of(today)
    if kind == "year":
        return year_period(today.year)
    if kind == "week":
        return week_of(today)
    if kind == "range":
        if start is None or end is None or end < start:
            raise MonitoringInputError("自定义期间须填写起止日期，且结束日期不早于开始日期")
        if (end - start).days > 366 * 3:
            raise MonitoringInputError("自定义期间最长三年")
        return Period(start, end, "range")
    raise MonitoringInputError(f"期间类型「{kind}」无效")


def year_fraction(period: Period) -> float:
    """Share of its year elapsed at the period's end (the straight line to the year's target)."""
    first = date(period.end.year, 1, 1)
    total = (date(period.end.year, 12, 31) - first).days + 1
    return round(((period.end - first).days + 1) / total, 4)


# ---- progress and off track ---------------------------------------------------------------------
@dataclass(frozen=True)
class OffTrackRule:
    """Which indicators are marked off track ([monitoring] off_track_rule, off_track_tolerance).

    linear: below the straight line to the year's target (cumulative indicators from 0 on 1
    January; level indicators from last year's closing value, when known) by more than the tolerance;
    target: below the target itself by more than the tolerance.
    """

    mode: str = "linear"
    tolerance: float = 0.0  # fraction of the expected value

    def __post_init__(self):
        if self.mode not in ("linear", "target"):
            raise ConfigError("[monitoring] off_track_rule 只能是 linear 或 target")
        if not 0 <= self.tolerance < 1:
            raise ConfigError("[monitoring] off_track_tolerance 应在 0 与 1 之间")


@dataclass(frozen=True)
class Assessment:
    expected: float | None  # where the line says the value should be at this period
    progress: float | None  # value / target of the year
    off_track: bool
    note: str  # Chinese, why


def assess(
    ind: IndicatorDef,
    value: float | None,
    period: Period,
    rule: OffTrackRule,
    baseline: float | None = None,
) -> Assessment:
    """Progress against the year's target and the off-track mark for one reported value.

    >>> ind = IndicatorDef("x", 1, "工业增加值", "亿元", "产业总量", "up", True, {2024: Target(250, "250")})
    >>> a = assess(ind, 120, quarter(2024, 2), OffTrackRule())
    >>> round(a.expected, 1), a.off_track
    (124.7, True)
    """
    target = ind.target(period.year)
    if value is None:
        return Assessment(None, None, False, "尚未填报")
    if target is None:
        return Assessment(None, None, False, f"{period.year}年未设目标")
    progress = value / target.value if target.value else None
    if rule.mode == "target" or period.kind == "year" and period.end.month == 12:
        expected = target.value
    elif ind.cumulative:
        expected = target.value * year_fraction(period)
    elif baseline is not None:
        expected = baseline + (target.value - baseline) * year_fraction(period)
    else:
        return Assessment(None, progress, False, "缺少上年数据，年末对照目标判断")
    slack = abs(expected) * rule.tolerance
    if ind.direction == "up":
        below = value < expected - slack or (target.strict and expected == target.value and value <= expected)
    else:
        below = value > expected + slack
    note = f"应达 {expected:g}{ind.unit}" if below else "进度正常"
    return Assessment(expected, progress, below, note)


def yoy(value: float | None, last_year: float | None) -> float | None:
    """同比 growth as a fraction, None when a side is missing or last year was 0."""
    if value is None or last_year in (None, 0):
        return None
    return (value - last_year) / abs(last_year)


def task_overdue(task: TaskDef, latest_status: str | None, today: date) -> bool:
    """A task is overdue past its deadline unless reported done, or when its last report says 滞后."""
    if latest_status == DONE:
        return False
    return today > task.deadline or latest_status == "滞后"


def check_value(ind: IndicatorDef, raw: Any) -> float:
    """A reported value as a number; percentages may carry their sign ("27.5%")."""
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    if ind.unit == "%" and text.endswith(("%", "％")):
        text = text[:-1]
    try:
        value = float(text)
    except ValueError:
        raise MonitoringInputError(f"「{ind.name}」的数值「{raw}」不是数字") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise MonitoringInputError(f"「{ind.name}」的数值「{raw}」不是数字")
    if value < 0:
        raise MonitoringInputError(f"「{ind.name}」的数值不能为负数")
    if ind.unit == "%" and value > 100:
        raise MonitoringInputError(f"「{ind.name}」是百分比，数值不能超过 100")
    return value


def format_number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    return text or "0"


def categories_in_order(defs: Sequence[IndicatorDef]) -> list[tuple[str, list[IndicatorDef]]]:
    return [
        (c, [d for d in defs if d.category == c]) for c in CATEGORIES if any(d.category == c for d in defs)
    ]


@dataclass(frozen=True)
class MonitoringSettings:
    """[monitoring] of config.toml: who enters what, and the off-track rule. No built-in defaults:
    `from_config` reads every key, so a missing one is reported at start."""

    indicators_file: str
    tasks_file: str
    value_editors: tuple[str, ...]  # roles that enter indicator values and designations
    task_reporters: tuple[str, ...]  # roles that report task progress
    off_track: OffTrackRule
    report_unit: str  # who the report is from: 区投资促进局 …

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> MonitoringSettings:
        mon = cfg.get("monitoring")
        if not isinstance(mon, Mapping):
            raise ConfigError("配置文件缺少 [monitoring] 段（见 docs/CONFIG.md）")
        known = {
            "indicators_file",
            "tasks_file",
            "value_editors",
            "task_reporters",
            "off_track_rule",
            "off_track_tolerance",
            "report_unit",
        }
        unknown = set(mon) - known
        if unknown:
            raise ConfigError(f"[monitoring] 有未知配置项：{'、'.join(sorted(unknown))}")
        missing = known - set(mon)
        if missing:
            raise ConfigError(f"[monitoring] 缺少配置项：{'、'.join(sorted(missing))}")
        roles = ("recruiter", "manager", "leader")
        for key in ("value_editors", "task_reporters"):
            bad = [r for r in mon[key] if r not in roles]
            if bad:
                raise ConfigError(
                    f"[monitoring] {key} 只能包含 {'、'.join(roles)}（系统管理员不处理业务数据）"
                )
        try:
            tolerance = float(mon["off_track_tolerance"])
        except (TypeError, ValueError) as exc:
            raise ConfigError("[monitoring] off_track_tolerance 应为 0 到 1 之间的小数") from exc
        return cls(
            str(mon["indicators_file"]),
            str(mon["tasks_file"]),
            tuple(mon["value_editors"]),
            tuple(mon["task_reporters"]),
            OffTrackRule(str(mon["off_track_rule"]), tolerance),
            str(mon["report_unit"]),
        )
