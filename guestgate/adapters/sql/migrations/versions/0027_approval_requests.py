"""Invitations that wait for an approver: the policy's approval setting (a JSON column on
invitation_policies) and the approval requests.

Revision ID: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invitation_policies") as batch:
        batch.add_column(sa.Column("approval", sa.Text()))
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("requested_by", sa.String(320)),
        sa.Column("sponsors", sa.Text, nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("app_id", sa.String(64)),
        sa.Column("asked_by", sa.String(320)),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.Column("expires_at", sa.String(27), nullable=False),
        sa.Column("decided_at", sa.String(27)),
        sa.Column("decided_by", sa.String(320)),
        sa.Column("comment", sa.Text),
        sa.Column("answer", sa.Text),
    )
    op.create_index(
        "ix_approval_requests_open", "approval_requests", ["tenant_id", "status", "created_at"]
    )
    op.create_index("ix_approval_requests_expiry", "approval_requests", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_approval_requests_expiry", table_name="approval_requests")
    op.drop_index("ix_approval_requests_open", table_name="approval_requests")
    op.drop_table("approval_requests")
    with op.batch_alter_table("invitation_policies") as batch:
        batch.drop_column("approval")
