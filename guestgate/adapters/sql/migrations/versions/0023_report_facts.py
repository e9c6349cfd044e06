"""What the reports read, stored when it happens: an invitation's time to accept (whole
microseconds from created_at to completed_at) when it is redeemed, and a user's last sign-in
on the users row when a sign-in is recorded; with indexes the reports count and rank by.
Existing rows are filled here.

Revision ID: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

STATUS_CREATED = ["tenant_id", "status", "created_at", "id", "expires_at", "accept_us"]
# The same exact integer arithmetic the reports used before (adapters/sql/reports.py).
_MICROS = {
    "sqlite": (
        "((CAST(strftime('%s', substr(completed_at, 1, 19)) AS INTEGER)"
        " - CAST(strftime('%s', substr(created_at, 1, 19)) AS INTEGER)) * 1000000"
        " + CAST(substr(completed_at, 21, 6) AS INTEGER)"
        " - CAST(substr(created_at, 21, 6) AS INTEGER))"
    ),
    "postgresql": (
        "CAST(EXTRACT(EPOCH FROM (CAST(completed_at AS timestamptz)"
        " - CAST(created_at AS timestamptz))) * 1000000 AS BIGINT)"
    ),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("accept_us", sa.BigInteger()))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_sign_in_at", sa.String(27)))
    op.execute(
        f"UPDATE invitations SET accept_us = {_MICROS[dialect]}"  # noqa: S608 (fixed text)
        " WHERE completed_at IS NOT NULL"
    )
    op.execute(
        "UPDATE users SET last_sign_in_at = (SELECT a.last_sign_in_at FROM sign_in_activity a"
        " WHERE a.user_id = users.id)"
        " WHERE id IN (SELECT user_id FROM sign_in_activity WHERE last_sign_in_at IS NOT NULL)"
    )
    # The pending and state counts' index gets the duration too, for ranking a short window.
    op.drop_index("ix_invitations_tenant_status_created", table_name="invitations")
    op.create_index("ix_invitations_tenant_status_created", "invitations", STATUS_CREATED)
    op.create_index(
        "ix_invitations_accepted", "invitations", ["tenant_id", "status", "accept_us", "created_at"]
    )
    op.create_index(
        "ix_users_tenant_type_sign_in", "users", ["tenant_id", "user_type", "last_sign_in_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_users_tenant_type_sign_in", table_name="users")
    op.drop_index("ix_invitations_accepted", table_name="invitations")
    op.drop_index("ix_invitations_tenant_status_created", table_name="invitations")
    op.create_index("ix_invitations_tenant_status_created", "invitations", STATUS_CREATED[:-1])
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_sign_in_at")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("accept_us")
