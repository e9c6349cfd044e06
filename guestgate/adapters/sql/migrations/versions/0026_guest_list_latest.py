"""The console's guest list reads each guest's latest invitation from the guest's own row:
its id, state (Pending, Accepted, Declined or Revoked; Expired is a Pending one past
invitation_expires_at), that expiry, its requester and when it was made, with indexes for
each filter in the list's order (created_at, id). Existing rows are filled here, as
adapters/sql/invitations.py keeps them on every write from now on.

Revision ID: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

COLUMNS = (
    "latest_invitation_id",
    "invitation_state",
    "invitation_expires_at",
    "invitation_requester",
    "invited_at",
)
# The same values adapters/sql/invitations.py writes (LATEST_VALUES), from the latest `l`.
VALUES = (
    "l.id",
    "CASE l.status WHEN 'Completed' THEN 'Accepted' WHEN 'PendingAcceptance' THEN 'Pending'"
    " ELSE l.status END",
    "CASE WHEN l.status = 'PendingAcceptance' THEN l.expires_at END",
    "l.requested_by",
    "l.created_at",
)
INDEXES = {
    "ix_users_guest_state": ["tenant_id", "user_type", "invitation_state", "created_at", "id"],
    "ix_users_guest_expiry": [
        "tenant_id",
        "user_type",
        "invitation_state",
        "invitation_expires_at",
    ],
    "ix_users_guest_requester": [
        "tenant_id",
        "user_type",
        "invitation_requester",
        "created_at",
        "id",
    ],
}


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("latest_invitation_id", sa.String(36)))
        batch.add_column(
            sa.Column("invitation_state", sa.String(16), nullable=False, server_default="Pending")
        )
        batch.add_column(sa.Column("invitation_expires_at", sa.String(27)))
        batch.add_column(sa.Column("invitation_requester", sa.String(320)))
        batch.add_column(sa.Column("invited_at", sa.String(27)))
    # A guest without an invitation reads as its external state says, as the list read it.
    op.execute(
        "UPDATE users SET invitation_state = 'Accepted' WHERE external_user_state = 'Accepted'"
    )
    assignments = ", ".join(f"{c} = {v}" for c, v in zip(COLUMNS, VALUES, strict=True))
    op.execute(
        f"UPDATE users SET {assignments} FROM (SELECT * FROM (SELECT i.*,"  # noqa: S608 (fixed text)
        " ROW_NUMBER() OVER (PARTITION BY i.user_id ORDER BY i.created_at DESC, i.id DESC) AS n"
        " FROM invitations i) AS ranked WHERE n = 1) AS l WHERE users.id = l.user_id"
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "users", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="users")
    with op.batch_alter_table("users") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
