"""SQLAlchemy 2.0 ORM classes of the CRM. Mapping only: rules live in workflow/permissions/services.

Times are naive UTC (`utcnow()`), the same on SQLite and PostgreSQL; dates are plain dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Roles: stored codes -> Chinese labels shown to users.
RECRUITER, MANAGER, LEADER, ADMIN = "recruiter", "manager", "leader", "admin"
# 三员分立 (crm/services/duties.py): with [security] separation_of_duties on, these two hold the
# security and the audit duty, and the system administrator only the system duty.
SECURITY_ADMIN, AUDIT_ADMIN = "security_admin", "audit_admin"
ROLE_LABELS = {
    RECRUITER: "招商专员",
    MANAGER: "招商经理",
    LEADER: "区领导",
    ADMIN: "系统管理员",
    SECURITY_ADMIN: "安全管理员",
    AUDIT_ADMIN: "审计管理员",
}
ROLES = tuple(ROLE_LABELS)

# Target-list states.
TL_DRAFT, TL_SUBMITTED, TL_RETURNED, TL_APPROVED = "draft", "submitted", "returned", "approved"
TL_STATUS_LABELS = {TL_DRAFT: "草稿", TL_SUBMITTED: "待审批", TL_RETURNED: "已退回", TL_APPROVED: "已批准"}

# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC now: what every DateTime column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Team(Base):
    """A sector team (医药健康招商组 …); managers see their team's leads."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    sector_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Round-robin cursor for automatic assignment: the user id assigned last.
    rr_last_user_id: Mapped[int | None] = mapped_column(Integer)

    members: Mapped[list[User]] = relationship(back_populates="team")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Chains a recruiter covers (chain ids), for automatic assignment by chain.
    focus_chains: Mapped[list[Any]] = mapped_column(JSON, default=list)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    team: Mapped[Team | None] = relationship(back_populates="members")

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def label(self) -> str:
        """How the user is named in messages: 张三（招商专员）."""
        return f"{self.display_name}（{self.role_label}）"


class Lead(Base):
    """A company being attracted, from 线索 to 投产; `version` guards concurrent edits."""

    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Company identity: graph id and/or credit code; name_key = graph.identity.normalize_name(name).
    company_id: Mapped[str | None] = mapped_column(String(64))
    uscc: Mapped[str | None] = mapped_column(String(18))
    company_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))
    # Where it fills the chain, and why it was proposed.
    sector_id: Mapped[str | None] = mapped_column(String(64))
    sector_name: Mapped[str | None] = mapped_column(String(100))
    chain_id: Mapped[str | None] = mapped_column(String(64))
    chain_name: Mapped[str | None] = mapped_column(String(100))
    node_id: Mapped[str | None] = mapped_column(String(64))
    node_name: Mapped[str | None] = mapped_column(String(100))
    gap_status: Mapped[str | None] = mapped_column(String(16))
    gap_reason: Mapped[str | None] = mapped_column(Text)
    gap_score: Mapped[float | None] = mapped_column(Float)
    channel: Mapped[str] = mapped_column(String(32))
    # The project.
    investment: Mapped[float | None] = mapped_column(Float)  # 万元
    expected_output: Mapped[float | None] = mapped_column(Float)  # 万元/年
    land_mu: Mapped[float | None] = mapped_column(Float)
    floor_m2: Mapped[float | None] = mapped_column(Float)
    zone: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(8))
    key_flag: Mapped[bool] = mapped_column(Boolean, default=False)  # flagged by a manager
    notes: Mapped[str | None] = mapped_column(Text)
    # "四个一" items.
    sponsor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sponsor_name: Mapped[str | None] = mapped_column(String(100))
    task_force_department: Mapped[str | None] = mapped_column(String(200))
    task_force_members: Mapped[list[Any]] = mapped_column(JSON, default=list)
    case_officer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    case_officer_name: Mapped[str | None] = mapped_column(String(100))
    service_plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Workflow.
    stage: Mapped[str] = mapped_column(String(16))
    stage_reason: Mapped[str | None] = mapped_column(Text)
    paused_from: Mapped[str | None] = mapped_column(String(16))
    # A stage claimed with its facts and awaiting confirmation (crm.services.stage_claims); `stage`
    # only moves when it is confirmed, so every figure counts confirmed stages.
    pending_stage: Mapped[str | None] = mapped_column(String(16))
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Ownership and response time.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime)
    first_contact_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Due date of the next step of the lead's latest activity, stored so the work order need not
    # run a subquery per lead (issue 16). Derived: written only by
    # crm.services.activities.refresh_next_due, in the transaction that changes the activities.
    next_due_on: Mapped[date | None] = mapped_column(Date)
    # 首报首谈.
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    protected_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_leads_team_stage_updated", "team_id", "stage", "updated_at"),
        Index("ix_leads_owner_stage_updated", "owner_id", "stage", "updated_at"),
        Index("ix_leads_updated", "updated_at"),
        Index("ix_leads_uscc", "uscc"),
        Index("ix_leads_name_key", "name_key"),
        Index("ix_leads_company_id", "company_id"),
        Index("ix_leads_chain_stage", "chain_id", "stage"),
        Index("ix_leads_sector_stage", "sector_id", "stage"),
        # Covering indexes for the response-time rule (services.overdue): the whole district
        # (by stage) and one team; the rule is then evaluated from the index alone.
        Index(
            "ix_leads_overdue_stage",
            "stage",
            "owner_id",
            "team_id",
            "first_contact_at",
            "assigned_at",
            "last_contact_at",
            "stage_changed_at",
        ),
        Index(
            "ix_leads_overdue_team",
            "team_id",
            "stage",
            "owner_id",
            "first_contact_at",
            "assigned_at",
            "last_contact_at",
            "stage_changed_at",
        ),
    )

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    sponsor_user: Mapped[User | None] = relationship(foreign_keys=[sponsor_user_id])
    case_officer_user: Mapped[User | None] = relationship(foreign_keys=[case_officer_user_id])


