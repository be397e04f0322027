"""ORM classes of 监测: indicator values, firm designations, task progress, coordination items.

Mapping only, on crm.models' Base (one metadata, one migration chain). Indicator and task
*definitions* live in the editable seed files (seed/indicators.toml, seed/tasks.toml); rows here
refer to them by their stable ids. Values are never updated: a correction is a new row, the newest
row of an (indicator, period) is the current one, the older ones are its history.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, Lead, User, utcnow


class IndicatorValue(Base):
    """One reported value of an indicator for a period, with its source and who entered it."""

    __tablename__ = "indicator_values"
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(64))
    period_kind: Mapped[str] = mapped_column(String(8))  # month | quarter | year
    period_key: Mapped[str] = mapped_column(String(16))  # 2024-07 | 2024-Q3 | 2024
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200))  # 区统计局、填报 …
    note: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_by_name: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The row this one corrects (None for a first value).
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("indicator_values.id"))

    __table_args__ = (Index("ix_indicator_values_period", "indicator_id", "period_end", "id"),)
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])


class Designation(Base):
    """A firm's designation with its year (智能工厂, 绿色工厂, 专精特新 …), imported or entered."""

    __tablename__ = "designations"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))  # 国家级 | 市级 | 区级
    year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("name_key", "kind", "year", name="uq_designations_firm_kind_year"),
        Index("ix_designations_kind_year", "kind", "year"),
    )


class TaskReport(Base):
    """A progress report on a task of the plan for a period (任务台账)."""

    __tablename__ = "task_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8))
    progress: Mapped[str] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_by_name: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_task_reports_task", "task_id", "reported_at"),)


class LeadCoordination(Base):
    """需协调解决的问题 of a project and who is to solve it (one row per lead, edited in place)."""

    __tablename__ = "lead_coordination"
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    issue: Mapped[str | None] = mapped_column(Text)
    solver: Mapped[str | None] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    lead: Mapped[Lead] = relationship()
