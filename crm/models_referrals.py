"""ORM classes of referrers (引荐人), 首报首谈 filings, project identity (a project counts once,
lead merge) and take-over requests. Mapping only: the rules live in crm.services.referrals,
crm.services.filings, crm.services.projects, crm.services.lead_merge, crm.services.takeover and
crm.queries.counting. They share crm.models' Base (one metadata, one migration chain).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, Lead, User, utcnow

# Referrer kinds and the confirmation the district rules require.
REFERRER_KINDS = {"person": "个人", "org": "机构"}
REF_PENDING, REF_CONFIRMED, REF_REJECTED = "pending", "confirmed", "rejected"
REF_STATUS_LABELS = {REF_PENDING: "待确认", REF_CONFIRMED: "已确认", REF_REJECTED: "不予认定"}

# 首报首谈 filing with the higher level.
FILING_NONE, FILING_FILED, FILING_CONFIRMED, FILING_DISPUTED = "none", "filed", "confirmed", "disputed"
FILING_STATUS_LABELS = {
    FILING_NONE: "未申报",
    FILING_FILED: "已申报",
    FILING_CONFIRMED: "已确认",
    FILING_DISPUTED: "有争议",
}

# How a lead relates to an earlier one of the same firm.
LINK_SAME, LINK_INCREASE, LINK_MERGED = "same", "increase", "merged"
LINK_LABELS = {
    LINK_SAME: "同一项目（只计一次）",
    LINK_INCREASE: "增资扩产（只计增量）",
    LINK_MERGED: "已合并",
}

# Take-over requests (a recruiter asks to take over another's lead).
TO_PENDING, TO_GRANTED, TO_REFUSED, TO_WITHDRAWN = "pending", "granted", "refused", "withdrawn"
TO_STATUS_LABELS = {TO_PENDING: "待决定", TO_GRANTED: "已同意", TO_REFUSED: "未同意", TO_WITHDRAWN: "已撤回"}


class Referral(Base):
    """The 引荐人 of a project: one per lead; counts for rewards once a manager confirms it."""

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), unique=True)
    referrer_name: Mapped[str] = mapped_column(String(100))
    referrer_kind: Mapped[str] = mapped_column(String(16))  # person | org
    unit: Mapped[str | None] = mapped_column(String(200))  # 工作单位 / 所属机构
    contact: Mapped[str | None] = mapped_column(String(100))
    relation: Mapped[str | None] = mapped_column(String(200))  # 与企业的关系
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=REF_PENDING)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_referrals_status", "status"),)
    lead: Mapped[Lead] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        return REF_STATUS_LABELS.get(self.status, self.status)

    @property
    def kind_label(self) -> str:
        return REFERRER_KINDS.get(self.referrer_kind, self.referrer_kind)


class Filing(Base):
    """首报首谈 filing of a large project with the higher level (one per lead)."""

    __tablename__ = "filings"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=FILING_NONE)
    filed_on: Mapped[date | None] = mapped_column(Date)
    confirmed_on: Mapped[date | None] = mapped_column(Date)
    disputed_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_filings_status", "status"),)
    lead: Mapped[Lead] = relationship()

    @property
    def status_label(self) -> str:
        return FILING_STATUS_LABELS.get(self.status, self.status)


class LeadProject(Base):
    """A lead's project identity: its project name (normalised in `project_key`) and, when it is
    not a project of its own, the earlier lead it belongs to (`parent_lead_id`, `link`)."""

    __tablename__ = "lead_projects"
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True)
    project_name: Mapped[str | None] = mapped_column(String(200))
    project_key: Mapped[str | None] = mapped_column(String(200))
    parent_lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    link: Mapped[str | None] = mapped_column(String(16))  # same | increase | merged
    linked_by_id: Mapped[int | None] = mapped_column(Integer)  # no FK, like the audit log
    linked_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_lead_projects_parent", "parent_lead_id"),
        Index("ix_lead_projects_key", "project_key"),
    )

    @property
    def link_label(self) -> str:
        return LINK_LABELS.get(self.link or "", "")


class TakeoverRequest(Base):
    """A recruiter asks to take over another's lead (a 首报首谈 dispute); the manager decides."""

    __tablename__ = "takeover_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=TO_PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_takeover_requests_lead", "lead_id", "status"),)
    lead: Mapped[Lead] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        return TO_STATUS_LABELS.get(self.status, self.status)
