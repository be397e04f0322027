"""CRM rules from the configuration ([crm], [four_ones], [security], [web] timezone) as one frozen
object, and the registry of the rules an administrator may change at run time.

Services receive a `CrmSettings`; they never read files or the settings table. The effective
settings of a process are `CrmSettings.from_config(cfg, overrides)`: the loaded configuration (every
key present: lianzhao.config lays the file over the shipped defaults) plus the overrides stored in
the CRM database (crm.settings_store), limited to the keys [admin] editable hands over.

The dataclass defaults below exist for tests and doctests that build settings by hand; a test
(tests/crm/test_settings.py) keeps them equal to the shipped config.toml, which is where defaults
come from at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from graph.errors import ConfigError, InvalidInput

DEFAULT_STAGES = ("线索", "接洽", "在谈", "签约", "落地", "投产")
DEFAULT_CHANNELS = ("精准补链", "龙头聚链", "场景引链", "成果建链", "以商招商", "其他")
DEFAULT_ACTIVITY_KINDS = ("拜访", "电话", "会议", "活动", "备注")
DEFAULT_CONTACT_KINDS = ("拜访", "电话", "会议", "活动")
DEFAULT_PRIORITIES = ("高", "中", "低")
# Keys of the "四个一" items are fixed (they name lead fields); their labels are configurable.
FOUR_ONES_KEYS = ("sponsor", "task_force", "case_officer", "service_plan")
DEFAULT_FOUR_ONES = {
    "sponsor": "牵头区领导",
    "task_force": "工作专班",
    "case_officer": "项目服务专员",
    "service_plan": "服务方案",
}


# ----------------------------------------------------------------------------- run-time settings


@dataclass(frozen=True)
class SettingDef:
    """One rule an administrator may change at run time: its key, label, type and range.

    The web page only renders these; parsing and range checks live here, so the page, the
    service that saves and the loader that reads stored values agree.

    >>> SETTINGS["crm.follow_up_days"].parse(" 7 ")
    7
    >>> SETTINGS["crm.auto_assign"].parse("chain")
    'chain'
    """

    key: str  # "section.name" in config.toml
    label: str
    kind: str  # int | float | choice
    minimum: float | None = None
    maximum: float | None = None
    choices: Mapping[str, str] | None = None  # stored value -> label

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def parse(self, raw: str) -> int | float | str:
        """A form value as the typed setting; InvalidInput names the setting in Chinese."""
        raw = (raw or "").strip()
        if self.kind == "choice":
            return self.check(raw)
        try:
            value: int | float = int(raw) if self.kind == "int" else float(raw)
        except ValueError:
            raise InvalidInput(f"{self.label}须为{'整数' if self.kind == 'int' else '数字'}") from None
        return self.check(value)

    def check(self, value: Any) -> Any:
        """A typed value within range (stored values are checked again when read)."""
        if self.kind == "choice":
            if value not in (self.choices or {}):
                raise InvalidInput(f"{self.label}取值无效")
            return value
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        if not numeric or (self.kind == "int" and not float(value).is_integer()):
            raise InvalidInput(f"{self.label}须为{'整数' if self.kind == 'int' else '数字'}")
        value = int(value) if self.kind == "int" else float(value)
        low = self.minimum if self.minimum is not None else value
        high = self.maximum if self.maximum is not None else value
        if not low <= value <= high:
            top = self.maximum if self.maximum is not None else "∞"
            raise InvalidInput(f"{self.label}须在 {self.minimum} 到 {top} 之间")
        return value


SETTINGS: dict[str, SettingDef] = {
    s.key: s
    for s in (
        SettingDef("crm.first_contact_days", "首次联系时限（天）", "int", 1, 365),
        SettingDef("crm.follow_up_days", "跟进间隔（天）", "int", 1, 365),
        SettingDef("crm.protection_days", "首报首谈保护期（天）", "int", 1, 3650),
        SettingDef(
            "crm.auto_assign",
            "自动分派",
            "choice",
            choices={"off": "关闭", "sector": "按产业轮流", "chain": "按产业链优先"},
        ),
        SettingDef("four_ones.key_investment_min", "重点项目投资额门槛（万元）", "float", 0),
        SettingDef("filings.threshold_wan", "首报首谈申报投资额门槛（万元）", "float", 0),
        SettingDef("security.lockout_failures", "连续登录失败锁定次数", "int", 1, 100),
        SettingDef("security.lockout_minutes", "锁定时长（分钟）", "int", 1, 1440),
    )
}


def editable_keys(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys [admin] editable hands to the administrator; an unknown one is a config error."""
    wanted = tuple(cfg["admin"]["editable"])
    unknown = [k for k in wanted if k not in SETTINGS]
    if unknown:
        raise ConfigError(
            f"配置项 [admin] editable 含未知的设置：{'、'.join(unknown)}；可用的有：{'、'.join(SETTINGS)}"
        )
    return wanted


