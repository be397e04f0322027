"""CRM rules read from config.toml ([crm], [four_ones], [security]) into one frozen object.

Services receive a `CrmSettings`; they never read files. Defaults equal the shipped config.toml,
so a config without these sections still works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lianzhao.config import ConfigError

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
    def from_config(cls, cfg: dict[str, Any] | None) -> CrmSettings:
        cfg = cfg or {}
        crm = cfg.get("crm", {})
        fo = cfg.get("four_ones", {})
        sec = cfg.get("security", {})
        try:
            labels = {k: str(fo.get(k, DEFAULT_FOUR_ONES[k])) for k in FOUR_ONES_KEYS}
            four = FourOnes(
                labels=labels,
                gate_stage=str(fo.get("gate_stage", "在谈")),
                key_investment_min=float(fo.get("key_investment_min", 10000)),
            )
            security = SecurityPolicy(
                password_min_length=int(sec.get("password_min_length", 10)),
                password_composition=bool(sec.get("password_composition", True)),
                lockout_failures=int(sec.get("lockout_failures", 5)),
                lockout_minutes=int(sec.get("lockout_minutes", 15)),
                idle_logout_minutes=int(sec.get("idle_logout_minutes", 30)),
                audit_retention_days=int(sec.get("audit_retention_days", 180)),
                session_lifetime_hours=int(sec.get("session_lifetime_hours", 12)),
                source_failures=int(sec.get("source_failures", 20)),
                account_slowdown_failures=int(sec.get("account_slowdown_failures", 10)),
                throttle_max_seconds=int(sec.get("throttle_max_seconds", 60)),
                separation_of_duties=bool(sec.get("separation_of_duties", False)),
            )
            settings = cls(
                stages=tuple(crm.get("stages", DEFAULT_STAGES)),
                paused_stage=str(crm.get("paused_stage", "搁置")),
                lost_stage=str(crm.get("lost_stage", "流失")),
                channels=tuple(crm.get("channels", DEFAULT_CHANNELS)),
                activity_kinds=tuple(crm.get("activity_kinds", DEFAULT_ACTIVITY_KINDS)),
                contact_kinds=tuple(crm.get("contact_kinds", DEFAULT_CONTACT_KINDS)),
                priorities=tuple(crm.get("priorities", DEFAULT_PRIORITIES)),
                first_contact_days=int(crm.get("first_contact_days", 3)),
                follow_up_days=int(crm.get("follow_up_days", 14)),
                protection_days=int(crm.get("protection_days", 90)),
                auto_assign=str(crm.get("auto_assign", "off")),
                timezone=str(cfg.get("web", {}).get("timezone") or "Asia/Shanghai"),
                four_ones=four,
                security=security,
            )
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
