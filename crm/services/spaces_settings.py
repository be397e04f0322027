"""The 筑巢 rules a district sets in config.toml [spaces]: hold time, who edits, matching weights,
admission thresholds. Read once into a frozen object that the space services take explicitly.

Every key must be present in [spaces] (the shipped config.toml has them all): a missing or
mistyped key is a ConfigError at start, not a silent built-in default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graph.errors import ConfigError

from ..models import ROLES

WEIGHT_KEYS = ("area", "zone", "budget", "readiness", "capacity")
ADMISSION_KEYS = (
    "investment_intensity_min",
    "output_per_mu_min",
    "tax_per_mu_min",
    "plot_ratio_min",
    "building_coefficient_min",
    "jobs_min",
)
PURPOSES = ("生产", "研发", "办公")


@dataclass(frozen=True)
class Admission:
    """准入 thresholds (per 亩 figures are per 亩 of land used) and the 一票否决 items."""

    investment_intensity_min: float  # 万元/亩
    output_per_mu_min: float  # 万元/亩/年
    tax_per_mu_min: float  # 万元/亩/年
    plot_ratio_min: float
    building_coefficient_min: float  # %
    jobs_min: int
    vetoes: Mapping[str, str]  # key -> Chinese label of the veto item


@dataclass(frozen=True)
class SpacesSettings:
    hold_days: int
    editor_roles: tuple[str, ...]
    hold_roles: tuple[str, ...]
    match_limit: int
    area_tolerance: float  # a resource up to this fraction above the wanted maximum still fits
    land_uses: tuple[str, ...]
    supply_modes: tuple[str, ...]
    purpose_land_uses: Mapping[str, tuple[str, ...]]
    weights: Mapping[str, float]
    admission: Admission

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> SpacesSettings:
        sp = cfg.get("spaces")
        if not isinstance(sp, Mapping):
            raise ConfigError("配置文件缺少 [spaces] 节（筑巢：空间资源库的规则）")
        try:
            adm = sp["admission"]
            settings = cls(
                hold_days=int(sp["hold_days"]),
                editor_roles=tuple(str(r) for r in sp["editor_roles"]),
                hold_roles=tuple(str(r) for r in sp["hold_roles"]),
                match_limit=int(sp["match_limit"]),
                area_tolerance=float(sp["area_tolerance"]),
                land_uses=tuple(str(u) for u in sp["land_uses"]),
                supply_modes=tuple(str(u) for u in sp["supply_modes"]),
                purpose_land_uses={
                    str(k): tuple(str(u) for u in v) for k, v in dict(sp["purpose_land_uses"]).items()
                },
                weights={k: float(sp["weights"][k]) for k in WEIGHT_KEYS},
                admission=Admission(
                    **{k: float(adm[k]) for k in ADMISSION_KEYS if k != "jobs_min"},
                    jobs_min=int(adm["jobs_min"]),
                    vetoes={str(k): str(v) for k, v in dict(adm["vetoes"]).items()},
                ),
            )
        except KeyError as exc:
            raise ConfigError(f"[spaces] 缺少配置项 {exc.args[0]}") from exc
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"[spaces] 配置项取值错误：{exc}") from exc
        settings.validate()
        return settings

    def validate(self) -> None:
        unknown = set(self.editor_roles + self.hold_roles) - set(ROLES)
        if unknown:
            raise ConfigError(
                f"[spaces] 角色「{'、'.join(sorted(unknown))}」未定义，可选：{'、'.join(ROLES)}"
            )
        if self.hold_days < 1 or self.match_limit < 1 or self.area_tolerance < 0:
            raise ConfigError("[spaces] hold_days、match_limit 须为正整数，area_tolerance 不得为负")
        if set(self.purpose_land_uses) != set(PURPOSES):
            raise ConfigError(f"[spaces] purpose_land_uses 须且只须列出：{'、'.join(PURPOSES)}")
        for purpose, uses in self.purpose_land_uses.items():
            if not set(uses) <= set(self.land_uses):
                raise ConfigError(f"[spaces] purpose_land_uses「{purpose}」含未在 land_uses 中的用地性质")
        if min(self.weights.values()) < 0 or sum(self.weights.values()) <= 0:
            raise ConfigError("[spaces] weights 不得为负，且合计须大于 0")
        if not self.admission.vetoes:
            raise ConfigError("[spaces.admission] vetoes 至少须有一项一票否决事项")