def config_value(cfg: Mapping[str, Any], key: str) -> Any:
    """The value config.toml gives a run-time setting (before any stored override)."""
    setting = SETTINGS[key]
    return cfg[setting.section][setting.name]


def with_overrides(cfg: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `cfg` with the stored overrides of editable keys in place (others ignored)."""
    out = {section: dict(table) if isinstance(table, dict) else table for section, table in cfg.items()}
    for key in editable_keys(cfg):
        if key in overrides:
            setting = SETTINGS[key]
            out[setting.section][setting.name] = overrides[key]
    return out


# ----------------------------------------------------------------------------- the rules object


@dataclass(frozen=True)
class FourOnes:
    """The "四个一" mechanism: item labels, the stage it gates and what makes a key project."""

    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FOUR_ONES))
    gate_stage: str = "在谈"
    key_investment_min: float = 10000.0  # 万元; 1 亿元


@dataclass(frozen=True)
class SecurityPolicy:
    """Login policy: 等保 2.0 (composition on) or OWASP ASVS (composition off, length only)."""

    password_min_length: int = 10
    password_composition: bool = True
    lockout_failures: int = 5
    lockout_minutes: int = 15
    idle_logout_minutes: int = 30
    audit_retention_days: int = 180
    # Revocable sessions and throttling (crm/services/sessions.py, crm/services/throttle.py).
    session_lifetime_hours: int = 12  # absolute: a session ends this long after sign-in, busy or not
    source_failures: int = 20  # wrong passwords from one address (any names) before it is slowed down
    account_slowdown_failures: int = 10  # on one name from all addresses before each try waits
    throttle_max_seconds: int = 60  # cap of the progressive delay (doubling per further failure)
    separation_of_duties: bool = False  # 三员分立: security and audit duties leave the administrator


@dataclass(frozen=True)
class CrmSettings:
    stages: tuple[str, ...] = DEFAULT_STAGES
    paused_stage: str = "搁置"
    lost_stage: str = "流失"
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    activity_kinds: tuple[str, ...] = DEFAULT_ACTIVITY_KINDS
    contact_kinds: tuple[str, ...] = DEFAULT_CONTACT_KINDS
    priorities: tuple[str, ...] = DEFAULT_PRIORITIES
    first_contact_days: int = 3
    follow_up_days: int = 14
    protection_days: int = 90
    auto_assign: str = "off"  # off | sector | chain
    timezone: str = "Asia/Shanghai"  # the district's clock ([web] timezone): what "today" means
    four_ones: FourOnes = field(default_factory=FourOnes)
    security: SecurityPolicy = field(default_factory=SecurityPolicy)
    # [filings]: a project at or above this investment (万元) is filed with the higher level (首报首谈).
    filing_threshold_wan: float = 100000.0

    def local_today(self, now_utc: datetime) -> date:
        """The district's calendar date at `now_utc` (naive UTC, as the CRM stores times)."""
        return now_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(self.timezone)).date()

    @property
    def active_stages(self) -> tuple[str, ...]:
        """Stages in which response-time rules apply: all but the last (投产 ends the work)."""
        return self.stages[:-1]

    @property
    def all_stages(self) -> tuple[str, ...]:
        return (*self.stages, self.paused_stage, self.lost_stage)

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> CrmSettings:
        """The rules of a loaded configuration (lianzhao.config.load_config: every key present),
        with the administrator's stored overrides of the editable keys applied."""
        if overrides:
            cfg = with_overrides(cfg, overrides)
        else:
            editable_keys(cfg)  # an unknown editable key is reported at start, not on first save
        try:
            crm, fo, sec = cfg["crm"], cfg["four_ones"], cfg["security"]
            four = FourOnes(
                labels={k: str(fo[k]) for k in FOUR_ONES_KEYS},
                gate_stage=str(fo["gate_stage"]),
                key_investment_min=float(fo["key_investment_min"]),
            )
            security = SecurityPolicy(
                password_min_length=int(sec["password_min_length"]),
                password_composition=bool(sec["password_composition"]),
                lockout_failures=int(sec["lockout_failures"]),
                lockout_minutes=int(sec["lockout_minutes"]),
                idle_logout_minutes=int(sec["idle_logout_minutes"]),
                audit_retention_days=int(sec["audit_retention_days"]),
                session_lifetime_hours=int(sec["session_lifetime_hours"]),
                source_failures=int(sec["source_failures"]),
                account_slowdown_failures=int(sec["account_slowdown_failures"]),
                throttle_max_seconds=int(sec["throttle_max_seconds"]),
                separation_of_duties=bool(sec["separation_of_duties"]),
            )
            settings = cls(
                stages=tuple(crm["stages"]),
                paused_stage=str(crm["paused_stage"]),
                lost_stage=str(crm["lost_stage"]),
                channels=tuple(crm["channels"]),
                activity_kinds=tuple(crm["activity_kinds"]),
                contact_kinds=tuple(crm["contact_kinds"]),
                priorities=tuple(crm["priorities"]),
                first_contact_days=int(crm["first_contact_days"]),
                follow_up_days=int(crm["follow_up_days"]),
                protection_days=int(crm["protection_days"]),
                auto_assign=str(crm["auto_assign"]),
                timezone=str(cfg["web"]["timezone"]),
                four_ones=four,
                security=security,
                filing_threshold_wan=float(cfg["filings"]["threshold_wan"]),
            )
        except KeyError as exc:
            raise ConfigError(f"配置缺少 {exc.args[0]}：请用 lianzhao.config.load_config 读取配置") from exc
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"配置项 [crm]/[four_ones]/[security] 取值错误：{exc}") from exc
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse a configuration the rules cannot work with; messages are for the operator."""
        if len(self.stages) < 2 or len(set(self.all_stages)) != len(self.all_stages):
            raise ConfigError("[crm] stages 至少需要两个阶段，且与搁置/流失阶段名称不能重复")
        if self.four_ones.gate_stage not in self.stages:
            raise ConfigError(f"[four_ones] gate_stage「{self.four_ones.gate_stage}」不在 [crm] stages 中")
        if not set(self.contact_kinds) <= set(self.activity_kinds):
            raise ConfigError("[crm] contact_kinds 必须是 activity_kinds 的子集")
        if self.auto_assign not in ("off", "sector", "chain"):
            raise ConfigError("[crm] auto_assign 只能是 off、sector 或 chain")
        if min(self.first_contact_days, self.follow_up_days, self.protection_days) < 1:
            raise ConfigError("[crm] 天数类配置项必须为正整数")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"配置项 [web] timezone 的时区「{self.timezone}」无效，例如应为 Asia/Shanghai"
            ) from exc
        s = self.security
        if s.audit_retention_days < 180:
            raise ConfigError("[security] audit_retention_days 不得少于 180 天（网络安全法第二十一条）")
        if s.password_min_length < 8 or s.lockout_failures < 1 or s.lockout_minutes < 1:
            raise ConfigError("[security] 密码最短长度不得少于 8，锁定次数与锁定分钟数必须为正整数")
        if min(s.session_lifetime_hours, s.source_failures, s.account_slowdown_failures) < 1 or not (
            1 <= s.throttle_max_seconds <= 3600
        ):
            raise ConfigError(
                "[security] session_lifetime_hours、source_failures、account_slowdown_failures 必须为正整数，"
                "throttle_max_seconds 须在 1-3600 之间"
            )
