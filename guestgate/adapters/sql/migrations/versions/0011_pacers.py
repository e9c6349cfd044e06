"""Pacers every process shares: when each one's next turn is free (services/pacing.py).

Revision ID: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pacers",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("free_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pacers")
