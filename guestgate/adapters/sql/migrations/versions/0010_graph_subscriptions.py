"""Graph change-notification subscriptions for users.

Revision ID: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GUID = sa.String(36)
TIMESTAMP = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "graph_subscriptions",
        sa.Column("id", GUID, primary_key=True),
        sa.Column(
            "tenant_id", GUID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("app_id", GUID),
        sa.Column("resource", sa.String(64), nullable=False),
        sa.Column("change_types", sa.String(64), nullable=False),
        sa.Column("notification_url", sa.String(2048), nullable=False),
        sa.Column("lifecycle_url", sa.String(2048)),
        sa.Column("client_state", sa.Text),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("failing_since", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_graph_subscriptions_tenant", "graph_subscriptions", ["tenant_id", "app_id"])


def downgrade() -> None:
    op.drop_table("graph_subscriptions")