class Activity(Base):
    """A 拜访/电话/会议/活动/备注 on a lead, with its outcome and the next step."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date] = mapped_column(Date)
    participants: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    next_step: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_activities_lead_occurred", "lead_id", "occurred_on"),)
    created_by: Mapped[User | None] = relationship()


class Comment(Base):
    """A remark on a lead, e.g. a leader's 批示; does not count as contact with the firm."""

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    author: Mapped[User] = relationship()


class StageChange(Base):
    """Stage history: one row per transition, with the reason where one is required."""

    __tablename__ = "stage_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[User | None] = relationship()


class Assignment(Base):
    """Assignment history: who gave which lead to whom, why, and whether it was automatic."""

    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InboxMessage(Base):
    """In-app message: an assignment, a returned or approved target list, a leader's comment."""

    __tablename__ = "inbox_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    target_list_id: Mapped[int | None] = mapped_column(ForeignKey("target_lists.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # An item asking for an action ("target_list:7:review", "claim:3:decide"): every copy of it, in
    # every entitled user's inbox, closes when one of them does the action (crm.services.inbox).
    action_key: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_inbox_user_read", "user_id", "read_at", "created_at"),
        Index("ix_inbox_action", "action_key", "done_at"),
    )


class AuditLog(Base):
    """Append-only record of every change: database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives users
    actor_name: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)


class TargetList(Base):
    """补链目标企业名录: a draft a manager builds, a leader approves; approved ones are frozen."""

    __tablename__ = "target_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    sector_id: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=TL_DRAFT)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set when approved: the frozen version number within (sector_id, chain_id).
    version_no: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("target_lists.id"))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_target_lists_scope", "sector_id", "chain_id", "status"),)

    rows: Mapped[list[TargetListRow]] = relationship(
        back_populates="target_list", order_by="TargetListRow.position", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[TargetListReview]] = relationship(
        order_by="TargetListReview.id", cascade="all, delete-orphan"
    )
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def status_label(self) -> str:
        return TL_STATUS_LABELS.get(self.status, self.status)


class TargetListRow(Base):
    __tablename__ = "target_list_rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    target_list_id: Mapped[int] = mapped_column(ForeignKey("target_lists.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[str] = mapped_column(String(64))
    company_name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    chain_id: Mapped[str | None] = mapped_column(String(64))
    chain_name: Mapped[str | None] = mapped_column(String(100))
    node_id: Mapped[str | None] = mapped_column(String(64))
    node_name: Mapped[str | None] = mapped_column(String(100))
    gap_status: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    factors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("target_list_id", "company_id", "node_id", name="uq_target_list_rows_company"),
        Index("ix_target_list_rows_list_pos", "target_list_id", "position"),
    )
    target_list: Mapped[TargetList] = relationship(back_populates="rows")


class TargetListReview(Base):
    """Submit / return / approve events with the leader's comments; kept for every version."""

    __tablename__ = "target_list_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    target_list_id: Mapped[int] = mapped_column(ForeignKey("target_lists.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # submit | return | approve
    comment: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[User] = relationship()


class SettingOverride(Base):
    """A run-time setting the administrator changed (crm.settings.SETTINGS names the keys)."""

    __tablename__ = "setting_overrides"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(Integer)  # no FK, like the audit log


class SettingsVersion(Base):
    """One row whose counter goes up with every saved change: each process compares it per request
    (one indexed read) and reloads the overrides only when it moved."""

    __tablename__ = "settings_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
