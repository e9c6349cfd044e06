"""Indexes for the sign-in report: a tenant's guests in id order, and each user's last
sign-in beside its id, so counting guests by last sign-in walks both indexes in step.

Revision ID: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_tenant_type_id", "users", ["tenant_id", "user_type", "id"])
    op.create_index("ix_sign_in_activity_last", "sign_in_activity", ["user_id", "last_sign_in_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_activity_last", table_name="sign_in_activity")
    op.drop_index("ix_users_tenant_type_id", table_name="users")
