"""Users in a tenant by creation time: the order the OData feed pages `users` in.

Revision ID: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_users_tenant_created", "users", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_users_tenant_created", table_name="users")
