"""SQLAlchemy mapping of contacts (联系人): people at a company, shared by all leads on it.

Mapping only, on crm.models' Base; rules are in crm/services/contacts.py, masking in crm/masking.py.
A contact belongs to a graph company (`company_id`, the id leads carry in `Lead.company_id`); a
lead registered by hand without a graph company keeps its contacts on itself (`lead_id`) until
it is linked, so recruiters are never blocked from writing down who they spoke to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[str | None] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    company_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))  # 职务
    mobile: Mapped[str | None] = mapped_column(String(20))
    landline: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    wechat: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_contacts_company", "company_id"),
        Index("ix_contacts_lead", "lead_id"),
    )
