"""SQLAlchemy mapping of 筑巢: the space register (土地/厂房/楼宇), holds, and each lead's structured needs.

Mapping only, on crm.models' Base (one metadata, one migration chain); the rules are in
crm/services/spaces*.py and crm/spaces_match.py. Times are naive UTC like the rest of the CRM.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, Lead, User, utcnow

# Kinds of resource: stored code -> Chinese label.
LAND, FACTORY, OFFICE = "land", "factory", "office"
KIND_LABELS = {LAND: "土地", FACTORY: "厂房", OFFICE: "楼宇"}
KINDS = tuple(KIND_LABELS)

# Status of a resource (stored as the Chinese word: it is what every report prints).
AVAILABLE, HELD, SIGNED, OCCUPIED, UNAVAILABLE = "可招商", "意向锁定", "已签约", "已入驻", "暂不可用"
STATUSES = (AVAILABLE, HELD, SIGNED, OCCUPIED, UNAVAILABLE)

# Why a hold ended.
END_RELEASED, END_EXPIRED, END_SIGNED, END_LOST = "released", "expired", "signed", "lost"
END_LABELS = {END_RELEASED: "主动释放", END_EXPIRED: "到期释放", END_SIGNED: "转为签约", END_LOST: "线索流失"}

SQM_PER_MU = 10000 / 15  # 1 亩 = 666.67 ㎡


class SpaceResource(Base):
    """One 载体: a land plot, a factory (unit) or an office/R&D floor, with what decides a placement."""

    __tablename__ = "space_resources"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the register's own number
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    zone_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(300))
    park: Mapped[str | None] = mapped_column(String(200))
    building: Mapped[str | None] = mapped_column(String(100))  # 楼栋/楼层
    # Size: land in 亩 and ㎡ (both kept, the import fills the missing one), buildings in ㎡.
    area_mu: Mapped[float | None] = mapped_column(Float)
    area_m2: Mapped[float | None] = mapped_column(Float)
    # Land.
    land_use: Mapped[str | None] = mapped_column(String(40))
    plot_ratio_min: Mapped[float | None] = mapped_column(Float)
    plot_ratio_max: Mapped[float | None] = mapped_column(Float)
    density_max: Mapped[float | None] = mapped_column(Float)  # 建筑密度上限 %
    height_limit_m: Mapped[float | None] = mapped_column(Float)
    supply_mode: Mapped[str | None] = mapped_column(String(40))
    ownership: Mapped[str | None] = mapped_column(String(16))  # 国有 / 集体
    readiness: Mapped[str | None] = mapped_column(String(100))  # 七通一平 …
    # Buildings.
    floor_height_m: Mapped[float | None] = mapped_column(Float)
    floor_load_kn: Mapped[float | None] = mapped_column(Float)  # kN/㎡
    power_kva: Mapped[float | None] = mapped_column(Float)
    crane_t: Mapped[float | None] = mapped_column(Float)  # 行车吨位, 0 = none
    loading_docks: Mapped[int | None] = mapped_column(Integer)
    env_permits: Mapped[str | None] = mapped_column(String(200))  # 可办环评类别
    fit_out: Mapped[str | None] = mapped_column(String(40))  # 毛坯 / 简装 / 精装
    # Money: land price 万元/亩, sale price 万元 (total), rent 元/㎡/天.
    price_wan_per_mu: Mapped[float | None] = mapped_column(Float)
    sale_price_wan: Mapped[float | None] = mapped_column(Float)
    rent_yuan: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(200))  # 产权方/运营方
    contact: Mapped[str | None] = mapped_column(String(100))
    available_from: Mapped[date | None] = mapped_column(Date)
    # Placement on the schematic map (seed/zone_maps.toml units); empty: placed inside its zone.
    map_x: Mapped[float | None] = mapped_column(Float)
    map_y: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)  # 示例数据
    # State: the lead that holds (until hold_until) or signed it.
    status: Mapped[str] = mapped_column(String(16), default=AVAILABLE)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    hold_until: Mapped[datetime | None] = mapped_column(DateTime)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_space_resources_zone_kind_status", "zone_id", "kind", "status"),
        Index("ix_space_resources_lead", "lead_id"),
    )
    lead: Mapped[Lead | None] = relationship()

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def size_m2(self) -> float | None:
        """Area in ㎡ whatever the kind (land given only in 亩 is converted)."""
        if self.area_m2 is not None:
            return self.area_m2
        return None if self.area_mu is None else self.area_mu * SQM_PER_MU


class SpaceHold(Base):
    """A hold (意向锁定) of a resource for a lead; one open hold per resource, kept as history."""

    __tablename__ = "space_holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("space_resources.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    held_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        # The database's own guarantee that two leads never hold one resource at once.
        Index(
            "uq_space_holds_open",
            "resource_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_space_holds_lead", "lead_id"),
    )
    resource: Mapped[SpaceResource] = relationship()
    lead: Mapped[Lead] = relationship()
    held_by: Mapped[User | None] = relationship(foreign_keys=[held_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])


class LeadSpaceNeed(Base):
    """A lead's structured space needs and the figures of its 准入评估 (1:1 with the lead)."""

    __tablename__ = "lead_space_needs"
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # land / factory / office; empty = any
    purpose: Mapped[str | None] = mapped_column(String(16))  # 生产 / 研发 / 办公
    land_mu_min: Mapped[float | None] = mapped_column(Float)
    land_mu_max: Mapped[float | None] = mapped_column(Float)
    floor_m2_min: Mapped[float | None] = mapped_column(Float)
    floor_m2_max: Mapped[float | None] = mapped_column(Float)
    power_kva: Mapped[float | None] = mapped_column(Float)
    floor_height_m: Mapped[float | None] = mapped_column(Float)
    floor_load_kn: Mapped[float | None] = mapped_column(Float)
    crane_t: Mapped[float | None] = mapped_column(Float)
    budget_wan_per_mu: Mapped[float | None] = mapped_column(Float)
    budget_rent_yuan: Mapped[float | None] = mapped_column(Float)
    wanted_zones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    planned_start: Mapped[date | None] = mapped_column(Date)
    # 准入评估 figures (investment and output come from the lead itself).
    annual_tax_wan: Mapped[float | None] = mapped_column(Float)
    plot_ratio: Mapped[float | None] = mapped_column(Float)
    building_coefficient: Mapped[float | None] = mapped_column(Float)  # %
    jobs: Mapped[int | None] = mapped_column(Integer)
    vetoes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # veto key -> True (fails)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    lead: Mapped[Lead] = relationship()
