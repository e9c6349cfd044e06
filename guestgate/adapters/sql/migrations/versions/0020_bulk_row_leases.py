"""Bulk-job rows are leased a batch at a time, so every worker can work on one job.

Revision ID: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_job_rows") as batch:
        batch.add_column(sa.Column("lease_until", sa.String(27)))


def downgrade() -> None:
    with op.batch_alter_table("bulk_job_rows") as batch:
        batch.drop_column("lease_until")
