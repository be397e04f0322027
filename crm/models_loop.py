"""ORM classes of the closed CRM loop: stage claims with their evidence, and attachments.

Mapping only (rules: crm.evidence, crm.services.stage_claims, crm.services.attachments). They
share crm.models' Base, so one metadata and one migration chain cover every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .models import Base, Lead, User, utcnow

# Claim states.
CLAIM_PENDING, CLAIM_CONFIRMED, CLAIM_RETURNED, CLAIM_WITHDRAWN = (
    "pending",
    "confirmed",
    "returned",
    "withdrawn",
)
CLAIM_STATUS_LABELS = {
    CLAIM_PENDING: "待确认",
    CLAIM_CONFIRMED: "已确认",
    CLAIM_RETURNED: "已退回",
    CLAIM_WITHDRAWN: "已撤回",
}


class StageClaim(Base):
    """A recruiter's claim that a lead reached a stage, with the facts; pending until confirmed."""

    __tablename__ = "stage_claims"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=CLAIM_PENDING)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_stage_claims_lead", "lead_id", "status"),
        Index("ix_stage_claims_status", "status", "claimed_at"),
    )
    lead: Mapped[Lead] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        return CLAIM_STATUS_LABELS.get(self.status, self.status)


class Attachment(Base):
    """A file on a lead (optionally on one of its activities or stage claims). `stored_name` is
    random; the user's file name is kept only as text, never as a path."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("stage_claims.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # detected type: pdf, png, docx ...
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_attachments_lead", "lead_id", "deleted_at"),)
    uploaded_by: Mapped[User | None] = relationship()
