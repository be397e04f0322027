"""Rules of the closed CRM loop read from config.toml: stage evidence ([stage_evidence]) and
attachments ([attachments]).

Why a module of its own: these sections are new and independent of the runtime settings in
crm/settings.py; services that need them receive a `LoopSettings` as a parameter, like they
receive a `CrmSettings`. Nothing here reads files: `from_config` takes the loaded dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.errors import ConfigError

from .evidence import FACTS, Requirement, parse_requirement
from .models import LEADER, MANAGER, ROLES

DEFAULT_REQUIRED = {
    "签约": ("signed_on", "agreed_investment", "agreement_no|agreement_file"),
    "落地": ("entity_uscc|entity_name+registered_on", "registered_capital", "space"),
    "投产": ("started_on", "production_on", "first_year_output"),
}
DEFAULT_MAX_MB = 15.0
DEFAULT_LEAD_TOTAL_MB = 200.0
DEFAULT_TYPES = ("pdf", "jpg", "png", "gif", "webp", "doc", "docx", "xls", "xlsx", "ppt", "pptx")


@dataclass(frozen=True)
class StageEvidence:
    """Facts each stage asks for and who confirms a stage claim.

    `required` maps a stage to its requirements (each one fact, or alternatives); a stage not in
    it is entered at once, as before. A claim is confirmed by a user whose role is in
    `confirm_roles` (of the lead's team), for key projects by the sponsoring leader or a user of
    `key_confirm_roles`.
    """

    required: dict[str, tuple[Requirement, ...]] = field(default_factory=dict)
    confirm_roles: tuple[str, ...] = (MANAGER,)
    key_confirm_roles: tuple[str, ...] = (LEADER,)

    def needs_claim(self, stage: str) -> bool:
        return stage in self.required

    def requirements(self, stage: str) -> tuple[Requirement, ...]:
        return self.required.get(stage, ())


@dataclass(frozen=True)
class AttachmentPolicy:
    """Where uploaded files live and what is accepted (types by content, see crm.services.attachments)."""

    folder: str = ""  # empty: <instance>/attachments; relative: under the instance folder
    max_mb: float = DEFAULT_MAX_MB
    types: tuple[str, ...] = DEFAULT_TYPES
    lead_total_mb: float = DEFAULT_LEAD_TOTAL_MB

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1024 * 1024)

    @property
    def lead_total_bytes(self) -> int:
        return int(self.lead_total_mb * 1024 * 1024)


@dataclass(frozen=True)
class LoopSettings:
    evidence: StageEvidence = field(default_factory=StageEvidence)
    attachments: AttachmentPolicy = field(default_factory=AttachmentPolicy)

    @classmethod
    def from_config(cls, cfg: dict[str, Any], stages: tuple[str, ...]) -> LoopSettings:
        """Read [stage_evidence] and [attachments]; unknown facts, stages or roles are a ConfigError."""
        ev = cfg.get("stage_evidence", {})
        at = cfg.get("attachments", {})
        raw_required = ev.get("required", DEFAULT_REQUIRED)
        required: dict[str, tuple[Requirement, ...]] = {}
        for stage, items in raw_required.items():
            if stage not in stages:
                raise ConfigError(f"[stage_evidence.required] 阶段「{stage}」不在 [crm] stages 中")
            if isinstance(items, str) or not isinstance(items, (list, tuple)):
                raise ConfigError(f"[stage_evidence.required] 「{stage}」须为列表")
            try:
                required[stage] = tuple(parse_requirement(str(item)) for item in items)
            except ValueError as exc:
                raise ConfigError(f"[stage_evidence.required] 「{stage}」：{exc}") from exc
        roles = tuple(ev.get("confirm_roles", (MANAGER,)))
        key_roles = tuple(ev.get("key_confirm_roles", (LEADER,)))
        for role in (*roles, *key_roles):
            if role not in ROLES:
                raise ConfigError(f"[stage_evidence] 未知角色「{role}」，可选：{'、'.join(ROLES)}")
        try:
            policy = AttachmentPolicy(
                folder=str(at.get("folder", "")),
                max_mb=float(at.get("max_mb", DEFAULT_MAX_MB)),
                types=tuple(str(t).lower().lstrip(".") for t in at.get("types", DEFAULT_TYPES)),
                lead_total_mb=float(at.get("lead_total_mb", DEFAULT_LEAD_TOTAL_MB)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"配置项 [attachments] 取值错误：{exc}") from exc
        if policy.max_mb <= 0 or policy.lead_total_mb <= 0:
            raise ConfigError("[attachments] max_mb 和 lead_total_mb 必须为正数")
        if policy.lead_total_mb < policy.max_mb:
            raise ConfigError("[attachments] lead_total_mb 不能小于 max_mb")
        request_mb = cfg.get("web", {}).get("max_upload_mb")
        if request_mb is not None and policy.max_mb > float(request_mb):
            raise ConfigError(
                f"[attachments] max_mb（{policy.max_mb:g}）不能大于 [web] max_upload_mb（{request_mb}）："
                "更大的请求在到达业务逻辑前即被拒绝"
            )
        return cls(StageEvidence(required, roles, key_roles), policy)


__all__ = ["FACTS", "AttachmentPolicy", "LoopSettings", "StageEvidence"]
