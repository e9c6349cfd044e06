"""Microsoft 365 mode's invitation ids by guest: the lifecycle pass reads each guest's latest
invitation for a page of guests at a time, which without this index scans the whole table.

Revision ID: 0030
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_graph_invitations_user", "graph_invitations", ["tenant_id", "user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_graph_invitations_user", table_name="graph_invitations")
