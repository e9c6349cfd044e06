"""Sponsors of guest users.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sponsors", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sponsors")
