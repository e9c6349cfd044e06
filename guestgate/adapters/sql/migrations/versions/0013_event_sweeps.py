"""What the worker's event sweeps need: the expiry an invitation's `invitation.expired`
event told of, and an index to find pending invitations past their expiry. And webhook
endpoints no longer point at a tenant row: in Microsoft 365 mode their tenant lives in
Entra, not in guestgate's database.

Revision ID: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
# SQLite's foreign keys have no names: batch mode finds this one by the convention.
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    op.add_column("invitations", sa.Column("expiry_reported", sa.String(27)))
    op.create_index("ix_invitations_status_expiry", "invitations", ["status", "expires_at"])
    if op.get_context().dialect.name == "sqlite":  # the table is rebuilt without it
        with op.batch_alter_table("webhook_endpoints", naming_convention=SQLITE_NAMES) as batch:
            batch.drop_constraint("fk_webhook_endpoints_tenant_id_tenants", type_="foreignkey")
    else:
        op.drop_constraint(
            "webhook_endpoints_tenant_id_fkey", "webhook_endpoints", type_="foreignkey"
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints", naming_convention=SQLITE_NAMES) as batch:
        batch.create_foreign_key(
            "fk_webhook_endpoints_tenant_id_tenants",
            "tenants",
            ["tenant_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.drop_index("ix_invitations_status_expiry", table_name="invitations")
    op.drop_column("invitations", "expiry_reported")
