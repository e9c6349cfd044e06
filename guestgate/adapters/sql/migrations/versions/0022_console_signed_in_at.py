"""Console sessions keep when their person last entered a sign-in code (the ID token's
auth_time), for the actions that need a sign-in within the last minutes.

Revision ID: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(sa.Column("signed_in_at", sa.String(27)))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("signed_in_at")
