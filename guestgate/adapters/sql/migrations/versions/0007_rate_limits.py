"""Rate-limit counters every process shares (domain/throttle.py).

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limits",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("hits", sa.Integer, nullable=False),
        sa.Column("window_ends", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rate_limits_window_ends", "rate_limits", ["window_ends"])


def downgrade() -> None:
    op.drop_table("rate_limits")
