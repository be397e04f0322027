"""Referrers, 首报首谈 filings, project identity (counted once, merged leads) and take-over requests (issue 13)

Revision ID: 0012
Revises: 0010 (the integrator re-chains at merge)
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("confirmed_on", sa.Date(), nullable=True),
        sa.Column("disputed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_filings_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_filings_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
        sa.UniqueConstraint("lead_id", name=op.f("uq_filings_lead_id")),
    )
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.create_index("ix_filings_status", ["status"], unique=False)

    op.create_table(
        "lead_projects",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("project_name", sa.String(length=200), nullable=True),
        sa.Column("project_key", sa.String(length=200), nullable=True),
        sa.Column("parent_lead_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(length=16), nullable=True),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_projects_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["parent_lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_projects_parent_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_projects")),
    )
    with op.batch_alter_table("lead_projects", schema=None) as batch_op:
        batch_op.create_index("ix_lead_projects_key", ["project_key"], unique=False)
        batch_op.create_index("ix_lead_projects_parent", ["parent_lead_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("referrer_name", sa.String(length=100), nullable=False),
        sa.Column("referrer_kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("contact", sa.String(length=100), nullable=True),
        sa.Column("relation", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_referrals_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_referrals_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_referrals_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("lead_id", name=op.f("uq_referrals_lead_id")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_status", ["status"], unique=False)

    op.create_table(
        "takeover_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_takeover_requests_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_takeover_requests_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_takeover_requests_requested_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_takeover_requests")),
    )
    with op.batch_alter_table("takeover_requests", schema=None) as batch_op:
        batch_op.create_index("ix_takeover_requests_lead", ["lead_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("takeover_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_takeover_requests_lead")

    op.drop_table("takeover_requests")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_status")

    op.drop_table("referrals")
    with op.batch_alter_table("lead_projects", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_projects_parent")
        batch_op.drop_index("ix_lead_projects_key")

    op.drop_table("lead_projects")
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.drop_index("ix_filings_status")

    op.drop_table("filings")
