"""Indexes for the reports (services/reports.py): a tenant's invitations in a time window
with every column the window's reports read, and its pending invitations by age.

Revision ID: 0019
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

REPORTS = [
    "tenant_id",
    "created_at",
    "status",
    "expires_at",
    "completed_at",
    "requested_by",
    "email",
]
PENDING = ["tenant_id", "status", "created_at", "id", "expires_at"]


def upgrade() -> None:
    op.create_index("ix_invitations_reports", "invitations", REPORTS)
    op.create_index("ix_invitations_tenant_status_created", "invitations", PENDING)


def downgrade() -> None:
    op.drop_index("ix_invitations_tenant_status_created", table_name="invitations")
    op.drop_index("ix_invitations_reports", table_name="invitations")
