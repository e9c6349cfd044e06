"""Bulk-invite jobs name the console user who started one.

Revision ID: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bulk_jobs") as batch:
        batch.add_column(sa.Column("started_by", sa.String(320)))


def downgrade() -> None:
    with op.batch_alter_table("bulk_jobs") as batch:
        batch.drop_column("started_by")
