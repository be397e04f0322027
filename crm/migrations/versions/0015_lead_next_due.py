"""leads.next_due_on: the latest activity's next-step due date, stored (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The backfill is the rule of crm.services.activities.latest_due as of this revision, written
# out: a migration must not change when the models do later. tests/crm/test_next_due.py checks
# that an upgraded database holds what refresh_next_due computes.
_BACKFILL = """
UPDATE leads SET next_due_on = (
    SELECT activities.due_date FROM activities
    WHERE activities.lead_id = leads.id
    ORDER BY activities.occurred_on DESC, activities.id DESC
    LIMIT 1
)
"""


# Plain ALTER TABLE, not batch mode: batch mode rebuilds `leads` on SQLite, and dropping the old
# table there (foreign keys on) would delete every lead's activities through ON DELETE CASCADE.
# SQLite drops a column in place since 3.35.


def upgrade() -> None:
    op.add_column("leads", sa.Column("next_due_on", sa.Date(), nullable=True))
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_column("leads", "next_due_on")
