"""A bulk-job row held for an approver names its approval request.

Revision ID: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_job_rows") as batch:
        batch.add_column(sa.Column("approval_id", sa.String(36)))


def downgrade() -> None:
    with op.batch_alter_table("bulk_job_rows") as batch:
        batch.drop_column("approval_id")
